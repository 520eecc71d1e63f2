"""The Flask blueprint: URLs, credentials, Idempotency-Key, and JSON errors.

Views only parse the URL and body and hand over to ConferenceActions. Every
answer under /v1 is JSON, errors included: ApiError carries its own status,
Flask's routing errors (404, 405) are rendered the same way, and anything
unexpected is logged with its traceback and answered with a JSON 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from controller.api import inputs
from controller.api.actions import ConferenceActions
from controller.api.call_actions import CallActions
from controller.api.errors import ERROR_CODES, ApiError
from controller.api.idempotency import StoredResponse, fingerprint, store_for
from controller.api.openapi import build_openapi
from controller.http_auth import require_credentials

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotency-Replayed"
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large",
               415: "unsupported_media_type"}


def _json(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def error_response(error: ApiError) -> Response:
    return _json(error.status, error.body())


def _http_error_body(error: HTTPException) -> dict[str, Any]:
    code = _HTTP_CODES.get(error.code or 500) or (error.name or "error").lower().replace(" ", "_")
    return {"error": code, "message": error.description or error.name}


def _request_body() -> bytes:
    """The raw body, read at most once and never past the limit (a chunked body has no
    Content-Length to refuse up front)."""
    cached = g.get("raw_body")
    if cached is not None:
        return cached
    length = request.content_length
    too_large = ApiError("body_too_large",
                         f"request bodies are limited to {inputs.MAX_BODY_BYTES} bytes")
    if length is not None and length > inputs.MAX_BODY_BYTES:
        raise too_large
    raw = request.stream.read(inputs.MAX_BODY_BYTES + 1)
    if len(raw) > inputs.MAX_BODY_BYTES:
        raise too_large
    g.raw_body = raw
    return raw


def _body() -> dict[str, Any]:
    return inputs.json_body(_request_body(), request.content_type or "")


def create_blueprint(service: Any) -> Blueprint:
    """The REST API for live conferences, mounted at /v1 by controller/http.py."""
    blueprint = Blueprint("conference_api", __name__, url_prefix="/v1")
    guarded = require_credentials(service.settings.api)
    actions = ConferenceActions(service)
    call_actions = CallActions(service)
    store = store_for(service, "v1")
    spec = build_openapi()

    def idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
        """Same key + same request: the first answer again, the command run once."""

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            raw_key = request.headers.get(IDEMPOTENCY_HEADER)
            if raw_key is None:
                return view(*args, **kwargs)
            key = inputs.idempotency_key(raw_key)
            _body()  # refused bodies (too large, too deep, not JSON) never reach the store
            print_ = fingerprint(request.method, request.path, _request_body())
            stored = store.begin(key, print_)
            if stored is not None:
                response = Response(stored.body, status=stored.status,
                                    content_type=stored.content_type)
                response.headers[REPLAYED_HEADER] = "true"
                return response
            kept: StoredResponse | None = None
            try:
                try:
                    response = view(*args, **kwargs)
                except ApiError as error:
                    response = error_response(error)
                kept = StoredResponse(response.status_code, response.get_data(),
                                      response.content_type or "application/json")
                return response
            finally:
                store.finish(key, kept)  # an exception keeps nothing: a retry runs again

        return wrapper

    # ------------------------------------------------------------ reads
    @blueprint.get("/openapi.json")
    @guarded
    def openapi() -> Response:
        return _json(200, spec)

    @blueprint.get("/conferences")
    @guarded
    def list_conferences() -> Response:
        return _json(200, {"conferences": actions.list_conferences()})

    @blueprint.get("/conferences/<name>")
    @guarded
    def get_conference(name: str) -> Response:
        return _json(200, actions.conference_detail(inputs.room_name(name)))

    @blueprint.get("/conferences/<name>/members/<member_id>")
    @guarded
    def get_member(name: str, member_id: str) -> Response:
        room = inputs.room_name(name)
        return _json(200, actions.member_detail(room, inputs.member_id(member_id)))

    # ------------------------------------------------------------ actions
    @blueprint.post("/conferences/<name>/members/<member>/<action>")
    @guarded
    @idempotent
    def member_action(name: str, member: str, action: str) -> Response:
        room = inputs.room_name(name)
        chosen = inputs.action(action, inputs.MEMBER_ACTIONS)
        selected = inputs.selector(member)
        status, body = actions.member_action(room, selected, chosen, _body())
        return _json(status, body)

    @blueprint.post("/conferences/<name>/<action>")
    @guarded
    @idempotent
    def room_action(name: str, action: str) -> Response:
        room = inputs.room_name(name)
        chosen = inputs.action(action, inputs.ROOM_ACTIONS)
        status, body = actions.room_action(room, chosen, _body())
        return _json(status, body)

    # ------------------------------------------------------------ calls
    def _elsewhere(call_id: str) -> Response | None:
        """In a cluster, a call another controller runs: that controller's answer to this
        same request (controller.cluster.calls); None: run it here (or 404 here)."""
        cluster = getattr(service, "cluster", None)
        if cluster is None or service.engine.calls.get(call_id) is not None:
            return None
        from controller.cluster.calls import FORWARDED_HEADER, forward

        if request.headers.get(FORWARDED_HEADER):
            return None  # forwarded once already: never a loop
        url = cluster.calls.owner(call_id)
        if url is None:
            return None
        answer = forward(url, request.method, request.path, request.headers, request.get_data())
        if answer is None:
            raise ApiError("cluster_unavailable", f"the controller running call {call_id} "
                           f"({url}) cannot be reached; retry later")
        status, body, content_type = answer
        return Response(body, status=status, content_type=content_type)

    @blueprint.get("/calls")
    @guarded
    def list_calls() -> Response:
        return _json(200, {"calls": call_actions.list_calls()})

    @blueprint.get("/calls/<call_id>")
    @guarded
    def get_call(call_id: str) -> Response:
        chosen = inputs.call_id(call_id)
        forwarded = _elsewhere(chosen)
        if forwarded is not None:
            return forwarded
        return _json(200, call_actions.call_detail(chosen))

    @blueprint.post("/calls/<call_id>/<action>")
    @guarded
    @idempotent
    def call_action(call_id: str, action: str) -> Response:
        chosen_call = inputs.call_id(call_id)
        chosen = inputs.action(action, inputs.CALL_ACTIONS)
        forwarded = _elsewhere(chosen_call)
        if forwarded is not None:
            return forwarded
        status, body = call_actions.command(chosen_call, chosen, _body())
        return _json(status, body)

    # ------------------------------------------------------------ errors
    @blueprint.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return error_response(error)

    @blueprint.errorhandler(HTTPException)
    def http_error_here(error: HTTPException) -> Response:
        return _json(error.code or 500, _http_error_body(error))

    @blueprint.app_errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        # Unmatched URLs belong to no blueprint: answer JSON for ours, Flask's default elsewhere.
        if request.path == "/v1" or request.path.startswith("/v1/"):
            return _json(error.code or 500, _http_error_body(error))
        return error

    @blueprint.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("api: %s %s failed unexpectedly", request.method, request.path)
        return _json(ERROR_CODES["internal_error"], {
            "error": "internal_error",
            "message": f"unexpected {type(error).__name__}; the controller logged the details",
        })

    return blueprint
