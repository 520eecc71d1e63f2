"""Bandwidth's create call (``POST /api/v2/accounts/{id}/calls``) on the shared Dialer:
its JSON body checked into a ``DialRequest``, its ``CreateCallResponse`` body, and the
disconnect event of a call that was never answered. Pure but for ``report_unanswered``
(which queues a webhook).

The answered leg fetches ``answerUrl`` (Bandwidth's ``answer`` event, direction
``outbound``) and runs its BXML like any call; its end reaches ``disconnectUrl`` with
the cause. A call that is never answered reaches ``disconnectUrl`` once, with
Bandwidth's cause for FreeSWITCH's (busy, timeout, rejected, cancel, error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from controller.conference.events import CallFacts, CallStatus
from controller.dialects.base import Purpose, RequestContext
from controller.dialects.bxml import ids, params
from controller.dialects.bxml.schema import CREDENTIAL, METHOD, URL
from controller.dialer import DialedLeg, DialError, DialOutcome, DialRequest, Outcome
from controller.model import HttpMethod, Webhook
from controller.xml.values import Invalid

MAX_CALL_TAG_CHARS = 4096  # CreateCall.tag (the call's tag; <Tag> verbs allow 256)
MAX_DISPLAY_NAME_CHARS = 256
MAX_URL_CHARS = 2048
# The fields of Bandwidth's CreateCall this controller takes (bandwidth.models.CreateCall).
FIELDS = ("to", "from", "displayName", "applicationId", "answerUrl", "answerMethod",
          "username", "password", "answerFallbackUrl", "answerFallbackMethod",
          "fallbackUsername", "fallbackPassword", "disconnectUrl", "disconnectMethod",
          "callTimeout", "callbackTimeout", "priority", "tag", "privacy")
# Refused with the reason (never silently ignored).
UNSUPPORTED = {
    "uui": "User-To-User headers are not sent by this controller",
    "machineDetection": "answering machine detection is not available on this controller",
}
# DialRequest's names -> CreateCall's, for error messages.
_FIELD_NAMES = {"to": "to", "from_number": "from", "from_name": "displayName",
                "timeout_secs": "callTimeout", "tag": "tag", "document": "answerUrl",
                "answer": "answerUrl"}


class CreateCallError(ValueError):
    """The body cannot be dialled; the message names the field."""


@dataclass(frozen=True)
class CreateCall:
    dial: DialRequest
    application_id: str
    callback_timeout: float
    call_timeout: float
    priority: int


def _text(data: dict[str, Any], key: str, limit: int, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise CreateCallError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise CreateCallError(f"{key} must be a string")
    if len(value) > limit:
        raise CreateCallError(f"{key} is longer than {limit} characters")
    if required and not value.strip():
        raise CreateCallError(f"{key} must not be empty")
    return value


def _typed(data: dict[str, Any], key: str, kind: Any, default: Any) -> Any:
    raw = _text(data, key, MAX_URL_CHARS)
    if raw is None:
        return default
    try:
        return kind.parse(key, raw, None)
    except Invalid as exc:
        raise CreateCallError(exc.message) from None


def _url(data: dict[str, Any], key: str, required: bool = False) -> str:
    value = _typed(data, key, URL, "")
    if required and not value:
        raise CreateCallError(f"{key} is required")
    if value and not value.lower().startswith(("http://", "https://")):
        raise CreateCallError(f"{key} must be an absolute http(s) URL")
    return value


def _number(data: dict[str, Any], key: str, low: float, high: float, default: float,
            integer: bool = False) -> float:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (integer and not isinstance(value, int)) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise CreateCallError(f"{key} must be {kind} {low:g}-{high:g}, not {value!r}")
    return value


def create_call_request(data: dict[str, Any], application_id: str) -> CreateCall:
    """A CreateCall body -> the dial (CreateCallError naming the field otherwise)."""
    for key in data:
        if key in UNSUPPORTED and data[key] is not None:
            raise CreateCallError(f"{key}: {UNSUPPORTED[key]}")
        if key not in FIELDS and key not in UNSUPPORTED:
            raise CreateCallError(f"{key} is not a field of createCall; known: "
                                  + ", ".join(FIELDS))
    to = _text(data, "to", MAX_URL_CHARS, required=True) or ""
    from_number = _text(data, "from", 64, required=True) or ""
    app = _text(data, "applicationId", 64, required=True) or ""
    if application_id and app != application_id:
        raise CreateCallError(f"applicationId {app[:64]!r} is not this controller's "
                              "application ([bxml] application_id)")
    if data.get("privacy") not in (None, False):
        raise CreateCallError("privacy: hiding the calling number is not available on this "
                              "controller (give the number to show in from)")
    callback_timeout = _number(data, "callbackTimeout", 1, 25, 15)
    call_timeout = _number(data, "callTimeout", 1, 300, 30)
    priority = int(_number(data, "priority", 1, 5, 5, integer=True))
    answer = Webhook(
        _url(data, "answerUrl", required=True), _typed(data, "answerMethod", METHOD,
                                                       HttpMethod.POST),
        _typed(data, "username", CREDENTIAL, ""), _typed(data, "password", CREDENTIAL, ""),
        _url(data, "answerFallbackUrl"),
        _typed(data, "answerFallbackMethod", METHOD, HttpMethod.POST),
        _typed(data, "fallbackUsername", CREDENTIAL, ""),
        _typed(data, "fallbackPassword", CREDENTIAL, ""),
        timeout=float(callback_timeout))
    disconnect_url = _url(data, "disconnectUrl")
    disconnect = Webhook(disconnect_url, _typed(data, "disconnectMethod", METHOD,
                                                HttpMethod.POST),
                         answer.username, answer.password, timeout=float(callback_timeout)) \
        if disconnect_url else None
    dial = DialRequest(
        to=to, from_number=from_number,
        from_name=_text(data, "displayName", MAX_DISPLAY_NAME_CHARS) or "",
        dialect="bxml", answer=answer, hangup=disconnect,
        # FreeSWITCH's originate_timeout is whole seconds: a decimal rings up to it.
        timeout_secs=math.ceil(call_timeout),
        tag=_text(data, "tag", MAX_CALL_TAG_CHARS))
    return CreateCall(dial, app, callback_timeout, call_timeout, priority)


def dial_error_text(exc: DialError) -> str:
    return f"{_FIELD_NAMES.get(exc.field, exc.field)}: {exc.message}"


def create_call_response(wanted: CreateCall, leg: DialedLeg, account_id: str,
                         base_url: str) -> dict[str, Any]:
    """Bandwidth's CreateCallResponse (bandwidth.models.CreateCallResponse)."""
    answer, disconnect = wanted.dial.answer, wanted.dial.hangup
    call_id = ids.call_id(leg.uuid)
    body = {
        "applicationId": wanted.application_id, "accountId": account_id, "callId": call_id,
        "to": leg.to, "from": leg.from_number, "enqueuedTime": params.iso_time(
            params.now_us()),
        "callUrl": params.call_url(base_url, account_id, call_id),
        "callTimeout": wanted.call_timeout, "callbackTimeout": wanted.callback_timeout,
        "tag": leg.tag, "answerMethod": answer.method.value, "answerUrl": answer.url,
        "answerFallbackMethod": answer.fallback_method.value,
        "answerFallbackUrl": answer.fallback_url or None,
        "disconnectMethod": disconnect.method.value if disconnect else "POST",
        "disconnectUrl": disconnect.url if disconnect else None,
        "username": answer.username or None, "password": answer.password or None,
        "fallbackUsername": answer.fallback_username or None,
        "fallbackPassword": answer.fallback_password or None,
        "priority": wanted.priority,
    }
    return {k: v for k, v in body.items() if v is not None}


def report_unanswered(service: Any, dialect: Any, outcome: DialOutcome,
                      wanted: CreateCall) -> None:
    """A created call that was never answered: its disconnectUrl hears of it once, with
    the cause (answered calls are reported by their CallSession when they end)."""
    if outcome.kind is Outcome.ANSWERED or wanted.dial.hangup is None:
        return
    leg = outcome.leg
    facts = CallFacts(uuid=leg.uuid, caller_number=leg.from_number, caller_name=leg.from_name,
                      destination=leg.to, direction="outbound", dialect="bxml",
                      call_id=ids.call_id(leg.uuid))
    cause = outcome.cause or ("ORIGINATOR_CANCEL" if outcome.kind is Outcome.CANCELLED
                              else "NORMAL_TEMPORARY_FAILURE")
    payload = dialect.request_payload(RequestContext(
        Purpose.HANGUP, facts, CallStatus.COMPLETED, hangup_cause=cause, tag=leg.tag))
    service.engine.notifier.send(wanted.dial.hangup, payload, "bxml", f"call:{leg.uuid}")
