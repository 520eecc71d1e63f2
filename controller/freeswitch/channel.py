"""``uuid_*`` commands on one channel (mod_commands). Pure.

Replies (capture 07e, 07f): ``+OK`` or ``-ERR No such channel!``;
``uuid_exists`` answers ``true``/``false``.
"""

from __future__ import annotations

from controller.freeswitch.args import token, uuid


def uuid_kill(channel: str, cause: str = "") -> str:
    line = f"uuid_kill {uuid(channel)}"
    return f"{line} {token(cause, 'hangup cause')}" if cause else line


def uuid_exists(channel: str) -> str:
    return f"uuid_exists {uuid(channel)}"


def uuid_getvar(channel: str, name: str) -> str:
    return f"uuid_getvar {uuid(channel)} {token(name, 'variable name')}"


def uuid_setvar(channel: str, name: str, value: str) -> str:
    return f"uuid_setvar {uuid(channel)} {token(name, 'variable name')} {token(value, 'value')}"


def uuid_break(channel: str, everything: bool = True) -> str:
    """Stops what the channel is playing; in a conference it only ends the conference app
    when the profile has the ``breakable`` flag (capture 07e)."""
    return f"uuid_break {uuid(channel)}" + (" all" if everything else "")


def uuid_send_dtmf(channel: str, digits: str) -> str:
    return f"uuid_send_dtmf {uuid(channel)} {token(digits, 'digits')}"


def uuid_transfer(channel: str, extension: str, dialplan: str = "XML",
                  context: str = "default") -> str:
    """``uuid_transfer <uuid> <exten> [<dialplan>] [<context>]`` (capture 07e)."""
    return (f"uuid_transfer {uuid(channel)} {token(extension, 'extension')} "
            f"{token(dialplan, 'dialplan')} {token(context, 'context')}")


def exists(reply: str) -> bool:
    return reply.strip() == "true"
