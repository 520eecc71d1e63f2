"""Engine events -> the application's webhooks, in the words of the face that asked.

The engine decides *what* happened and *who* asked to hear it (a member's
callback, the room's hooks, a recording's callback); the hook's dialect decides
*how* it is said (names, body, signature). Deliveries are queued per lane (a
call, a room, a recording) and sent in order by ``controller.webhooks``.
"""

from __future__ import annotations

import logging

from controller import dialects
from controller.conference.events import EngineEvent
from controller.model import Webhook
from controller.webhooks import Webhooks

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, webhooks: Webhooks):
        self.webhooks = webhooks

    def emit(self, event: EngineEvent, hook: Webhook, dialect: str, lane: str) -> bool:
        """Queue the webhook reporting ``event`` to ``hook``; False when the dialect does not
        report this event to this kind of hook."""
        payload = dialects.get(dialect).event_payload(event, hook)
        if payload is None:
            return False
        self.webhooks.send(hook, payload.fields, key=lane)
        return True
