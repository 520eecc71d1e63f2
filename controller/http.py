"""The controller's HTTP: health, readiness, recordings (and the REST API blueprint)."""

from __future__ import annotations

import os
import re
from typing import Any

from flask import Flask, abort, jsonify, send_file

from controller.http_auth import require_credentials

_RECORDING_FILE = re.compile(r"^[0-9a-f-]{36}\.(mp3|wav)$")
_MIMETYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def create_app(service: Any) -> Flask:
    """``service`` is the running ControllerService (settings, esl, rooms...)."""
    app = Flask("conference-controller")
    settings = service.settings
    guarded = require_credentials(settings.api)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="alive")

    @app.get("/readyz")
    def readyz() -> Any:
        if service.esl.connected:
            return jsonify(status="ready", freeswitch="connected")
        response = jsonify(status="not ready", freeswitch="disconnected",
                           reason=service.esl.last_error or "connecting")
        response.status_code = 503
        return response

    @app.get("/v1/recordings/<name>")
    @guarded
    def recording(name: str) -> Any:
        if not _RECORDING_FILE.match(name):
            abort(404)
        path = os.path.join(settings.recordings_local_directory, name)
        if not os.path.isfile(path):
            response = jsonify(error="not_found", message=f"no recording {name}")
            response.status_code = 404
            return response
        return send_file(os.path.abspath(path), mimetype=_MIMETYPES[name.rsplit(".", 1)[1]],
                         conditional=True)

    api_factory = getattr(service, "api_blueprint", None)
    blueprint = api_factory() if api_factory is not None else None
    if blueprint is not None:
        app.register_blueprint(blueprint)
    return app
