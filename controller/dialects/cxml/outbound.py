"""Twilio's Calls create (``POST /2010-04-01/Accounts/{sid}/Calls.json``) as a dial: the
form checked parameter by parameter (errors name it), the answered call fetching ``Url``
(Direction outbound-api) or running ``Twiml``, and its call-progress StatusCallbacks
(``controller.dialects.cxml.progress``). Pure.

Parameter                          becomes
To, From / CallerId                the destination (a number, sip:..., a user), caller id
Url + Method, FallbackUrl/Method   the document the answered call fetches (and its fallback)
Twiml                              the document the answered call runs (checked here)
Timeout (1-600, default 60)        ring time
TimeLimit                          the call's time limit (FreeSWITCH sched_hangup)
StatusCallback*                    initiated / answered / completed (busy, no-answer...)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.dialects.cxml import markup
from controller.dialects.cxml.participants import (
    MAX_TIME_LIMIT,
    ParameterError,
    int_param,
    parsed,
    status_callback,
)
from controller.dialects.cxml.schema import METHOD, URL
from controller.model import HttpMethod, Webhook
from controller.xml.errors import XmlError

DEFAULT_RING_SECONDS = 60  # Twilio's Timeout default
ACCEPTED = ("To", "From", "CallerId", "Url", "Method", "Twiml", "FallbackUrl",
            "FallbackMethod", "StatusCallback", "StatusCallbackMethod", "StatusCallbackEvent",
            "Timeout", "TimeLimit")
REFUSED = {
    "ApplicationSid": "TwiML applications are not kept by this controller; give Url or Twiml",
    "SendDigits": "sending digits on answer is not supported; send them from the document",
    "Record": "recording a call leg is not supported; record a conference",
    "MachineDetection": "answering machine detection is not available",
    "AsyncAmd": "answering machine detection is not available",
    "SipAuthUsername": "SIP authentication of dialled legs is the gateway's ([outbound])",
    "SipAuthPassword": "SIP authentication of dialled legs is the gateway's ([outbound])",
    "Byoc": "trunks are chosen by [outbound] gateway",
    "Trim": "recording a call leg is not supported",
}


@dataclass(frozen=True)
class CallsCreate:
    to: str
    from_number: str
    answer: Webhook | None  # Url
    document: str  # Twiml
    ring_seconds: int
    time_limit: int
    status_hook: Webhook | None
    status_events: frozenset[str]


def _absolute(params: Mapping[str, str], name: str) -> str:
    url = parsed(URL, name, params[name])
    if not url.lower().startswith(("http://", "https://")):
        raise ParameterError(name, "must be an absolute http(s) URL")
    return url


def calls_create(params: Mapping[str, str], max_bytes: int, max_depth: int) -> CallsCreate:
    """The form of a Calls create -> the dial (ParameterError naming the parameter)."""
    for name in params:
        if name in REFUSED:
            raise ParameterError(name, REFUSED[name])
        if name not in ACCEPTED:
            raise ParameterError(name, "is not a parameter of Calls create here; it takes "
                                         + ", ".join(ACCEPTED))
    for name in ("To", "From"):
        if not params.get(name, "").strip():
            raise ParameterError(name, "is required")
    given = [name for name in ("Url", "Twiml") if params.get(name)]
    if len(given) != 1:
        raise ParameterError("Url", "give exactly one of Url or Twiml")
    answer, document = None, ""
    if "Url" in given:
        fallback = _absolute(params, "FallbackUrl") if params.get("FallbackUrl") else ""
        answer = Webhook(
            _absolute(params, "Url"),
            HttpMethod(parsed(METHOD, "Method", params.get("Method", "POST"))),
            fallback_url=fallback,
            fallback_method=HttpMethod(parsed(METHOD, "FallbackMethod",
                                               params.get("FallbackMethod", "POST"))))
    else:
        document = params["Twiml"]
        try:
            markup.parse_document(document.encode(), "Twiml", max_bytes=max_bytes,
                                  max_depth=max_depth)
        except XmlError as exc:
            raise ParameterError("Twiml", str(exc)) from None
    hook, events = status_callback(params)
    return CallsCreate(
        to=params["To"].strip(), from_number=(params.get("CallerId") or params["From"]).strip(),
        answer=answer, document=document,
        ring_seconds=int_param(params, "Timeout", 1, 600, DEFAULT_RING_SECONDS),
        time_limit=int_param(params, "TimeLimit", 1, MAX_TIME_LIMIT, 0),
        status_hook=hook, status_events=events)


def call_resource(sid: str, account_sid: str, wanted: CallsCreate, now: str,
                  uri: str) -> dict[str, Any]:
    """The Call resource as Twilio answers a create (the fields the SDK's CallInstance reads)."""
    return {
        "sid": sid, "account_sid": account_sid, "to": wanted.to, "from": wanted.from_number,
        "to_formatted": wanted.to, "from_formatted": wanted.from_number,
        "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
        "date_created": now, "date_updated": now, "start_time": None, "end_time": None,
        "duration": None, "price": None, "answered_by": None, "caller_name": None,
        "parent_call_sid": None, "uri": uri,
    }
