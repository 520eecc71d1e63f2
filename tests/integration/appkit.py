"""A scriptable application for end-to-end tests: documents per path, every request kept."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import gevent
from flask import Flask, Response, request

from controller.testing.stack import wait_until

__all__ = ["AppRecorder", "conferences", "member_of", "wait_until"]

Document = str | Callable[[dict[str, str]], str]


class AppRecorder:
    """``documents[path]`` answers GET/POST ``path`` (a string, or a function of the params);
    any other path answers 204. Every request is kept in ``requests`` in arrival order."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: list[dict[str, Any]] = []
        self.app = Flask("test-app")
        self.app.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST"])

    def _serve(self, path: str) -> Response:
        path = "/" + path
        params = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
        self.requests.append({"path": path, "method": request.method, "at": time.monotonic(),
                              **params})
        if path in self.files:
            body, mimetype = self.files[path]
            return Response(body, mimetype=mimetype)
        document = self.documents.get(path)
        if document is None:
            return Response(status=204)
        text = document(params) if callable(document) else document
        return Response(text, mimetype="application/xml")

    # ------------------------------------------------------------ reading
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
        raise AssertionError(
            f"expected {count} request(s) to {path} matching {match}, got "
            f"{len(self.at(path, **match))}; all requests: "
            + ", ".join(f"{r['path']}:{r.get('ConferenceAction', '')}" for r in self.requests)
        )


def conferences(stack: Any) -> dict[str, dict]:
    """FreeSWITCH's own listing (works on the simulator and on a real FreeSWITCH)."""
    text = stack.api("conference json_list").strip()
    if not text.startswith("["):
        return {}
    return {conf["conference_name"]: conf for conf in json.loads(text)}


def member_of(stack: Any, room: str, uuid: str) -> dict | None:
    conf = conferences(stack).get(room)
    if conf is None:
        return None
    return next((m for m in conf.get("members", []) if m.get("uuid") == uuid), None)
