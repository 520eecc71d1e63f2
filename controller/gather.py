"""Gather: collect DTMF digits on a call with FreeSWITCH's ``play_and_get_digits``, then
request the action URL with them (Plivo GetDigits/GetInput; cXML and BXML Gather later).

    prompts (Play/Speak/Wait, + beep) -> one sound string
    play_and_get_digits: prompts, first-digit timeout, next-digit timeout, terminator,
        digits pattern, tries, invalid sound; the digits land in a channel variable
    digits -> action request (its document replaces the rest, or with redirect=false it
              is only told) ; no digits -> the next verb

FreeSWITCH does the whole dialogue (prompt, collection, retries, invalid sound) in one
application, so the caller hears no gap between tries; the call's greenlet waits for it
with ``CallSession.wait``, so a live command (redirect, hang up) interrupts it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from controller.config import MediaSettings
from controller.dialects.base import Purpose
from controller.freeswitch import apps
from controller.freeswitch.args import tts_file
from controller.media import WAIT_BEEP, tts_voice
from controller.media_cache import MediaError
from controller.model import Document, Gather, Play, Speak, Wait

if TYPE_CHECKING:
    from controller.call import CallSession

log = logging.getLogger(__name__)

# The channel variable play_and_get_digits leaves the digits in.
DIGITS_VARIABLE = "cc_gather_digits"
# The key that ended the read (switch_types.h:130; set at switch_ivr_play_say.c:2584 and
# never cleared by FreeSWITCH, so unset before each gather).
TERMINATOR_VARIABLE = "read_terminator_used"
# Digits: never fewer than one (a try without any is a failed try, and is retried).
MIN_DIGITS = 1


def digits_pattern(valid_digits: str) -> str:
    """The PCRE play_and_get_digits checks the digits against: only ``valid_digits``."""
    keys = "".join(sorted(set(valid_digits)))
    if not keys or not re.fullmatch(r"[0-9*#]+", keys):
        raise ValueError(f"valid digits {valid_digits!r} must be some of 0-9 * #")
    return f"^[{keys}]+$"  # inside a class, '*' and '#' are plain characters


def _tts_prompt(speak: Speak, media: MediaSettings) -> str:
    # Apostrophes are dropped rather than spaced ("didn't" -> "didnt", said the same),
    # since the quoted argument cannot carry them; '!' separates file_string entries.
    text = speak.text.replace("'", "").replace("!", ".")
    return tts_file(media.tts_engine, tts_voice(speak, media), text)


def prompt_sounds(gather: Gather, resolve_play: Callable[[str], str | None],
                  media: MediaSettings) -> list[str]:
    """The prompts as FreeSWITCH sound strings, in order (pure but for ``resolve_play``,
    which turns a URL into a playable path, or None to skip that Play)."""
    sounds: list[str] = []
    for verb in gather.prompts:
        repeat = max(1, verb.loop) if isinstance(verb, (Play, Speak)) else 1
        if isinstance(verb, Play):
            path = resolve_play(verb.url)
            if path is not None:
                sounds += [path] * repeat
        elif isinstance(verb, Speak):
            sounds += [_tts_prompt(verb, media)] * repeat
        elif isinstance(verb, Wait):
            if verb.beep:
                sounds.append(WAIT_BEEP)
            sounds.append(f"silence_stream://{verb.length * 1000}")
    if gather.beep:
        sounds.append(WAIT_BEEP)
    return sounds


def gather_app(gather: Gather, prompts: list[str], invalid_sound: str) -> apps.AppCall:
    """One try of ``gather`` as one play_and_get_digits (its own tries: 1, see run_gather)."""
    return apps.play_and_get_digits(
        min_digits=MIN_DIGITS,
        max_digits=gather.num_digits,
        tries=1,
        # FreeSWITCH raises a first-digit timeout under 1 s to 1 s (mod_dptools.c:2898),
        # and a next-digit timeout of 0 means the first-digit one (switch_ivr_play_say.c:
        # 2532): spelled out here so the command says what FreeSWITCH will do.
        timeout_ms=max(1000, round(gather.timeout * 1000)),
        terminators=gather.finish_on_key,
        prompts=prompts,
        invalid_sound=invalid_sound,
        variable=DIGITS_VARIABLE,
        regex=digits_pattern(gather.valid_digits),
        digit_timeout_ms=max(1, round(gather.digit_timeout * 1000))
        if gather.digit_timeout else max(1000, round(gather.timeout * 1000)),
    )


def run_gather(call: CallSession, verb: Gather) -> Document | None:
    """Run one Gather on ``call``; the action's Document when it replaces the rest of the
    current one, else None (go on with the next verb).

    Each try is one play_and_get_digits with tries=1, the retries looped here: FreeSWITCH
    does not end the digit collection on uuid_break (switch_ivr_collect_digits_count,
    switch_ivr.c:1428, tests no CF_BREAK; a break only cuts the prompt short), so a live
    command reaches a gather at the end of the current try, not after all of them.
    """
    media = call.engine.media

    def resolve(url: str) -> str | None:
        try:
            return media.path_for(url)
        except MediaError as exc:  # as <Play> does: the rest of the prompt still plays
            log.error("skipping a sound of the gather: %s", exc)
            return None

    invalid = resolve(verb.invalid_sound) if verb.invalid_sound else None
    app = gather_app(verb, prompt_sounds(verb, resolve, call.settings.media), invalid or "")
    digits = ""
    # Keys pressed before the gather (the "#" after the last of numDigits digits of an
    # earlier one, say) are dropped: Plivo ignores digits beyond numDigits, and a queued
    # key would otherwise cut the prompt short and count as this gather's first key.
    flush = apps.flush_dtmf()
    terminator = ""
    for attempt in range(max(1, verb.retries)):
        first = [(flush.app, flush.arg, False, 1), (*_unset(TERMINATOR_VARIABLE), False, 1)] \
            if attempt == 0 else []
        execution = call.session.start_many(first + [(app.app, app.arg, False, app.loops)])[-1]
        call.wait(execution)  # Interrupted when a live command stopped it
        # The variable is cleared at the start of each read and after a digits pattern
        # failed (switch_ivr_play_say.c:2545, 2686): set only for valid digits.
        digits = execution.wait(0).get(f"variable_{DIGITS_VARIABLE}", "")
        terminator = execution.wait(0).get(f"variable_{TERMINATOR_VARIABLE}", "") or ""
        if digits or call.interrupt_pending():
            break
    if digits:
        # Not awaited: the digits (a PIN, maybe) do not stay on the channel for later events.
        call.session.start(*_unset(DIGITS_VARIABLE))
    if verb.log_digits:
        log.info("gathered digits %r", digits)
    else:
        log.info("gathered %d digits (not logged)", len(digits))
    if call.interrupt_pending():
        return None  # the command is taken before the next verb
    if not digits and verb.skip_action_when_empty:
        return None
    if verb.action is None:
        return None
    context = call.request_context(Purpose.ACTION, digits=digits, terminator=terminator,
                                   extra=dict(verb.action_extra))
    if call.session.hungup.is_set() or not verb.redirect:
        # Tell the application; its answer cannot (or must not) replace our document.
        payload = call.dialect.request_payload(context)
        call.engine.notifier.send(verb.action, payload, call.dialect.name, call.lane)
        return None
    return call.fetch(verb.action, Purpose.ACTION, context, empty_ok=True)


def _unset(name: str) -> tuple[str, str]:
    unset = apps.unset_var(name)
    return unset.app, unset.arg
