"""The controller's HTTP: health, readiness, recordings (and the REST API blueprint)."""

from __future__ import annotations

import os
import re
from typing import Any

from flask import Flask, Response, jsonify, send_file

from controller import metrics
from controller.http_auth import require_credentials

# A recording file this controller serves: <recording id>.<format> (documented in
# controller/api/openapi.py with this same pattern)
RECORDING_FILE_PATTERN = r"^[0-9a-f-]{36}\.(mp3|wav)$"
_RECORDING_FILE = re.compile(RECORDING_FILE_PATTERN)
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

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        # Unauthenticated like /healthz: scrapers rarely carry credentials, and the
        # figures name no room, member or caller.
        body, content_type = metrics.exposition(service)
        return Response(body, content_type=content_type)

    @app.get("/v1/recordings/<file>")
    @guarded
    def recording(file: str) -> Any:
        path = os.path.join(settings.recordings_local_directory, file)
        if not _RECORDING_FILE.match(file) or not os.path.isfile(path):
            response = jsonify(error="not_found", message=(
                f"no recording {file}" if _RECORDING_FILE.match(file) else
                f"no recording {file}: names are <recording_id>.mp3 or <recording_id>.wav"))
            response.status_code = 404
            return response
        return send_file(os.path.abspath(path), mimetype=_MIMETYPES[file.rsplit(".", 1)[1]],
                         conditional=True)

    # In a cluster, a call another controller runs is forwarded there from every REST API
    # (controller.cluster.forward); single-node controllers never import it.
    install = None
    if getattr(service, "cluster", None) is not None:
        from controller.cluster.forward import install

    api_factory = getattr(service, "api_blueprint", None)
    blueprint = api_factory() if api_factory is not None else None
    if blueprint is not None:
        if install is not None:
            install(blueprint)
        app.register_blueprint(blueprint)
    # Each face's REST shapes (Twilio's /2010-04-01, Bandwidth's /api/v2, Telnyx's /v2...).
    from controller import dialects

    for name in dialects.names():
        face = dialects.get(name).rest_blueprint(service)
        if face is not None:
            if install is not None:
                install(face)
            app.register_blueprint(face)
    return app
