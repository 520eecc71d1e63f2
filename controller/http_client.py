"""The HTTP client of every request to the application: kept-alive connections per
origin, a connect and a read timeout, redirects, and errors that say whether the
request can have reached the application.

Built on geventhttpclient (a gevent-native HTTP/1.1 client with a C response
parser): a callback costs about a third of the CPU it cost through urllib3, whose
``http.client``/``email`` header parsing and per-request connection checks were a
fifth of the controller's CPU per callback (issue 16, ``bench/cpu_profile.py``).

What the webhooks layer relies on (``controller.webhooks``):

- ``ConnectFailed``: no connection was made (refused, unreachable, name not found,
  connect timeout, TLS handshake failed): the request provably never left, so even a
  document request (answer URL) may be sent again.
- ``RequestFailed``: anything after the connection was made (reset, read timeout,
  malformed answer): the application may have acted on it. ``timed_out`` tells a
  read timeout apart.
- Redirects are followed like urllib3 did for us before: 301/302/307/308 keep the
  method and body, 303 turns into a GET without body, ``Authorization`` and
  ``Cookie`` are dropped when the host changes; after ``max_redirects`` the last 3xx
  answer is returned (the caller reports the loop).

A pooled connection the application closed while idle is noticed before reuse
(geventhttpclient checks it is not readable), and a POST is never re-sent by the
library once written (RFC 9110 §9.2.2), so "may have arrived" stays true.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import urllib3.util
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPParseError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DROPPED_ACROSS_HOSTS = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding"})
# What geventhttpclient accepts as a request target without complaint (RFC 3986
# characters); anything else is percent-encoded the way urllib3 does it.
_PLAIN_TARGET = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*").fullmatch


class TransportError(Exception):
    """The request did not get an HTTP answer."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ConnectFailed(TransportError):
    """No connection could be made: the application cannot have seen the request."""


class RequestFailed(TransportError):
    """The connection was made; the request may have reached the application."""

    def __init__(self, reason: str, timed_out: bool = False):
        super().__init__(reason)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Response:
    status: int
    url: str  # after redirects
    headers: Mapping[str, Any]
    body: bytes

    @property
    def content_type(self) -> str:
        value = self.headers.get("Content-Type", "")
        return value[0] if isinstance(value, list) else value


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"response larger than {limit} bytes")
        self.limit = limit


class HttpClient:
    """Pooled keep-alive connections, one pool per (scheme, host, port, read timeout,
    ``pool`` name): the read timeout is a property of the pooled socket (a controller uses
    a handful), and a named pool keeps one kind of request from waiting for another's
    connections (a pool holds at most ``pool_size`` at once; the next request waits for
    one: callbacks to a slow endpoint must not hold up the answer URL of a new call)."""

    def __init__(self, connect_timeout: float, pool_size: int, user_agent: str):
        self.connect_timeout = connect_timeout
        self.pool_size = pool_size
        self.user_agent = user_agent
        self._clients: dict[tuple[str, str, int, float, str], HTTPClient] = {}

    def request(self, method: str, url: str, *, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, read_timeout: float,
                max_bytes: int | None = None, max_redirects: int = 5,
                pool: str = "") -> Response:
        """One request, following redirects; raises ConnectFailed, RequestFailed,
        BodyTooLarge, or ValueError for a URL that is not http(s)."""
        method = method.upper()
        sent_headers = dict(headers or {})
        if "@" in url:  # http://user:pass@host/ -> basic auth, as browsers and requests do
            url, sent_headers = _credentials_to_header(url, sent_headers)
        for _ in range(max_redirects + 1):
            response = self._once(method, url, body, sent_headers, read_timeout, max_bytes,
                                  pool)
            location = response.headers.get("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                return response
            target = urljoin(url, location if isinstance(location, str) else location[0])
            if response.status == 303:  # RFC 9110 §15.4.4: GET, and the body is gone
                method, body = "GET", None
                sent_headers = {k: v for k, v in sent_headers.items()
                                if k.lower() not in _BODY_HEADERS}
            if urlsplit(target).netloc != urlsplit(url).netloc:
                sent_headers = {k: v for k, v in sent_headers.items()
                                if k.lower() not in _DROPPED_ACROSS_HOSTS}
            url = target
        return response  # still a redirect: the caller names the loop

    def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    # ------------------------------------------------------------ one hop
    def _once(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
              read_timeout: float, max_bytes: int | None, pool: str) -> Response:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not _PLAIN_TARGET(target):
            target = urllib3.util.parse_url(url).request_uri
        client = self._client((scheme, parts.hostname, port, read_timeout, pool))
        try:
            response = client.request(method, target, body=body or b"", headers=headers)
            try:
                data = _read_all(response, max_bytes)
            finally:
                response.release()
        except TransportError:  # ConnectFailed, from the pool's connect step
            raise
        except TimeoutError as exc:
            raise RequestFailed(f"no answer within the read timeout ({exc})",
                                timed_out=True) from None
        except (OSError, HTTPParseError) as exc:
            raise RequestFailed(f"{type(exc).__name__}: {exc}") from None
        return Response(response.status_code, url, response.info(), data)

    def _client(self, key: tuple[str, str, int, float, str]) -> HTTPClient:
        client = self._clients.get(key)
        if client is None:
            scheme, host, port, read_timeout, _ = key
            client = HTTPClient(host, port, ssl=scheme == "https",
                                connection_timeout=self.connect_timeout,
                                network_timeout=read_timeout, concurrency=self.pool_size,
                                headers={"User-Agent": self.user_agent})
            _report_connect_failures(client)
            self._clients[key] = client
        return client


def _credentials_to_header(url: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    credentials, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, headers
    token = base64.b64encode(unquote(credentials).encode()).decode("ascii")
    return (urlunsplit(parts._replace(netloc=host)),
            {**headers, "Authorization": f"Basic {token}"})


def _read_all(response: Any, max_bytes: int | None) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = response.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)


def _report_connect_failures(client: HTTPClient) -> None:
    """Make the pool's connection attempts raise ConnectFailed.

    geventhttpclient raises the same OSError for a refused connect and for a reset
    after sending; only its pool's ``_create_socket`` (TCP connect, then the TLS
    handshake for https) knows that nothing was sent yet. Pinned to the 2.x layout in
    setup.cfg; tests/engine/test_http_client.py fails if it changes."""
    pool = client._connection_pool
    connect = pool._create_socket

    def create_socket() -> Any:
        try:
            return connect()
        except (OSError, RuntimeError) as exc:  # RuntimeError: the name did not resolve
            reason = "connect timeout" if isinstance(exc, TimeoutError) else \
                f"{type(exc).__name__}: {exc}"
            raise ConnectFailed(reason) from None

    pool._create_socket = create_socket
