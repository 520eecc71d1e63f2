"""conference.(participant.)playback/speak started/ended for the conference play and
speak actions, from mod_conference's own events.

Capture 02a: ``conference <room> play <file>`` fires ``Action: play-file`` (``File``,
``Async``) when the file starts and ``play-file-done`` when it ends;
``conference <room> play <file> <member id>`` fires ``play-file-member`` and
``play-file-member-done`` carrying that member's channel (``Unique-ID``, ``Member-ID``).
The face says what it asked for (``expect``) before sending the command; the events
on the shared inbound connection (conference::maintenance) are matched to it by room
and file (and member), in order, and become the creator's webhooks: the whole room
-> ``conference.playback.*`` / ``conference.speak.*``; named participants ->
``conference.participant.playback.*`` / ``conference.participant.speak.*`` for each.
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass
from typing import Any

import gevent

from controller.dialects.base import Payload
from controller.dialects.telnyx import webhooks
from controller.dialects.telnyx.ids import call_control_id
from controller.model import Webhook

log = logging.getLogger(__name__)

ACTIONS = {"play-file": ("started", False), "play-file-done": ("ended", False),
           "play-file-member": ("started", True), "play-file-member-done": ("ended", True)}
MAX_WAITING = 1000  # plays whose events never came are forgotten, oldest first


@dataclass
class Expected:
    hook: Webhook
    kind: str  # "playback" or "speak"
    media_url: str  # playback only
    conference_id: str
    connection_id: str
    client_state: str
    member_id: str  # "" : the whole room
    started: bool = False


def event_type(kind: str, phase: str, member: bool) -> str:
    return f"conference.{'participant.' if member else ''}{kind}.{phase}"


class ConferenceMedia:
    def __init__(self, service: Any):
        self.service = service
        # (FreeSWITCH room, file) -> what was asked, in order
        self.waiting: collections.OrderedDict[tuple[str, str], list[Expected]] = (
            collections.OrderedDict())
        self._listening = False

    def expect(self, fs_room: str, file: str, expected: Expected) -> None:
        self._listen()
        self.waiting.setdefault((fs_room, file), []).append(expected)
        while len(self.waiting) > MAX_WAITING:
            self.waiting.popitem(last=False)

    def forget(self, fs_room: str, file: str, expected: Expected) -> None:
        """The command was refused: no events will come."""
        queue = self.waiting.get((fs_room, file), [])
        if expected in queue:
            queue.remove(expected)

    def _listen(self) -> None:
        if self._listening:
            return
        self._listening = True
        queue = self.service.esl.subscribe("telnyx-conference-media",
                                           ["conference::maintenance"], actions=ACTIONS)
        gevent.spawn(queue.handle_forever, self.on_event,
                     "telnyx: conference media event not reported")

    def on_event(self, event: Any) -> None:
        action = ACTIONS.get(event.get("Action", ""))
        if action is None:
            return
        phase, member = action
        key = (event.get("Conference-Name", ""), event.get("File", ""))
        queue = self.waiting.get(key)
        if not queue:
            return
        member_id = event.get("Member-ID", "") if member else ""
        found = next((e for e in queue if e.member_id == member_id
                      and e.started == (phase == "ended")), None)
        if found is None:
            return
        if phase == "started":
            found.started = True
        else:
            queue.remove(found)
            if not queue:
                del self.waiting[key]
        call_uuid = event.get("Unique-ID", "") if member else ""
        fields: dict[str, Any] = {
            "conference_id": found.conference_id,
            "connection_id": found.connection_id,
            "creator_call_session_id": None,
            "occurred_at": webhooks.iso(event.timestamp_us or int(time.time() * 1e6)),
        }
        if found.kind == "playback":
            fields["media_url"] = found.media_url
        if member:
            fields.update(call_control_id=call_control_id(call_uuid), call_leg_id=call_uuid,
                          call_session_id=call_uuid, client_state=found.client_state or None)
        name = event_type(found.kind, phase, member)
        stamp = event.timestamp_us or int(time.time() * 1e6)
        body = webhooks.envelope(name, fields, stamp, found.hook.url)
        self.service.engine.notifier.send(found.hook, Payload(body, json=True), "telnyx",
                                          f"conference:{found.conference_id}")
