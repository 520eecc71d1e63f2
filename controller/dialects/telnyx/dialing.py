"""``POST /v2/calls`` (dial out) and ``transfer`` on the engine's Dialer, with the
webhooks Telnyx sends for a dialled leg.

    POST /v2/calls -> Dialer.dial(DialRequest(answer=None))  -> call.initiated (outgoing)
    the callee answers -> the leg reaches the controller     -> call.answered (the engine's
                          CALL_INITIATED of an outbound leg, see TelnyxDialect.event_payload)
    busy / no answer / failure / cancel (DialOutcome)        -> call.hangup with its cause

An answered leg waits for commands like an inbound call (the face has no markup).
Its client_state, webhook URL and connection id are the face's CallState, set
before the dial so every webhook of the leg carries them.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from typing import Any

from controller.conference.events import CallFacts
from controller.dialects.base import Payload
from controller.dialects.telnyx import webhooks
from controller.dialects.telnyx.ids import call_control_id
from controller.dialects.telnyx.inputs import Fields, TelnyxApiError, invalid, unsupported
from controller.dialects.telnyx.state import CALLS
from controller.dialer import (
    DialError,
    DialOutcome,
    DialRequest,
    DialUnavailable,
    Outcome,
    outcome_of,
)

log = logging.getLogger(__name__)

# Telnyx's bounds (Dial command reference: timeout_secs 5-600, default 30;
# time_limit_secs 30-14400, default 14400).
RING_SECONDS = (5, 600, 30)
LIMIT_SECONDS = (30, 14400, 14400)
DIAL_FIELDS = ("connection_id", "to", "from", "from_display_name", "webhook_url",
               "webhook_url_method", "client_state", "command_id", "timeout_secs",
               "time_limit_secs")
# Fields of Telnyx's dial this controller cannot honour, and why (refused, never ignored).
NOT_HERE = {
    "answering_machine_detection": "no answering machine detection here",
    "audio_url": "play it after call.answered (playback_start)",
    "media_name": "no media storage here",
    "record": "use record_start after call.answered",
    "custom_headers": "SIP headers are not passed to the dialled leg",
    "sip_headers": "SIP headers are not passed to the dialled leg",
    "sip_auth_username": "the gateway's credentials are configured in FreeSWITCH",
    "sip_auth_password": "the gateway's credentials are configured in FreeSWITCH",
    "link_to": "calls here are single legs",
    "bridge_intent": "calls here are single legs", "bridge_on_answer": "calls here are "
    "single legs", "stream_url": "no media streaming here", "transcription": "no "
    "transcription of calls here", "conference_config": "create the conference after "
    "call.answered (POST /v2/conferences)", "supervise_call_control_id": "use a conference "
    "and its supervisor roles",
}
# How an unanswered dial ends, in call.hangup's words: (hangup_cause, hangup_source).
# Telnyx reports its ring timeout as "timeout" (Dial reference, timeout_secs).
UNANSWERED = {
    Outcome.BUSY: ("user_busy", "callee"),
    Outcome.NO_ANSWER: ("timeout", "unknown"),
    Outcome.CANCELLED: ("originator_cancel", "caller"),
}
FAILED_CAUSES = {"CALL_REJECTED": "call_rejected", "UNALLOCATED_NUMBER": "not_found",
                 "NO_ROUTE_DESTINATION": "not_found", "USER_NOT_REGISTERED": "not_found",
                 "SUBSCRIBER_ABSENT": "not_found"}


def dial_facts(call_uuid: str, to: str, from_number: str, from_name: str) -> CallFacts:
    return CallFacts(uuid=call_uuid, caller_number=from_number, caller_name=from_name,
                     destination=to, direction="outbound", dialect="telnyx",
                     call_id=call_control_id(call_uuid))


def unanswered_cause(outcome: DialOutcome) -> tuple[str, str]:
    return _unanswered(outcome.kind, outcome.cause)


def unanswered_from_cause(freeswitch_cause: str) -> tuple[str, str]:
    """(hangup_cause, hangup_source) of a leg that ended unanswered with this FreeSWITCH
    cause (a transfer's leg: its CHANNEL_HANGUP_COMPLETE or the caller's
    originate_failed_cause)."""
    return _unanswered(outcome_of(freeswitch_cause), freeswitch_cause)


def _unanswered(kind: Outcome, freeswitch_cause: str) -> tuple[str, str]:
    if kind in UNANSWERED:
        return UNANSWERED[kind]
    cause = FAILED_CAUSES.get(freeswitch_cause, "unspecified")
    # A rejection (SIP 603: CALL_REJECTED) is the callee's doing; other failures are not
    # known to be anyone's.
    return cause, "callee" if cause == "call_rejected" else "unknown"


class TelnyxDialer:
    """Dials for the face; every webhook of a dialled leg goes through the Notifier."""

    def __init__(self, service: Any):
        self.service = service

    def _send(self, facts: CallFacts, event_type: str, **extra: object) -> None:
        state = CALLS.get(facts.uuid)
        url = state.webhook_url or self.service.settings.telnyx.webhook_url
        if not url:
            return
        from controller.model import HttpMethod, Webhook

        fields = webhooks.call_fields(facts, state.client_state, state.connection_id)
        fields.update(extra)
        body = webhooks.envelope(event_type, fields, int(time.time() * 1e6), url)
        self.service.engine.notifier.send(Webhook(url, HttpMethod.POST),
                                          Payload(body, json=True), "telnyx",
                                          f"call:{facts.uuid}")

    def _journal(self, facts: CallFacts, state: Any) -> None:
        """The ringing leg goes in the call journal with its webhook URL and client_state:
        should this controller die before the leg ends, the restarted one watches it
        (still ringing or answered: it reaches the new controller's socket as any
        dialled leg does) or reports its call.hangup (gone) from there
        (controller.recovery). While this controller dials it, the dialer owns it; once
        answered, its CallSession writes the entry again."""
        from controller.journal import JournalEntry
        from controller.model import HttpMethod, Webhook

        url = state.webhook_url or self.service.settings.telnyx.webhook_url
        self.service.engine.journal.put(JournalEntry(
            facts.uuid, "telnyx", facts, hangup=None,
            call_hook=Webhook(url, HttpMethod.POST) if url else None,
            face_state=state.journaled()))

    def request(self, fields: Fields) -> dict[str, Any]:
        """What POST /v2/calls asks for, checked field by field (nothing dialled yet)."""
        fields.only(DIAL_FIELDS, NOT_HERE)
        to = fields.body.get("to")
        if isinstance(to, list):
            raise unsupported("to", "one destination per dial (no simultaneous ring)")
        return {
            "connection_id": fields.text("connection_id", required=True, max_len=256),
            "to": fields.text("to", required=True, max_len=256),
            "from": fields.text("from", required=True, max_len=64),
            "from_display_name": fields.text("from_display_name", max_len=128) or "",
            "webhook_url": fields.text("webhook_url", max_len=2048) or "",
            "method": fields.choice("webhook_url_method", ("POST",)),
            "client_state": fields.client_state() or "",
            "timeout_secs": fields.number("timeout_secs", *RING_SECONDS),
            "time_limit_secs": fields.number("time_limit_secs", *LIMIT_SECONDS),
        }

    def dial(self, wanted: dict[str, Any], on_answered: Any = None,
             on_unanswered: Any = None) -> tuple[str, CallFacts]:
        """Start ringing ``wanted`` (from ``request``); the new leg's uuid and facts.
        ``on_answered(uuid)`` / ``on_unanswered(outcome)``: the caller's own follow-up
        (transfer), run on the dialer's greenlet after the webhooks are queued."""
        facts_box: list[CallFacts] = []

        def outcome(result: DialOutcome) -> None:
            if result.answered:
                if on_answered is not None:
                    on_answered(result.uuid)
                return
            cause, source = unanswered_cause(result)
            log.info("dial %s: %s (%s)", result.uuid, result.kind.value, result.cause)
            if facts_box:
                self._send(facts_box[0], "call.hangup", state="hangup", hangup_cause=cause,
                           hangup_source=source, sip_hangup_cause="unspecified",
                           start_time=webhooks.iso(CALLS.get(result.uuid).started_us))
            CALLS.forget(result.uuid)
            self.service.engine.journal.remove(result.uuid)  # its end is reported
            if on_unanswered is not None:
                on_unanswered(result)

        call_uuid = str(uuidlib.uuid4())
        request = DialRequest(
            to=wanted["to"], from_number=wanted["from"], from_name=wanted["from_display_name"],
            dialect="telnyx", answer=None, timeout_secs=wanted["timeout_secs"],
            time_limit_secs=wanted["time_limit_secs"],
            state={"connection_id": wanted["connection_id"]}, on_outcome=outcome,
            call_uuid=call_uuid)
        # The leg's state before the dial: every webhook of the leg carries it.
        state = CALLS.get(call_uuid)
        state.client_state = wanted["client_state"]
        state.webhook_url = wanted["webhook_url"]
        state.connection_id = wanted["connection_id"]
        try:
            handle = self.service.dialer.dial(request)
        except DialError as exc:
            CALLS.forget(call_uuid)
            raise invalid(_FIELD_NAMES.get(exc.field, exc.field), exc.message) from None
        except DialUnavailable as exc:
            CALLS.forget(call_uuid)
            raise TelnyxApiError(503, "10007", "FreeSWITCH unavailable", str(exc)) from None
        # dial() returns before anything rang (the originate runs on its own greenlet, not
        # yet scheduled), so call.initiated is queued before any outcome, in the same lane.
        leg = handle.leg
        facts = dial_facts(call_uuid, wanted["to"], leg.from_number, leg.from_name)
        facts_box.append(facts)
        self._journal(facts, state)
        self._send(facts, "call.initiated", direction="outgoing", state="bridging",
                   caller_id_name=leg.from_name or None,
                   start_time=webhooks.iso(state.started_us))
        return call_uuid, facts

    def cancel(self, call_uuid: str) -> bool:
        """Hang up a leg still ringing (hangup on a dialled call not answered yet)."""
        dialer = self.service.dialer
        return dialer.get(call_uuid) is not None and dialer.cancel(call_uuid)


# DialRequest's names -> Telnyx's fields, for error messages.
_FIELD_NAMES = {"from_number": "from", "from_name": "from_display_name", "to": "to",
                "timeout_secs": "timeout_secs", "time_limit_secs": "time_limit_secs",
                "state": "connection_id"}


def dial_answer(call_uuid: str, client_state: str) -> dict[str, Any]:
    """POST /v2/calls's answer: the new leg's ids (Telnyx: is_alive is false, dialling is
    asynchronous)."""
    return {"data": {"call_control_id": call_control_id(call_uuid), "call_leg_id": call_uuid,
                     "call_session_id": call_uuid, "is_alive": False, "record_type": "call",
                     "client_state": client_state or None}}
