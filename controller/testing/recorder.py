"""What an application received: a WSGI wrapper that keeps every request and its answer.

    recorded = RecordingApp(my_wsgi_app)       # serve ``recorded`` instead of the app
    ...
    [enter] = recorded.wait_for("/callbacks", ConferenceAction="enter")
    enter.params["From"], enter.response_text

The application sees exactly the request it would have seen (the body is read
once and handed on). Webhooks arrive as form fields (Plivo, cXML), as a query
string (GET), or as JSON (Bandwidth, Telnyx): ``params`` holds the form and query
fields, ``json`` the decoded JSON body.
"""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]

# Answers kept as text (the documents an app returns); anything else only by size.
_TEXT_TYPES = ("xml", "json", "text/")
MAX_BODY = 1024 * 1024


@dataclass
class AppRequest:
    """One request the application answered."""

    method: str
    path: str
    params: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int = 0
    response_type: str = ""
    response_text: str = ""
    response_size: int = 0
    at: float = field(default_factory=time.monotonic)

    def get(self, name: str, default: str | None = None) -> str | None:
        """A form/query field, else a top-level JSON field (as text)."""
        if name in self.params:
            return self.params[name]
        if isinstance(self.json, dict) and name in self.json:
            value = self.json[name]
            return value if isinstance(value, str) else json.dumps(value)
        return default

    def matches(self, path: str | None, fields: dict[str, str]) -> bool:
        return (path is None or self.path == path) and all(
            self.get(name) == value for name, value in fields.items()
        )


class RecordingApp:
    """Wraps a WSGI application; ``requests`` lists what it answered, in arrival order."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.requests: list[AppRequest] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------ WSGI
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        record = AppRequest(
            method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("PATH_INFO", "/") or "/",
            params=_params(environ, body),
            json=_json_body(environ, body),
            headers={
                key[5:].replace("_", "-").title(): value
                for key, value in environ.items() if key.startswith("HTTP_")
            },
        )

        def remember_status(status: str, headers: list, exc_info: Any = None) -> Any:
            record.status = int(status.split(" ", 1)[0])
            record.response_type = next(
                (v for k, v in headers if k.lower() == "content-type"), "")
            return start_response(status, headers, exc_info)

        result = self.app(environ, remember_status)
        try:
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        answer = b"".join(chunks)
        record.response_size = len(answer)
        if any(kind in record.response_type for kind in _TEXT_TYPES):
            record.response_text = answer.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(record)
        return [answer]

    # ------------------------------------------------------------ reading
    def at(self, path: str | None = None, **fields: str) -> list[AppRequest]:
        """Requests to ``path`` (any path if None) whose fields equal ``fields``."""
        with self._lock:
            return [r for r in self.requests if r.matches(path, fields)]

    def wait_for(self, path: str | None = None, count: int = 1, timeout: float = 15.0,
                 **fields: str) -> list[AppRequest]:
        """Block until ``count`` matching requests arrived; returns them all.

        Raises AssertionError naming what was expected and listing what arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.at(path, **fields)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                break
            gevent.sleep(0.02)
        seen = ", ".join(_describe(r) for r in self.at()) or "nothing"
        raise AssertionError(
            f"expected {count} request(s) to {path or 'any path'} with {fields or 'any fields'} "
            f"within {timeout}s, got {len(found)}; the application received: {seen}"
        )

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


def _describe(request: AppRequest) -> str:
    action = request.get("ConferenceAction") or request.get("StatusCallbackEvent") or ""
    return f"{request.method} {request.path}{' ' + action if action else ''}"


def _read_body(environ: dict) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    return environ["wsgi.input"].read(min(length, MAX_BODY))


def _params(environ: dict, body: bytes) -> dict[str, str]:
    params = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""),
                                         keep_blank_values=True))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                             keep_blank_values=True))
    return params


def _json_body(environ: dict, body: bytes) -> Any:
    if "json" not in environ.get("CONTENT_TYPE", "") or not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
