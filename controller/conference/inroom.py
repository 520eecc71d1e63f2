"""Verbs run inside a room, for all its members: one queue per room, documents in the
order they arrive, one verb at a time, never two documents at once.

Bandwidth runs the BXML an application returns to a conference webhook this way
("queued and executed in the conference in the order they are received, without
overlapping; if an error happens when executing a verb, it will continue to the next
verb"). The verbs are neutral (``controller.model.RoomScript``): media played to the
whole room (``conference <room> play``, which fires ``play-file-done`` with the same
``File`` once it ends: capture 02a), and the room's recording (start, stop, pause,
resume: ``controller.conference.rooms``).

Commands go through the shared inbound connection; only ``controller.freeswitch``
spells them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gevent
import gevent.queue

from controller.conference.rooms import RoomError, RoomManager
from controller.config import MediaSettings
from controller.esl import EslError, InboundClient
from controller.freeswitch import conference as fsconf
from controller.freeswitch import replies
from controller.freeswitch.args import UnsafeArgument, tts_file
from controller.logs import log_context
from controller.media import tts_voice
from controller.media_cache import MediaError
from controller.model import (
    PauseRoomRecording,
    Play,
    ResumeRoomRecording,
    RoomScript,
    RoomVerb,
    Speak,
    StartRoomRecording,
    StopRoomRecording,
)

log = logging.getLogger(__name__)

# Longest a room waits for one file to end before it goes on (a stuck play-file-done
# must not block the room's queue for ever).
MAX_PLAY_SECONDS = 3600
# The conference::maintenance Actions a play waits for (the inbound connection may drop
# the others no consumer needs: controller.esl.filters).
PLAY_WATCH_ACTIONS = ("play-file-done", "conference-destroy")


class RoomVerbError(Exception):
    """One verb could not run (the room goes on with the next)."""


class RoomRunner:
    """Runs RoomScripts in FreeSWITCH rooms, one queue per room."""

    def __init__(self, esl: InboundClient, rooms: RoomManager,
                 resolve_media: Callable[[str], str], media: MediaSettings):
        self.esl = esl
        self.rooms = rooms
        self.resolve_media = resolve_media
        self.media = media
        self._queues: dict[str, gevent.queue.Queue] = {}
        self.finished = 0  # scripts run to their end (for tests and metrics)

    def run(self, fs_room: str, conference_uuid: str, script: RoomScript) -> None:
        """Queue ``script`` for the room; it runs after every script queued before it.
        ``conference_uuid``: the room it was meant for (a later room of the same name
        does not run it)."""
        queue = self._queues.get(fs_room)
        if queue is None:
            queue = self._queues[fs_room] = gevent.queue.Queue()
            gevent.spawn(self._drain, fs_room, queue)
        queue.put((conference_uuid, script))

    def _drain(self, fs_room: str, queue: gevent.queue.Queue) -> None:
        try:
            while True:
                try:
                    conference_uuid, script = queue.get_nowait()
                except gevent.queue.Empty:
                    return
                with log_context(room=fs_room):
                    self._run_script(fs_room, conference_uuid, script)
                self.finished += 1
        finally:
            if self._queues.get(fs_room) is queue:
                del self._queues[fs_room]

    def _live(self, fs_room: str, conference_uuid: str) -> bool:
        room = self.rooms.rooms.get(fs_room)
        return room is not None and (not conference_uuid or room.uuid == conference_uuid)

    def _run_script(self, fs_room: str, conference_uuid: str, script: RoomScript) -> None:
        for verb in script.verbs:
            if not self._live(fs_room, conference_uuid):
                log.info("room ended: the rest of the BXML from %s is not run", script.source_url)
                return
            try:
                self._run_verb(fs_room, verb)
            except (RoomVerbError, RoomError, EslError, MediaError, UnsafeArgument) as exc:
                log.error("room verb %s failed (going on with the next): %s",
                          type(verb).__name__, exc)
            except Exception:  # noqa: BLE001 - a bug in one verb must not stop the room
                log.exception("room verb %s failed", type(verb).__name__)

    def _run_verb(self, fs_room: str, verb: RoomVerb) -> None:
        if isinstance(verb, Play):
            self._play(fs_room, self.resolve_media(verb.url))
        elif isinstance(verb, Speak):
            self._play(fs_room, tts_file(self.media.tts_engine, tts_voice(verb, self.media),
                                         verb.text))
        elif isinstance(verb, StartRoomRecording):
            self.rooms.start_recording(fs_room, verb.format)
        elif isinstance(verb, StopRoomRecording):
            self._each_recording(fs_room, "stop")
        elif isinstance(verb, (PauseRoomRecording, ResumeRoomRecording)):
            self._each_recording(fs_room, "pause" if isinstance(verb, PauseRoomRecording)
                                 else "resume")
        else:
            raise RoomVerbError(f"{type(verb).__name__} cannot run in a room")

    def _each_recording(self, fs_room: str, action: str) -> None:
        room = self.rooms.rooms.get(fs_room)
        paths = list(room.recordings) if room is not None else []
        if not paths:
            raise RoomVerbError(f"no recording to {action} in {fs_room}")
        for path in paths:
            self._check(self.esl.api(fsconf.recording(fs_room, action, path)))

    def _play(self, fs_room: str, sound: str) -> None:
        """Play to the whole room and wait for its end (``play-file-done`` names the file,
        capture 02a), so the next verb never overlaps it."""
        events = self.esl.subscribe(f"inroom:{fs_room}", ["conference::maintenance"],
                                    actions=PLAY_WATCH_ACTIONS)
        try:
            self._check(self.esl.api(fsconf.play(fs_room, sound)))
            deadline = gevent.Timeout(MAX_PLAY_SECONDS)
            deadline.start()
            try:
                while True:
                    event = events.get()
                    if event is None or event.get("Conference-Name") != fs_room:
                        continue
                    if event.action == "conference-destroy":
                        return
                    if event.action == "play-file-done" and event.get("File") == sound:
                        return
            except gevent.Timeout as timeout:
                if timeout is not deadline:
                    raise
                log.warning("no end of %s after %d s: going on", sound, MAX_PLAY_SECONDS)
            finally:
                deadline.close()
        finally:
            self.esl.unsubscribe(events)

    @staticmethod
    def _check(reply: str) -> None:
        if not replies.ok(reply):
            raise RoomVerbError(reply.strip())
