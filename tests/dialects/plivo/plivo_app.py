"""A Flask application in the Plivo style for end-to-end tests: documents built with the
official ``plivo`` SDK's ``plivoxml`` builders, and every request checked with the SDK's
``validate_v3_signature`` as a Plivo application would check it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from plivo.utils import validate_v3_signature

AUTH_TOKEN = "MzQ1NjdhYmNkZWYxMjM0NTY3ODlhYmNkZWYxMjM0"
WRONG_TOKEN = "MzQ1NjdhYmNkZWYxMjM0NTY3ODlhYmNkZWYxMjM1"

Document = Callable[[dict[str, str]], Any] | None


@dataclass
class Seen:
    """One request as the application received it, and what the SDK said of it."""

    method: str
    path: str
    url: str
    params: dict[str, str]
    signature: str | None
    nonce: str | None
    valid: bool
    valid_with_wrong_token: bool
    valid_when_tampered: bool


@dataclass
class PlivoApp:
    """``documents[path]`` returns a plivoxml element (or None: 204) for the params."""

    documents: dict[str, Document] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.flask = Flask("plivo-test-app")
        self.flask.add_url_rule("/", "root", self._serve, methods=["GET", "POST"],
                                defaults={"path": ""})
        self.flask.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST"])

    def _serve(self, path: str) -> Response:
        params = (request.form.to_dict() if request.method == "POST"
                  else request.args.to_dict())
        signature = request.headers.get("X-Plivo-Signature-V3")
        nonce = request.headers.get("X-Plivo-Signature-V3-Nonce")

        def check(token: str, given: dict[str, str]) -> bool:
            if signature is None or nonce is None:
                return False
            return validate_v3_signature(request.method, request.url, nonce, token,
                                         signature, dict(given))

        tampered = dict(params, CallUUID="not-the-call")
        with self.lock:
            self.seen.append(Seen(
                request.method, "/" + path, request.url, params, signature, nonce,
                valid=check(AUTH_TOKEN, params),
                valid_with_wrong_token=check(WRONG_TOKEN, params),
                # POST: the form is signed; GET: the query is part of request.url, so a
                # changed parameter is a changed URL.
                valid_when_tampered=(check(AUTH_TOKEN, tampered) if request.method == "POST"
                                     else validate_v3_signature(
                                         "GET", request.url.replace("CallUUID=", "CallUUID=x"),
                                         nonce or "", AUTH_TOKEN, signature or "", {})),
            ))
        document = self.documents.get("/" + path)
        element = document(params) if document is not None else None
        if element is None:
            return Response(status=204)
        return Response(element.to_string(), mimetype="application/xml")

    def at(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]
