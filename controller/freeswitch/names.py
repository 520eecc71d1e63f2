"""Application room names <-> FreeSWITCH conference names. Pure.

The conference API looks for a room named by its first word, case-sensitively,
and only when there is none treats ``list``, ``count``, ``xml_list``,
``json_list``, ``help`` and ``commands`` as global commands, in any letter case
and ignoring the rest of the line (capture 07g). A room called ``list`` would
therefore be listed, counted and kicked by the wrong commands, and a missing
room called ``list`` answers with every room's listing. So FreeSWITCH names are
always derived: the tenant prefix, then the application's name, and a name
that would still equal one of those words gets a ``~`` appended. Application
names are letters, digits and ``-_.`` only, so the ``~`` can never come from
one and the mapping is reversible.
"""

from __future__ import annotations

import re

# mod_conference's global subcommands (conference_api.c: conference_api_main_real;
# the names capture 07g tried). Compared in lower case: strcasecmp.
GLOBAL_WORDS = frozenset({"list", "count", "xml_list", "json_list", "help", "commands"})
ESCAPE = "~"
_APP_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}\Z")


class BadRoomName(ValueError):
    pass


def fs_room_name(room: str, prefix: str = "") -> str:
    """The FreeSWITCH conference name of the application's room ``room``."""
    if not _APP_NAME.match(room):
        raise BadRoomName(f"room name {room[:120]!r} must be 1-100 of A-Z a-z 0-9 - _ .")
    name = f"{prefix}{room}"
    if name.lower() in GLOBAL_WORDS:
        name += ESCAPE
    return name


def app_room_name(fs_room: str, prefix: str = "") -> str | None:
    """The application's name of a FreeSWITCH room, or None when the room is not one of
    ours (another tenant's prefix, or not a name we derive)."""
    if prefix and not fs_room.startswith(prefix):
        return None
    name = fs_room[len(prefix):]
    if name.endswith(ESCAPE):
        name = name[: -len(ESCAPE)]
        if f"{prefix}{name}".lower() not in GLOBAL_WORDS:
            return None
    return name if _APP_NAME.match(name) else None
