"""Neutral call/conference facts -> the cXML clouds' request parameters. Pure.

Every request about a call carries AccountSid, CallSid, From, To, CallStatus,
Direction and ApiVersion (plus Twilio's Caller/Called/CallerName). Conference
status callbacks carry ConferenceSid, FriendlyName, StatusCallbackEvent, the
member's state (Muted, Hold, Coaching, EndConferenceOnExit, StartConferenceOnEnter),
SequenceNumber and Timestamp (RFC 2822); recording status callbacks carry
RecordingSid, RecordingUrl, RecordingStatus, RecordingDuration, RecordingChannels.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime, timezone

from controller.conference.events import (
    END_BY_API,
    END_BY_MEMBER,
    END_TIME_LIMIT,
    CallFacts,
    CallStatus,
    EngineEvent,
    MemberFacts,
    RecordingFacts,
)
from controller.dialects.cxml import sids
from controller.model import EventKind

API_VERSION = "2010-04-01"

# The neutral events a statusCallback hears, as StatusCallbackEvent.
STATUS_EVENTS = {
    EventKind.ROOM_STARTED: "conference-start",
    EventKind.ROOM_ENDED: "conference-end",
    EventKind.MEMBER_JOINED: "participant-join",
    EventKind.MEMBER_LEFT: "participant-leave",
    EventKind.MEMBER_MUTED: "participant-mute",
    EventKind.MEMBER_UNMUTED: "participant-unmute",
    EventKind.MEMBER_HELD: "participant-hold",
    EventKind.MEMBER_UNHELD: "participant-unhold",
    EventKind.SPEAKING_STARTED: "participant-speech-start",
    EventKind.SPEAKING_STOPPED: "participant-speech-stop",
    EventKind.MEMBER_COACHING: "participant-modify",
    EventKind.ANNOUNCEMENT_DONE: "announcement-end",
}
RECORDING_STATUSES = {
    EventKind.RECORDING_STARTED: "in-progress",
    EventKind.RECORDING_COMPLETED: "completed",
    EventKind.RECORDING_FAILED: "failed",
}
# ReasonConferenceEnded (Twilio's words) for the engine's reasons.
END_REASONS = {
    END_BY_MEMBER: "participant-with-end-conference-on-exit-left",
    END_BY_API: "conference-ended-via-api",
    END_TIME_LIMIT: "conference-ended-via-api",
}
LAST_LEFT = "last-participant-left"


@dataclass(frozen=True)
class Account:
    """What the face needs of the settings: the AccountSid it speaks for and the public
    base URL recordings are served from."""

    sid: str
    base_url: str = ""

    def recording_url(self, recording_id: str) -> str:
        return (f"{self.base_url.rstrip('/')}/{API_VERSION}/Accounts/{self.sid}/Recordings/"
                f"{sids.recording_sid(recording_id)}")


def direction(call: CallFacts) -> str:
    return "inbound" if call.direction == "inbound" else "outbound-api"


def rfc2822(timestamp_us: int) -> str:
    moment = datetime.fromtimestamp(timestamp_us / 1e6, tz=timezone.utc)
    return email.utils.format_datetime(moment)


def call_params(account: Account, call: CallFacts, status: CallStatus) -> dict[str, str]:
    """Sent with every request about a call."""
    return {
        "AccountSid": account.sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.call_id or sids.call_sid(call.uuid),
        "From": call.caller_number,
        "To": call.destination,
        "Caller": call.caller_number,
        "Called": call.destination,
        "CallerName": call.caller_name,
        "CallStatus": status.value,
        "Direction": direction(call),
    }


def dial_action_params(account: Account, call: CallFacts, status: CallStatus,
                       member: MemberFacts, recording: RecordingFacts | None,
                       now_us: int = 0) -> dict[str, str]:
    """The <Dial> action request once the member left its conference. For a conference
    Dial the dialled "call" is the caller's own stay in the room: DialCallSid is its
    CallSid, DialCallDuration the whole seconds it spent in the room (from FreeSWITCH's
    add-member; "0" when that is unknown, e.g. the stay was recovered after a restart)."""
    params = call_params(account, call, status)
    params["DialCallStatus"] = "completed"
    params["DialCallSid"] = params["CallSid"]
    stay_us = now_us - member.joined_us if member.joined_us and now_us else 0
    params["DialCallDuration"] = str(max(0, stay_us) // 1_000_000)
    params["ConferenceSid"] = sids.conference_sid(member.conference_uuid)
    params["FriendlyName"] = member.room
    if recording is not None and recording.recording_id:
        params["RecordingSid"] = sids.recording_sid(recording.recording_id)
        params["RecordingUrl"] = account.recording_url(recording.recording_id)
    return params


def status_callback_params(account: Account, event: EngineEvent) -> dict[str, str] | None:
    """A conference statusCallback; None for events it does not hear."""
    name = STATUS_EVENTS.get(event.kind)
    if name is None:
        return None
    params = {
        "AccountSid": account.sid,
        "ConferenceSid": sids.conference_sid(event.conference_uuid),
        "FriendlyName": event.room,
        "StatusCallbackEvent": name,
        "SequenceNumber": str(event.sequence),
        "Timestamp": rfc2822(event.timestamp_us),
    }
    if event.member is not None and event.member.call_uuid:
        params["CallSid"] = sids.call_sid(event.member.call_uuid)
    state = event.member_state
    if state is not None and event.member is not None:
        params.update({
            "Muted": _bool(state.muted),
            "Hold": _bool(state.held),
            "Coaching": _bool(state.coaching),
            "EndConferenceOnExit": _bool(state.end_on_exit),
            "StartConferenceOnEnter": _bool(state.starter),
        })
        if state.coaching and state.coached:
            params["CallSidToCoach"] = _as_call_sid(state.coached[0])
        if state.label:
            params["ParticipantLabel"] = state.label
    if event.kind is EventKind.ROOM_ENDED:
        params["ReasonConferenceEnded"] = END_REASONS.get(event.reason, LAST_LEFT)
        params["Reason"] = event.reason
        if event.ended_by:
            params["CallSidEndingConference"] = sids.call_sid(event.ended_by)
    return params


def recording_params(account: Account, event: EngineEvent, call_uuid: str = "") -> dict[str, str]:
    """A recordingStatusCallback request."""
    recording = event.recording
    status = RECORDING_STATUSES.get(event.kind, "completed")
    params = {
        "AccountSid": account.sid,
        "ConferenceSid": sids.conference_sid(event.conference_uuid),
        "RecordingSid": sids.recording_sid(recording.recording_id) if recording else "",
        "RecordingUrl": account.recording_url(recording.recording_id)
        if recording and recording.recording_id else "",
        "RecordingStatus": status,
        "RecordingChannels": str(recording.channels) if recording else "1",
        # The caller's own recording (<Dial record>) or the conference's.
        "RecordingSource": "DialVerb" if recording and recording.call_leg else "DialConference",
        "Timestamp": rfc2822(event.timestamp_us) if event.timestamp_us else "",
    }
    if call_uuid:
        params["CallSid"] = sids.call_sid(call_uuid)
    if recording is not None and status != "in-progress":
        params["RecordingDuration"] = str(round(recording.duration_ms / 1000))
        if recording.start_ms:
            params["RecordingStartTime"] = rfc2822(recording.start_ms * 1000)
    if status == "failed":
        params["ErrorCode"] = "16104"  # Twilio's "recording could not be completed"
        params["ErrorMessage"] = recording.error if recording else ""
    else:
        params["ErrorCode"] = "0"
    return params


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _as_call_sid(call: str) -> str:
    return call if call.startswith(sids.CALL) else sids.call_sid(call)
