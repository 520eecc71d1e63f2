"""``conference <room> <subcommand> ...`` API commands (mod_conference). Pure.

Reply texts are read by ``controller.freeswitch.replies``; captures 02a/02b/02c
(live rooms, bgapi, missing rooms), 07a (hold), 07b (relate) and 07c (bgdial)
show each one. Room names come from ``controller.freeswitch.names`` and are
checked again here, so no caller can smuggle a second word in.

Text to speak goes through ``play 'tts://<engine>|<voice>|<text>'``, not
``say``/``saymember``: ``say`` needs the profile's tts-engine, cannot pick a voice
per request, and finds its text with ``strstr(cmdline, "say")``, so a room named
e.g. ``essay`` would speak the wrong text (conference_api.c:
CONF_API_SUB_ARGS_AS_ONE).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from controller.freeswitch.args import member_list, member_target, quoted, token

# Member subcommands that take a member selector and nothing else (02a, 07a).
MEMBER_FLAG_COMMANDS = ("mute", "unmute", "deaf", "undeaf", "hold", "unhold", "kick", "hup")


def _room(fs_room: str) -> str:
    return token(fs_room, "room name")


def room_command(fs_room: str, *words: str) -> str:
    return " ".join(("conference", _room(fs_room), *(token(w) for w in words)))


def json_list(fs_room: str | None = None) -> str:
    """Every room (``conference json_list``) or one (``conference <room> json_list``);
    ``compact`` drops the pretty-printing."""
    if fs_room is None:
        return "conference json_list compact"
    return f"conference {_room(fs_room)} json_list compact"


def member_command(fs_room: str, action: str, target: int | str, argument: str = "") -> str:
    """``conference <room> <action> <id|all|last|non_moderator> [argument]``."""
    if action not in (*MEMBER_FLAG_COMMANDS, "dtmf"):
        raise ValueError(f"{action!r} is not a member command")
    line = f"conference {_room(fs_room)} {action} {member_target(target)}"
    return f"{line} {token(argument)}" if argument else line


def kick(fs_room: str, target: int | str) -> str:
    """Removes the member; its call goes on with what follows the conference app (02a)."""
    return member_command(fs_room, "kick", target)


def dtmf(fs_room: str, target: int | str, digits: str) -> str:
    return member_command(fs_room, "dtmf", target, digits)


def hold(fs_room: str, target: int | str, sound: str = "") -> str:
    """``hold <id|all|last|non_moderator> [file]``: the member stops hearing and being heard;
    the file plays to that member only (capture 07a)."""
    line = member_command(fs_room, "hold", target)
    return f"{line} {quoted(sound)}" if sound else line


def unhold(fs_room: str, target: int | str) -> str:
    return member_command(fs_room, "unhold", target)


class Relation(str, enum.Enum):
    """``relate A C nospeak``: C no longer hears A. ``relate A C nohear``: A no longer
    hears C. ``clear`` removes both (capture 07b's measured hearing matrix)."""

    NOSPEAK = "nospeak"
    NOHEAR = "nohear"
    BOTH = "nospeak,nohear"
    CLEAR = "clear"


def relate(fs_room: str, members: Iterable[int], others: Iterable[int],
           relation: Relation) -> str:
    return (f"conference {_room(fs_room)} relate {member_list(members)} "
            f"{member_list(others)} {relation.value}")


def play(fs_room: str, sound: str, member_id: int | None = None) -> str:
    """Room play queues behind what is playing; member play reaches that member only."""
    line = f"conference {_room(fs_room)} play {quoted(sound)}"
    return f"{line} {member_target(member_id)}" if member_id is not None else line


def stop(fs_room: str) -> str:
    """``stop all``: every file playing to the room (``+OK Stopped <n> files.``)."""
    return f"conference {_room(fs_room)} stop all"


def stop_member(fs_room: str, member_id: int) -> str:
    """``stop all <member_id>``: every file playing or queued to that member only (what
    ``play <file> <id>`` started, text to speak included); the room's own files go on.
    conference_api.c conference_api_sub_stop: with argv[3] it stops the member's files
    (conference_member_stop_file, FILE_STOP_ALL) and answers ``+OK Stopped <n> files.``,
    or ``-ERR Member: <id> not found.``"""
    if isinstance(member_id, bool) or not isinstance(member_id, int):
        raise ValueError(f"stop_member: {member_id!r} is not a member id")
    return f"conference {_room(fs_room)} stop all {member_target(member_id)}"


def record(fs_room: str, path: str) -> str:
    return f"conference {_room(fs_room)} record {quoted(path)}"


def norecord_all(fs_room: str) -> str:
    return f"conference {_room(fs_room)} norecord all"


def recording(fs_room: str, verb: str, path: str) -> str:
    """``recording pause|resume <path>`` (02a)."""
    if verb not in ("pause", "resume", "stop"):
        raise ValueError(f"recording {verb!r} is not pause, resume or stop")
    return f"conference {_room(fs_room)} recording {verb} {quoted(path)}"


def setvar(fs_room: str, name: str, value: str) -> str:
    """A conference variable: listed by json_list and repeated as a header on every later
    event of the room (capture 02a), so state kept there survives a controller restart.
    The value is the rest of the line (conference_api.c: CONF_API_SUB_ARGS_SPLIT keeps
    argv[3] as is), so it may hold spaces but not a line break."""
    if "\n" in value or "\r" in value:
        raise ValueError("a conference variable cannot hold a line break")
    return f"conference {_room(fs_room)} setvar {token(name, 'variable name')} {value}"


def set_max_members(fs_room: str, count: int) -> str:
    return f"conference {_room(fs_room)} set max_members {int(count)}"


def lock(fs_room: str) -> str:
    return f"conference {_room(fs_room)} lock"


def unlock(fs_room: str) -> str:
    return f"conference {_room(fs_room)} unlock"


def moh(fs_room: str, sound: str) -> str:
    """``moh <file>``: change the room's hold music (mod_conference 1.10+)."""
    return f"conference {_room(fs_room)} moh {quoted(sound)}"
