"""The 3PCC "twin" protocol SIPp speaks on its -3pcc TCP socket.

A message is a block of ``Name: value`` lines ended by one ESC byte (0x1b);
SIPp routes an incoming one to the call named by its Call-ID header and, for
the call's first message, creates the call (src/socket.cpp, src/call.cpp:
process_twinSippCom). Pure functions: framing and parsing only.
"""

from __future__ import annotations

ESC = b"\x1b"
MAX_MESSAGE = 64 * 1024


class TwinProtocolError(ValueError):
    """A twin message we cannot send or do not understand."""


def encode_command(call_id: str, command: str, argument: str = "-") -> bytes:
    """One command for the call ``call_id``; the scenario reads X-Cmd and X-Arg."""
    for name, value in (("call_id", call_id), ("command", command), ("argument", argument)):
        if not value or any(c in value for c in "\r\n\x1b"):
            raise TwinProtocolError(f"{name} {value!r} must be non-empty and on one line")
    text = f"Call-ID: {call_id}\r\nX-Cmd: {command}\r\nX-Arg: {argument}\r\n"
    return text.encode("ascii") + ESC


def split_messages(buffer: bytes) -> tuple[list[dict[str, str]], bytes]:
    """Complete messages in ``buffer`` (parsed) and the incomplete rest.

    Header names are lower-cased; SIPp's own abort notice arrives as
    ``{"call-id": ..., "internal-cmd": "abort_call"}``.
    """
    *complete, rest = buffer.split(ESC)
    if len(rest) > MAX_MESSAGE:
        raise TwinProtocolError(f"no message end (ESC) in {len(rest)} bytes from SIPp")
    return [parse_message(raw) for raw in complete if raw.strip()], rest


def parse_message(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip().lower()] = value.strip()
    return headers
