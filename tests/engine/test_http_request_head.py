"""The lean request head of controller.http_client is byte for byte what
geventhttpclient's own ``HTTPClient._build_request`` would send, and what it refuses the
library refuses (then the library's path raises, before anything is sent).

Compared two ways: the head alone against ``_build_request`` over generated requests
(hypothesis), and the raw bytes a real socket receives from ``HttpClient.request``
against the library's head plus body."""

from __future__ import annotations

import socket

import gevent
import pytest
from gevent.server import StreamServer
from geventhttpclient import HTTPClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.http_client import HttpClient, _LeanHTTPClient

AGENT = "conference-controller/test"


def library_head(client: HTTPClient, method: str, target: str, body: bytes,
                 headers: dict[str, str]) -> bytes:
    """What HTTPClient.request puts before the body (its own builder, its encoding)."""
    return client._build_request(method, target, body=body, headers=headers).encode("latin-1")


# ------------------------------------------------------------ head vs _build_request
TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# the names the library treats specially, in any spelling, plus ordinary ones
special_names = st.sampled_from(["Host", "Content-Length", "User-Agent", "Content-Type",
                                 "Authorization", "X-Signature"]).flatmap(
    lambda name: st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda upper: "".join(c.upper() if u else c.lower()
                              for c, u in zip(name, upper, strict=True))))
token_names = st.text(TOKEN_CHARS, min_size=1, max_size=12)
bad_names = st.sampled_from(["", "X Y", "X:Y", "X\r\nY", "Ä", "X\x00"])
good_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    blacklist_characters="\x7f"), max_size=20) | st.just("a\tb")
bad_values = st.sampled_from(["a\r\nX-Injected: 1", "a\nb", "a\rb", "\x00", "\x7f", "€", "a\x1fb"])
headers_st = st.dictionaries(special_names | token_names | bad_names,
                             good_values | bad_values, max_size=5)
targets = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=15).map(
    lambda rest: "/" + rest) | st.sampled_from(["/", "//evil", "/a b", "/ü", "/x\x00"])
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
                           "BAD METHOD"])
hosts = st.sampled_from(["127.0.0.1", "example.com", "::1", "fe80::1", "[::1]"])
ports = st.sampled_from([80, 443, 8080, 8443])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=hosts, port=ports, tls=st.booleans(), method=methods, target=targets,
       body=st.binary(max_size=8), headers=headers_st)
def test_the_lean_head_is_the_librarys_head_or_it_steps_aside(host, port, tls, method, target,
                                                              body, headers):
    client = _LeanHTTPClient(host, port, ssl=tls, headers={"User-Agent": AGENT})
    try:
        try:
            expected = library_head(client, method, target, body, headers)
        except ValueError:  # the library refuses it (UnicodeEncodeError is one too)
            expected = None
        try:
            lean = client.plain_head(method, target, body, headers)
        except UnicodeEncodeError:
            lean = "refused"  # a target outside latin-1, refused before any connection
        if expected is None:
            # refused by the library: the lean path must not build it either
            assert lean in (None, "refused")
        else:
            assert lean == expected
    finally:
        client.close()


@pytest.mark.parametrize(("headers", "why"), [
    ({"Transfer-Encoding": "chunked"}, "chunked"),
    ({"expect": "100-continue"}, "Expect"),
    ({"X-Multi": ["a", "b"]}, "several lines of one field"),
    ({"Content-Length": 3}, "a value that is not a str"),
])
def test_what_the_library_sends_differently_goes_through_the_library(headers, why):
    client = _LeanHTTPClient("example.com", 80, headers={"User-Agent": AGENT})
    try:
        assert client.plain_head("POST", "/x", b"abc", headers) is None, why
    finally:
        client.close()


def test_a_proxy_client_never_takes_the_lean_path():
    client = _LeanHTTPClient("example.com", 80, proxy_host="127.0.0.1", proxy_port=3128)
    try:
        assert client.plain_head("GET", "/x", b"", {}) is None
    finally:
        client.close()


def test_a_non_latin1_target_fails_loudly():
    client = _LeanHTTPClient("example.com", 80)
    try:
        with pytest.raises(UnicodeEncodeError):
            client.plain_head("GET", "/€", b"", {})
    finally:
        client.close()


# ------------------------------------------------------------ through a real socket
class Recorder:
    """A raw HTTP/1.1 server that keeps the exact bytes of each request it got and
    answers 200 on a kept-alive connection."""

    def __init__(self, family: int = socket.AF_INET):
        self.received: list[bytes] = []
        self.connections = 0
        address = ("::1", 0) if family == socket.AF_INET6 else ("127.0.0.1", 0)
        listener = socket.socket(family)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(8)
        self.server = StreamServer(listener, self.handle)
        self.server.start()
        self.port = self.server.server_port

    def handle(self, sock, _address):
        self.connections += 1
        buffer = b""
        while True:
            data = sock.recv(65536)
            if not data:
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(rest) < length:
                    break
                self.received.append(head + b"\r\n\r\n" + rest[:length])
                buffer = rest[length:]
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def stop(self):
        self.server.stop(timeout=0)


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.stop()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
WIRE_CASES = {
    "POST form": ("POST", "/cb?room=1", b"Digits=5&CallUUID=abc", FORM, "/cb?room=1"),
    "GET with query": ("GET", "/doc?a=1&b=%20", None, {}, "/doc?a=1&b=%20"),
    "mixed-case headers": ("POST", "/x", b"a=1", {"content-TYPE": "text/plain",
                                                 "x-Sig": "s", "USER-AGENT": "mine"},
                           "/x"),
    "caller's Host and Content-Length": ("POST", "/x", b"abc", {"HOST": "app.example",
                                                                "content-length": "3"},
                                         "/x"),
    "empty POST": ("POST", "/x", b"", {}, "/x"),
    "empty path": ("GET", "", None, {}, "/"),
}


@pytest.mark.parametrize("case", WIRE_CASES, ids=list(WIRE_CASES))
def test_the_bytes_on_the_wire_are_the_librarys(recorder, case):
    method, path, body, headers, target = WIRE_CASES[case]
    http = HttpClient(connect_timeout=2, pool_size=2, user_agent=AGENT)
    try:
        response = http.request(method, f"http://127.0.0.1:{recorder.port}{path}", body=body,
                                headers=headers, read_timeout=2)
    finally:
        http.close()
    assert response.status == 200 and response.body == b"ok"
    library = HTTPClient("127.0.0.1", recorder.port, headers={"User-Agent": AGENT})
    expected = library_head(library, method, target, body or b"", headers) + (body or b"")
    assert recorder.received == [expected]


def test_basic_auth_from_the_url_is_the_librarys_authorization_line(recorder):
    http = HttpClient(connect_timeout=2, pool_size=1, user_agent=AGENT)
    try:
        http.request("POST", f"http://user:p%40ss@127.0.0.1:{recorder.port}/x", body=b"a",
                     read_timeout=2)
    finally:
        http.close()
    library = HTTPClient("127.0.0.1", recorder.port, headers={"User-Agent": AGENT})
    headers = {"Authorization": "Basic dXNlcjpwQHNz"}  # user:p@ss
    assert recorder.received == [library_head(library, "POST", "/x", b"a", headers) + b"a"]


def test_an_ipv6_host_is_bracketed_like_the_library_does():
    server = Recorder(socket.AF_INET6)
    http = HttpClient(connect_timeout=2, pool_size=1, user_agent=AGENT)
    try:
        http.request("GET", f"http://[::1]:{server.port}/v6", read_timeout=2)
    finally:
        http.close()
        server.stop()
    library = HTTPClient("::1", server.port, headers={"User-Agent": AGENT})
    assert server.received == [library_head(library, "GET", "/v6", b"", {})]
    assert f"\r\nHost: [::1]:{server.port}\r\n".encode() in server.received[0]


@pytest.mark.parametrize(("port", "host_line"), [(443, b"Host: example.com\r\n"),
                                                 (8443, b"Host: example.com:8443\r\n")])
def test_https_default_and_explicit_ports(port, host_line):
    # no TLS server here: the head is compared without connecting
    lean = _LeanHTTPClient("example.com", port, ssl=True, headers={"User-Agent": AGENT})
    try:
        head = lean.plain_head("POST", "/cb", b"a=1", FORM)
        assert head == library_head(lean, "POST", "/cb", b"a=1", FORM)
        assert host_line in head
    finally:
        lean.close()


@pytest.mark.parametrize(("headers", "message"), [
    ({"X-Evil": "a\r\nX-Injected: 1"}, "invalid value for header field 'X-Evil'"),
    ({"X-Evil": "a\nb"}, "invalid value"),
    ({"Bad Name": "v"}, "invalid header field name"),
    ({"X-Euro": "€"}, "invalid value"),
])
def test_an_invalid_header_raises_before_anything_is_sent(recorder, headers, message):
    http = HttpClient(connect_timeout=2, pool_size=1, user_agent=AGENT)
    try:
        with pytest.raises(ValueError, match=message):
            http.request("POST", f"http://127.0.0.1:{recorder.port}/x", body=b"a",
                         headers=headers, read_timeout=2)
        # the pool is intact: the next request goes out and is answered
        assert http.request("GET", f"http://127.0.0.1:{recorder.port}/ok",
                            read_timeout=2).status == 200
    finally:
        http.close()
    gevent.sleep(0.05)
    assert [r.split(b" ", 2)[1] for r in recorder.received] == [b"/ok"]
