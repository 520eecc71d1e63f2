"""``conference json_list compact`` -> the API's room and member objects. Pure: no I/O.

FreeSWITCH's listing is the truth about a live room (REFERENCE §2.3, capture
02a/03a): caller members carry their flags, recording nodes their paths. The
API never shows FreeSWITCH's file paths, only recording ids and URLs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

_SERVED_RECORDING = re.compile(r"[0-9a-f-]{36}\Z")  # what controller/http.py serves
_SERVED_FORMATS = ("mp3", "wav")


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _members(conference: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    members = conference.get("members")
    if not isinstance(members, list):
        return []
    return [m for m in members if isinstance(m, dict) and m.get("type") == kind]


def caller_members(conference: dict[str, Any]) -> list[dict[str, Any]]:
    return _members(conference, "caller")


def recording_paths(conference: dict[str, Any]) -> list[str]:
    return [str(m.get("record_path", "")) for m in _members(conference, "recording_node")
            if m.get("record_path")]


def recording_view(path: str, paused: bool,
                   url_for: Callable[[str, str], str]) -> dict[str, Any]:
    recording_id, ext = os.path.splitext(os.path.basename(path))
    fmt = ext.lstrip(".").lower()
    served = _SERVED_RECORDING.match(recording_id) and fmt in _SERVED_FORMATS
    return {
        "recording_id": recording_id,
        "format": fmt,
        "url": url_for(recording_id, fmt) if served else None,
        "paused": paused,
    }


def recordings_view(conference: dict[str, Any],
                    url_for: Callable[[str, str], str]) -> list[dict[str, Any]]:
    return [
        recording_view(str(m.get("record_path", "")), m.get("status") == "paused", url_for)
        for m in _members(conference, "recording_node") if m.get("record_path")
    ]


def started_at(conference: dict[str, Any], now: float, created_at: float | None,
               joins: dict[str, float]) -> float:
    """When the room started: when the controller saw it created, if it did (a fixed
    value, so the listing does not move between requests); else from json_list's whole
    seconds of ``run_time``. Never later than a member's join: a room exists before its
    first member is in it."""
    if created_at is None:
        created_at = now - max(0, _int(conference.get("run_time")))
    return min([created_at, *joins.values()])


def conference_view(conference: dict[str, Any], name: str, now: float,
                    url_for: Callable[[str, str], str], created_at: float | None = None,
                    joins: dict[str, float] | None = None) -> dict[str, Any]:
    """``created_at``/``joins``: what the controller saw of the room (None/{}: nothing,
    e.g. a room another controller made)."""
    run_time = max(0, _int(conference.get("run_time")))
    recordings = recordings_view(conference, url_for)
    return {
        "name": name,
        "conference_uuid": str(conference.get("conference_uuid", "")),
        "member_count": _int(conference.get("member_count")),
        "running_time": run_time,
        "started_at": iso_time(started_at(conference, now, created_at, joins or {})),
        "locked": bool(conference.get("locked")),
        "recording": bool(recordings) or bool(conference.get("recording")),
        "recordings": recordings,
    }


def member_view(member: dict[str, Any], now: float,
                joined_at: float | None = None) -> dict[str, Any]:
    """``joined_at``: when the controller saw the member's add-member, if it did; else
    from json_list's whole seconds since joining."""
    flags = member.get("flags") if isinstance(member.get("flags"), dict) else {}
    if joined_at is None:
        joined_at = now - max(0, _int(member.get("join_time")))
    return {
        "member_id": _int(member.get("id")),
        "call_uuid": str(member.get("uuid", "")),
        "caller_id_name": str(member.get("caller_id_name", "")),
        "caller_id_number": str(member.get("caller_id_number", "")),
        "muted": not flags.get("can_speak", True),
        "deaf": not flags.get("can_hear", True),
        "on_hold": bool(flags.get("hold")),
        "talking": bool(flags.get("talking")),
        "has_floor": bool(flags.get("has_floor")),
        "moderator": bool(flags.get("is_moderator")),
        "end_conference_on_exit": bool(flags.get("end_conference")),
        "joined_at": iso_time(joined_at),
    }


def members_view(conference: dict[str, Any], now: float,
                 joins: dict[str, float]) -> list[dict[str, Any]]:
    """Callers in join order (FreeSWITCH lists newest first)."""
    views = [member_view(m, now, joins.get(str(m.get("id")))) for m in caller_members(conference)]
    return sorted(views, key=lambda view: view["member_id"])
