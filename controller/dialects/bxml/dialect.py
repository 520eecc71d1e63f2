"""The Bandwidth face: BXML in; Bandwidth's JSON events, conference webhooks whose BXML
replies run inside the room, and the /api/v2 REST shapes out.

Webhook authentication is Bandwidth's: basic auth with the credentials the BXML gave
(``username``/``password``, and the fallback URL's own), no signature header.
"""

from __future__ import annotations

import collections
import json
import logging
import weakref
from typing import Any

from controller.conference.events import EngineEvent
from controller.conference.inroom import RoomRunner
from controller.dialects import register
from controller.dialects.base import Dialect, Payload, Purpose, RequestContext
from controller.dialects.bxml import ids, markup, params
from controller.freeswitch.names import BadRoomName, fs_room_name
from controller.model import Document, Webhook
from controller.outbox import Delivery
from controller.webhooks import HttpResult
from controller.xml.errors import XmlError

log = logging.getLogger(__name__)

MAX_CONFERENCES_KEPT = 1000
ROOM_REPLY = "bxml.room"  # the reply handler: BXML returned to a conference webhook


class BxmlDialect(Dialect):
    name = "bxml"

    def __init__(self) -> None:
        self.settings: Any = None  # the settings of the last service attached
        self.runners: weakref.WeakKeyDictionary[Any, RoomRunner] = weakref.WeakKeyDictionary()
        # Recordings reported, by conference UUID: [room name, RecordingFacts...] (the REST
        # API lists them; in memory, the newest MAX_CONFERENCES_KEPT conferences).
        self.recordings: collections.OrderedDict[str, list[Any]] = collections.OrderedDict()

    # ------------------------------------------------------------ service
    def attach(self, service: Any) -> None:
        self.settings = service.settings
        runner = RoomRunner(service.esl, service.rooms, service.media.path_for,
                            service.settings.media)
        self.runners[service] = runner
        prefix = service.settings.freeswitch.room_prefix
        max_bytes = service.settings.app.xml_max_bytes

        def room_reply(delivery: Delivery, result: HttpResult) -> None:
            run_reply(runner, prefix, max_bytes, delivery, result)

        service.webhooks.reply_handlers[ROOM_REPLY] = room_reply

    def runner(self, service: Any) -> RoomRunner:
        return self.runners[service]

    @property
    def account_id(self) -> str:
        return self.settings.bxml.account_id if self.settings is not None else ""

    # ------------------------------------------------------------ markup
    def parse_document(self, body: bytes, source_url: str, *, max_bytes: int,
                       max_depth: int) -> Document:
        return markup.parse_call_document(body, source_url, max_bytes=max_bytes,
                                          max_depth=max_depth)

    # ------------------------------------------------------------ requests
    def call_id(self, call_uuid: str) -> str:
        return ids.call_id(call_uuid)

    def request_payload(self, context: RequestContext) -> Payload:
        settings = self.settings
        application_id = settings.bxml.application_id if settings is not None else ""
        base_url = settings.http.public_base_url if settings is not None else ""
        fields = params.call_event(context, self.account_id, application_id, base_url)
        if context.purpose is Purpose.HANGUP:
            fields = {k: v for k, v in fields.items() if v is not None}
        return Payload(fields, json=True)

    def event_payload(self, event: EngineEvent, hook: Webhook) -> Payload | None:
        fields = params.conference_event(event, self.account_id)
        if fields is None:
            return None
        if event.recording is not None and event.conference_uuid:
            self._remember(event)
        reply = ROOM_REPLY if fields["eventType"] in params.REPLY_RUNS_IN_ROOM else ""
        return Payload({k: v for k, v in fields.items() if v is not None}, json=True,
                       reply=reply)

    def _remember(self, event: EngineEvent) -> None:
        entry = self.recordings.setdefault(event.conference_uuid, [event.room])
        if all(r.recording_id != event.recording.recording_id for r in entry[1:]):
            entry.append(event.recording)
        while len(self.recordings) > MAX_CONFERENCES_KEPT:
            self.recordings.popitem(last=False)

    # ------------------------------------------------------------ REST
    def rest_blueprint(self, service: Any) -> Any:
        from controller.dialects.bxml.rest import create_blueprint

        return create_blueprint(service, self)


def run_reply(runner: RoomRunner, prefix: str, max_bytes: int, delivery: Delivery,
              result: HttpResult) -> None:
    """BXML in the reply to a conference webhook: parsed (refused whole when any verb may
    not run in a conference) and queued to run in that conference."""
    if not result.body.strip():
        return  # 204 or an empty 200: nothing to run
    try:
        sent = json.loads(delivery.body or b"{}")
        fs_room = fs_room_name(str(sent["name"]), prefix)
        conference_uuid = ids.conference_uuid(str(sent["conferenceId"])) or ""
    except (ValueError, KeyError, BadRoomName) as exc:
        log.error("conference webhook %d: cannot tell its room (%s)", delivery.id, exc)
        return
    try:
        script = markup.parse_room_document(result.body, result.url, max_bytes=max_bytes)
    except XmlError as exc:
        log.error("BXML returned by %s not run in conference %s:\n%s", result.url,
                  sent["name"], exc)
        return
    runner.run(fs_room, conference_uuid, script)


BXML = register(BxmlDialect())
