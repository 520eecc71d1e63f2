"""Telnyx webhook bodies: the envelope and each event's payload. Pure.

    {"data": {"record_type": "event", "event_type": "call.answered", "id": <uuid>,
              "occurred_at": <ISO 8601>, "payload": {...}},
     "meta": {"attempt": 1, "delivered_to": <url>}}

Field names and values follow the SDK's webhook models (telnyx/types/
call_*_webhook_event.py, conference_*_webhook_event.py). ``meta.attempt`` is 1:
the body is stored once in the outbox and re-sent unchanged on a retry (only
the signature headers are made again at each attempt).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from typing import Any

from controller.conference.events import CallFacts, EngineEvent, RecordingFacts
from controller.dialects.telnyx.ids import call_control_id
from controller.model import EventKind

# FreeSWITCH hangup causes -> Telnyx's hangup_cause values (call_hangup.py's Literal).
HANGUP_CAUSES = {
    "NORMAL_CLEARING": "normal_clearing",
    "CALL_REJECTED": "call_rejected",
    "USER_BUSY": "user_busy",
    "NO_ANSWER": "no_answer",
    "NO_USER_RESPONSE": "timeout",
    "ORIGINATOR_CANCEL": "originator_cancel",
    "UNALLOCATED_NUMBER": "not_found",
    "ALLOTTED_TIMEOUT": "time_limit",
}
# The engine's reasons for the end of a room -> conference.ended's reason.
# conference.ended's reason has three values (conference_ended.py's Literal; the SDK
# cannot parse another): a room ended over the API had all its participants sent out,
# so it reports all_left (the conference record's end_reason says ended_via_api).
END_REASONS = {"time limit": "time_exceeded", "host left": "host_left"}
# RoomHooks.tag of a Telnyx room: this prefix, then the creator's client_state. Never empty,
# so a room-level event (it carries the tag) is told apart from a member's own callback.
ROOM_TAG = "room:"
ROOM_EVENTS = {
    EventKind.ROOM_CREATED: "conference.created",
    EventKind.ROOM_ENDED: "conference.ended",
    EventKind.MEMBER_JOINED: "conference.participant.joined",
    EventKind.MEMBER_LEFT: "conference.participant.left",
    EventKind.RECORDING_COMPLETED: "conference.recording.saved",
}


def iso(epoch_us: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_us / 1e6, tz=datetime.UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


# Events Telnyx delivers without the ``data``/``meta`` wrapper: the event object itself
# (its ``occurred_at`` is in the payload). Telnyx's callback reference for
# conference.floor.changed shows ``{"record_type", "event_type", "id", "payload"}`` at the
# top, and the SDK's model of it (telnyx/types/conference_floor_changed.py,
# ConferenceFloorChanged) has no ``data``: wrapped, ``webhooks.unwrap`` reads it as another
# event type.
UNWRAPPED_EVENTS = frozenset({"conference.floor.changed"})


def envelope(event_type: str, payload: Mapping[str, Any], occurred_us: int,
             delivered_to: str) -> dict[str, Any]:
    if event_type in UNWRAPPED_EVENTS:
        return {"record_type": "event", "event_type": event_type, "id": str(uuid.uuid4()),
                "payload": dict(payload)}
    return {
        "data": {"record_type": "event", "event_type": event_type, "id": str(uuid.uuid4()),
                 "occurred_at": iso(occurred_us), "payload": dict(payload)},
        "meta": {"attempt": 1, "delivered_to": delivered_to},
    }


def call_fields(call: CallFacts, client_state: str, connection_id: str) -> dict[str, Any]:
    """What every call event carries."""
    fields: dict[str, Any] = {
        "call_control_id": call_control_id(call.uuid),
        "call_leg_id": call.uuid,
        "call_session_id": call.uuid,
        "connection_id": connection_id,
        "client_state": client_state or None,
        "from": call.caller_number,
        "to": call.destination,
    }
    return fields


def hangup_cause(freeswitch_cause: str) -> str:
    return HANGUP_CAUSES.get(freeswitch_cause, "unspecified")


def call_event_payload(event: EngineEvent, client_state: str, connection_id: str,
                       start_us: int, hangup_source: str) -> tuple[str, dict] | None:
    """(event_type, payload) of a call-level engine event, or None (not a Telnyx event)."""
    call = event.call
    fields = call_fields(call, client_state, connection_id)
    outgoing = call.direction == "outbound"
    if event.kind is EventKind.CALL_INITIATED and outgoing:
        # A dialled leg reaches the controller only once the callee answered (its
        # call.initiated was sent when it was dialled: controller.dialects.telnyx.dialing).
        fields.update(state="answered", start_time=iso(start_us))
        return "call.answered", fields
    if event.kind is EventKind.CALL_INITIATED:
        fields.update(direction="outgoing" if outgoing else "incoming",
                      state="bridging" if outgoing else "parked",
                      caller_id_name=call.caller_name, start_time=iso(start_us))
        return "call.initiated", fields
    if event.kind is EventKind.CALL_ANSWERED:
        fields.update(state="answered", start_time=iso(start_us))
        return "call.answered", fields
    if event.kind is EventKind.CALL_ENDED:
        fields.update(state="hangup", hangup_cause=hangup_cause(event.reason),
                      hangup_source=hangup_source, sip_hangup_cause="unspecified",
                      start_time=iso(start_us))
        return "call.hangup", fields
    return None


def conference_fields(event: EngineEvent) -> dict[str, Any]:
    member = event.member
    call_uuid = member.call_uuid if member is not None else ""
    return {
        "conference_id": event.conference_uuid,
        "call_control_id": call_control_id(call_uuid) or None,
        "call_leg_id": call_uuid or None,
        "call_session_id": call_uuid or None,
        "client_state": event.tag[len(ROOM_TAG):] or None,
        "occurred_at": iso(event.timestamp_us),
    }


def room_event_payload(event: EngineEvent, connection_id: str) -> tuple[str, dict] | None:
    """(event_type, payload) of a room-level engine event (the creator's room hooks)."""
    event_type = ROOM_EVENTS.get(event.kind)
    if event_type is None:
        return None
    fields = conference_fields(event)
    fields["connection_id"] = connection_id
    if event.kind is EventKind.ROOM_ENDED:
        fields["reason"] = END_REASONS.get(event.reason, "all_left")
    if event.kind is EventKind.RECORDING_COMPLETED and event.recording is not None:
        fields.update(recording_fields(event.recording))
    return event_type, fields


def recording_fields(recording: RecordingFacts) -> dict[str, Any]:
    fmt = recording.url.rsplit(".", 1)[-1] if "." in recording.url else "mp3"
    return {
        "recording_id": recording.recording_id,
        "format": fmt,
        "channels": "single",
        "recording_urls": {fmt: recording.url},
        "public_recording_urls": {fmt: recording.url},
        "recording_started_at": iso(recording.start_ms * 1000) if recording.start_ms else None,
        "recording_ended_at": iso(recording.end_ms * 1000) if recording.end_ms else None,
    }
