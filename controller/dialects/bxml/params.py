"""Bandwidth's JSON bodies: call events (initiate, redirect, gather, disconnect) and
conference webhooks, with Bandwidth's field names. Pure.

Field names and event types follow Bandwidth's webhook reference (and the models of
its SDK, ``bandwidth.models.*Callback``, which parse them in our tests).
"""

from __future__ import annotations

import datetime
from typing import Any

from controller.conference.events import CallFacts, EngineEvent, RecordingFacts
from controller.dialects.base import Purpose, RequestContext
from controller.dialects.bxml import ids
from controller.model import EventKind

# FreeSWITCH hangup causes -> Bandwidth's disconnect causes.
CAUSES = {
    "NORMAL_CLEARING": "hangup", "USER_BUSY": "busy", "NO_ANSWER": "timeout",
    "NO_USER_RESPONSE": "timeout", "ORIGINATOR_CANCEL": "cancel", "CALL_REJECTED": "rejected",
    # A dialled call that could not be placed (controller.dialer's FAILED causes).
    "NORMAL_TEMPORARY_FAILURE": "error", "DESTINATION_OUT_OF_ORDER": "error",
    "SUBSCRIBER_ABSENT": "error", "INVALID_GATEWAY": "error", "UNALLOCATED_NUMBER": "error",
}
CONFERENCE_EVENTS = {
    EventKind.ROOM_CREATED: "conferenceCreated",
    EventKind.MEMBER_JOINED: "conferenceMemberJoin",
    EventKind.MEMBER_LEFT: "conferenceMemberExit",
    EventKind.ROOM_ENDED: "conferenceCompleted",
    EventKind.RECORDING_COMPLETED: "conferenceRecordingAvailable",
    EventKind.RECORDING_FAILED: "conferenceRecordingAvailable",
}
# Conference webhooks whose reply is BXML the conference runs (Bandwidth's pages).
REPLY_RUNS_IN_ROOM = frozenset({"conferenceCreated", "conferenceMemberJoin",
                                "conferenceMemberExit", "conferenceRedirect"})


def iso_time(timestamp_us: int) -> str:
    """``2019-07-31T13:16:01.123Z`` (ISO 8601, UTC, milliseconds, as Bandwidth sends)."""
    moment = datetime.datetime.fromtimestamp(timestamp_us / 1e6, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_us() -> int:
    return int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1e6)


def iso_duration(milliseconds: int) -> str:
    """ISO 8601 duration: ``PT12.345S``."""
    return f"PT{milliseconds / 1000:.3f}S".replace(".000S", "S")


def call_url(base_url: str, account_id: str, call_id: str) -> str:
    return f"{base_url.rstrip('/')}/api/v2/accounts/{account_id}/calls/{call_id}"


def call_event(context: RequestContext, account_id: str, application_id: str,
               base_url: str) -> dict[str, Any]:
    """The body of a call's document request or disconnect notice."""
    call: CallFacts = context.call
    stamp = iso_time(now_us())
    call_id = call.call_id or ids.call_id(call.uuid)
    fields: dict[str, Any] = {
        "eventType": _call_event_type(context), "eventTime": stamp,
        "accountId": account_id, "applicationId": application_id,
        "from": call.caller_number, "to": call.destination, "direction": call.direction,
        "callId": call_id, "callUrl": call_url(base_url, account_id, call_id),
        "startTime": stamp,
    }
    if context.digits is not None:
        fields["digits"] = context.digits
        if context.terminator:
            fields["terminatingDigit"] = context.terminator
    if fields["eventType"] == "answer":
        fields["answerTime"] = stamp
    if context.purpose is Purpose.HANGUP:
        fields["cause"] = "application-error" if context.error else \
            CAUSES.get(context.hangup_cause, "hangup")
        fields["errorMessage"] = context.error or None
        fields["endTime"] = stamp
    if context.tag is not None:
        fields["tag"] = context.tag
    return fields


def _call_event_type(context: RequestContext) -> str:
    if context.purpose is Purpose.ANSWER:
        # A call we dialled (REST create call) was answered: Bandwidth's answer event.
        return "answer" if context.call.direction == "outbound" else "initiate"
    if context.purpose is Purpose.HANGUP:
        return "disconnect"
    if context.digits is not None:
        return "gather"
    return "redirect"


def conference_event(event: EngineEvent, account_id: str) -> dict[str, Any] | None:
    """The body of a conference webhook; None for what Bandwidth does not report."""
    event_type = CONFERENCE_EVENTS.get(event.kind)
    if event_type is None:
        return None
    fields: dict[str, Any] = {
        "eventType": event_type, "eventTime": iso_time(event.timestamp_us or now_us()),
        "accountId": account_id, "conferenceId": ids.conference_id(event.conference_uuid),
        "name": event.room,
    }
    if event.kind in (EventKind.MEMBER_JOINED, EventKind.MEMBER_LEFT) and event.member:
        fields["callId"] = ids.call_id(event.member.call_uuid)
        if event.call is not None:
            fields["from"] = event.call.caller_number
            fields["to"] = event.call.destination
    if event.recording is not None and event_type == "conferenceRecordingAvailable":
        fields.update(recording_fields(event.recording))
    if event.tag:
        fields["tag"] = event.tag
    return fields


def recording_fields(recording: RecordingFacts) -> dict[str, Any]:
    fmt = recording.url.rsplit(".", 1)[-1] if "." in recording.url else "wav"
    return {
        "recordingId": ids.recording_id(recording.recording_id), "channels": 1,
        "startTime": iso_time(recording.start_ms * 1000) if recording.start_ms else None,
        "endTime": iso_time(recording.end_ms * 1000) if recording.end_ms else None,
        "duration": iso_duration(recording.duration_ms), "fileFormat": fmt,
        "status": "error" if recording.error else "complete",
    }


def redirect_event(room: str, conference_uuid: str, account_id: str,
                   tag: str) -> dict[str, Any]:
    """conferenceRedirect: sent when the REST API redirects a conference."""
    fields: dict[str, Any] = {
        "eventType": "conferenceRedirect", "eventTime": iso_time(now_us()),
        "accountId": account_id, "conferenceId": ids.conference_id(conference_uuid),
        "name": room,
    }
    if tag:
        fields["tag"] = tag
    return fields
