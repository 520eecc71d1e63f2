"""``POST /v1/calls``: the native face dials out.

    POST /v1/calls {"to": "sip:alice@example.com", "from": "+15551230000",
                    "answer_url": "https://app/answer"}
    -> 201 {"call_uuid": "...", "status": "ringing", ...}

The answered call fetches ``answer_url`` (Direction ``outbound``) and runs like an
inbound one; its end is reported to ``hangup_url`` (default ``[app] hangup_url``)
with its HangupCause. A call that is never answered is reported there too, once,
with FreeSWITCH's cause (USER_BUSY, NO_ANSWER, NORMAL_TEMPORARY_FAILURE...).
Bodies and parameters are shaped by the application's dialect, as for every
other request of the call.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request

from controller.api import inputs
from controller.api.errors import ERROR_CODES, ApiError, invalid
from controller.api.idempotency import StoredResponse, fingerprint, store_for
from controller.conference.events import CallFacts, CallStatus
from controller.dialects.base import Purpose, RequestContext
from controller.dialer import (
    MAX_RING_SECONDS,
    MAX_TIME_LIMIT_SECONDS,
    DialError,
    DialOutcome,
    DialRequest,
    DialUnavailable,
    Outcome,
)
from controller.http_auth import require_credentials
from controller.model import HttpMethod, Webhook

log = logging.getLogger(__name__)

FIELDS = ("to", "from", "caller_name", "answer_url", "answer_method", "hangup_url",
          "hangup_method", "ring_timeout", "time_limit")
METHODS = ("GET", "POST")


def _text(body: dict[str, Any], name: str, required: bool = False, limit: int = 256) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(f"body.{name}", "is required")
        return ""
    if not isinstance(value, str):
        raise invalid(f"body.{name}", "must be a string")
    if len(value) > limit:
        raise invalid(f"body.{name}", f"longer than {limit} characters")
    if required and not value.strip():
        raise invalid(f"body.{name}", "must not be empty")
    return value.strip()


def _url(body: dict[str, Any], name: str) -> str:
    value = _text(body, name, limit=inputs.MAX_URL)
    if value:
        try:
            parts = urlsplit(value)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:  # e.g. an unclosed [IPv6] host
            usable = False
        if not usable:
            raise invalid(f"body.{name}", f"{value[:120]!r} is not an absolute http(s) URL")
    return value


def _method(body: dict[str, Any], name: str) -> HttpMethod:
    value = _text(body, name) or "POST"
    if value.upper() not in METHODS:
        raise invalid(f"body.{name}", f"{value[:20]!r} is not a method", METHODS)
    return HttpMethod(value.upper())


def _seconds(body: dict[str, Any], name: str, lo: int, hi: int) -> int:
    value = body.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise invalid(f"body.{name}", f"must be an integer {lo}-{hi} (seconds)")
    return value


def dial_request(body: dict[str, Any], on_outcome: Any) -> DialRequest:
    """The body of ``POST /v1/calls`` as a DialRequest; 422 naming the field otherwise."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise invalid(f"body.{unknown[0]}", "is not a field of this request", FIELDS)
    answer_url = _url(body, "answer_url")
    if not answer_url:
        raise invalid("body.answer_url", "is required: the answered call fetches it")
    hangup_url = _url(body, "hangup_url")
    return DialRequest(
        to=_text(body, "to", required=True),
        from_number=_text(body, "from", limit=64),
        from_name=_text(body, "caller_name", limit=64),
        answer=Webhook(answer_url, _method(body, "answer_method")),
        hangup=Webhook(hangup_url, _method(body, "hangup_method")) if hangup_url else None,
        timeout_secs=_seconds(body, "ring_timeout", 1, MAX_RING_SECONDS),
        time_limit_secs=_seconds(body, "time_limit", 1, MAX_TIME_LIMIT_SECONDS),
        on_outcome=on_outcome,
    )


def report_unanswered(service: Any, outcome: DialOutcome) -> None:
    """A dial that was never answered: its hangup hook hears of it once, with FreeSWITCH's
    cause (answered calls are reported by their CallSession when they end)."""
    from controller import dialects

    if outcome.kind is Outcome.ANSWERED:
        return
    leg = outcome.leg
    settings = service.settings
    hook = leg.hangup or (Webhook(settings.app.hangup_url, HttpMethod(settings.app.hangup_method))
                          if settings.app.hangup_url else None)
    if hook is None:
        return
    dialect = dialects.get(leg.dialect)
    facts = CallFacts(uuid=leg.uuid, caller_number=leg.from_number, caller_name=leg.from_name,
                      destination=leg.to, direction="outbound", dialect=dialect.name,
                      call_id=dialect.call_id(leg.uuid))
    payload = dialect.request_payload(RequestContext(
        Purpose.HANGUP, facts, CallStatus.COMPLETED,
        hangup_cause=outcome.cause or "NORMAL_TEMPORARY_FAILURE",
        error="" if outcome.cause else outcome.detail))
    service.engine.notifier.send(hook, payload, dialect.name, f"call:{leg.uuid}")


def create_dial_blueprint(service: Any) -> Blueprint:
    """``POST /calls``, registered inside the /v1 blueprint (controller/api/__init__.py)."""
    blueprint = Blueprint("dial_api", __name__)  # nested in the /v1 blueprint
    guarded = require_credentials(service.settings.api)

    store = store_for(service, "calls")

    @blueprint.post("/calls")
    @guarded
    def dial() -> Response:
        raw = request.stream.read(inputs.MAX_BODY_BYTES + 1)
        body = inputs.json_body(raw, request.content_type or "")
        raw_key = request.headers.get("Idempotency-Key")
        if raw_key is None:
            return _dial(body)
        # The same key and request again: the first answer, and only one call dialled.
        key = inputs.idempotency_key(raw_key)
        stored = store.begin(key, fingerprint(request.method, request.path, raw))
        if stored is not None:
            replay = Response(stored.body, status=stored.status,
                              content_type=stored.content_type)
            replay.headers["Idempotency-Replayed"] = "true"
            return replay
        kept: StoredResponse | None = None
        try:
            try:
                response = _dial(body)
            except ApiError as error:
                response = _error(error)
            kept = StoredResponse(response.status_code, response.get_data(),
                                  response.content_type or "application/json")
            return response
        finally:
            store.finish(key, kept)

    def _dial(body: dict[str, Any]) -> Response:
        wanted = dial_request(body, lambda outcome: report_unanswered(service, outcome))
        try:
            handle = service.dialer.dial(wanted)
        except DialError as exc:
            raise invalid(f"body.{_BODY_NAMES.get(exc.field, exc.field)}", exc.message) from None
        except DialUnavailable as exc:
            raise ApiError("freeswitch_unavailable", str(exc)) from None
        response = jsonify({"call_uuid": handle.uuid, "status": "ringing",
                            "to": handle.leg.to, "from": handle.leg.from_number})
        response.status_code = 201
        return response

    @blueprint.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return _error(error)

    @blueprint.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("api: %s %s failed unexpectedly", request.method, request.path)
        response = jsonify({"error": "internal_error", "message":
                            f"unexpected {type(error).__name__}; the controller logged it"})
        response.status_code = ERROR_CODES["internal_error"]
        return response

    return blueprint


def _error(error: ApiError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    return response


# DialRequest's names -> this API's body fields, for error messages.
_BODY_NAMES = {"from_number": "from", "from_name": "caller_name", "answer": "answer_url",
               "timeout_secs": "ring_timeout", "time_limit_secs": "time_limit"}

