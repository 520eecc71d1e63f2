"""The Telnyx Call Control face: no markup, Telnyx's JSON webhooks signed with Ed25519,
and Telnyx's REST shapes under /v2 (controller/dialects/telnyx/rest.py)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from controller.conference.events import CallFacts, CallStatus, EngineEvent
from controller.dialects import register
from controller.dialects.base import Dialect, Payload, RequestContext
from controller.dialects.telnyx import callcontrol, signing, webhooks
from controller.dialects.telnyx.ids import call_control_id
from controller.dialects.telnyx.state import CALLS
from controller.model import EventKind, HttpMethod, Webhook


class TelnyxDialect(Dialect):
    name = "telnyx"
    has_markup = False
    session_events = ("DTMF",)  # call.dtmf.received while the call waits for commands

    def call_id(self, call_uuid: str) -> str:
        return call_control_id(call_uuid)

    def call_event_hook(self, settings: Any, call: CallFacts) -> Webhook | None:
        url = CALLS.get(call.uuid).webhook_url or settings.telnyx.webhook_url
        return Webhook(url, HttpMethod.POST) if url else None

    def call_state(self, call_uuid: str) -> dict[str, str]:
        state = CALLS.peek(call_uuid)
        return state.journaled() if state is not None else {}

    def restore_call_state(self, call_uuid: str, state: Mapping[str, str]) -> None:
        CALLS.get(call_uuid).restore(state)

    def request_payload(self, context: RequestContext) -> Payload:
        state = CALLS.get(context.call.uuid)
        fields = webhooks.call_fields(context.call, state.client_state, state.connection_id)
        extra = dict(context.extra)
        if extra.get(callcontrol.GATHER_EVENT) == "call.gather.ended":
            # The engine's gather reports its digits as an action request (run_gather with
            # redirect=False): here it becomes Telnyx's webhook.
            fields.update(callcontrol.gather_ended_fields(
                context.digits or "", extra, hungup=context.status is CallStatus.COMPLETED))
            body = webhooks.envelope("call.gather.ended", fields, int(time.time() * 1e6),
                                     extra.get(callcontrol.GATHER_URL, ""))
            return Payload(body, json=True)
        # Otherwise only the engine's answer-time hangup request gets here (Telnyx reports
        # the end of a call with call.hangup instead); the JSON of that event is closest.
        fields["hangup_cause"] = webhooks.hangup_cause(context.hangup_cause)
        return Payload(fields, json=True)

    def event_payload(self, event: EngineEvent, hook: Webhook) -> Payload | None:
        if event.call is not None and event.kind in (
                EventKind.CALL_INITIATED, EventKind.CALL_ANSWERED, EventKind.CALL_ENDED):
            state = CALLS.get(event.call.uuid)
            outgoing = event.call.direction == "outbound"
            # hangup_source: who hung up, seen from the call's caller (Telnyx's wording).
            source = "callee" if state.ended_by_app != outgoing else "caller"
            made = webhooks.call_event_payload(event, state.client_state, state.connection_id,
                                               state.started_us, source)
            if event.kind is EventKind.CALL_ENDED:
                CALLS.forget(event.call.uuid)
        elif event.tag.startswith(webhooks.ROOM_TAG):
            made = webhooks.room_event_payload(event, "")
        else:
            # A member's own callback: its floor changes (joined/left come from the room).
            made = None
            if event.kind is EventKind.FLOOR_CHANGED and event.call is not None:
                state = CALLS.get(event.call.uuid)
                fields = webhooks.conference_fields(event)
                fields["client_state"] = state.client_state or None
                fields["connection_id"] = state.connection_id
                made = "conference.floor.changed", fields
        if made is None:
            return None
        event_type, fields = made
        stamp = event.timestamp_us or int(time.time() * 1e6)
        return Payload(webhooks.envelope(event_type, fields, stamp, hook.url), json=True)

    def idle_event(self, call: Any, event: Any) -> None:
        if event.name == "DTMF":
            from controller.dialects.telnyx.callcontrol import dtmf_received

            dtmf_received(call, event.get("DTMF-Digit", ""))

    def signature_headers(self, settings: Any, method: str, url: str, payload: Payload,
                          body: bytes) -> dict[str, str]:
        key = settings.telnyx.signing_key
        return signing.sign(key, body) if key else {}

    def rest_blueprint(self, service: Any) -> Any:
        if not service.settings.telnyx.api_key:
            return None
        from controller.dialects.telnyx.rest import create_blueprint

        return create_blueprint(service)


register(TelnyxDialect())
