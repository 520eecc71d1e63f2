"""A cXML application for the tests: documents built with the official ``twilio`` SDK's
``VoiceResponse``; every request it receives is checked with the SDK's RequestValidator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "1234abcd" * 4
AUTH_TOKEN = "cxml-test-token"


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        gevent.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class CxmlApp:
    """``documents[path]``: a function of the request's parameters returning cXML (or a
    string); other paths answer 204. ``requests`` keeps every request with its
    parameters and whether its X-Twilio-Signature validated."""

    def __init__(self) -> None:
        self.documents: dict[str, str | Callable[[dict[str, str]], str]] = {}
        self.requests: list[dict[str, Any]] = []
        self.validator = RequestValidator(AUTH_TOKEN)
        self.app = Flask("cxml-test-app")
        self.app.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST"])

    def _serve(self, path: str) -> Response:
        params = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = self.validator.validate(request.url, request.form.to_dict()
                                        if request.method == "POST" else {}, signature)
        self.requests.append({"path": "/" + path, "method": request.method, "valid": valid,
                              "signalwire": request.headers.get("X-SignalWire-Signature"),
                              "twilio": signature, **params})
        document = self.documents.get("/" + path)
        if document is None:
            return Response(status=204)
        text = document(params) if callable(document) else document
        return Response(str(text), mimetype="application/xml")

    def at(self, path: str, **match: str) -> list[dict[str, Any]]:
        return [r for r in self.requests
                if r["path"] == path and all(r.get(k) == v for k, v in match.items())]

    def wait_for(self, path: str, count: int = 1, timeout: float = 15.0,
                 **match: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.at(path, **match)
            if len(found) >= count:
                return found
            gevent.sleep(0.02)
        raise AssertionError(f"expected {count} request(s) to {path} matching {match}; got: "
                             + ", ".join(f"{r['path']}:{r.get('StatusCallbackEvent', '')}"
                                         for r in self.requests))
