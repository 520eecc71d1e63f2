"""Neutral call/conference facts -> Plivo's request parameter names (DESIGN §3). Pure."""

from __future__ import annotations

import time

from controller.conference.events import (
    CallFacts,
    CallStatus,
    EngineEvent,
    MemberFacts,
    RecordingFacts,
    TranscriptionFacts,
)
from controller.dialects.base import CallTimes
from controller.model import EventKind

# The events Plivo reports to a <Conference> callbackUrl, as its ConferenceAction.
CONFERENCE_ACTIONS = {
    EventKind.MEMBER_JOINED: "enter",
    EventKind.MEMBER_LEFT: "exit",
    EventKind.DIGITS_MATCHED: "digits",
    EventKind.FLOOR_CHANGED: "floor",
    EventKind.RECORDING_COMPLETED: "record",
    EventKind.RECORDING_FAILED: "record",
}


def call_params(call: CallFacts, status: CallStatus) -> dict[str, str]:
    """Sent with every request about a call."""
    return {
        "CallUUID": call.uuid,
        "From": call.caller_number,
        "To": call.destination,
        "CallerName": call.caller_name,
        "Direction": call.direction,
        "CallStatus": status.value,
    }


# Plivo's code and name of the hangup causes this controller can tell apart (Plivo's
# "Hangup Causes" list: 4000 Normal Hangup, 1000 Canceled); other causes are sent as
# FreeSWITCH's HangupCause only.
HANGUP_CAUSE_NAMES = {"NORMAL_CLEARING": (4000, "Normal Hangup"),
                      "ORIGINATOR_CANCEL": (1000, "Canceled")}


def _plivo_time(micros: int) -> str:
    """Plivo's timestamps, ``yyyy-MM-dd HH:mm:ss`` (here in UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(micros / 1e6))


def hangup_params(times: CallTimes | None, cause: str) -> dict[str, str]:
    """What Plivo adds to a hangup request: StartTime, AnswerTime ("" if never answered),
    EndTime, Duration (start to end) and BillDuration (answer to end: Plivo bills from the
    answer), in whole seconds, from FreeSWITCH's channel times; HangupCauseCode/Name when
    the cause is one Plivo names."""
    params: dict[str, str] = {}
    if times is not None and times.created_us:
        params["StartTime"] = _plivo_time(times.created_us)
        params["AnswerTime"] = _plivo_time(times.answered_us) if times.answered_us else ""
        if times.hangup_us:
            params["EndTime"] = _plivo_time(times.hangup_us)
            params["Duration"] = str(max(0, times.hangup_us - times.created_us) // 1_000_000)
            billed = times.hangup_us - times.answered_us if times.answered_us else 0
            params["BillDuration"] = str(max(0, billed) // 1_000_000)
    named = HANGUP_CAUSE_NAMES.get(cause)
    if named is not None:
        params["HangupCauseCode"], params["HangupCauseName"] = str(named[0]), named[1]
    return params


def _member(member: MemberFacts) -> dict[str, str]:
    return {
        "ConferenceName": member.room,
        "ConferenceUUID": member.conference_uuid,
        "ConferenceMemberID": member.member_id,
        "CallUUID": member.call_uuid,
    }


def _recording(recording: RecordingFacts, with_durations: bool) -> dict[str, str]:
    params = {"RecordUrl": recording.url, "RecordingID": recording.recording_id}
    if with_durations:
        params.update({
            "RecordingDuration": str(round(recording.duration_ms / 1000)),
            "RecordingDurationMs": str(recording.duration_ms),
            "RecordingStartMs": str(recording.start_ms),
            "RecordingEndMs": str(recording.end_ms),
        })
        if recording.error:
            params["RecordingError"] = recording.error
    return params


def callback_params(event: EngineEvent) -> dict[str, str] | None:
    """callbackUrl: ConferenceAction enter|exit|digits|floor|record; None for events
    Plivo does not report there."""
    action = CONFERENCE_ACTIONS.get(event.kind)
    if action is None or event.member is None:
        return None
    params = call_params(event.call, event.call_status) if event.call else {}
    params.update(_member(event.member))
    params["ConferenceAction"] = action
    if event.digits:
        params["ConferenceDigitsMatch"] = event.digits
    if event.recording is not None:
        params.update(_recording(event.recording, with_durations=True))
    if event.timestamp_us:
        # Not a Plivo parameter: when FreeSWITCH saw it (µs since the epoch), so an
        # application can measure delay; Plivo applications ignore unknown parameters.
        params["EventTimestamp"] = str(event.timestamp_us)
    if event.recovered:
        # Not a Plivo parameter either: reported after a controller restart.
        params["Recovered"] = "true"
    return params


def action_params(member: MemberFacts, recording: RecordingFacts | None, call: CallFacts,
                  status: CallStatus) -> dict[str, str]:
    """action URL, fetched when the member leaves the room."""
    params = call_params(call, status)
    params.update(_member(member))
    if recording is not None:
        params.update(_recording(recording, with_durations=False))
    return params


def transcription_params(facts: TranscriptionFacts) -> dict[str, str]:
    params = _member(facts.member)
    params.update(_recording(facts.recording, with_durations=False))
    params["TranscriptionType"] = facts.kind
    params["TranscriptionStatus"] = "failed" if facts.error else "completed"
    params["Transcription"] = facts.text
    if facts.error:
        params["Error"] = facts.error
    return params
