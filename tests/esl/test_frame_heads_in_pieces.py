"""Frame heads are read from the socket buffer in whole lines (a fast path beside the
line-by-line loop): whatever the split of the bytes on the socket, CRLF heads, blank
lines between frames, heads longer than the read buffer (lines longer than it too) and
streams cut anywhere give the same heads, bodies and errors as reading one line at a
time (the reference below)."""

from __future__ import annotations

import random
import socket

import gevent
import pytest
from esl.fakefs import command_reply, plain_event

from controller.esl.frames import FrameError
from controller.esl.protocol import MAX_HEADER_BLOCK, SafeProtocolMixin


class LineByLine:
    """The reference: one readline per line, as the reader did before."""

    def __init__(self, sock_file) -> None:
        self.sock_file = sock_file

    def _read_head(self) -> bytes | None:
        lines, size = [], 0
        while True:
            line = self.sock_file.readline(MAX_HEADER_BLOCK)
            if not line:
                if lines:
                    raise FrameError("connection closed in the middle of a header block")
                return None
            if line in (b"\n", b"\r\n"):
                if lines:
                    return b"".join(lines)
                continue
            size += len(line)
            if size >= MAX_HEADER_BLOCK or not line.endswith(b"\n"):
                raise FrameError("header block too large")
            lines.append(line)


class Buffered(LineByLine):
    _read_head = SafeProtocolMixin._read_head


def _wire() -> bytes:
    wire = b""
    for index in range(15):
        pairs = [("Event-Name", "CUSTOM"), ("Unique-ID", f"uuid-{index}"),
                 ("Long", "x" * (index * 700))]  # up to ~10 KB: longer than the buffer
        frame = plain_event(pairs, body="body\n\nline\n" if index % 3 == 0 else "")
        if index % 4 == 1:  # an outer head with CRLF line ends
            head, _, rest = frame.partition(b"\n\n")
            frame = head.replace(b"\n", b"\r\n") + b"\r\n\r\n" + rest
        if index % 5 == 2:
            frame = b"\n" + frame  # blank lines between frames are skipped
        if index % 7 == 3:
            frame = b"\r\n" + frame
        if index % 6 == 5:  # a head longer than the buffer, as the outbound connect reply
            frame += command_reply("+OK", extra="".join(
                f"Variable-{line}: {'v' * (line * 37 % 500)}\n" for line in range(60)))
        wire += frame
    return wire


def _read_all(reader_class, wire: bytes, seed: int, buffer_size: int) -> list:
    """Heads and bodies (or the error) read from a socket fed in random pieces."""
    ours, theirs = socket.socketpair()
    pieces = random.Random(seed)

    def feed() -> None:
        at = 0
        while at < len(wire):
            size = pieces.choice([1, 2, 3, 7, 64, 1000, 5000])
            theirs.sendall(wire[at:at + size])
            at += size
            gevent.sleep(0)  # the reader sees the pieces one by one
        theirs.close()

    feeder = gevent.spawn(feed)
    reader = reader_class(ours.makefile("rb", buffering=buffer_size))
    found: list = []
    try:
        while True:
            try:
                head = reader._read_head()
            except FrameError as exc:
                found.append(("error", str(exc)))
                break
            if head is None:
                break
            length = 0
            for line in head.replace(b"\r", b"").split(b"\n"):
                if line.startswith(b"Content-Length: "):
                    length = int(line.split(b": ", 1)[1])
            found.append((head, reader.sock_file.read(length)))
    finally:
        feeder.kill()
        ours.close()
    return found


@pytest.mark.parametrize("buffer_size", [64, 4096, 8192])
def test_same_heads_and_bodies_as_line_by_line(buffer_size):
    wire = _wire()
    for seed in range(20):
        expected = _read_all(LineByLine, wire, seed, buffer_size)
        assert len(expected) == 17
        assert _read_all(Buffered, wire, seed, buffer_size) == expected


def test_a_stream_cut_anywhere_fails_the_same_way():
    wire = _wire()
    for cut in range(0, len(wire), 211):
        expected = _read_all(LineByLine, wire[:cut], cut, 4096)
        assert _read_all(Buffered, wire[:cut], cut, 4096) == expected
