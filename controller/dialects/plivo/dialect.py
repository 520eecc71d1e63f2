"""The Plivo face: Plivo XML in, Plivo's parameters and V3 signatures out."""

from __future__ import annotations

from typing import Any

from controller.conference.events import CallStatus, EngineEvent
from controller.dialects import register
from controller.dialects.base import Dialect, Payload, Purpose, RequestContext
from controller.dialects.plivo import markup, params, signature
from controller.model import Document, EventKind, Webhook


class PlivoDialect(Dialect):
    name = "plivo"

    def parse_document(self, body: bytes, source_url: str, *, max_bytes: int,
                       max_depth: int) -> Document:
        return markup.parse_document(body, source_url, max_bytes=max_bytes, max_depth=max_depth)

    def parse_sound_document(self, body: bytes, source_url: str, *, max_bytes: int,
                             max_depth: int) -> Document:
        return markup.parse_sound_document(body, source_url, max_bytes=max_bytes,
                                           max_depth=max_depth)

    def request_payload(self, context: RequestContext) -> Payload:
        call = context.call
        if context.purpose is Purpose.ANSWER:
            if call.direction == "outbound":  # a call made with the Call API, answered
                return Payload(params.call_params(call, CallStatus.IN_PROGRESS)
                               | _dialled(call))
            return Payload(params.call_params(call, CallStatus.RINGING))
        if context.purpose is Purpose.ACTION and context.member is not None:
            return Payload(params.action_params(context.member, context.recording, call,
                                                context.status))
        fields = params.call_params(call, context.status)
        if context.digits is not None:
            fields["Digits"] = context.digits
        if context.purpose is Purpose.HANGUP:
            fields["HangupCause"] = context.hangup_cause
            fields.update(params.hangup_params(context.times, context.hangup_cause))
            if context.error:
                fields["Error"] = context.error
        if call.direction == "outbound":
            fields.update(_dialled(call))
        fields.update(context.extra)
        return Payload(fields)

    def event_payload(self, event: EngineEvent, hook: Webhook) -> Payload | None:
        if event.kind is EventKind.CALL_RINGING and event.call is not None:
            # ring_url of a call made with the Call API (the Dialer's ringing event)
            return Payload(params.call_params(event.call, CallStatus.RINGING)
                           | _dialled(event.call))
        if event.kind is EventKind.TRANSCRIPTION_DONE and event.transcription is not None:
            return Payload(params.transcription_params(event.transcription))
        fields = params.callback_params(event)
        return None if fields is None else Payload(fields)

    def signature_headers(self, settings: Any, method: str, url: str, payload: Payload,
                          body: bytes) -> dict[str, str]:
        token = settings.plivo.auth_token
        if not token:
            return {}
        form = {} if method == "GET" else {k: str(v) for k, v in payload.fields.items()}
        return signature.sign(token, method, url, form)


    def rest_blueprint(self, service: Any) -> Any:
        from controller.dialects.plivo.rest import create_blueprint

        return create_blueprint(service, self)


def _dialled(call: Any) -> dict[str, str]:
    """What Plivo adds for a call made with the Call API: its request (the dial's uuid,
    which is the call's) and its A leg (the call itself: nothing is bridged)."""
    return {"RequestUUID": call.uuid, "ALegUUID": call.uuid, "ALegRequestUUID": call.uuid}


register(PlivoDialect())
