"""The answers controller.http_client reads itself (the common shape) give what
geventhttpclient gives for the same bytes, and every other shape still reaches the library.

A raw TCP server writes canned answers (sometimes in pieces); the same bytes are read by
our client and by geventhttpclient's own HTTPClient, and status, fields and body compared.
"""

from __future__ import annotations

import gevent
import pytest
from gevent.server import StreamServer
from geventhttpclient import HTTPClient

from controller.http_client import HttpClient, RequestFailed, _LeanAnswer, _LeanHTTPClient

SIMPLE = {
    "plain": [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK"],
    "body-later": [b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", b"<Response/>"],
    "empty-body": [b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
    "empty-value": [b"HTTP/1.1 200 OK\r\nX-Empty:\r\nContent-Length: 1\r\n\r\nx"],
    "repeated": [b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 1"
                 b"\r\n\r\nx"],
    "no-space": [b"HTTP/1.1 404 Not Found\r\nContent-Type:text/html\r\nContent-Length: 3"
                 b"\r\n\r\nnot"],
    "empty-reason": [b"HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n"],
    "redirect": [b"HTTP/1.1 302 Found\r\nLocation: /next?a=1\r\nContent-Length: 0\r\n\r\n"],
    "keep-alive": [b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nOK"],
    "inner-tab": [b"HTTP/1.1 200 OK\r\nX-A: a\tb  c\r\nContent-Length: 2\r\n\r\nOK"],
    "no-content": [b"HTTP/1.1 204 No Content\r\nDate: Wed, 02 Dec 2026 10:00:00 GMT\r\n\r\n"],
    "no-content-length-0": [b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"],
    "not-modified": [b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"],
}
# Shapes the lean path declines: the library reads them, with nothing read before.
OTHER = {
    "chunked": [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n"],
    "close": [b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK"],
    "http10": [b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nOK"],
    "no-content-length-2": [b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n"],
    "trailing-space": [b"HTTP/1.1 200 OK\r\nX-A: a \r\nContent-Length: 2\r\n\r\nOK"],
    "interim": [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"],
    "head-in-pieces": [b"HTTP/1.1 200 OK\r\nContent-Le", b"ngth: 2\r\n\r\nOK"],
    "no-reason": [b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nOK"],
    "utf8-value": ["HTTP/1.1 200 OK\r\nX-A: é\r\nContent-Length: 2\r\n\r\nOK".encode()],
    "two-lengths": [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nOK"],
}


class CannedServer:
    """Answers every request on a connection with the same pieces, written apart."""

    def __init__(self, pieces: list[bytes]):
        self.pieces = pieces
        self.connections = 0
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.server.start()
        self.port = self.server.server_port

    def _handle(self, sock, _address) -> None:
        self.connections += 1
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(buffer) < length:
                buffer += sock.recv(65536)
            buffer = buffer[length:]
            for index, piece in enumerate(self.pieces):
                if index:
                    gevent.sleep(0.02)  # a separate segment, after the first was read
                sock.sendall(piece)

    def stop(self) -> None:
        self.server.stop()


def _reference(port: int) -> tuple[int, list[tuple[str, str]], bytes]:
    client = HTTPClient("127.0.0.1", port, network_timeout=2)
    try:
        response = client.request("POST", "/callbacks", body=b"a=1")
        return response.status_code, list(response.info().items()), response.read()
    finally:
        client.close()


def _ours(port: int) -> tuple[object, tuple[int, list[tuple[str, str]], bytes]]:
    client = _LeanHTTPClient("127.0.0.1", port, network_timeout=2)
    try:
        response = client.request("POST", "/callbacks", body=b"a=1")
        body = response.read(65536)
        result = response.status_code, list(response.info().items()), body
        response.release()
        return response, result
    finally:
        client.close()


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_the_common_shapes_are_read_here_as_the_library_reads_them(name):
    server = CannedServer(SIMPLE[name])
    try:
        response, ours = _ours(server.port)
        assert isinstance(response, _LeanAnswer)
        assert ours == _reference(server.port)
    finally:
        server.stop()


def _outcome(read) -> object:
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - the library's verdict, compared
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("name", sorted(OTHER))
def test_other_shapes_go_to_the_library_untouched(name):
    server = CannedServer(OTHER[name])
    try:
        ours = _outcome(lambda: _ours(server.port))
        reference = _outcome(lambda: _reference(server.port))
        if isinstance(ours, tuple) and isinstance(ours[0], str):  # both refuse it
            assert ours == reference
        else:
            response, result = ours
            assert not isinstance(response, _LeanAnswer)
            assert result == reference
    finally:
        server.stop()


def test_a_connection_is_kept_after_an_answer_read_here():
    server = CannedServer(SIMPLE["plain"])
    client = HttpClient(connect_timeout=2, pool_size=1, user_agent="t")
    try:
        url = f"http://127.0.0.1:{server.port}/callbacks"
        for _ in range(3):
            response = client.request("POST", url, body=b"a=1", read_timeout=2)
            assert (response.status, response.body) == (200, b"OK")
        assert server.connections == 1
    finally:
        client.close()
        server.stop()


def test_a_body_cut_short_is_a_failed_request():
    def handle(sock, _address):
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345")
        gevent.sleep(0.05)
        sock.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    client = HttpClient(connect_timeout=2, pool_size=1, user_agent="t")
    try:
        with pytest.raises(RequestFailed):
            client.request("POST", f"http://127.0.0.1:{server.server_port}/x", body=b"a=1",
                           read_timeout=2)
    finally:
        client.close()
        server.stop()


def test_no_answer_within_the_read_timeout_is_a_timed_out_request():
    def handle(sock, _address):
        sock.recv(65536)
        gevent.sleep(1)

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    client = HttpClient(connect_timeout=2, pool_size=1, user_agent="t")
    try:
        with pytest.raises(RequestFailed) as failed:
            client.request("POST", f"http://127.0.0.1:{server.server_port}/x", body=b"a=1",
                           read_timeout=0.2)
        assert failed.value.timed_out
    finally:
        client.close()
        server.stop()
