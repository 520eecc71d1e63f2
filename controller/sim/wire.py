"""Event Socket framing on the FreeSWITCH side (pure: bytes in, bytes out).

``CommandReader`` turns the client's byte stream into commands exactly like
``mod_event_socket.c:read_packet``; the ``*_frame`` functions build the frames
FreeSWITCH writes, in FreeSWITCH's header order (FREESWITCH-REFERENCE §1.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.sim.fsutil import atoi

GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # mod_event_socket MAX_CONTENT_LENGTH
MAX_COMMAND_BYTES = 10485760  # read_packet max_len: a longer block is cut there


class ProtocolViolation(Exception):
    """The client sent something FreeSWITCH answers by dropping the connection."""


@dataclass
class Command:
    """One client command: its first line and the headers that followed it."""

    line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


class CommandReader:
    """Incremental parser of client commands (read_packet).

    Empty lines before a command are skipped; a command ends at a blank line
    (``\\r`` is ignored when counting newlines); a ``Content-Length`` header
    makes the reader take exactly that many body bytes.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pending: Command | None = None
        self._body_left = 0

    def feed(self, data: bytes) -> list[Command]:
        self._buf += data
        commands: list[Command] = []
        while True:
            if self._pending is not None:
                if len(self._buf) < self._body_left:
                    break
                body = bytes(self._buf[: self._body_left])
                del self._buf[: self._body_left]
                self._pending.body = body.decode("utf-8", "replace")
                commands.append(self._pending)
                self._pending = None
                continue
            command = self._take_block()
            if command is None:
                break
            if command is not self._pending:  # else: wait for its body
                commands.append(command)
        return commands

    @property
    def has_partial(self) -> bool:
        """True while a command has started but is not complete (no events then)."""
        return bool(self._buf.strip(b"\r\n")) or self._pending is not None

    def _take_block(self) -> Command | None:
        start = 0
        while start < len(self._buf) and self._buf[start] in (0x0D, 0x0A):
            start += 1
        if start:
            del self._buf[:start]
        newlines = 0
        end = None
        for i, byte in enumerate(self._buf):
            if byte == 0x0A:
                newlines += 1
                if newlines == 2:
                    end = i + 1
                    break
            elif byte != 0x0D:
                newlines = 0
            if i + 1 >= MAX_COMMAND_BYTES:
                end = i + 1
                break
        if end is None:
            return None
        block = bytes(self._buf[:end]).decode("utf-8", "replace")
        del self._buf[:end]
        lines = [line.rstrip("\r") for line in block.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            return None
        command = Command(lines[0])
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                continue
            value = value.lstrip(" ")
            command.headers.append((name, value))
            if name.lower() == "content-length":
                length = atoi(value)
                if length < 0 or length > MAX_CONTENT_LENGTH:
                    raise ProtocolViolation(f"Content-Length {value!r} out of range")
                if length > 0:
                    self._pending = command
                    self._body_left = length
                    return command
        return command


def auth_request_frame() -> bytes:
    return b"Content-Type: auth/request\n\n"


def command_reply_frame(reply: str) -> bytes:
    """``Content-Type: command/reply``; a reply starting with ``~`` is raw headers."""
    if reply.startswith("~"):
        return ("Content-Type: command/reply\n" + reply[1:]).encode()
    return f"Content-Type: command/reply\nReply-Text: {reply}\n\n".encode()


def api_response_frame(body: str) -> bytes:
    data = body.encode("utf-8", "surrogateescape")
    return f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data


def event_frame(serialized: bytes, fmt: str) -> bytes:
    """An event: ``Content-Length`` first, then ``Content-Type: text/event-<fmt>``."""
    return (
        f"Content-Length: {len(serialized)}\nContent-Type: text/event-{fmt}\n\n".encode()
        + serialized
    )


def disconnect_frame(session_uuid: str | None, message: str = GOODBYE) -> bytes:
    data = message.encode()
    if session_uuid:
        head = (
            "Content-Type: text/disconnect-notice\n"
            f"Controlled-Session-UUID: {session_uuid}\n"
            "Content-Disposition: disconnect\n"
            f"Content-Length: {len(data)}\n\n"
        )
    else:
        head = f"Content-Type: text/disconnect-notice\nContent-Length: {len(data)}\n\n"
    return head.encode() + data


def linger_frame(session_uuid: str, channel_name: str, linger_time: int) -> bytes:
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {session_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    ).encode()


def log_frame(
    text: str, level: int, text_channel: int, file: str, func: str, line: int, user_data: str
) -> bytes:
    data = text.encode()
    return (
        "Content-Type: log/data\n"
        f"Content-Length: {len(data)}\n"
        f"Log-Level: {level}\n"
        f"Text-Channel: {text_channel}\n"
        f"Log-File: {file}\n"
        f"Log-Func: {func}\n"
        f"Log-Line: {line}\n"
        f"User-Data: {user_data}\n\n"
    ).encode() + data
