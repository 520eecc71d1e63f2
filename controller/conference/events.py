"""Dialect-neutral facts the engine reports to applications.

The engine builds an ``EngineEvent`` (kind from ``controller.model.EventKind``)
and routes it to the hooks that asked for it; the call's or room's dialect
turns it into that cloud's webhook. The engine never builds parameter names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from controller.model import EventKind


@dataclass(frozen=True)
class CallFacts:
    uuid: str
    caller_number: str
    caller_name: str
    destination: str
    direction: str = "inbound"
    dialect: str = ""  # the face the call's application speaks
    call_id: str = ""  # the dialect's own id for the call (CallSid, call_control_id...)


class CallStatus(str, enum.Enum):
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"


@dataclass(frozen=True)
class MemberFacts:
    room: str  # the application's room name (without any tenant prefix)
    conference_uuid: str
    member_id: str
    call_uuid: str
    # When FreeSWITCH added the member (add-member's Event-Date-Timestamp, epoch us; 0:
    # unknown, e.g. recovered after a restart): cXML's DialCallDuration.
    joined_us: int = 0


@dataclass(frozen=True)
class MemberState:
    """A member's state when a room event about it happened (FreeSWITCH's Speak, Hold and
    Member-Type headers, and what its join decided): for faces that report it with every
    event (cXML's Muted, Hold, Coaching, StartConferenceOnEnter, EndConferenceOnExit)."""

    muted: bool = False
    held: bool = False
    starter: bool = False  # start_on_enter: a moderator in FreeSWITCH's terms
    end_on_exit: bool = False
    coaching: bool = False
    coached: tuple[str, ...] = ()  # the calls (uuid or the face's id) that hear this coach
    label: str = ""


# Why a room ended (EngineEvent.reason of ROOM_ENDED), and who ended it (ended_by). One
# word each but the first: a REST end stores its reason in the room's ``cc_end_reason``
# variable, and mod_conference splits its API arguments at every space.
END_LAST_LEFT = "last member left"
END_BY_MEMBER = "end-on-exit-member-left"
END_BY_API = "ended-via-api"
END_TIME_LIMIT = "time-limit"


@dataclass(frozen=True)
class RecordingFacts:
    recording_id: str
    url: str
    duration_ms: int = 0
    start_ms: int = 0
    end_ms: int = 0
    error: str = ""
    channels: int = 1
    call_leg: bool = False  # one call's own recording (model.StayRecording), not the room's


@dataclass(frozen=True)
class TranscriptionFacts:
    member: MemberFacts
    recording: RecordingFacts
    kind: str
    text: str = ""
    error: str = ""


@dataclass(frozen=True)
class EngineEvent:
    """One thing that happened, with what every face needs to report it."""

    kind: EventKind
    room: str = ""  # the application's room name
    conference_uuid: str = ""
    member: MemberFacts | None = None
    call: CallFacts | None = None
    call_status: CallStatus = CallStatus.IN_PROGRESS
    sequence: int = 0  # per room, increasing (0: not about a room)
    timestamp_us: int = 0  # FreeSWITCH's Event-Date-Timestamp of what caused it
    digits: str = ""
    recording: RecordingFacts | None = None
    transcription: TranscriptionFacts | None = None
    reason: str = ""  # why a member left, a room ended, a call ended
    coaching: bool = False  # MEMBER_COACHING: on or off
    tag: str = ""  # the room's tag (RoomHooks.tag)
    recovered: bool = False  # reported after a controller restart, from what was left
    member_state: MemberState | None = None  # room events about a member
    ended_by: str = ""  # ROOM_ENDED by a member leaving: that member's call uuid
