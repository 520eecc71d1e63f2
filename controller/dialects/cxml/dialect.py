"""The cXML face: SignalWire/Twilio markup in, their parameters, SIDs and signatures out."""

from __future__ import annotations

import time
from typing import Any

from controller.conference.events import CallStatus, EngineEvent
from controller.dialects import register
from controller.dialects.base import Dialect, Payload, Purpose, RequestContext
from controller.dialects.cxml import markup, params, sids, signature
from controller.model import RECORDING_EVENTS, Document, Webhook

NO_ACCOUNT = "AC" + "0" * 32  # AccountSid when [cxml] account_sid is not set


class CxmlDialect(Dialect):
    name = "cxml"

    def __init__(self) -> None:
        self.account = params.Account(NO_ACCOUNT)

    def configure(self, settings: Any) -> None:
        """Take the AccountSid and the public base URL from the running service's settings
        (called when the service builds its HTTP app, before any call)."""
        self.account = params.Account(settings.cxml.account_sid or NO_ACCOUNT,
                                      settings.http.public_base_url)

    # ------------------------------------------------------------ markup
    def parse_document(self, body: bytes, source_url: str, *, max_bytes: int,
                       max_depth: int) -> Document:
        return markup.parse_document(body, source_url, max_bytes=max_bytes, max_depth=max_depth)

    def parse_sound_document(self, body: bytes, source_url: str, *, max_bytes: int,
                             max_depth: int) -> Document:
        return markup.parse_sound_document(body, source_url, max_bytes=max_bytes,
                                           max_depth=max_depth)

    # ------------------------------------------------------------ requests
    def call_id(self, call_uuid: str) -> str:
        return sids.call_sid(call_uuid)

    def request_payload(self, context: RequestContext) -> Payload:
        call = context.call
        if context.purpose is Purpose.ANSWER:
            return Payload(params.call_params(self.account, call, CallStatus.RINGING))
        if context.purpose is Purpose.ACTION and context.member is not None:
            return Payload(params.dial_action_params(self.account, call, context.status,
                                                     context.member, context.recording,
                                                     now_us=time.time_ns() // 1000))
        fields = params.call_params(self.account, call, context.status)
        if context.digits is not None:
            fields["Digits"] = context.digits
        if context.purpose is Purpose.HANGUP and context.error:
            fields["ErrorMessage"] = context.error
        fields.update(context.extra)
        return Payload(fields)

    def event_payload(self, event: EngineEvent, hook: Webhook) -> Payload | None:
        if event.kind in RECORDING_EVENTS:
            if event.recording is None:
                return None
            call_uuid = event.member.call_uuid if event.member is not None else ""
            return Payload(params.recording_params(self.account, event, call_uuid))
        fields = params.status_callback_params(self.account, event)
        return None if fields is None else Payload(fields)

    # ------------------------------------------------------------ signatures
    def signature_headers(self, settings: Any, method: str, url: str, payload: Payload,
                          body: bytes) -> dict[str, str]:
        token = settings.cxml.auth_token
        if not token:
            return {}
        form = {} if method == "GET" else {k: str(v) for k, v in payload.fields.items()}
        return signature.sign(token, url, form)

    # ------------------------------------------------------------ REST
    def rest_blueprint(self, service: Any) -> Any:
        self.configure(service.settings)
        from controller.dialects.cxml.rest import create_blueprint

        return create_blueprint(service, self)


DIALECT = register(CxmlDialect())
