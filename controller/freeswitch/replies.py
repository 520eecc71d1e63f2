"""FreeSWITCH's reply texts and listings, read into values. Pure: no I/O.

The texts are exactly those of capture 02a/02c and FREESWITCH-REFERENCE §2
(mod_conference's conference_api.c, mod_commands' uuid_kill): the conference
API always "succeeds" at the ESL level, so whether a command worked is only
in its text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

OK, NOT_FOUND, FAILED = "ok", "not_found", "failed"

_ROOM_MISSING = re.compile(r"-ERR Conference \S* not found")
_TRAILING_ID = re.compile(r"(\d+)\s*$")
_NON_EXISTANT_ID = re.compile(r"-ERR Non-Existant ID (\d+)")
# Replies that mean "no such member" (the member-play text prints garbage for the id).
_MEMBER_MISSING = ("-ERR Non-Existant", "-ERR Member:", "-ERR No such channel",
                   "-ERR (saymember) Unknown Member")
_STOPPED_FILE = re.compile(r"^Stopped recording file (.+)$", re.MULTILINE)
_STOPPED_COUNT = re.compile(r"\+OK Stopped (\d+) files?")


def room_missing(reply: str) -> bool:
    """``-ERR Conference <name> not found`` (02c): the room does not exist (any more)."""
    return _ROOM_MISSING.match(reply) is not None


def ok(reply: str) -> bool:
    return reply.startswith("+OK")


@dataclass(frozen=True)
class MemberOutcome:
    member_id: int
    status: str  # OK, NOT_FOUND or FAILED
    message: str = ""


def member_outcome(member_id: int, reply: str) -> MemberOutcome:
    """The outcome of a command aimed at one member id."""
    first = reply.strip().splitlines()[0] if reply.strip() else ""
    if first.startswith("+OK"):
        return MemberOutcome(member_id, OK)
    if first.startswith(_MEMBER_MISSING):
        return MemberOutcome(member_id, NOT_FOUND, f"no member {member_id} in the room")
    return MemberOutcome(member_id, FAILED, first or "FreeSWITCH gave no reply")


def all_member_outcomes(reply: str) -> list[MemberOutcome]:
    """A command with the selector ``all``: one ``+OK <verb> <id>`` line per member,
    newest first (02a). Anything else (``-ERR no reply`` when nobody is there) names
    no member."""
    outcomes: list[MemberOutcome] = []
    for line in reply.splitlines():
        match = _TRAILING_ID.search(line)
        if line.startswith("+OK") and match:
            outcomes.append(MemberOutcome(int(match.group(1)), OK))
        elif (missing := _NON_EXISTANT_ID.match(line)) is not None:
            outcomes.append(MemberOutcome(int(missing.group(1)), NOT_FOUND, line.strip()))
    return outcomes


def stopped_recordings(reply: str) -> list[str]:
    """``norecord all``: ``Stopped recording file <path>`` per file (its count line says 0
    even when it stopped one, 02a, so the lines are what counts)."""
    return [path.strip() for path in _STOPPED_FILE.findall(reply)]


def stopped_files(reply: str) -> int | None:
    """``stop all``: ``+OK Stopped <n> files.``"""
    match = _STOPPED_COUNT.match(reply)
    return int(match.group(1)) if match else None


class ListingError(ValueError):
    """FreeSWITCH answered a listing with something that is not a listing."""


def parse_listing(text: str) -> list[dict[str, Any]]:
    """The conferences in a ``json_list`` reply. No conferences: ``[]`` (02c), or the empty
    output that ESL turns into ``-ERR no reply``."""
    stripped = text.strip()
    if stripped.startswith("-ERR no reply") or stripped.startswith("+OK No active"):
        return []
    try:
        value = json.loads(stripped)
    except ValueError:
        raise ListingError(f"conference json_list is not JSON: {stripped[:200]!r}") from None
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        raise ListingError("conference json_list is not a list of conferences")
    return value


def scheduled_task_groups(text: str) -> list[str]:
    """``show tasks as json``: the task_group of every scheduled task."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return []
    try:
        rows = json.loads(stripped).get("rows", [])
    except (ValueError, AttributeError):
        return []
    return [str(row.get("task_group", "")) for row in rows if isinstance(row, dict)]
