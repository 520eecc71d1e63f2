"""controller.http_client against real sockets: what may have reached the application
and what provably did not, redirects, kept-alive connections."""

from __future__ import annotations

import socket

import gevent
import gevent.event
import pytest
from gevent.pywsgi import WSGIServer
from gevent.server import StreamServer

from controller.http_client import ConnectFailed, HttpClient, RequestFailed


@pytest.fixture
def client():
    http = HttpClient(connect_timeout=2, pool_size=4, user_agent="test-agent")
    yield http
    http.close()


class App:
    """A WSGI app that records what it got and counts the connections it saw."""

    def __init__(self):
        self.requests: list[dict] = []
        self.peers: set = set()

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read()
        self.peers.add((environ["REMOTE_ADDR"], environ["REMOTE_PORT"]))
        self.requests.append({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                              "query": environ.get("QUERY_STRING", ""), "body": body,
                              "auth": environ.get("HTTP_AUTHORIZATION"),
                              "type": environ.get("CONTENT_TYPE"),
                              "agent": environ.get("HTTP_USER_AGENT")})
        path = environ["PATH_INFO"]
        if path.startswith("/see-other"):
            start_response("303 See Other", [("Location", "/landed")])
            return [b""]
        if path.startswith("/moved"):
            start_response("307 Temporary Redirect", [("Location", environ["QUERY_STRING"])])
            return [b""]
        if path == "/loop":
            start_response("302 Found", [("Location", "/loop")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [b"<Response/>"]


@pytest.fixture
def app():
    recorder = App()
    server = WSGIServer(("127.0.0.1", 0), recorder, log=None)
    server.start()
    recorder.base = f"http://127.0.0.1:{server.server_port}"
    yield recorder
    server.stop()


def test_connection_refused_is_a_connect_failure(client):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectFailed) as caught:
        client.request("POST", f"http://127.0.0.1:{port}/x", body=b"a=1", read_timeout=1)
    assert "Connection refused" in caught.value.reason or "ConnectionRefused" in caught.value.reason


def test_a_silent_application_is_a_read_timeout_that_may_have_arrived(client):
    got = []

    def handle(sock, _address):
        got.append(sock.recv(65536))
        gevent.sleep(5)

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        with pytest.raises(RequestFailed) as caught:
            client.request("POST", f"http://127.0.0.1:{server.server_port}/x", body=b"a=1",
                           read_timeout=0.3)
    finally:
        server.stop(timeout=0)
    assert caught.value.timed_out and got and got[0].endswith(b"a=1")


def test_a_reset_after_the_request_is_not_a_connect_failure(client):
    def handle(sock, _address):
        sock.recv(65536)
        sock.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        with pytest.raises(RequestFailed) as caught:
            client.request("POST", f"http://127.0.0.1:{server.server_port}/x", body=b"a=1",
                           read_timeout=2)
    finally:
        server.stop(timeout=0)
    assert not caught.value.timed_out


def test_connections_are_kept_alive_and_reused(client, app):
    for n in range(5):
        response = client.request("POST", f"{app.base}/cb", body=f"n={n}".encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"},
                                  read_timeout=2)
        assert response.status == 200 and response.body == b"<Response/>"
    assert [r["body"] for r in app.requests] == [f"n={n}".encode() for n in range(5)]
    assert len(app.peers) == 1
    assert app.requests[0]["agent"] == "test-agent"


def test_a_pooled_connection_the_application_closed_is_not_used_again():
    """An app server that closes idle connections (gunicorn's keep-alive of 2 s) must not
    turn the next POST into a failure that 'may have arrived'."""
    served = []

    def handle(sock, _address):  # answers one request per connection, then closes
        data = sock.recv(65536)
        served.append(data)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        gevent.sleep(0.05)
        sock.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    http = HttpClient(connect_timeout=2, pool_size=1, user_agent="t")
    try:
        for n in range(3):
            gevent.sleep(0.2)  # the server closed the previous connection meanwhile
            response = http.request("POST", f"http://127.0.0.1:{server.server_port}/x",
                                    body=f"n={n}".encode(), read_timeout=2)
            assert response.body == b"ok"
    finally:
        http.close()
        server.stop(timeout=0)
    assert [d.rsplit(b"\r\n", 1)[-1] for d in served] == [b"n=0", b"n=1", b"n=2"]


def test_303_becomes_a_get_without_body(client, app):
    response = client.request("POST", f"{app.base}/see-other", body=b"a=1",
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              read_timeout=2)
    assert response.status == 200 and response.url == f"{app.base}/landed"
    landed = app.requests[-1]
    assert landed["method"] == "GET" and landed["body"] == b"" and not landed["type"]


def test_307_keeps_the_method_and_body_and_credentials_stay_on_the_same_host(client, app):
    response = client.request("POST", f"http://user:p%40ss@{app.base[7:]}/moved?/landed",
                              body=b"a=1", read_timeout=2)
    assert response.status == 200 and response.url == f"{app.base}/landed"
    first, landed = app.requests[-2:]
    assert landed["method"] == "POST" and landed["body"] == b"a=1"
    assert first["auth"] == landed["auth"] == "Basic dXNlcjpwQHNz"  # user:p@ss


def test_credentials_are_not_sent_to_another_host(client, app):
    other = App()
    server = WSGIServer(("127.0.0.1", 0), other, log=None)
    server.start()
    try:
        target = f"http://localhost:{server.server_port}/landed"
        client.request("POST", f"{app.base}/moved?{target}", body=b"a=1",
                       headers={"Authorization": "Basic c2VjcmV0"}, read_timeout=2)
    finally:
        server.stop()
    assert app.requests[-1]["auth"] == "Basic c2VjcmV0"
    assert other.requests[-1]["auth"] is None and other.requests[-1]["body"] == b"a=1"


def test_a_redirect_loop_hands_back_the_last_redirect(client, app):
    response = client.request("GET", f"{app.base}/loop", read_timeout=2, max_redirects=5)
    assert response.status == 302 and len(app.requests) == 6


def test_a_path_with_spaces_is_percent_encoded(client, app):
    client.request("GET", f"{app.base}/a b/ü?x=1 2", read_timeout=2)
    assert app.requests[-1]["path"].encode("latin-1").decode() == "/a b/ü"
    assert app.requests[-1]["query"] == "x=1%202"


def test_not_http_is_a_value_error(client):
    with pytest.raises(ValueError, match="not an http"):
        client.request("GET", "ftp://example.com/x", read_timeout=1)


def test_a_named_pool_does_not_wait_for_another_pools_connections():
    """pool_size 1: a callback held by a slow application does not hold up a document
    request to the same host (its own pool), while a second callback waits its turn."""
    release = gevent.event.Event()
    finished: list[str] = []

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    http = HttpClient(connect_timeout=2, pool_size=1, user_agent="t")
    base = f"http://127.0.0.1:{server.server_port}"

    def send(path: str, pool: str) -> None:
        http.request("POST", base + path, body=b"x", read_timeout=5, pool=pool)
        finished.append(path)

    try:
        slow = gevent.spawn(send, "/slow", "callbacks")
        gevent.sleep(0.1)  # the slow callback holds the callbacks pool's one connection
        queued = gevent.spawn(send, "/next-callback", "callbacks")
        document = gevent.spawn(send, "/answer", "documents")
        document.join(5)
        assert finished == ["/answer"]  # not behind the slow callback
        release.set()
        gevent.joinall([slow, queued], timeout=5, raise_error=True)
    finally:
        release.set()
        http.close()
        server.stop()
    assert finished == ["/answer", "/slow", "/next-callback"]


@pytest.mark.parametrize(("method", "sent_times"), [("POST", 1), ("GET", 2)])
def test_a_post_closed_on_without_an_answer_is_never_sent_again(method, sent_times):
    """The application reads the request and closes without answering once: the POST
    may have been acted on, so it is a RequestFailed and not sent again (RFC 9110
    §9.2.2); an idempotent GET is sent again on a new connection and answered."""
    seen: list[bytes] = []

    def handle(sock, _address):
        seen.append(sock.recv(65536))
        if len(seen) > 1:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        sock.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    http = HttpClient(connect_timeout=2, pool_size=1, user_agent="t")
    try:
        url = f"http://127.0.0.1:{server.server_port}/x"
        if method == "POST":
            with pytest.raises(RequestFailed) as caught:
                http.request(method, url, body=b"a=1", read_timeout=2)
            assert not caught.value.timed_out
        else:
            assert http.request(method, url, read_timeout=2).body == b"ok"
        gevent.sleep(0.1)  # a re-sent request would have arrived by now
    finally:
        http.close()
        server.stop(timeout=0)
    assert len(seen) == sent_times
    assert all(data.startswith(method.encode() + b" /x ") for data in seen)
