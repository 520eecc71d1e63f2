"""Telnyx call commands as steps the call's own greenlet runs (``RunOnCall``), and the
call-level webhooks they produce (speak, playback, DTMF).

Each step reports what it did in the call's lane, so the application hears
call.answered, call.speak.ended, call.playback.ended, call.hangup in the order
they happened.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING

from controller.dialects.base import Payload
from controller.dialects.telnyx import webhooks
from controller.dialects.telnyx.state import CALLS
from controller.esl import CallerGone
from controller.media_cache import MediaError
from controller.model import Gather, Play, Speak

if TYPE_CHECKING:
    from controller.call import CallSession

log = logging.getLogger(__name__)


def send_call_event(call: CallSession, event_type: str, **extra: object) -> None:
    """One call-level webhook, built here (not a neutral engine event)."""
    hook = call.call_hook
    if hook is None or call.facts is None:
        return
    state = CALLS.get(call.uuid)
    fields = webhooks.call_fields(call.facts, state.client_state, state.connection_id)
    fields.update(extra)
    body = webhooks.envelope(event_type, fields, int(time.time() * 1e6), hook.url)
    call.engine.notifier.send(hook, Payload(body, json=True), call.dialect.name, call.lane)


def _media_outcome(call: CallSession, run: object) -> str:
    """Run a media step; how it ended, in Telnyx's status words."""
    from controller.call import Interrupted

    state = CALLS.get(call.uuid)
    state.media_stopped = False
    try:
        run()
    except Interrupted:
        return "call_hangup" if _hangup_pending(call) else "cancelled"
    return "cancelled" if state.media_stopped else "completed"


def _hangup_pending(call: CallSession) -> bool:
    from controller.calls import HangupCall

    return any(isinstance(c, HangupCall) for c in call.commands)


def answer(call: CallSession) -> None:
    call.answer()  # the engine reports call.answered (its call hook) once FreeSWITCH did


def speak(media: Speak):  # noqa: ANN201 - a RunOnCall procedure
    def step(call: CallSession) -> None:
        send_call_event(call, "call.speak.started")
        try:
            status = _media_outcome(call, lambda: call.play_media(media))
        except CallerGone:
            send_call_event(call, "call.speak.ended", status="call_hangup")
            raise
        send_call_event(call, "call.speak.ended", status=status)

    return step


def playback(media: Play, overlay: bool = False):  # noqa: ANN201 - a RunOnCall procedure
    names = {"media_url": media.url, "overlay": overlay}

    def step(call: CallSession) -> None:
        try:
            call.engine.media.path_for(media.url)  # fetched now: a failure is reported
        except MediaError as exc:
            log.error("playback_start: %s", exc)
            send_call_event(call, "call.playback.ended", status="file_not_found",
                            status_detail=str(exc), **names)
            return
        send_call_event(call, "call.playback.started", **names)
        try:
            status = _media_outcome(call, lambda: call.play_media(media))
        except CallerGone:
            send_call_event(call, "call.playback.ended", status="call_hangup", **names)
            raise
        send_call_event(call, "call.playback.ended", status=status, **names)

    return step


def dtmf_received(call: CallSession, digit: str) -> None:
    send_call_event(call, "call.dtmf.received", digit=digit)


# The keys of Gather.action_extra that carry what call.gather.ended needs: the gather's
# own action request is how run_gather reports its digits (redirect=False: it only tells
# the hook), and TelnyxDialect.request_payload turns that request into the webhook.
GATHER_EVENT = "telnyx_event"
GATHER_MIN_DIGITS = "telnyx_minimum_digits"
GATHER_URL = "telnyx_delivered_to"


def gather_status(digits: str, minimum_digits: int) -> str:
    """call.gather.ended's status for what run_gather collected. play_and_get_digits keeps
    only digits that match valid_digits (the variable is cleared otherwise,
    switch_ivr_play_say.c:2686), so keys outside valid_digits read as no input."""
    if not digits:
        return "timeout"
    return "valid" if len(digits) >= minimum_digits else "invalid"


def gather(verb: Gather, minimum_digits: int):  # noqa: ANN201 - a RunOnCall procedure
    """Collect digits with the engine's run_gather; call.gather.ended tells the application
    (status valid/invalid/timeout, call_hangup, or cancelled by a later command)."""

    def step(call: CallSession) -> None:
        from controller.call import Interrupted
        from controller.gather import run_gather

        hook = call.call_hook
        extra = ((GATHER_EVENT, "call.gather.ended"),
                 (GATHER_MIN_DIGITS, str(minimum_digits)), (GATHER_URL, hook.url if hook else ""))
        asked = dataclasses.replace(verb, action=hook, redirect=False,
                                    skip_action_when_empty=False, action_extra=extra)
        try:
            run_gather(call, asked)
        except Interrupted:
            status = "call_hangup" if _hangup_pending(call) else "cancelled"
            send_call_event(call, "call.gather.ended", digits="", status=status)
        except CallerGone:
            send_call_event(call, "call.gather.ended", digits="", status="call_hangup")
            raise

    return step


def gather_ended_fields(digits: str, extra: dict[str, str],
                        hungup: bool = False) -> dict[str, object]:
    """``hungup``: the call had ended when the gather returned (its action request says
    status completed): no input then means the caller left, not a timeout. FreeSWITCH
    fires CHANNEL_HANGUP before the interrupted application's CHANNEL_EXECUTE_COMPLETE
    (capture 05b: the hangup, then EXECUTE_COMPLETE of the conference app), so the call
    is known to be gone when run_gather reads its result."""
    minimum = int(extra.get(GATHER_MIN_DIGITS, "1") or 1)
    status = "call_hangup" if hungup and not digits else gather_status(digits, minimum)
    return {"digits": digits, "status": status}
