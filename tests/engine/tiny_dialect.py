"""A face that exists only in the tests: what adding a dialect takes, and nothing more.

Importing this module registers it (``controller.dialects.register``), the one line a
built-in face adds to ``BUILTIN``. It speaks:

- markup: a JSON document of three verbs, ``{"do": [{"say": "hi"}, {"room": {...}},
  {"hangup": {}}]}``, parsed into the neutral model (``room`` is a ConferenceJoin with
  room hooks, member callbacks, hold and coach);
- requests and events as JSON bodies, every event with its room sequence number, tag
  and FreeSWITCH timestamp;
- its own signature header, ``X-Tiny-Signature`` (HMAC-SHA256 of method, URL, body);
- a REST blueprint under ``/tiny``: list its live calls, hang one up.

Call ids are ``tiny-<uuid>`` so the tests see the engine use a face's own ids.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urljoin

from flask import Blueprint, jsonify

from controller.calls import HangupCall
from controller.conference.events import EngineEvent
from controller.dialects import register
from controller.dialects.base import Dialect, Payload, RequestContext
from controller.media import BEEP_ONE
from controller.model import (
    ConferenceJoin,
    Document,
    EventKind,
    Hangup,
    RoomHooks,
    Speak,
    Webhook,
)
from controller.xml.errors import XmlError, XmlProblem

NAME = "tiny"
SECRET = b"tiny-secret"
SIGNATURE_HEADER = "X-Tiny-Signature"
CALL_ID_PREFIX = "tiny-"
VERBS = ("say", "room", "hangup")
ROOM_FIELDS = ("name", "hook", "events", "tag", "callback", "callback_events", "hold",
               "hold_sound", "coach", "start", "record", "recording_events", "action")
TONES = {"beep": BEEP_ONE}


def signature(method: str, url: str, body: bytes) -> str:
    return hmac.new(SECRET, method.encode() + b" " + url.encode() + b"\n" + body,
                    hashlib.sha256).hexdigest()


class TinyDialect(Dialect):
    name = NAME
    document_headers = {"Accept": "application/json"}

    def __init__(self) -> None:
        # Where call-level events go; the tests point it at their application.
        self.call_hook_url = ""

    # ------------------------------------------------------------ markup
    def parse_document(self, body: bytes, source_url: str, *, max_bytes: int,
                       max_depth: int) -> Document:
        def problem(message: str, verb: str | None = None, field: str | None = None,
                    value: Any = None, allowed: tuple[str, ...] = ()) -> XmlError:
            shown = None if value is None else json.dumps(value)
            return XmlError([XmlProblem(message, source_url, element=verb, attribute=field,
                                        value=shown, allowed=allowed)])

        try:
            data = json.loads(body)
        except ValueError as exc:
            raise problem(f"not JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("do"), list):
            raise problem('a document is {"do": [verbs]}')
        verbs = []
        for item in data["do"]:
            if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in VERBS:
                raise problem("each verb is an object with one of these names", value=item,
                              allowed=VERBS)
            (verb, value), = item.items()
            if verb == "say":
                if not isinstance(value, str) or not value:
                    raise problem("must be the text to say", verb, value=value)
                verbs.append(Speak(value))
            elif verb == "hangup":
                verbs.append(Hangup())
            else:
                verbs.append(self._room(value, source_url, problem))
        return Document(tuple(verbs), source_url)

    def _room(self, spec: Any, source_url: str, problem: Any) -> ConferenceJoin:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise problem("needs a name", "room")
        for key in spec:
            if key not in ROOM_FIELDS:
                raise problem("unknown field", "room", key, allowed=ROOM_FIELDS)

        def hook(key: str) -> Webhook | None:
            url = spec.get(key)
            return Webhook(urljoin(source_url, url)) if url else None

        def kinds(key: str) -> frozenset[EventKind]:
            try:
                return frozenset(EventKind(value) for value in spec.get(key, []))
            except ValueError:
                raise problem("unknown event", "room", key, spec[key],
                              tuple(k.value for k in EventKind)) from None

        room_hook = hook("hook")
        sound = spec.get("hold_sound", "")
        if sound and not str(sound).startswith("http"):
            if sound not in TONES:
                raise problem("a tone name or a URL", "room", "hold_sound", sound, tuple(TONES))
            sound = TONES[sound]
        elif sound:
            sound = urljoin(source_url, sound)
        return ConferenceJoin(
            room=spec["name"],
            start_on_enter=bool(spec.get("start", True)),
            callback=hook("callback"),
            callback_events=kinds("callback_events"),
            room_hooks=RoomHooks(room_hook, kinds("events"), str(spec.get("tag", "")))
            if room_hook else None,
            hold=bool(spec.get("hold", False)),
            hold_sound=sound,
            coach=tuple(spec.get("coach", ())),
            record=bool(spec.get("record", False)),
            recording_events=kinds("recording_events"),
            action=hook("action"),
        )

    # ------------------------------------------------------------ requests
    def call_id(self, call_uuid: str) -> str:
        return CALL_ID_PREFIX + call_uuid

    def request_payload(self, context: RequestContext) -> Payload:
        fields: dict[str, Any] = {
            "purpose": context.purpose.value, "call_id": context.call.call_id,
            "from": context.call.caller_number, "to": context.call.destination,
            "status": context.status.value,
        }
        if context.member is not None:
            fields["room"] = context.member.room
            fields["member"] = context.member.member_id
        if context.hangup_cause:
            fields["cause"] = context.hangup_cause
        if context.error:
            fields["error"] = context.error
        return Payload(fields, json=True)

    def event_payload(self, event: EngineEvent, hook: Webhook) -> Payload | None:
        """Every kind the engine emits, in one shape."""
        fields: dict[str, Any] = {
            "event": event.kind.value, "seq": event.sequence, "tag": event.tag,
            "at_us": event.timestamp_us, "room": event.room,
            "member": event.member.member_id if event.member else "",
            "member_call": event.member.call_uuid if event.member else "",
            "call_id": event.call.call_id if event.call else "",
            "status": event.call_status.value,
        }
        if event.kind is EventKind.MEMBER_COACHING:
            fields["coaching"] = event.coaching
        if event.recording is not None:
            fields["recording"] = event.recording.recording_id
        if event.digits:
            fields["digits"] = event.digits
        if event.reason:
            fields["reason"] = event.reason
        return Payload(fields, json=True)

    def call_event_hook(self, settings: Any, call: Any) -> Webhook | None:
        return Webhook(self.call_hook_url) if self.call_hook_url else None

    # ------------------------------------------------------------ signatures
    def signature_headers(self, settings: Any, method: str, url: str, payload: Payload,
                          body: bytes) -> dict[str, str]:
        return {SIGNATURE_HEADER: signature(method, url, body)}

    # ------------------------------------------------------------ REST
    def rest_blueprint(self, service: Any) -> Blueprint:
        blueprint = Blueprint("tiny_face", __name__, url_prefix="/tiny")

        @blueprint.get("/calls")
        def calls() -> Any:
            return jsonify({"calls": sorted(c.call_id for c in service.engine.calls
                                            if c.dialect is not None and c.dialect.name == NAME)})

        @blueprint.post("/calls/<call_id>/hangup")
        def hangup(call_id: str) -> Any:
            call = service.engine.calls.get(call_id)
            if call is None or call.dialect.name != NAME:
                return jsonify({"error": f"no live tiny call {call_id}"}), 404
            call.submit(HangupCall())
            return jsonify({"call_id": call_id, "hanging_up": True})

        return blueprint


DIALECT = register(TinyDialect())
