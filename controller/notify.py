"""Engine events -> the application's webhooks, in the words of the face that asked.

The engine decides *what* happened and *who* asked to hear it (a member's
callback, the room's hooks, a recording's callback); the hook's dialect decides
*how* it is said (names, form or JSON body, signature). Deliveries go through
the durable outbox, are queued per lane (a call, a room, a recording) and sent
in order by ``controller.webhooks``; each is signed at every attempt by the
signer named after its dialect (``dialect_signers``), so a signature that
covers a timestamp is fresh on a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from controller import dialects
from controller.conference.events import EngineEvent
from controller.dialects.base import Payload
from controller.model import HttpMethod, Webhook
from controller.outbox import Delivery
from controller.signing import SIGNATURE_HEADER, sign
from controller.webhooks import JSON, Signer, Webhooks, auth_headers, compact_json

log = logging.getLogger(__name__)


def dialect_signers(settings: Any) -> dict[str, Signer]:
    """One signer per registered dialect: the cloud's own signature headers, plus our
    X-Conference-Signature when ``[webhooks] signing_secret`` is set."""
    secret = settings.webhooks.signing_secret

    def signer_for(dialect: dialects.Dialect) -> Signer:
        def signer(method: str, url: str, form: Mapping[str, str],
                   body: bytes) -> Mapping[str, str]:
            headers = {SIGNATURE_HEADER: sign(secret, url, form)} if secret else {}
            payload = Payload(form, json=not form and bool(body))
            headers.update(dialect.signature_headers(settings, method, url, payload, body))
            return headers

        return signer

    return {name: signer_for(dialects.get(name)) for name in dialects.names()}


def delivery_for(hook: Webhook, payload: Payload, lane: str, dialect: str,
                 recovered: bool = False) -> Delivery:
    """The stored form of one webhook request."""
    common = {"method": hook.method.value, "url": hook.url, "lane": lane,
              "headers": auth_headers(hook), "signer": dialect, "dialect": dialect,
              "recovered": recovered, "reply": payload.reply, "timeout": hook.timeout}
    fallback = hook.fallback
    if fallback is not None:  # tried when hook.url finally fails, with its own credentials
        common.update(fallback_url=fallback.url, fallback_method=fallback.method.value,
                      fallback_headers=auth_headers(fallback))
    # A GET has no body: its fields travel as query parameters, whatever the face's POSTs
    # carry (Bandwidth's conferenceEventMethod=GET, for one).
    if payload.json and hook.method is not HttpMethod.GET:
        return Delivery(body=compact_json(payload.fields).encode(),
                        content_type=JSON, **common)
    return Delivery(form={k: str(v) for k, v in payload.fields.items()}, **common)


class Notifier:
    def __init__(self, webhooks: Webhooks):
        self.webhooks = webhooks

    def emit(self, event: EngineEvent, hook: Webhook, dialect: str, lane: str) -> bool:
        """Queue the webhook reporting ``event`` to ``hook``; False when the dialect does not
        report this event to this kind of hook."""
        payload = dialects.get(dialect).event_payload(event, hook)
        if payload is None:
            return False
        self.webhooks.enqueue(delivery_for(hook, payload, lane, dialect, event.recovered))
        return True

    def send(self, hook: Webhook, payload: Payload, dialect: str, lane: str) -> None:
        """Queue a request the engine built with the dialect (e.g. the hangup request)."""
        self.webhooks.enqueue(delivery_for(hook, payload, lane, dialect))
