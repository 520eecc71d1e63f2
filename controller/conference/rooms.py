"""Room state: what the controller knows about each live FreeSWITCH conference.

Fed by conference::maintenance events from the shared inbound connection and
rebuilt from ``conference json_list`` after every (re)connect, so a restarted
controller picks up live rooms. What a room must remember across a
controller restart is stored *in FreeSWITCH*, as conference variables
(``conference <room> setvar``), which FreeSWITCH lists in ``json_list`` and
adds to every later event of the room (capture 02a): the record callback of
each recording, its transcription request. The time limit is a
FreeSWITCH ``sched_api`` task, so it fires whether or not we are running.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import gevent
import gevent.lock

from controller.conference.events import (
    CallStatus,
    MemberAction,
    MemberEvent,
    MemberFacts,
    RecordingFacts,
    TranscriptionFacts,
)
from controller.conference.plan import JoinPlan
from controller.esl import EslError, Event, InboundClient
from controller.logs import log_context
from controller.model import HttpMethod, RecordFormat, TranscriptionType, Webhook
from controller.transcription import NO_ENGINE, Transcriber
from controller.webhooks import Webhooks
from controller.xml import plivo_params

log = logging.getLogger(__name__)

ApiCall = Callable[[str], str]
TIME_LIMIT_GROUP = "cc_tl_"
RECORD_VAR = "cc_rec_"  # cc_rec_<recording id hex> = <method>|<member id>|<call uuid>|<url>
TRANSCRIBE_VAR = "cc_tx_"  # cc_tx_<recording id hex> = <type>|<method>|<url>


@dataclass
class Member:
    member_id: str
    call_uuid: str
    joined_at: float


@dataclass
class Recording:
    recording_id: str
    fs_path: str
    started_at: float
    paused: bool = False


@dataclass
class Room:
    fs_name: str
    name: str
    uuid: str = ""
    created_at: float = field(default_factory=time.time)
    members: dict[str, Member] = field(default_factory=dict)
    recordings: dict[str, Recording] = field(default_factory=dict)  # by FreeSWITCH path
    locked: bool = False
    stay_alone: bool = True  # once False, False for the life of the room
    time_limit: int = 0

    def recording_facts(self, url_for: Callable[[str, str], str]) -> RecordingFacts | None:
        for recording in self.recordings.values():
            fmt = os.path.splitext(recording.fs_path)[1].lstrip(".")
            return RecordingFacts(recording.recording_id, url_for(recording.recording_id, fmt))
        return None


class RoomError(Exception):
    pass


def recording_id_from_path(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _hex(recording_id: str) -> str:
    return recording_id.replace("-", "")


def _parse_json_list(text: str) -> list[dict]:
    text = text.strip()
    if not text.startswith("["):
        return []  # "-ERR no reply" when there are no conferences on some versions
    try:
        value = json.loads(text)
    except ValueError:
        log.warning("rooms: conference json_list is not JSON: %.200s", text)
        return []
    return value if isinstance(value, list) else []


class RoomManager:
    def __init__(self, esl: InboundClient, webhooks: Webhooks, *, room_prefix: str,
                 recordings_fs_dir: str, recordings_local_dir: str, public_base_url: str,
                 transcriber: Transcriber | None = None):
        self.esl = esl
        self.webhooks = webhooks
        self.room_prefix = room_prefix
        self.recordings_fs_dir = recordings_fs_dir
        self.recordings_local_dir = recordings_local_dir
        self.public_base_url = public_base_url.rstrip("/")
        self.transcriber = transcriber
        self.rooms: dict[str, Room] = {}
        self._locks: dict[str, gevent.lock.Semaphore] = {}
        # Recordings FreeSWITCH could not open (start-recording with Error): it still
        # fires stop-recording after that (conference_record.c falls through to `end:`),
        # and the application must hear about the failure once, not twice.
        self._failed_recordings: dict[str, str] = {}
        self._consumer = None
        self._greenlet: gevent.Greenlet | None = None
        self.resyncs = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._consumer = self.esl.subscribe("rooms", ["conference::maintenance"])
        self.esl.on_connect(self.resync)
        self._greenlet = gevent.spawn(self._consume)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        if self._consumer is not None:
            self.esl.unsubscribe(self._consumer)

    def lock(self, fs_room: str) -> gevent.lock.Semaphore:
        return self._locks.setdefault(fs_room, gevent.lock.Semaphore())

    def app_room_name(self, fs_room: str) -> str:
        if self.room_prefix and fs_room.startswith(self.room_prefix):
            return fs_room[len(self.room_prefix):]
        return fs_room

    def recording_url(self, recording_id: str, fmt: str) -> str:
        return f"{self.public_base_url}/v1/recordings/{recording_id}.{fmt}"

    def _room(self, fs_room: str) -> Room:
        room = self.rooms.get(fs_room)
        if room is None:
            room = self.rooms[fs_room] = Room(fs_room, self.app_room_name(fs_room))
        return room

    # ------------------------------------------------------------ resync
    def resync(self) -> None:
        """Rebuild every room from FreeSWITCH's own listing (after each connect)."""
        listing = _parse_json_list(self.esl.api("conference json_list compact", timeout=10))
        rooms: dict[str, Room] = {}
        for conf in listing:
            fs_name = conf.get("conference_name", "")
            if self.room_prefix and not fs_name.startswith(self.room_prefix):
                continue
            room = Room(fs_name, self.app_room_name(fs_name), uuid=conf.get("conference_uuid", ""),
                        created_at=time.time() - float(conf.get("run_time", 0) or 0),
                        locked=bool(conf.get("locked")),
                        stay_alone=not bool(conf.get("enforce_min")))
            for member in conf.get("members", []):
                if member.get("type") == "caller":
                    mid = str(member.get("id"))
                    joined = time.time() - float(member.get("join_time", 0) or 0)
                    room.members[mid] = Member(mid, member.get("uuid", ""), joined)
                elif member.get("type") == "recording_node":
                    path = member.get("record_path", "")
                    room.recordings[path] = Recording(
                        recording_id_from_path(path), path,
                        float(member.get("join_time", time.time()) or time.time()),
                        paused=member.get("status") == "paused",
                    )
            rooms[fs_name] = room
        self.rooms = rooms
        self.resyncs += 1
        log.info("rooms: resynced %d live rooms from FreeSWITCH", len(rooms))
        self._drop_stale_time_limits(listing)

    def _drop_stale_time_limits(self, listing: list[dict]) -> None:
        """Time-limit tasks whose conference ended while we were away must not fire on a
        new room of the same name."""
        live = {conf.get("conference_uuid") for conf in listing}
        try:
            reply = self.esl.api("show tasks as json", timeout=10)
            rows = json.loads(reply).get("rows", []) if reply.strip().startswith("{") else []
        except (EslError, ValueError) as exc:
            log.info("rooms: cannot list scheduled tasks (%s); stale time limits not checked", exc)
            return
        for row in rows:
            group = row.get("task_group", "")
            if group.startswith(TIME_LIMIT_GROUP) and group[len(TIME_LIMIT_GROUP):] not in live:
                self.esl.api(f"sched_del {group}")
                log.info("rooms: removed the time limit of ended conference %s", group)

    # ------------------------------------------------------------ events
    def _consume(self) -> None:
        while True:
            event = self._consumer.get()
            if event is None:
                continue
            try:
                self.handle_event(event)
            except Exception:
                log.exception("rooms: failed to handle %r", event)

    def handle_event(self, event: Event) -> None:
        fs_room = event.get("Conference-Name", "")
        if not fs_room or (self.room_prefix and not fs_room.startswith(self.room_prefix)):
            return
        action = event.action
        if action == "conference-create":
            self._room(fs_room).uuid = event.get("Conference-Unique-ID", "")
        elif action == "add-member":
            room = self._room(fs_room)
            room.uuid = room.uuid or event.get("Conference-Unique-ID", "")
            mid = event.get("Member-ID", "")
            room.members[mid] = Member(mid, event.get("Unique-ID", ""), time.time())
        elif action == "del-member":
            room = self.rooms.get(fs_room)
            if room is not None:
                room.members.pop(event.get("Member-ID", ""), None)
        elif action == "start-recording":
            path = event.get("Path", "")
            error = event.get("Error")
            if error:
                self._room(fs_room).recordings.pop(path, None)
                if path not in self._failed_recordings:
                    self._failed_recordings[path] = error
                    self._recording_stopped(fs_room, event, error=error)
                return
            self._room(fs_room).recordings[path] = Recording(
                recording_id_from_path(path), path, event.timestamp_us / 1e6
            )
        elif action in ("pause-recording", "resume-recording"):
            recording = self._room(fs_room).recordings.get(event.get("Path", ""))
            if recording is not None:
                recording.paused = action == "pause-recording"
        elif action == "stop-recording":
            room = self.rooms.get(fs_room)
            if room is not None:
                room.recordings.pop(event.get("Path", ""), None)
            if self._failed_recordings.pop(event.get("Path", ""), None) is None:
                self._recording_stopped(fs_room, event)
        elif action in ("lock", "unlock"):
            self._room(fs_room).locked = action == "lock"
        elif action == "conference-destroy":
            room = self.rooms.pop(fs_room, None)
            self._locks.pop(fs_room, None)
            conference_uuid = event.get("Conference-Unique-ID", "") or (room.uuid if room else "")
            if conference_uuid:
                gevent.spawn(self._cancel_time_limit, conference_uuid)

    def _cancel_time_limit(self, conference_uuid: str) -> None:
        try:
            self.esl.api(f"sched_del {TIME_LIMIT_GROUP}{conference_uuid}")
        except EslError as exc:
            log.warning("rooms: cannot cancel time limit of %s: %s", conference_uuid, exc)

    # ------------------------------------------------------------ joins
    def member_joined(self, plan: JoinPlan, member: MemberFacts, creator: bool, api: ApiCall,
                      callback: Webhook | None, transcription: tuple[str, Webhook] | None) -> None:
        """Room-level parts of a join; ``api`` runs a FreeSWITCH API command (the call's own
        socket, so this works even while the inbound connection is reconnecting)."""
        room = self._room(plan.fs_room)
        room.uuid = room.uuid or member.conference_uuid
        room.members.setdefault(member.member_id,
                                Member(member.member_id, member.call_uuid, time.time()))
        if "mintwo" in plan.member_flags:
            room.stay_alone = False
        with self.lock(plan.fs_room):
            if creator:
                for command in plan.creator_commands:
                    api(f"conference {plan.fs_room} {command}")
                if plan.time_limit:
                    self._schedule_time_limit(plan.fs_room, member.conference_uuid,
                                              plan.time_limit, api)
                    room.time_limit = plan.time_limit
            if plan.record is not None and not room.recordings:
                try:
                    self.start_recording(plan.fs_room, plan.record, api=api, owner=member,
                                         callback=callback, transcription=transcription)
                except RoomError as exc:
                    log.error("rooms: %s", exc)
                    if callback is not None:
                        self._send_record_callback(plan.fs_room, member, callback,
                                                   RecordingFacts("", "", error=str(exc)))

    def _schedule_time_limit(self, fs_room: str, conference_uuid: str, seconds: int,
                             api: ApiCall) -> None:
        reply = api(f"sched_api +{seconds} {TIME_LIMIT_GROUP}{conference_uuid} "
                    f"conference {fs_room} kick all")
        if not reply.startswith("+OK"):
            log.error("rooms: FreeSWITCH refused the time limit of %s: %s", fs_room, reply.strip())

    # ------------------------------------------------------------ recordings
    def start_recording(self, fs_room: str, fmt: RecordFormat, *, api: ApiCall | None = None,
                        owner: MemberFacts | None = None, callback: Webhook | None = None,
                        transcription: tuple[str, Webhook] | None = None) -> RecordingFacts:
        """``conference <room> record <path>``; the callback/transcription requests travel
        with the room as conference variables."""
        api = api or self.esl.api
        recording_id = str(uuid.uuid4())
        fs_path = f"{self.recordings_fs_dir.rstrip('/')}/{recording_id}.{fmt.value}"
        try:
            os.makedirs(self.recordings_local_dir, exist_ok=True)
        except OSError as exc:  # FreeSWITCH may still manage; it says so if not
            log.warning("rooms: recordings directory %s: %s", self.recordings_local_dir, exc)
        if callback is not None:
            member_id = owner.member_id if owner else ""
            call_uuid = owner.call_uuid if owner else ""
            api(f"conference {fs_room} setvar {RECORD_VAR}{_hex(recording_id)} "
                f"{callback.method.value}|{member_id}|{call_uuid}|{callback.url}")
        if transcription is not None:
            kind, hook = transcription
            api(f"conference {fs_room} setvar {TRANSCRIBE_VAR}{_hex(recording_id)} "
                f"{kind}|{hook.method.value}|{hook.url}")
        reply = api(f"conference {fs_room} record {fs_path}")
        if not reply.startswith("+OK"):
            raise RoomError(f"FreeSWITCH did not start recording {fs_room}: {reply.strip()}")
        self._room(fs_room).recordings[fs_path] = Recording(recording_id, fs_path, time.time())
        return RecordingFacts(recording_id, self.recording_url(recording_id, fmt.value))

    def _recording_stopped(self, fs_room: str, event: Event, error: str = "") -> None:
        path = event.get("Path", "")
        recording_id = recording_id_from_path(path)
        fmt = os.path.splitext(path)[1].lstrip(".")
        end_ms = event.timestamp_us // 1000 or int(time.time() * 1000)
        try:
            duration_ms = int(event.get("Milliseconds-Elapsed", "0") or 0)
        except ValueError:
            duration_ms = 0
        local = self.local_recording_path(recording_id, fmt)
        if not error and os.path.isdir(self.recordings_local_dir) and not os.path.exists(local):
            error = f"FreeSWITCH wrote no file for this recording ({path})"
        facts = RecordingFacts(
            recording_id, self.recording_url(recording_id, fmt), duration_ms=duration_ms,
            start_ms=end_ms - duration_ms, end_ms=end_ms, error=error,
        )
        record_var = event.get(f"{RECORD_VAR}{_hex(recording_id)}")
        owner = MemberFacts(self.app_room_name(fs_room), event.get("Conference-Unique-ID", ""),
                            "", "")
        if record_var:
            method, member_id, call_uuid, url = record_var.split("|", 3)
            owner = MemberFacts(owner.room, owner.conference_uuid, member_id, call_uuid)
            with log_context(room=owner.room, recording_id=recording_id):
                if error:
                    log.error("recording failed: %s", error)
                else:
                    log.info("recording stopped after %d ms", duration_ms)
                self._send_record_callback(fs_room, owner, Webhook(url, HttpMethod(method)),
                                           facts, event.timestamp_us)
        transcribe_var = event.get(f"{TRANSCRIBE_VAR}{_hex(recording_id)}")
        if transcribe_var:
            kind, method, url = transcribe_var.split("|", 2)
            hook = Webhook(url, HttpMethod(method))
            gevent.spawn(self._transcribe, owner, facts, path, kind, hook)

    def _send_record_callback(self, fs_room: str, owner: MemberFacts, hook: Webhook,
                              facts: RecordingFacts, timestamp_us: int = 0) -> None:
        params = plivo_params.callback_params(
            MemberEvent(MemberAction.RECORD, owner, recording=facts, timestamp_us=timestamp_us),
            None, CallStatus.IN_PROGRESS,
        )
        self.webhooks.send(hook, params, key=f"rec:{fs_room}")

    def local_recording_path(self, recording_id: str, fmt: str) -> str:
        return os.path.join(self.recordings_local_dir, f"{recording_id}.{fmt}")

    def _transcribe(self, owner: MemberFacts, recording: RecordingFacts, fs_path: str,
                    kind: str, hook: Webhook) -> None:
        local = self.local_recording_path(recording.recording_id,
                                          os.path.splitext(fs_path)[1].lstrip("."))
        text, error = "", ""
        if recording.error:
            error = f"nothing to transcribe: {recording.error}"
        elif self.transcriber is None:
            error = NO_ENGINE
            log.warning("transcription of recording %s requested but %s",
                        recording.recording_id, NO_ENGINE)
        else:
            try:
                text = self.transcriber(local, TranscriptionType(kind).value)
            except Exception as exc:  # an engine failure is reported, never swallowed
                error = f"{type(exc).__name__}: {exc}"
                log.exception("transcription of recording %s failed", recording.recording_id)
        params = plivo_params.transcription_params(
            TranscriptionFacts(owner, recording, kind, text=text, error=error)
        )
        self.webhooks.send(hook, params, key=f"tx:{recording.recording_id}")
