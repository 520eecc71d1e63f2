"""Exceptions of the Event Socket layer."""

from __future__ import annotations


class EslError(Exception):
    """Base class for Event Socket failures."""


class EslNotConnected(EslError):
    """No usable connection to FreeSWITCH right now."""


class EslConnectionLost(EslNotConnected):
    """The connection went away while a command was waiting for its reply."""


class EslTimeout(EslError):
    """FreeSWITCH did not answer a command within its timeout."""


class EslAuthError(EslError):
    """FreeSWITCH refused the Event Socket password."""


class EslCommandError(EslError):
    """FreeSWITCH answered a command with -ERR."""

    def __init__(self, command: str, reply: str):
        super().__init__(f"{command!r} failed: {reply.strip()}")
        self.command = command
        self.reply = reply


class CallerGone(EslError):
    """The call hung up (or its socket closed): nothing more can be done on it."""
