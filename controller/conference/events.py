"""Dialect-neutral facts the engine reports to applications.

A dialect's formatter (``controller.xml.plivo_params`` for Plivo) turns these
into webhook parameters; the engine never builds parameter names itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class CallFacts:
    uuid: str
    caller_number: str
    caller_name: str
    destination: str
    direction: str = "inbound"


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


@dataclass(frozen=True)
class RecordingFacts:
    recording_id: str
    url: str
    duration_ms: int = 0
    start_ms: int = 0
    end_ms: int = 0
    error: str = ""


class MemberAction(str, enum.Enum):
    ENTER = "enter"
    EXIT = "exit"
    DIGITS = "digits"
    FLOOR = "floor"
    RECORD = "record"


@dataclass(frozen=True)
class MemberEvent:
    action: MemberAction
    member: MemberFacts
    digits: str = ""
    recording: RecordingFacts | None = None
    timestamp_us: int = 0  # FreeSWITCH's Event-Date-Timestamp of what caused it


@dataclass(frozen=True)
class TranscriptionFacts:
    member: MemberFacts
    recording: RecordingFacts
    kind: str
    text: str = ""
    error: str = ""
