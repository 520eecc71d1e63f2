"""FreeSWITCH's own identity and health: ``status`` and the core UUID. Pure.

Both tell a restarted FreeSWITCH from the one the controller knew:

- ``api status`` answers at once on a live FreeSWITCH (capture
  07f_freeswitch_killed.txt: reply 0.3 ms after the command) and starts with
  its uptime, ``UP 0 years, 0 days, 0 hours, 0 minutes, 1 second, 738
  milliseconds, 177 microseconds`` (07f_freeswitch_killed_after_restart.txt,
  the first connection to a restarted process), then ``... is ready`` and
  ``N session(s) since startup``. The uptime gives the time the process
  started: a later start means a new process.
- ``global_getvar core_uuid``: switch_core.c (switch_core_init) draws a new
  UUID at every start and stores it as the global variable ``core_uuid``; it is
  the ``Core-UUID`` header of every event (07f: a142d214-... before the kill).
  An empty api output comes back as ``-ERR no reply`` (README of the captures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UPTIME = re.compile(
    r"UP (\d+) years?, (\d+) days?, (\d+) hours?, (\d+) minutes?, (\d+) seconds?"
    r"(?:, (\d+) milliseconds?)?")
_SESSIONS = re.compile(r"^(\d+) session\(s\) since startup", re.MULTILINE)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


def status() -> str:
    """``api status``: the liveness probe's command and the uptime."""
    return "api status"


def status_api() -> str:
    """The same command for ``InboundClient.api`` (which adds ``api``)."""
    return "status"


def core_uuid() -> str:
    """``global_getvar core_uuid`` for ``InboundClient.api``."""
    return "global_getvar core_uuid"


@dataclass(frozen=True)
class Status:
    uptime_seconds: float
    ready: bool
    sessions_since_startup: int


def parse_status(reply: str) -> Status | None:
    """The ``status`` reply read; None when it is not one (an error text)."""
    match = _UPTIME.search(reply)
    if match is None:
        return None
    years, days, hours, minutes, seconds = (int(g) for g in match.groups()[:5])
    millis = int(match.group(6) or 0)
    uptime = (((years * 365 + days) * 24 + hours) * 60 + minutes) * 60 + seconds + millis / 1000
    sessions = _SESSIONS.search(reply)
    return Status(uptime, "is ready" in reply,
                  int(sessions.group(1)) if sessions else 0)


def parse_core_uuid(reply: str) -> str:
    """The core UUID from ``global_getvar core_uuid``; "" when FreeSWITCH gave none."""
    text = reply.strip()
    return text if _UUID.match(text) else ""
