"""Scripted FreeSWITCH peers for ESL-layer tests: real TCP, bytes chosen by the test.

``FakeInbound`` listens like FreeSWITCH's mod_event_socket; ``connect_out``
dials our OutboundServer like the ``socket`` app. Both hand the test a
``Peer`` to read commands from and write frames to.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import gevent
import gevent.queue
from gevent.server import StreamServer

_SAFE = set(range(0x20, 0x7F)) - set(b"\r\n #%&+:;<=>?@[\\]^`{|}\"")


def fs_url_encode(value: str) -> str:
    """switch_url_encode_opt: unsafe bytes become %XX; an existing %XX stays."""
    raw = value.encode("utf-8")
    out = []
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x25 and i + 2 < len(raw) and all(
            chr(c) in "0123456789abcdefABCDEF" for c in raw[i + 1 : i + 3]
        ):
            out.append("%")
        elif byte in _SAFE:
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
        i += 1
    return "".join(out)


def plain_event(pairs: list[tuple[str, str]], body: str = "") -> bytes:
    """A text/event-plain frame exactly as FreeSWITCH frames it (Content-Length first)."""
    inner = "".join(f"{k}: {fs_url_encode(v)}\n" for k, v in pairs)
    if body:
        encoded_body = body.encode()
        inner_bytes = (inner + f"Content-Length: {len(encoded_body)}\n\n").encode() + encoded_body
    else:
        inner_bytes = (inner + "\n").encode()
    return (
        f"Content-Length: {len(inner_bytes)}\nContent-Type: text/event-plain\n\n".encode()
        + inner_bytes
    )


def command_reply(text: str, extra: str = "") -> bytes:
    return f"Content-Type: command/reply\nReply-Text: {text}\n{extra}\n".encode()


def api_response(body: str) -> bytes:
    data = body.encode()
    return f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data


DISCONNECT_BODY = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def disconnect_notice() -> bytes:
    return (
        f"Content-Type: text/disconnect-notice\nContent-Length: {len(DISCONNECT_BODY)}\n\n".encode()
        + DISCONNECT_BODY
    )


@dataclass
class Command:
    line: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Peer:
    """One scripted connection."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.closed = False

    def read_command(self, timeout: float = 5.0) -> Command | None:
        """The next command the client sent, or None at EOF."""
        with gevent.Timeout(timeout):
            lines = []
            while True:
                line = self.reader.readline()
                if not line:
                    return None
                if line in (b"\n", b"\r\n"):
                    if lines:
                        break
                    continue
                lines.append(line.decode().rstrip("\r\n"))
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if "content-length" in headers:
            body = self.reader.read(int(headers["content-length"]))
        return Command(lines[0], headers, body)

    def read_subscription(self, timeout: float = 5.0) -> Command | None:
        """What an InboundClient sends after auth: its event filters, answered here as
        FreeSWITCH does, then its ``event`` command, returned unanswered."""
        command = self.read_command(timeout)
        while command is not None and command.line.startswith("filter "):
            self.send(command_reply("+OK filter added."))
            command = self.read_command(timeout)
        return command

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()

    def serve_login(self, password: str = "ClueCon") -> bool:
        """Greeting and auth as FreeSWITCH does them; False if the password was wrong."""
        self.send(b"Content-Type: auth/request\n\n")
        command = self.read_command()
        if command is None:
            return False
        if command.line != f"auth {password}":
            self.send(command_reply("-ERR invalid"))
            self.send(disconnect_notice())
            self.close()
            return False
        self.send(command_reply("+OK accepted"))
        return True


class FakeInbound:
    """Listens on an ephemeral port; each accepted connection becomes a Peer on ``peers``."""

    def __init__(self, port: int = 0) -> None:
        self.peers: gevent.queue.Queue = gevent.queue.Queue()
        self.all_peers: list[Peer] = []
        self._server = StreamServer(("127.0.0.1", port), self._accept)
        self._server.start()
        self.port = self._server.address[1]

    def _accept(self, sock: socket.socket, address: object) -> None:
        peer = Peer(sock)
        self.all_peers.append(peer)
        self.peers.put(peer)
        # Keep the handler greenlet alive while the peer is open: StreamServer
        # closes the socket when the handler returns.
        while not peer.closed:
            gevent.sleep(0.01)

    def next_peer(self, timeout: float = 5.0) -> Peer:
        return self.peers.get(timeout=timeout)

    def stop(self) -> None:
        for peer in self.all_peers:
            peer.close()
        self._server.stop(timeout=1)


def connect_out(port: int) -> Peer:
    """Dial our outbound server like FreeSWITCH's socket app."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(None)
    return Peer(sock)
