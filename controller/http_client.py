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
(geventhttpclient's pool checks it is not readable), and a POST is never re-sent once
written (RFC 9110 §9.2.2; ``_LeanHTTPClient._send`` and the library's own path alike),
so "may have arrived" stays true.

The request head of the common case is built here rather than by geventhttpclient,
byte for byte the same but with a fraction of its Python work (``_LeanHTTPClient``);
so is the reading of the common answer (HTTP/1.1, a Content-Length body, the connection
kept), told from a peek at the socket so that any other answer reaches the library's
parser untouched (tests/engine/test_http_answer_shapes.py compares the two).
"""

from __future__ import annotations

import base64
import errno
import functools
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import urllib3.util
from geventhttpclient import HTTPClient
from geventhttpclient.response import (
    HTTPConnectionClosed,
    HTTPParseError,
    HTTPSocketPoolResponse,
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DROPPED_ACROSS_HOSTS = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding"})
# What geventhttpclient accepts as a request target without complaint (RFC 3986
# characters); anything else is percent-encoded the way urllib3 does it.
_PLAIN_TARGET = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*").fullmatch

# What the lean request head (``_LeanHTTPClient``) checks before it builds anything,
# the same rules geventhttpclient applies (RFC 9110 §5.1/§9.1: method and field
# names are tokens; §5.5: a field value has no CR, LF or other control character;
# RFC 9112 §3.2: origin-form target, no whitespace or controls). Whatever fails
# here goes down the library's own path, which raises its ValueError.
_TOKEN_CHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # RFC 9110 §5.6.2 token (the answer's names too)
_TOKEN = re.compile(_TOKEN_CHARS).fullmatch
_FIELD_VALUES = re.compile(r"[\t\x20-\x7e\x80-\xff]*").fullmatch  # tab-joined values
_ORIGIN_TARGET = re.compile(r"/(?!/)[^\x00-\x20\x7f]*").fullmatch
# RFC 9110 §9.2.1 / §9.2.2: only these may be sent again after a send may have landed.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# RFC 9112 §6.3: these carry a Content-Length even when empty (as the library does).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Field names seen valid, so the regex runs once per name, not per request; bounded
# because names come from configuration (custom headers) as well as from code.
_VALID_NAMES: set[str] = set()
_VALID_NAMES_LIMIT = 512

# The answers read without the library's parser (``_LeanHTTPClient._lean_answer``): the
# common shape, told from a peek at the socket so that anything else reaches the
# library with nothing read. RFC 9112 §4: status line; §5: field lines, a value without
# leading or trailing whitespace (and ASCII here, so that there is one way to decode it);
# §6.3: the body is Content-Length bytes.
_LEAN_PEEK = 16384  # a callback's answer is a few hundred bytes
_LEAN_MAX_BODY = 65536  # larger bodies (a downloaded sound) stay with the library
_LEAN_STATUS_LINE = re.compile(rb"HTTP/1\.1 ([2-5][0-9][0-9]) [\x20-\x7e]*").fullmatch
_LEAN_FIELD_LINE = re.compile(
    b"(" + _TOKEN_CHARS.encode() + rb"):(?:[ \t]*([\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?))?"
).fullmatch


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
            if response.status not in REDIRECT_STATUSES:
                return response  # before the lookup: a missing header costs a KeyError
            location = response.headers.get("Location")
            if not location:
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
        scheme, host, port, target = _route(url)
        client = self._client((scheme, host, port, read_timeout, pool))
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
            client = _LeanHTTPClient(host, port, ssl=scheme == "https",
                                connection_timeout=self.connect_timeout,
                                network_timeout=read_timeout, concurrency=self.pool_size,
                                headers={"User-Agent": self.user_agent})
            _report_connect_failures(client)
            self._clients[key] = client
        return client


@functools.lru_cache(maxsize=1024)
def _route(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, request target) of a URL. Cached: a controller sends to
    a handful of URLs over and over, and splitting one is ~5 µs of Python per request.
    A ValueError is not cached (lru_cache keeps only returned values)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not _PLAIN_TARGET(target):
        target = urllib3.util.parse_url(url).request_uri
    return scheme, parts.hostname, port, target


class _LeanHTTPClient(HTTPClient):
    """geventhttpclient's HTTPClient with a cheaper path for the requests we send.

    The library's ``request`` merges the headers into its case-insensitive ``Headers``
    twice (once to decide on chunking and ``Expect``, once in ``_build_request``) and
    runs two regexes per header line; that was most of its Python time per callback
    (issue 16). Our requests are the plain case: HTTP/1.1 without proxy, the body
    given as bytes, str header values, no ``Transfer-Encoding`` or ``Expect``. For
    those the head is built here with one plain-dict merge and one regex for all
    values; the bytes on the wire are the library's (tests/engine/
    test_http_request_head.py compares them with ``_build_request``). Anything
    else, and anything that fails validation, goes to ``HTTPClient.request``, which
    builds, checks and raises exactly as before."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # lowercased name -> (name as given, value): the library's merge order, where
        # a later header of the same name replaces the value (and spelling) in place
        defaults = list(self.default_headers.items())
        self._default_fields: dict[str, tuple[str, str]] | None = {
            name.lower(): (name, value) for name, value in defaults}
        if len(self._default_fields) != len(defaults) or self.use_proxy \
                or self.version != self.HTTP_11:
            self._default_fields = None  # a multi-line default or a proxy: library only
        # the Host field the library adds when the caller gives none: brackets for an
        # IPv6 literal, and the port unless it is 80 or 443 (whatever the scheme)
        host = self.host
        if ":" in host and host[0] != "[" and host[-1] != "]":
            host = f"[{host}]"
        self._host_field = host if self.port in (80, 443) else f"{host}:{self.port}"

    def request(self, method: str, request_uri: str, body: Any = b"",
                headers: Any = None) -> HTTPSocketPoolResponse:
        method = method.upper()
        head = self.plain_head(method, request_uri, body, headers)
        if head is None:
            return super().request(method, request_uri, body=body, headers=headers)
        return self._send(method, head + body if body else head)

    def plain_head(self, method: str, request_uri: str, body: Any,
                   headers: Mapping[str, Any] | None) -> bytes | None:
        """The request head as the library would send it, or None when this is not
        the plain case or something is invalid (the library then decides)."""
        fields = self._default_fields
        if fields is None or type(body) is not bytes or not _TOKEN(method) \
                or not _ORIGIN_TARGET(request_uri):
            return None
        fields = fields.copy()
        if headers:
            for name, value in headers.items():
                if type(name) is not str or type(value) is not str:
                    return None  # lists (several lines), numbers: the library's job
                fields[name.lower()] = (name, value)
        if "transfer-encoding" in fields or "expect" in fields:
            return None  # chunking or 100-continue: the library's send path
        if "host" not in fields:
            fields["host"] = ("Host", self._host_field)
        if "content-length" not in fields:
            if body:
                fields["content-length"] = ("Content-Length", str(len(body)))
            elif method in _BODY_METHODS:
                fields["content-length"] = ("Content-Length", "0")
        lines = fields.values()
        for name, _ in lines:
            if name not in _VALID_NAMES:
                if not _TOKEN(name):
                    return None
                if len(_VALID_NAMES) < _VALID_NAMES_LIMIT:
                    _VALID_NAMES.add(name)
        # a tab is allowed inside a value, so the joined string passes iff each does
        if not _FIELD_VALUES("\t".join([value for _, value in lines])):
            return None
        head = "".join([f"{name}: {value}\r\n" for name, value in lines])
        # latin-1 like the library (and http.client); a target outside it raises
        # UnicodeEncodeError here, before a connection is taken from the pool
        return f"{method} {request_uri} HTTP/1.1\r\n{head}\r\n".encode("latin-1")

    def _send(self, method: str, data: bytes) -> HTTPSocketPoolResponse:
        """Send head and body in one write and read the answer's head, on a pooled
        connection. A request that may have reached the application is sent again
        only if its method is idempotent (a POST never is)."""
        pool = self._connection_pool
        attempts_left = pool.size + 1  # every pooled connection may have gone stale
        while True:
            sock = pool.get_socket()  # skips idle connections the peer closed
            try:
                sock.sendall(data)
            except OSError as exc:
                if exc.errno not in (errno.ECONNRESET, errno.EPIPE):
                    pool.release_socket(sock)
                    raise
                # the application may have answered (say 413) and closed before
                # reading it all: hand that answer back rather than the reset
                try:
                    return self._answer(sock, method, lean=False)
                except (OSError, HTTPParseError):
                    if attempts_left and method in _IDEMPOTENT:
                        attempts_left -= 1
                        continue
                    raise
            except BaseException:  # a gevent.Timeout or kill mid-write: free the slot
                pool.release_socket(sock)
                raise
            try:
                return self._answer(sock, method)
            except HTTPConnectionClosed:  # closed without a byte of answer
                if attempts_left and method in _IDEMPOTENT:
                    attempts_left -= 1
                    continue
                raise

    def _answer(self, sock: Any, method: str, lean: bool = True) -> Any:
        # reads up to the end of the head (the lean path: the whole answer); gives the
        # socket back to the pool (or closes it) itself, on success and on error
        if lean and not self.ssl and method != "HEAD":
            answer = self._lean_answer(sock)
            if answer is not None:
                return answer
        return HTTPSocketPoolResponse(sock, self._connection_pool, block_size=self.block_size,
                                      method=method, headers_type=self.headers_type)

    def _lean_answer(self, sock: Any) -> _LeanAnswer | None:
        """The whole answer when it has the common shape (``_simple_head``) and is all
        that waits on the socket; None, with nothing read, for the library to parse.

        geventhttpclient's response object cost about half of a callback request's
        client-side instructions (callgrind: ~278 K a request against ~129 K for the same
        exchange on a bare socket; its C parser calls back into Python per header).
        The head is looked at with MSG_PEEK (plain TCP only: an SSL socket refuses recv
        flags), so the library gets the socket untouched whenever this declines."""
        pool = self._connection_pool
        try:
            peeked = sock.recv(_LEAN_PEEK, socket.MSG_PEEK)  # waits for the answer
        except TimeoutError:
            pool.release_socket(sock)  # as the library does on its own read timeout
            raise
        except OSError:
            return None  # a reset: the library meets it again and says what it means
        end = peeked.find(b"\r\n\r\n")
        if end < 0 or not peeked.isascii():
            return None
        shape = _simple_head(peeked[:end])
        if shape is None:
            return None
        status, fields, length = shape
        total = end + 4 + length
        if len(peeked) > total:
            return None  # bytes beyond this answer: the library's rules for them
        try:
            data = sock.recv(len(peeked))  # what the peek saw is buffered: no wait
            while len(data) < total:
                chunk = sock.recv(total - len(data))
                if not chunk:
                    raise HTTPParseError("connection closed before the end of the body")
                data += chunk
        except BaseException:
            pool.release_socket(sock)
            raise
        headers = self.headers_type()
        for name, value in fields:
            headers.add(name, value)
        return _LeanAnswer(status, headers, data[end + 4:], pool, sock)


def _simple_head(head: bytes) -> tuple[int, list[tuple[str, str]], int] | None:
    """(status, fields, Content-Length) of an answer head (without its blank line) in
    the shape the lean path reads: HTTP/1.1, a final status, ``name: value`` lines
    without folding or whitespace around the value, one Content-Length of at most
    _LEAN_MAX_BODY (for 204 and 304: none, or 0), no Transfer-Encoding, and the
    connection kept (no Connection header but ``keep-alive``). None for anything else."""
    lines = head.split(b"\r\n")
    status_line = _LEAN_STATUS_LINE(lines[0])
    if status_line is None:
        return None
    status = int(status_line.group(1))
    # RFC 9112 §6.3: a 204 or 304 answer ends with its head, whatever it says of a body;
    # only an empty or absent Content-Length is taken here (the rest: the library's view)
    bodiless = status == 204 or status == 304
    fields: list[tuple[str, str]] = []
    length = None
    for line in lines[1:]:
        field = _LEAN_FIELD_LINE(line)
        if field is None:
            return None
        name = field.group(1).decode("ascii")
        value = (field.group(2) or b"").decode("ascii")
        lowered = name.lower()
        if lowered == "content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
        elif lowered == "transfer-encoding" or (lowered == "connection"
                                                and value.lower() != "keep-alive"):
            return None
        fields.append((name, value))
    if bodiless:
        return (status, fields, 0) if not length else None
    if length is None or length > _LEAN_MAX_BODY:
        return None
    return status, fields, length


class _LeanAnswer:
    """What ``HttpClient._once`` reads of a response, for an answer read whole by
    ``_LeanHTTPClient._lean_answer``; ``release`` gives the connection back to the pool."""

    __slots__ = ("status_code", "_headers", "_body", "_pool", "_sock")

    def __init__(self, status: int, headers: Any, body: bytes, pool: Any, sock: Any) -> None:
        self.status_code = status
        self._headers = headers
        self._body = body
        self._pool = pool
        self._sock = sock

    def info(self) -> Any:
        return self._headers

    def read(self, size: int = -1) -> bytes:
        body, self._body = self._body, b""  # at most _LEAN_MAX_BODY: all at once
        return body

    def release(self) -> None:
        pool, sock = self._pool, self._sock
        self._pool = self._sock = None
        if pool is not None:
            pool.return_socket(sock)


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
