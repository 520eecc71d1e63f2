"""Dialplan applications run on a call through its outbound socket (mod_dptools,
mod_conference). Pure: each function returns the ``AppCall`` to send with
``sendmsg execute``; ``controller.esl`` sends it.

FreeSWITCH expands ``${...}`` in every application argument, so text that comes
from an application (TTS, variable values we did not write) goes through
``fs_text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.freeswitch.args import UnsafeArgument, fs_text, quoted, token


@dataclass(frozen=True)
class AppCall:
    """One dialplan application to run on the call (``loops=-1``: until hangup)."""

    app: str
    arg: str = ""
    loops: int = 1


def answer() -> AppCall:
    return AppCall("answer")


def pre_answer() -> AppCall:
    return AppCall("pre_answer")


def ring_ready() -> AppCall:
    """180 Ringing: the caller hears ringback from its own side while we fetch."""
    return AppCall("ring_ready")


def set_var(name: str, value: str) -> AppCall:
    if "\n" in value or "\r" in value:
        raise ValueError(f"variable {name} cannot hold a line break")
    return AppCall("set", f"{token(name, 'variable name')}={value}")


# multiset (mod_dptools.c multiset_function) sets several variables in one application:
# one sendmsg, one reply, one CHANNEL_EXECUTE_COMPLETE instead of one each (a third of
# the frames of a join, issue 16). It splits its argument with switch_split, i.e.
# switch_utils.c separate_string_char_delim + cleanup_separated_string, which treat
# single quotes and backslashes as quoting and trim spaces around each item; then every
# item goes through base_set exactly as `set` does. So a value is sent through multiset
# only when that splitting leaves it as it is; any other keeps its own `set`.
MULTISET_DELIMITER = "|"
_MULTISET_MAX = 256  # multiset_function's char *array[256]
_NOT_PLAIN = ("'", "\\", MULTISET_DELIMITER)


def _multiset_safe(name: str, value: str) -> bool:
    return (not any(c in value or c in name for c in _NOT_PLAIN)
            and value == value.strip(" ") and not value.startswith("^^"))


def set_vars(pairs: Sequence[tuple[str, str]]) -> list[AppCall]:
    """``set`` for each (name, value), in order, as few applications as possible."""
    calls: list[AppCall] = []
    batch: list[str] = []

    def flush() -> None:
        if len(batch) == 1:
            calls.append(AppCall("set", batch[0]))
        elif batch:
            arg = f"^^{MULTISET_DELIMITER}" + MULTISET_DELIMITER.join(batch)
            calls.append(AppCall("multiset", arg))
        batch.clear()

    for name, value in pairs:
        single = set_var(name, value)  # validates the name and the value
        if _multiset_safe(name, value) and len(batch) < _MULTISET_MAX:
            batch.append(single.arg)
        else:
            flush()
            calls.append(single)
    flush()
    return calls


def unset_var(name: str) -> AppCall:
    return AppCall("unset", token(name, "variable name"))


def hangup(cause: str = "NORMAL_CLEARING") -> AppCall:
    return AppCall("hangup", token(cause, "hangup cause"))


def sched_hangup(seconds: int, cause: str) -> AppCall:
    """The call goes on and is hung up ``seconds`` from now (mod_dptools sched_hangup)."""
    return AppCall("sched_hangup", f"+{int(seconds)} {token(cause, 'hangup cause')}")


def playback(path: str, loops: int = 1) -> AppCall:
    return AppCall("playback", path, loops)


def speak(engine: str, voice: str, text: str, loops: int = 1) -> AppCall:
    # mod_dptools speak: "<engine>|<voice>|<text>"; the text keeps any further '|'.
    return AppCall("speak", f"{engine}|{voice}|{fs_text(text)}", loops)


def sleep(milliseconds: int) -> AppCall:
    return AppCall("sleep", str(int(milliseconds)))


def wait_for_silence(threshold: int, silence_hits: int, listen_hits: int,
                     timeout_ms: int) -> AppCall:
    """``wait_for_silence <threshold> <silence hits> <listen hits> <timeout ms>``; a hit is
    one 20 ms frame."""
    return AppCall("wait_for_silence",
                   f"{int(threshold)} {int(silence_hits)} {int(listen_hits)} {int(timeout_ms)}")


def send_dtmf(digits: str) -> AppCall:
    return AppCall("send_dtmf", token(digits, "digits"))


MAX_GATHER_DIGITS = 127  # play_and_get_digits collects into char digit_buffer[128]
_DTMF_KEYS = frozenset("0123456789*#")


def play_and_get_digits(*, min_digits: int, max_digits: int, tries: int, timeout_ms: int,
                        terminators: str, prompts: Sequence[str], invalid_sound: str,
                        variable: str, regex: str, digit_timeout_ms: int) -> AppCall:
    """mod_dptools play_and_get_digits (FreeSWITCH 1.11.1 mod_dptools.c:2822-2910):
    ``<min> <max> <tries> <timeout ms> <terminators> <file> <invalid file> <var name>
    <regexp> <digit timeout ms>``, split by switch_separate_string on blanks, which
    honours single quotes (switch_utils.c:2811-2868: separate_string_blank_delim, quotes
    removed by cleanup_separated_string), so the sound arguments are quoted.

    - ``prompts``: FreeSWITCH sound strings played in order, as one ``file_string://``
      (mod_dptools' file format; ``!`` separates its entries, so none may hold one).
      None at all is spelled ``silence``, which switch_ivr_read skips
      (switch_ivr_play_say.c:2561).
    - ``invalid_sound`` "" is passed as ``''``: an empty argument, and
      switch_ivr_play_file returns at once on an empty name (switch_ivr_play_say.c:1333).
    - ``terminators`` "" is spelled ``none``: an empty argument would become ``#``
      (mod_dptools.c:2903), and no DTMF key is a letter of "none"; the ``=``, ``+`` and
      ``x`` modifiers of switch_ivr_read are not offered.
    - ``regex`` "" is passed as ``''`` (no check, switch_ivr_play_say.c:2678); otherwise
      PCRE, unanchored (switch_regex.c: switch_regex_match_partial).
    - The digits land in the channel variable ``variable`` (switch_ivr_play_say.c:2623),
      which CHANNEL_EXECUTE_COMPLETE carries as ``variable_<name>`` (switch_channel.c:2786
      puts every variable on that event).
    - ``timeout_ms`` below 1000 is raised to 1000 by FreeSWITCH (mod_dptools.c:2898), so
      it is refused here; ``digit_timeout_ms`` 0 would mean ``timeout_ms``
      (switch_ivr_play_say.c:2532), so it must be given.
    """
    if not 0 <= min_digits <= max_digits <= MAX_GATHER_DIGITS:
        raise UnsafeArgument(f"digits {min_digits}-{max_digits}: need 0 <= min <= max <= "
                             f"{MAX_GATHER_DIGITS}")
    if tries < 1:
        raise UnsafeArgument(f"tries {tries} must be at least 1")
    if timeout_ms < 1000 or digit_timeout_ms < 1:
        raise UnsafeArgument(f"timeouts {timeout_ms}/{digit_timeout_ms} ms: the first-digit "
                             "timeout must be >= 1000 ms, the next-digit one >= 1 ms")
    if any(key not in _DTMF_KEYS for key in terminators):
        raise UnsafeArgument(f"terminators {terminators!r} may hold only 0-9 * #")
    for entry in prompts:
        if not entry or "!" in entry:
            raise UnsafeArgument(f"prompt {entry[:80]!r} is empty or holds '!' (the "
                                 "file_string separator)")
    if not prompts:
        prompt = "silence"
    elif len(prompts) == 1:
        prompt = quoted(prompts[0])
    else:
        prompt = quoted("file_string://" + "!".join(prompts))
    return AppCall("play_and_get_digits", " ".join((
        str(int(min_digits)), str(int(max_digits)), str(int(tries)), str(int(timeout_ms)),
        terminators or "none",
        prompt,
        quoted(invalid_sound) if invalid_sound else "''",
        token(variable, "variable name"),
        token(regex, "digits pattern") if regex else "''",
        str(int(digit_timeout_ms)),
    )))


def flush_dtmf() -> AppCall:
    """Drop the DTMF queued on the channel, firing no event (mod_dptools.c:1183
    flush_dtmf_function -> switch_channel.c:727 switch_channel_flush_dtmf)."""
    return AppCall("flush_dtmf")


def bind_digit_action(realm: str, digits: str, action: str) -> AppCall:
    return AppCall("bind_digit_action", f"{token(realm, 'realm')},{digits},{action}")


def digit_action_set_realm(realm: str) -> AppCall:
    return AppCall("digit_action_set_realm", token(realm, "realm"))


def clear_digit_action(realm: str = "all") -> AppCall:
    return AppCall("clear_digit_action", token(realm, "realm"))


def conference_app_arg(fs_room: str, profile: str, flags: tuple[str, ...] = ()) -> str:
    """``<room>@<profile>[+flags{a|b}]`` (mod_conference.c: conference_function)."""
    arg = f"{token(fs_room, 'room name')}@{token(profile, 'conference profile')}"
    if flags:
        arg += "+flags{" + "|".join(token(f, "member flag") for f in flags) + "}"
    return arg


def conference(app_arg: str) -> AppCall:
    return AppCall("conference", app_arg)
