"""Plivo's Call API shapes on the shared Dialer: the make-a-call body checked into
``DialRequest``s, the live call resource, and the hangup request of a call that was never
answered. Pure but for ``report_unanswered`` (which queues a webhook).

Parameter names are the ones the ``plivo`` SDK sends (``plivo.resources.calls.Calls.
create``: ``from``, ``to``, ``answer_url``... after its trailing-underscore stripping).
The SDK always sends its defaults (``answer_method``, ``ring_method``, ``hangup_method``,
``fallback_method``, ``machine_detection_time``, ``machine_detection_method``,
``ring_timeout``, ``error_if_parent_not_found``), so those are accepted when they change
nothing; a parameter that would change what happens and that this controller cannot do
is refused with the reason, never ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from controller.conference.events import CallFacts, CallStatus, EngineEvent
from controller.dialects.base import Purpose, RequestContext
from controller.dialer import (
    MAX_RING_SECONDS,
    MAX_TIME_LIMIT_SECONDS,
    DialError,
    DialOutcome,
    DialRequest,
    Outcome,
)
from controller.model import HttpMethod, Webhook

MAX_DESTINATIONS = 10  # a bulk call ("to" with '<'): each destination is its own dial
MAX_URL_CHARS = 2048
MAX_CALLER_NAME_CHARS = 50  # Plivo: caller_name up to 50 characters
DEFAULT_RING_TIMEOUT = 120  # the SDK's and Plivo's default
DEFAULT_TIME_LIMIT = 14400  # Plivo's: an answered call lasts at most 4 hours

CREATE_FIELDS = (
    "from", "to", "answer_url", "answer_method", "ring_url", "ring_method", "hangup_url",
    "hangup_method", "fallback_url", "fallback_method", "caller_name", "send_digits",
    "send_on_preanswer", "time_limit", "hangup_on_ring", "machine_detection",
    "machine_detection_time", "machine_detection_url", "machine_detection_method",
    "sip_headers", "ring_timeout", "parent_call_uuid", "error_if_parent_not_found",
    "callback_url", "callback_method",
)
# Refused when given a value that would ask for something (the reason is the answer).
_REFUSED = {
    "send_digits": "sending digits on answer is not available; send them with "
                   "POST /Call/{call_uuid}/DTMF/ once the call is answered",
    "send_on_preanswer": "sending digits on answer is not available",
    "hangup_on_ring": "hanging up a while after the ringing starts is not available; "
                      "use ring_timeout",
    "machine_detection": "answering machine detection is not available on this controller",
    "machine_detection_url": "answering machine detection is not available on this "
                             "controller",
    "sip_headers": "custom SIP headers are not sent by this controller",
    "parent_call_uuid": "parent calls are not available on this controller",
    "callback_url": "asynchronous API requests are not available: the answer is given "
                    "at once",
    "callback_method": "asynchronous API requests are not available: the answer is "
                       "given at once",
}
# Defaults the SDK always sends: accepted only with the value that changes nothing.
_NEUTRAL = {"machine_detection_time": 5000, "error_if_parent_not_found": False}
# DialRequest's field names -> Plivo's, for error messages.
_FIELD_NAMES = {"to": "to", "from_number": "from", "from_name": "caller_name",
                "timeout_secs": "ring_timeout", "time_limit_secs": "time_limit",
                "answer": "answer_url", "call_uuid": "to"}
# Plivo's CallStatus of a call that was never answered.
UNANSWERED_STATUS = {Outcome.BUSY: "busy", Outcome.NO_ANSWER: "no-answer",
                     Outcome.FAILED: "failed", Outcome.CANCELLED: "cancel"}


class ParameterError(ValueError):
    """A parameter cannot be used; ``name`` is Plivo's name for it."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name


@dataclass(frozen=True)
class MakeCall:
    """The dials one make-a-call asks for (one per destination of ``to``)."""

    dials: tuple[DialRequest, ...]
    answer: Webhook
    hangup: Webhook | None
    ring: Webhook | None = None  # ring_url: told once when the callee starts ringing


# ------------------------------------------------------------------ values
def text(data: Mapping[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ParameterError(name, "is required")
        return ""
    if not isinstance(value, str):
        raise ParameterError(name, f"must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise ParameterError(name, f"is longer than {limit} characters")
    return value


def url(data: Mapping[str, Any], name: str, required: bool = False) -> str:
    value = text(data, name, MAX_URL_CHARS, required).strip()
    if value and not value.lower().startswith(("http://", "https://")):
        raise ParameterError(name, f"{value[:80]!r} is not an absolute http(s) URL")
    return value


def method(data: Mapping[str, Any], name: str) -> HttpMethod:
    value = text(data, name, 8) or "POST"
    if value.upper() not in ("GET", "POST"):
        raise ParameterError(name, f"{value!r} is not GET or POST")
    return HttpMethod(value.upper())


def integer(data: Mapping[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ParameterError(name, f"must be a whole number {low}-{high}, not {value!r}")
    return value


def boolean(data: Mapping[str, Any], name: str, default: bool) -> bool:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ParameterError(name, f"must be true or false, not {value!r}")


def only(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for name in data:
        if name not in allowed:
            shown = name if len(name) <= 60 else name[:60] + "..."
            raise ParameterError(shown, "is not a parameter of this request; known: "
                                 + ", ".join(allowed))


# ------------------------------------------------------------------ make a call
def make_call(data: Mapping[str, Any]) -> MakeCall:
    """A make-a-call body -> its dials (ParameterError naming the parameter otherwise)."""
    only(data, CREATE_FIELDS)
    for name, reason in _REFUSED.items():
        if data.get(name) not in (None, "", False):
            raise ParameterError(name, reason)
    for name, neutral in _NEUTRAL.items():
        if data.get(name) is not None and data.get(name) != neutral:
            raise ParameterError(name, _REFUSED.get(
                "machine_detection" if name.startswith("machine") else "parent_call_uuid"))
    method(data, "machine_detection_method")
    from_number = text(data, "from", 64, required=True)
    destinations = [d.strip() for d in text(data, "to", MAX_URL_CHARS, required=True)
                    .split("<")]
    if not all(destinations):
        raise ParameterError("to", "an empty destination between '<' separators")
    if len(destinations) > MAX_DESTINATIONS:
        raise ParameterError("to", f"at most {MAX_DESTINATIONS} destinations at once")
    if len(set(destinations)) != len(destinations):
        raise ParameterError("to", "a destination is given twice")
    if from_number in destinations:
        raise ParameterError("to", "from and to must differ")
    answer = Webhook(url(data, "answer_url", required=True), method(data, "answer_method"),
                     fallback_url=url(data, "fallback_url"),
                     fallback_method=method(data, "fallback_method"))
    hangup_url = url(data, "hangup_url")
    hangup = Webhook(hangup_url, method(data, "hangup_method")) if hangup_url else None
    ring_url = url(data, "ring_url")
    ring_method = method(data, "ring_method")  # checked even without ring_url (the SDK sends it)
    ring_hook = Webhook(ring_url, ring_method) if ring_url else None
    ring = integer(data, "ring_timeout", 1, MAX_RING_SECONDS, DEFAULT_RING_TIMEOUT)
    limit = integer(data, "time_limit", 1, MAX_TIME_LIMIT_SECONDS, DEFAULT_TIME_LIMIT)
    caller_name = text(data, "caller_name", MAX_CALLER_NAME_CHARS)
    dials = tuple(DialRequest(to=to, from_number=from_number, from_name=caller_name,
                              dialect="plivo", answer=answer, hangup=hangup,
                              timeout_secs=ring, time_limit_secs=limit)
                  for to in destinations)
    return MakeCall(dials, answer, hangup, ring_hook)


def dial_error(exc: DialError) -> ParameterError:
    return ParameterError(_FIELD_NAMES.get(exc.field, exc.field), exc.message)


# ------------------------------------------------------------------ resources
def live_call(facts: CallFacts, answered: bool) -> dict[str, Any]:
    """Plivo's live call resource (``GET /Call/{call_uuid}/?status=live``)."""
    view = {
        "call_uuid": facts.uuid,
        "call_status": "in-progress" if answered else "ringing",
        "direction": facts.direction,
        "from": facts.caller_number,
        "to": facts.destination,
        "caller_name": facts.caller_name,
    }
    if facts.direction == "outbound":
        view["request_uuid"] = facts.uuid  # a call we dialled: its request is its uuid
    return view


def ringing_facts(uuid: str, to: str, from_number: str, from_name: str) -> CallFacts:
    """A dial still ringing, as the facts its answered call will have."""
    return CallFacts(uuid=uuid, caller_number=from_number, caller_name=from_name,
                     destination=to, direction="outbound", dialect="plivo", call_id=uuid)


def report_ringing(service: Any, event: EngineEvent, ring: Webhook | None) -> None:
    """The callee started ringing: ring_url hears of it once (CallStatus ringing, with the
    call's RequestUUID/ALegUUID), signed as every Plivo request. Queued, never blocks."""
    if ring is not None and event.call is not None:
        service.engine.notifier.emit(event, ring, "plivo", lane=f"call:{event.call.uuid}")


def report_unanswered(service: Any, dialect: Any, outcome: DialOutcome,
                      hangup: Webhook | None) -> None:
    """A call that was never answered: its hangup_url hears of it once, with Plivo's
    CallStatus (busy, no-answer, failed, cancel) and FreeSWITCH's hangup cause (answered
    calls are reported by their CallSession when they end)."""
    if outcome.kind is Outcome.ANSWERED or hangup is None:
        return
    leg = outcome.leg
    facts = ringing_facts(leg.uuid, leg.to, leg.from_number, leg.from_name)
    cause = outcome.cause or ("ORIGINATOR_CANCEL" if outcome.kind is Outcome.CANCELLED
                              else "NORMAL_TEMPORARY_FAILURE")
    payload = dialect.request_payload(RequestContext(
        Purpose.HANGUP, facts, CallStatus.COMPLETED, hangup_cause=cause))
    fields = {**payload.fields, "CallStatus": UNANSWERED_STATUS[outcome.kind]}
    service.engine.notifier.send(hangup, replace(payload, fields=fields), "plivo",
                                 f"call:{leg.uuid}")
