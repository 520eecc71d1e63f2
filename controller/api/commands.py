"""FreeSWITCH command lines for API actions. Pure: no I/O.

mod_conference splits its argument line on spaces, honouring single quotes and
backslash escapes (switch_utils.c:switch_separate_string), so a file argument
that may hold spaces (TTS text, a configured directory) is wrapped in single
quotes, and the characters that would end or escape the quote never get in.

TTS goes through ``conference <room> play 'tts://<engine>|<voice>|<text>'`` (mod_dptools'
tts:// file format), not ``say``/``saymember``: ``say`` needs the profile's
tts-engine, cannot pick a voice per request, and finds its text with
``strstr(cmdline, "say")``, so a room named e.g. ``essay`` would speak the wrong
text (conference_api.c: CONF_API_SUB_ARGS_AS_ONE).
"""

from __future__ import annotations

from controller.media import fs_text

# Member actions that are one mod_conference subcommand taking the member selector.
FLAG_ACTIONS = ("mute", "unmute", "deaf", "undeaf", "hold", "unhold", "kick")
_UNQUOTABLE = ("'", "\\")


class UnsafeArgument(ValueError):
    """A value that cannot be passed inside a quoted FreeSWITCH argument."""


def quoted(argument: str) -> str:
    if any(c in argument for c in _UNQUOTABLE) or "\n" in argument or "\r" in argument:
        raise UnsafeArgument(f"cannot pass {argument[:80]!r} to FreeSWITCH")
    return f"'{argument}'"


def tts_text(text: str) -> str:
    """One line of printable characters, no ``${`` (fs_text), no quote/escape characters,
    and no braces: a leading ``{...}`` would be read as TTS parameters (mod_dptools
    tts_file_open)."""
    cleaned = "".join(c if c.isprintable() else " " for c in fs_text(text))
    for char in ("'", "\\", "{", "}"):
        cleaned = cleaned.replace(char, " ")
    return " ".join(cleaned.split())


def tts_file(engine: str, voice: str, text: str) -> str:
    return f"tts://{engine}|{voice}|{tts_text(text)}"


def member_command(fs_room: str, action: str, target: str, argument: str = "") -> str:
    """``conference <room> <action> <id|all> [argument]``."""
    line = f"conference {fs_room} {action} {target}"
    return f"{line} {argument}" if argument else line


def play_command(fs_room: str, sound: str, member_id: int | None = None) -> str:
    """Room play queues behind what is playing; member play reaches that member only."""
    line = f"conference {fs_room} play {quoted(sound)}"
    return f"{line} {member_id}" if member_id is not None else line


def room_command(fs_room: str, *words: str) -> str:
    return " ".join(("conference", fs_room, *words))
