"""A raw-socket Event Socket peer for the simulator's tests (speaks bytes).

Like the harness that recorded the captures: it writes exact command bytes
and reads exact frames (headers, blank line, Content-Length body), keeping
every frame in arrival order. It knows nothing about the simulator and does
not use the controller's ESL layer.
"""

from __future__ import annotations

import socket
import time
import urllib.parse
from dataclasses import dataclass, field

import gevent
import gevent.queue
from gevent.server import StreamServer


@dataclass
class Frame:
    raw: bytes
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def reply_text(self) -> str | None:
        value = self.headers.get("Reply-Text")
        return urllib.parse.unquote(value) if value is not None else None

    def event(self) -> Event | None:
        if self.content_type != "text/event-plain":
            return None
        return Event.parse(self.body)


@dataclass
class Event:
    """An event-plain body: header names in order, values URL-decoded."""

    pairs: list[tuple[str, str]]
    body: bytes = b""

    @classmethod
    def parse(cls, data: bytes) -> Event:
        head, _, rest = data.partition(b"\n\n")
        pairs = []
        for line in head.decode().split("\n"):
            if ": " in line:
                key, value = line.split(": ", 1)
                pairs.append((key, urllib.parse.unquote(value)))
        length = dict(pairs).get("Content-Length")
        body = rest[: int(length)] if length else b""
        return cls(pairs, body)

    def get(self, name: str) -> str | None:
        for key, value in self.pairs:
            if key == name:
                return value
        return None

    @property
    def name(self) -> str | None:
        return self.get("Event-Name")

    @property
    def action(self) -> str | None:
        return self.get("Action")

    @property
    def kind(self) -> str:
        """Event-Name, plus Action for conference events (used to compare order)."""
        if self.name == "CUSTOM" and self.action:
            return f"CUSTOM/{self.action}"
        return self.name or "?"


def split_frames(buffer: bytearray) -> list[bytes]:
    """Cut complete frames off the front of ``buffer``."""
    frames = []
    while True:
        end = buffer.find(b"\n\n")
        if end < 0:
            return frames
        head = bytes(buffer[:end])
        length = 0
        for line in head.split(b"\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        total = end + 2 + length
        if len(buffer) < total:
            return frames
        frames.append(bytes(buffer[:total]))
        del buffer[:total]


def parse_frame(raw: bytes) -> Frame:
    head, _, body = raw.partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\n"):
        if ": " in line:
            key, value = line.split(": ", 1)
            headers.setdefault(key, value)
        elif line.endswith(":"):
            headers.setdefault(line[:-1], "")
    return Frame(raw, headers, body)


class Peer:
    """One ESL TCP connection; a reader greenlet collects frames."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.frames: list[Frame] = []
        self.closed = False
        self._new = gevent.queue.Queue()
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        buffer = bytearray()
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buffer += data
                for raw in split_frames(buffer):
                    frame = parse_frame(raw)
                    self.frames.append(frame)
                    self._new.put(frame)
        except OSError:
            pass
        self.closed = True
        self._new.put(None)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next_frame(self, timeout: float = 5.0) -> Frame:
        frame = self._new.get(timeout=timeout)
        if frame is None:
            raise ConnectionError("peer closed the connection")
        return frame

    def command(self, text: str, timeout: float = 5.0) -> Frame:
        """Send one command block and return its reply (skipping events)."""
        self.send(text.encode() if text.endswith("\n\n") else (text + "\n\n").encode())
        return self.reply(timeout)

    def reply(self, timeout: float = 5.0) -> Frame:
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next_frame(max(0.01, deadline - time.monotonic()))
            if (
                frame.content_type in ("command/reply", "api/response")
                or "Reply-Text" in frame.headers
            ):
                return frame

    def api(self, text: str, timeout: float = 5.0) -> str:
        frame = self.command(f"api {text}", timeout)
        return frame.body.decode()

    def events(self) -> list[Event]:
        return [f.event() for f in self.frames if f.event() is not None]

    def wait_event(self, predicate, timeout: float = 5.0) -> Event:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            events = self.events()
            for event in events[seen:]:
                if predicate(event):
                    return event
            seen = len(events)
            gevent.sleep(0.005)
        raise TimeoutError("no matching event")

    def wait_closed(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            gevent.sleep(0.005)
        if not self.closed:
            raise TimeoutError("connection still open")

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self._reader.kill(block=False)


def connect(port: int, host: str = "127.0.0.1") -> Peer:
    return Peer(socket.create_connection((host, port), timeout=5))


def login(port: int, password: str = "ClueCon") -> Peer:
    peer = connect(port)
    greeting = peer.next_frame()
    assert greeting.content_type == "auth/request", greeting.raw
    reply = peer.command(f"auth {password}")
    assert reply.reply_text == "+OK accepted", reply.raw
    return peer


class OutboundController:
    """Listens like a controller's outbound server (port 0) and hands out peers."""

    def __init__(self) -> None:
        self.peers: gevent.queue.Queue = gevent.queue.Queue()
        self._server = StreamServer(("127.0.0.1", 0), self._handle)
        self._server.start()
        self.port = self._server.server_port
        self._open: list[Peer] = []

    def _handle(self, sock: socket.socket, address: object) -> None:
        peer = Peer(sock)
        self._open.append(peer)
        self.peers.put(peer)
        while not peer.closed:
            gevent.sleep(0.05)

    def accept(self, timeout: float = 5.0) -> Peer:
        return self.peers.get(timeout=timeout)

    def stop(self) -> None:
        for peer in self._open:
            peer.close()
        self._server.stop(timeout=1)
