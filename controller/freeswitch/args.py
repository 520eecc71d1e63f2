"""Argument checks and quoting for FreeSWITCH command lines. Pure.

mod_conference and mod_commands split their argument line on spaces, honouring
single quotes and backslash escapes (switch_utils.c: switch_separate_string),
so an argument that may hold spaces is wrapped in single quotes, and the
characters that would end or escape the quote never get in. Every other
argument must be one plain token: a space, quote or line break in it would let
a value become a second argument or a second command (an ESL command ends at
the line break).
"""

from __future__ import annotations

import re

_UNQUOTABLE = ("'", "\\", "\n", "\r")
_TOKEN = re.compile(r"[^\s'\"\\]+\Z")
_UUID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,63}\Z")
_MEMBER_WORDS = ("all", "last", "non_moderator")


class UnsafeArgument(ValueError):
    """A value that cannot be passed to FreeSWITCH as the argument it is meant to be."""


def quoted(argument: str) -> str:
    """One argument that may contain spaces: ``'...'``."""
    if any(c in argument for c in _UNQUOTABLE):
        raise UnsafeArgument(f"cannot pass {argument[:80]!r} to FreeSWITCH inside quotes")
    return f"'{argument}'"


def token(argument: str, what: str = "argument") -> str:
    """One plain word: no spaces, quotes, backslashes or line breaks."""
    if not _TOKEN.match(argument):
        raise UnsafeArgument(f"{what} {argument[:80]!r} is not a single FreeSWITCH word")
    return argument


def uuid(value: str) -> str:
    """A channel or conference UUID (FreeSWITCH's are 36 characters of hex and dashes;
    an originate may name its own, so any short word of letters, digits and dashes)."""
    if not _UUID.match(value):
        raise UnsafeArgument(f"{value[:80]!r} is not a channel UUID")
    return value


def member_target(target: int | str) -> str:
    """A member id, or one of mod_conference's selectors ``all``, ``last``,
    ``non_moderator`` (conference_api.c: conference_api_member_cmd_exec)."""
    if isinstance(target, int) and not isinstance(target, bool):
        if target <= 0:
            raise UnsafeArgument(f"member id {target} is not positive")
        return str(target)
    if isinstance(target, str) and (target in _MEMBER_WORDS or target.isdigit()):
        return target
    raise UnsafeArgument(f"{target!r} is not a member id or one of {', '.join(_MEMBER_WORDS)}")


def member_list(ids: object) -> str:
    """``3,4,5``: relate takes comma lists of member ids (capture 07b)."""
    values = [member_target(i) for i in ids]  # type: ignore[attr-defined]
    if not values or any(not v.isdigit() for v in values):
        raise UnsafeArgument("a member list needs one or more member ids")
    return ",".join(values)


def fs_text(text: str) -> str:
    """Text safe inside a FreeSWITCH app argument: one line, and no ``${`` (FreeSWITCH
    expands ``${name}`` and runs ``${api(args)}`` in every application argument)."""
    return " ".join(text.split()).replace("${", "$ {")


def tts_text(text: str) -> str:
    """One line of printable characters, no ``${`` (fs_text), no quote/escape characters,
    and no braces: a leading ``{...}`` would be read as TTS parameters (mod_dptools
    tts_file_open)."""
    cleaned = "".join(c if c.isprintable() else " " for c in fs_text(text))
    for char in ("'", "\\", "{", "}"):
        cleaned = cleaned.replace(char, " ")
    return " ".join(cleaned.split())


def tts_file(engine: str, voice: str, text: str) -> str:
    """mod_dptools' ``tts://<engine>|<voice>|<text>`` file format: plays TTS wherever a
    file is played (conference play, file_string lists, hold music)."""
    return f"tts://{engine}|{voice}|{tts_text(text)}"
