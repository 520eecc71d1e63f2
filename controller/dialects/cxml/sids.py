"""The clouds' 34-character SIDs, derived from FreeSWITCH's UUIDs. Pure.

A SID is a two-letter prefix and the 32 hex digits of a UUID, so every controller
computes the same SID for the same call, conference or recording, and the UUID
comes back from the SID without any stored mapping:

    CA + call UUID          CallSid
    CF + conference UUID    ConferenceSid
    RE + recording id       RecordingSid
"""

from __future__ import annotations

import re

CALL, CONFERENCE, RECORDING, ACCOUNT = "CA", "CF", "RE", "AC"
_SID = re.compile(r"([A-Z]{2})([0-9a-f]{32})\Z")


def sid(prefix: str, uuid: str) -> str:
    """``prefix`` + the UUID's hex digits (``""`` for an empty UUID)."""
    digits = uuid.replace("-", "").lower()
    return f"{prefix}{digits}" if digits else ""


def uuid_of(value: str, prefix: str) -> str | None:
    """The UUID behind a SID of kind ``prefix``; None when ``value`` is not one."""
    match = _SID.match(value)
    if match is None or match.group(1) != prefix:
        return None
    h = match.group(2)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def call_sid(call_uuid: str) -> str:
    return sid(CALL, call_uuid)


def conference_sid(conference_uuid: str) -> str:
    return sid(CONFERENCE, conference_uuid)


def recording_sid(recording_id: str) -> str:
    return sid(RECORDING, recording_id)


def is_account_sid(value: str) -> bool:
    match = _SID.match(value)
    return match is not None and match.group(1) == ACCOUNT
