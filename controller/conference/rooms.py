"""Room state: what the controller knows about each live FreeSWITCH conference.

Fed by conference::maintenance events from the shared inbound connection and
rebuilt from ``conference json_list`` after every (re)connect, so a restarted
controller picks up live rooms. What a room must remember across a
controller restart is stored *in FreeSWITCH*, as conference variables
(``conference <room> setvar``), which FreeSWITCH lists in ``json_list`` and
adds to every later event of the room (capture 02a): the record callback of
each recording, its transcription request, and the room's hooks (``cc_room``,
set by the creator's controller, so every later event of the room says where
its webhooks go). The time limit is a FreeSWITCH ``sched_api`` task, so it
fires whether or not we are running.

Room-level events (created, started, ended, member joined/left, muted, held,
speaking...) go to the creator's ``RoomHooks`` in the creator's dialect;
recording events go to the callback of whoever started the recording. Member
level callbacks are the call session's (``controller.conference.member``).
Coaching (only the coached members hear the coach) is kept here: ``relate``
fires no event and FreeSWITCH lists no relations (capture 07b), so the engine
owns that state and reapplies it as members join.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import gevent
import gevent.lock

from controller.conference import recording_index, silence
from controller.conference.events import (
    END_BY_MEMBER,
    END_LAST_LEFT,
    CallFacts,
    CallStatus,
    EngineEvent,
    MemberFacts,
    MemberState,
    RecordingFacts,
    TranscriptionFacts,
)
from controller.conference.plan import JoinPlan
from controller.conference.stay_recording import StayRecorder
from controller.esl import EslError, Event, InboundClient
from controller.freeswitch import conference as fsconf
from controller.freeswitch import replies, scheduler
from controller.freeswitch.cluster import CALL_UUID_HEADER
from controller.freeswitch.conference import Relation
from controller.freeswitch.names import app_room_name
from controller.logs import log_context
from controller.model import (
    ConferenceJoin,
    EventKind,
    HttpMethod,
    RecordFormat,
    RoomHooks,
    TranscriptionType,
    Webhook,
)
from controller.notify import Notifier
from controller.transcription import NO_ENGINE, Transcriber

log = logging.getLogger(__name__)

ApiCall = Callable[[str], str]
TIME_LIMIT_GROUP = "cc_tl_"
# cc_rec_<recording id hex> = <dialect>|<events>|<method>|<member id>|<call uuid>|<url>
# (<events>: the recording events the callback asked for, comma separated; empty: all)
RECORD_VAR = "cc_rec_"
TRANSCRIBE_VAR = "cc_tx_"  # cc_tx_<recording id hex> = <type>|<method>|<url>[|<dialect>]
TRIM_VAR = "cc_trim_"  # cc_trim_<recording id hex> = true: cut silence once it stops
ROOM_VAR = "cc_room"  # the creator's room hooks and dialect, JSON (room_state_value)
DEFAULT_DIALECT = "plivo"  # what variables written before dialects existed meant
# FreeSWITCH's member event Actions -> the neutral member-state events (capture 02a, 07a).
MEMBER_STATE_ACTIONS = {
    "mute-member": EventKind.MEMBER_MUTED,
    "unmute-member": EventKind.MEMBER_UNMUTED,
    "hold-member": EventKind.MEMBER_HELD,
    "unhold-member": EventKind.MEMBER_UNHELD,
    "start-talking": EventKind.SPEAKING_STARTED,
    "stop-talking": EventKind.SPEAKING_STOPPED,
}
# The talking events: two per speech spurt of every member. The inbound connection
# receives them only while some room's hooks ask for speaker events (RoomManager.
# _speakers_changed); the member-level ones come on the member's own socket.
SPEAKER_KINDS = frozenset({EventKind.SPEAKING_STARTED, EventKind.SPEAKING_STOPPED})
SPEAKER_ACTIONS = frozenset(action for action, kind in MEMBER_STATE_ACTIONS.items()
                            if kind in SPEAKER_KINDS)
# The conference::maintenance Actions handle_event acts on (any of them may also bring a
# room's hooks, cc_room), the talking ones aside. Not digits-match: the member's socket
# reports digits (controller.conference.member).
ROOM_ACTIONS = frozenset({
    "conference-create", "conference-destroy", "add-member", "del-member",
    "start-recording", "pause-recording", "resume-recording", "stop-recording",
    "play-file", "play-file-done", "lock", "unlock",
    *(set(MEMBER_STATE_ACTIONS) - SPEAKER_ACTIONS),
})
# Whole-second scheduler (switch_scheduler.c runs a task once switch_epoch_time_now, in
# whole seconds, reaches its runtime, computed from the same truncated clock): `+N` fires
# between N-1 and N seconds after the call. The controller's own timer ends the room on
# time; the FreeSWITCH task, one second later, is the backstop when we are not running.
TIME_LIMIT_BACKSTOP = 1
# Why a room ended that vanished while the controller was not connected to FreeSWITCH.
END_UNSEEN = "the room ended while the controller was not connected to FreeSWITCH"
# Room-level events that arrive before the room's hooks are known are held (see
# RoomManager._hold), at most this many per room and this long: a room whose creator
# never registers hooks (made outside the controller, or its join failed) reports nothing.
MAX_HELD_EVENTS = 64
HOLD_SECONDS = 10.0
# Reported once per room in a cluster, whichever event each controller saw it on.
ONCE_PER_ROOM = frozenset({EventKind.ROOM_CREATED, EventKind.ROOM_STARTED,
                           EventKind.ROOM_ENDED})


@dataclass
class Member:
    member_id: str
    call_uuid: str
    joined_at: float
    call_id: str = ""  # the face's id for the call
    label: str = ""  # what its join called it (ConferenceJoin.label)
    end_on_exit: bool = False  # its join's end_on_exit: leaving ends the room


@dataclass(frozen=True)
class RoomState:
    """What the creator decided for the whole room: its dialect, hooks, and the callback
    that recordings started later (REST) report to."""

    dialect: str = DEFAULT_DIALECT
    hooks: RoomHooks | None = None
    record_callback: Webhook | None = None


def _hook_json(hook: Webhook | None) -> dict | None:
    if hook is None:
        return None
    data = {"u": hook.url, "m": hook.method.value}
    for name in ("username", "password", "fallback_url", "fallback_username",
                 "fallback_password"):
        if getattr(hook, name):
            data[name] = getattr(hook, name)
    if hook.fallback_url:
        data["fallback_method"] = hook.fallback_method.value
    if hook.timeout is not None:
        data["timeout"] = hook.timeout
    return data


def _hook_from(data: dict | None) -> Webhook | None:
    if not data:
        return None
    extra = {k: v for k, v in data.items() if k not in ("u", "m")}
    if "fallback_method" in extra:
        extra["fallback_method"] = HttpMethod(extra["fallback_method"])
    return Webhook(str(data["u"]), HttpMethod(data["m"]), **extra)


def room_state_value(state: RoomState) -> str:
    """``cc_room``: JSON with ``$`` escaped (FreeSWITCH expands ``${...}``)."""
    hooks = state.hooks
    data = {"v": 1, "d": state.dialect, "r": _hook_json(state.record_callback)}
    if hooks is not None:
        data["h"] = _hook_json(hooks.hook)
        data["e"] = sorted(kind.value for kind in hooks.events)
        data["t"] = hooks.tag
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).replace("$", "\\u0024")


def parse_room_state(value: str) -> RoomState | None:
    try:
        data = json.loads(value)
        hooks = None
        if data.get("h"):
            hooks = RoomHooks(_hook_from(data["h"]),
                              frozenset(EventKind(e) for e in data.get("e", [])),
                              str(data.get("t", "")))
        return RoomState(str(data.get("d") or DEFAULT_DIALECT), hooks, _hook_from(data.get("r")))
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("rooms: unreadable %s value %.200r", ROOM_VAR, value)
        return None


@dataclass(frozen=True)
class HeldEvent:
    """The reporting of a FreeSWITCH event, held until the room's hooks are known, with
    its Event-Sequence so that held reports run in FreeSWITCH's order."""

    order: int
    report: Callable[[], None]
    what: str


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
    state: RoomState | None = None  # None until the creator's join told us
    sequence: int = 0  # last sequence number given to an event of this room
    ended_by: str = ""  # call uuid of the end_on_exit member whose leaving ends the room
    started: bool = False
    # coach member id -> call uuids of the members who hear the coach
    coaches: dict[str, frozenset[str]] = field(default_factory=dict)
    # coach member id -> member ids told not to hear the coach (relate nospeak)
    muted_for: dict[str, set[str]] = field(default_factory=dict)
    # Members whose join was reported: the call's socket and the inbound connection both
    # see each add-member, in either order; whichever comes first reports it.
    announced: set[str] = field(default_factory=set)
    # Files played to the whole room over the API (play-file), until their play-file-done.
    announcements: list[str] = field(default_factory=list)
    # Room-level events that came while ``state`` was None: a second caller's add-member
    # can reach us (on its own call socket) before the creator's join has told us the
    # room's hooks; they are reported, in FreeSWITCH's order, once it has.
    held: list[HeldEvent] = field(default_factory=list)
    hold_timer: gevent.Greenlet | None = None

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def recording_facts(self, url_for: Callable[[str, str], str]) -> RecordingFacts | None:
        for recording in self.recordings.values():
            fmt = os.path.splitext(recording.fs_path)[1].lstrip(".")
            return RecordingFacts(recording.recording_id, url_for(recording.recording_id, fmt))
        return None


def _member_state(room: Room, member: Member, event: Event | None) -> MemberState:
    """The member's state as its event says (Speak, Hold, Member-Type: every member event
    carries them, capture 07a) and as its join decided (label, end_on_exit)."""
    held = event is not None and event.get("Hold") == "true"
    coached = room.coaches.get(member.member_id)
    return MemberState(
        muted=event is not None and event.get("Speak") == "false" and not held,
        held=held,
        starter=event is not None and event.get("Member-Type") == "moderator",
        end_on_exit=member.end_on_exit,
        coaching=coached is not None,
        coached=tuple(sorted(coached or ())),
        label=member.label,
    )


class RoomError(Exception):
    pass


def _wants_speakers(state: RoomState | None) -> bool:
    """The room's hooks asked for speaker events."""
    return state is not None and state.hooks is not None and \
        not SPEAKER_KINDS.isdisjoint(state.hooks.events)


def _with_path(event: Event, path: str) -> Event:
    """The room's event, as if it were about the recording at ``path`` (its conference
    variables, which hold the recording's callback, come along)."""
    return Event([("Path", path), *event.pairs])  # the first of a name wins


def _report_key(room: Room, kind: EventKind, event: Event) -> str:
    """What controllers seeing the same events agree on to report one once (RoomCluster.
    once): the FreeSWITCH event, or for what happens once in a room's life the room
    itself (conference uuid): two controllers may decide the room started on different
    add-member events (each on the first moderator its own view holds), and the
    application must still hear it once."""
    if kind in ONCE_PER_ROOM and room.uuid:
        return f"{room.uuid}:{kind.value}"
    return f"{event.get('Core-UUID')}:{event.get('Event-Sequence')}:{kind.value}"


def _call_uuid(event: Event) -> str:
    """The call a member event is about, as the application knows it: the member's
    channel, or for a far leg running a call moved here from another node, that call
    (its controller names it in the leg's ``call_uuid``, which every member event carries
    as Channel-Call-UUID: controller.freeswitch.cluster.name_moved_call). Any other member
    carries its own uuid there (every member event of the captures does)."""
    return event.get(CALL_UUID_HEADER) or event.get("Unique-ID", "")


def _named(member: Member | None, event: Event) -> Member | None:
    """``member``, named after the call its event names (a member known from a
    ``json_list`` after a reconnect was named after its channel)."""
    if member is not None and event.get("Unique-ID"):
        member.call_uuid = _call_uuid(event)
    return member


def _hears_coach(member: Member, heard_by: frozenset[str]) -> bool:
    """``heard_by`` names calls by FreeSWITCH UUID or by the face's call id."""
    return member.call_uuid in heard_by or bool(member.call_id and member.call_id in heard_by)


def recording_id_from_path(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def _hex(recording_id: str) -> str:
    return recording_id.replace("-", "")


class RoomCluster(Protocol):
    """What the room manager asks of a cluster (controller.cluster.takeover)."""

    def once(self, key: str) -> bool:
        """True for exactly one controller per key: that one reports the event."""

    def room_created(self, fs_room: str, event: Event) -> None:
        """mod_conference created the room on the node that fired ``event``."""

    def room_ended(self, fs_room: str, event: Event) -> None: ...


class RoomManager:
    def __init__(self, esl: InboundClient, notifier: Notifier, *, room_prefix: str,
                 recordings_fs_dir: str, recordings_local_dir: str, public_base_url: str,
                 transcriber: Transcriber | None = None):
        self.esl = esl
        self.notifier = notifier
        self.room_prefix = room_prefix
        self.recordings_fs_dir = recordings_fs_dir
        self.recordings_local_dir = recordings_local_dir
        self.public_base_url = public_base_url.rstrip("/")
        self.transcriber = transcriber
        self.rooms: dict[str, Room] = {}
        self._locks: dict[str, gevent.lock.Semaphore] = {}
        # The creator's decisions, known before FreeSWITCH creates the room (the join is
        # planned first): by call uuid, until that call's add-member arrives.
        self._expected: dict[str, RoomState] = {}
        # What each joining call's ConferenceJoin says of the member (label, end_on_exit),
        # by call uuid until its add-member arrives.
        self._joins: dict[str, ConferenceJoin] = {}
        # Recordings FreeSWITCH could not open (start-recording with Error): it still
        # fires stop-recording after that (conference_record.c falls through to `end:`),
        # and the application must hear about the failure once, not twice.
        self._failed_recordings: dict[str, str] = {}
        self._timers: dict[str, gevent.Greenlet] = {}  # conference uuid -> time limit
        self._consumer = None
        self._greenlet: gevent.Greenlet | None = None
        # Who needs the talking events now: rooms whose hooks ask for speaker events, and
        # joins expected to create such a room (so they come from its first member on).
        self._speaker_rooms: set[str] = set()
        self._speaker_joins: set[str] = set()
        self._hearing_speakers = False
        self.resyncs = 0
        # A live call's face id from its UUID ("": unknown); the engine sets it, so that
        # coaching may name calls by either (ConferenceJoin.coach).
        self.call_id_of: Callable[[str], str] = lambda call_uuid: ""
        # Set in a cluster (controller.cluster.takeover.ClusterRooms): every controller
        # sees every room's events, one reports each; rooms go in the room directory.
        self.cluster: RoomCluster | None = None
        # Calls recorded while they are in a room (ConferenceJoin.stay_recording).
        self.stay = StayRecorder(
            esl, notifier, recordings_fs_dir=recordings_fs_dir,
            recordings_local_dir=recordings_local_dir, url_for=self.recording_url,
            once=lambda key: self.cluster is None or self.cluster.once(key))

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._consumer = self.esl.subscribe("rooms", ["conference::maintenance"],
                                            actions=self._wanted_actions())
        self.esl.on_connect(self.resync)
        self._greenlet = gevent.spawn(self._consumer.handle_forever, self.handle_event,
                                      "rooms: failed to handle")
        self.stay.start_listening()

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        if self._consumer is not None:
            self.esl.unsubscribe(self._consumer)
        for timer in self._timers.values():
            timer.kill(block=False)
        self.stay.stop_listening()

    # ------------------------------------------------------------ talking events
    def _wanted_actions(self) -> frozenset[str]:
        return ROOM_ACTIONS | SPEAKER_ACTIONS if self._hearing_speakers else ROOM_ACTIONS

    def _speakers_changed(self) -> None:
        """Tell the inbound connection whether the talking events are needed, when that
        changes (FreeSWITCH drops them with a filter while nobody needs them). A room
        whose hooks this controller learns from the room's own events (created by another
        controller of a cluster, cc_room) hears them from the first event after that; the
        ones before are the creator's controller's to report."""
        wanted = bool(self._speaker_rooms or self._speaker_joins)
        if wanted != self._hearing_speakers:
            self._hearing_speakers = wanted
            if self._consumer is not None:
                self._consumer.want_actions(self._wanted_actions())

    def _set_state(self, room: Room, state: RoomState | None) -> None:
        room.state = state
        if _wants_speakers(state):
            self._speaker_rooms.add(room.fs_name)
        else:
            self._speaker_rooms.discard(room.fs_name)
        self._speakers_changed()

    def _take_expected(self, call_uuid: str) -> RoomState | None:
        """The call's expected join, no longer expected."""
        self._speaker_joins.discard(call_uuid)
        self._speakers_changed()
        return self._expected.pop(call_uuid, None)

    def lock(self, fs_room: str) -> gevent.lock.Semaphore:
        return self._locks.setdefault(fs_room, gevent.lock.Semaphore())

    def app_room_name(self, fs_room: str) -> str | None:
        """The application's name of a FreeSWITCH room; None if it is not one of ours."""
        return app_room_name(fs_room, self.room_prefix)

    def recording_url(self, recording_id: str, fmt: str) -> str:
        return f"{self.public_base_url}/v1/recordings/{recording_id}.{fmt}"

    def _room(self, fs_room: str) -> Room:
        room = self.rooms.get(fs_room)
        if room is None:
            room = self.rooms[fs_room] = Room(fs_room, self.app_room_name(fs_room) or fs_room)
        return room

    def next_sequence(self, fs_room: str) -> int:
        """The next sequence number of an event of this room (call sessions report member
        events of their own; they draw from the same counter)."""
        return self._room(fs_room).next_sequence()

    # ------------------------------------------------------------ resync
    def resync(self) -> None:
        """Rebuild every room from FreeSWITCH's own listing (after each connect)."""
        listing = replies.parse_listing(self.esl.api(fsconf.json_list(), timeout=10))
        rooms: dict[str, Room] = {}
        for conf in listing:
            fs_name = conf.get("conference_name", "")
            name = self.app_room_name(fs_name)
            if name is None:
                continue
            old = self.rooms.get(fs_name)
            variables = conf.get("variables") or {}
            state = parse_room_state(variables[ROOM_VAR]) if ROOM_VAR in variables else None
            room = Room(fs_name, name, uuid=conf.get("conference_uuid", ""),
                        created_at=time.time() - float(conf.get("run_time", 0) or 0),
                        locked=bool(conf.get("locked")),
                        stay_alone=not bool(conf.get("enforce_min")),
                        state=state or (old.state if old else None),
                        sequence=old.sequence if old else 0,
                        started=True,
                        coaches=old.coaches if old else {},
                        muted_for=old.muted_for if old else {},
                        announcements=old.announcements if old else [],
                        held=old.held if old else [],
                        hold_timer=old.hold_timer if old else None)
            for member in conf.get("members", []):
                if member.get("type") == "caller":
                    mid = str(member.get("id"))
                    joined = time.time() - float(member.get("join_time", 0) or 0)
                    room.members[mid] = Member(mid, member.get("uuid", ""), joined)
                    room.announced.add(mid)
                elif member.get("type") == "recording_node":
                    path = member.get("record_path", "")
                    room.recordings[path] = Recording(
                        recording_id_from_path(path), path,
                        float(member.get("join_time", time.time()) or time.time()),
                        paused=member.get("status") == "paused",
                    )
            rooms[fs_name] = room
        vanished = [room for fs_name, room in self.rooms.items() if fs_name not in rooms]
        self.rooms = rooms
        self._speaker_rooms = {fs_name for fs_name, room in rooms.items()
                               if _wants_speakers(room.state)}
        self._speakers_changed()
        for room in rooms.values():
            self._release_held(room)
        self.resyncs += 1
        log.info("rooms: resynced %d live rooms from FreeSWITCH", len(rooms))
        for room in vanished:
            self._room_vanished(room)
        self._drop_stale_time_limits(listing)

    def _room_vanished(self, room: Room) -> None:
        """A room we knew is not in FreeSWITCH's listing after a reconnect: it ended while
        we were not connected (FreeSWITCH restarted: after a restart json_list is ``[]``,
        capture 07f_freeswitch_killed_after_restart.txt). Its hooks still hear that its
        members left and that it ended, marked recovered; FreeSWITCH's time of it is
        not known."""
        log.warning("rooms: %s ended while FreeSWITCH was not connected; reporting its end, "
                    "marked recovered", room.name)
        for member in list(room.members.values()):
            self._room_event(room, EventKind.MEMBER_LEFT, member=member, recovered=True)
        self._room_event(room, EventKind.ROOM_ENDED, reason=END_UNSEEN, recovered=True)
        timer = self._timers.pop(room.uuid, None)
        if timer is not None:
            timer.kill(block=False)

    def _drop_stale_time_limits(self, listing: list[dict]) -> None:
        """Time-limit tasks whose conference ended while we were away must not fire on a
        new room of the same name."""
        live = {conf.get("conference_uuid") for conf in listing}
        try:
            groups = replies.scheduled_task_groups(self.esl.api(scheduler.show_tasks(),
                                                                timeout=10))
        except EslError as exc:
            log.info("rooms: cannot list scheduled tasks (%s); stale time limits not checked", exc)
            return
        for group in groups:
            if group.startswith(TIME_LIMIT_GROUP) and group[len(TIME_LIMIT_GROUP):] not in live:
                self.esl.api(scheduler.sched_del(group))
                log.info("rooms: removed the time limit of ended conference %s", group)

    # ------------------------------------------------------------ events
    def handle_event(self, event: Event) -> None:
        fs_room = event.get("Conference-Name", "")
        if not fs_room or self.app_room_name(fs_room) is None:
            return
        action = event.action
        room = self.rooms.get(fs_room)
        if room is not None and room.state is None and event.get(ROOM_VAR) \
                and action != "add-member":
            # Every event after the creator's setvar carries the room's hooks (02a): the
            # events held until now come first, then this one.
            self._set_state(room, parse_room_state(event.get(ROOM_VAR, "")))
            self._release_held(room)
        if action == "conference-create":
            self._room(fs_room).uuid = event.get("Conference-Unique-ID", "")
            if self.cluster is not None:
                self.cluster.room_created(fs_room, event)
        elif action == "add-member":
            self._member_added(fs_room, event)
        elif action == "del-member":
            room = self.rooms.get(fs_room)
            if room is not None:
                member = _named(room.members.pop(event.get("Member-ID", ""), None), event)
                if member is not None and member.end_on_exit and not room.ended_by:
                    room.ended_by = member.call_uuid  # mod_conference ends the room (03c)
                room.announced.discard(event.get("Member-ID", ""))
                self._room_event(room, EventKind.MEMBER_LEFT, event, member=member)
                self._coach_left(room, event.get("Member-ID", ""))
            self.stay.stop(event.unique_id)  # its own recording ends with its stay
        elif action in MEMBER_STATE_ACTIONS:
            room = self.rooms.get(fs_room)
            if room is not None:
                member = _named(room.members.get(event.get("Member-ID", "")), event)
                self._room_event(room, MEMBER_STATE_ACTIONS[action], event, member=member)
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
            self._recording_changed(fs_room, event, EventKind.RECORDING_STARTED)
        elif action in ("pause-recording", "resume-recording"):
            recording = self._room(fs_room).recordings.get(event.get("Path", ""))
            if recording is not None:
                recording.paused = action == "pause-recording"
            self._recording_changed(fs_room, event, EventKind.RECORDING_PAUSED
                                    if action == "pause-recording"
                                    else EventKind.RECORDING_RESUMED)
        elif action == "play-file":
            # Only the API's room play fires play-file; hold music and enter/exit sounds
            # fire play-file-done alone (captures 02a, 03b2, 03f, 03h).
            self._room(fs_room).announcements.append(event.get("File", ""))
        elif action == "play-file-done":
            room = self.rooms.get(fs_room)
            if room is not None and event.get("File", "") in room.announcements:
                room.announcements.remove(event.get("File", ""))
                self._room_event(room, EventKind.ANNOUNCEMENT_DONE, event)
        elif action == "stop-recording":
            room = self.rooms.get(fs_room)
            if room is not None:
                room.recordings.pop(event.get("Path", ""), None)
            if self._failed_recordings.pop(event.get("Path", ""), None) is None:
                self._recording_stopped(fs_room, event)
        elif action in ("lock", "unlock"):
            self._room(fs_room).locked = action == "lock"
        elif action == "conference-destroy":
            if self.cluster is not None:
                self.cluster.room_ended(fs_room, event)
            room = self.rooms.pop(fs_room, None)
            self._locks.pop(fs_room, None)
            self._speaker_rooms.discard(fs_room)
            self._speakers_changed()
            if room is not None:
                for path in list(room.recordings):
                    # No stop-recording came: a `record` that raced the room's end got
                    # "+OK Record file" but its thread never attached ("Read Lock Fail",
                    # conference_record.c:173-176) and fires neither start nor stop. The
                    # application must still hear that nothing was recorded.
                    self._recording_stopped(fs_room, _with_path(event, path), error=(
                        "the room ended before FreeSWITCH started this recording"))
                self._room_event(room, EventKind.ROOM_ENDED, event,
                                 reason=event.get("cc_end_reason", "")
                                 or (END_BY_MEMBER if room.ended_by else END_LAST_LEFT))
            conference_uuid = event.get("Conference-Unique-ID", "") or (room.uuid if room else "")
            if conference_uuid:
                timer = self._timers.pop(conference_uuid, None)
                if timer is not None:
                    timer.kill(block=False)
                gevent.spawn(self._cancel_time_limit, conference_uuid)

    def _member_added(self, fs_room: str, event: Event) -> None:
        room = self._room(fs_room)
        room.uuid = room.uuid or event.get("Conference-Unique-ID", "")
        mid = event.get("Member-ID", "")
        channel_uuid = event.get("Unique-ID", "")  # what joins are expected by
        call_uuid = _call_uuid(event)  # what the application knows the call by
        member = room.members.setdefault(mid, Member(mid, call_uuid, time.time()))
        member.call_uuid = call_uuid
        join = self._joins.pop(channel_uuid, None)
        if join is not None:
            member.label, member.end_on_exit = join.label, join.end_on_exit
        member.call_id = member.call_id or self.call_id_of(call_uuid)
        if mid in room.announced:
            return
        room.announced.add(mid)
        expected = self._take_expected(channel_uuid)
        learned = None
        if room.state is None:
            # FreeSWITCH fires add-member under the conference mutex, after counting the
            # member (conference_member.c conference_member_add: lock 732, count++ 766,
            # add-member 964, unlock 1073): Conference-Size 1 is the creator, always first.
            if expected is not None and event.get("Conference-Size") == "1":
                learned = expected  # the creator's join (first member wins)
            elif event.get(ROOM_VAR):
                learned = parse_room_state(event.get(ROOM_VAR, ""))
        self._apply_coaching_to_newcomer(room, member)
        if room.state is None:
            # Reported in FreeSWITCH's order once the hooks are known: which add-member
            # created or started the room is decided then, not in arrival order.
            self._hold(room, event, lambda: self._report_added(room, member, event),
                       f"{EventKind.MEMBER_JOINED.value} of member {mid}")
        else:
            self._report_added(room, member, event)
        if learned is not None and room.state is None:
            self._set_state(room, learned)
            self._release_held(room)  # this join's events, and any that came before it

    def _report_added(self, room: Room, member: Member, event: Event) -> None:
        if event.get("Conference-Size") == "1":
            self._room_event(room, EventKind.ROOM_CREATED, event)
        self._room_event(room, EventKind.MEMBER_JOINED, event, member=member)
        if not room.started and event.get("Member-Type") == "moderator":
            # A starter is in: the room really begins (wait-mod ends, mod_conference.c
            # conference_member_add clears it when a moderator joins; capture 03b2).
            room.started = True
            self._room_event(room, EventKind.ROOM_STARTED, event)

    def _room_event(self, room: Room, kind: EventKind, event: Event | None = None, *,
                    member: Member | None = None, reason: str = "",
                    recording: RecordingFacts | None = None, coaching: bool = False,
                    timestamp_us: int = 0, recovered: bool = False) -> None:
        """Report a room-level event to the room's hooks, if they asked for it. Its time is
        FreeSWITCH's (the event's, or ``timestamp_us``); the controller's clock only for
        what FreeSWITCH fires no event about at all."""
        state = room.state
        if state is None:
            self._hold(room, event, lambda: self._room_event(
                room, kind, event, member=member, reason=reason, recording=recording,
                coaching=coaching, timestamp_us=timestamp_us, recovered=recovered),
                kind.value)
            return
        if state.hooks is None or kind not in state.hooks.events:
            return
        if self.cluster is not None and event is not None and not self.cluster.once(
                _report_key(room, kind, event)):
            return  # another controller connected to this node reports it
        facts = call = None
        if member is not None:
            facts = MemberFacts(room.name, room.uuid, member.member_id, member.call_uuid)
            if event is not None and event.get("Unique-ID") == member.call_uuid:
                # Member events carry the member's channel (capture 01: add-member and
                # del-member list Caller-Caller-ID-Number, Caller-Destination-Number...).
                # Not for a call moved here from another node: its far leg's numbers are
                # the move's (Caller-Destination-Number cc-room-<room>), not the call's.
                call = CallFacts(member.call_uuid, event.get("Caller-Caller-ID-Number", ""),
                                 event.get("Caller-Caller-ID-Name", ""),
                                 event.get("Caller-Destination-Number", ""),
                                 event.get("Call-Direction", "inbound"), state.dialect,
                                 member.call_id)
        engine_event = EngineEvent(
            kind, room=room.name, conference_uuid=room.uuid, member=facts, call=call,
            sequence=room.next_sequence(), tag=state.hooks.tag, reason=reason,
            timestamp_us=(event.timestamp_us if event is not None else timestamp_us)
            or int(time.time() * 1e6),
            recording=recording, coaching=coaching, recovered=recovered,
            member_state=None if member is None else _member_state(room, member, event),
            ended_by=room.ended_by if kind is EventKind.ROOM_ENDED and reason == END_BY_MEMBER
            else "",
        )
        self.notifier.emit(engine_event, state.hooks.hook, state.dialect,
                           lane=f"room:{room.fs_name}")

    # ------------------------------------------------------------ held events
    def _hold(self, room: Room, event: Event | None, report: Callable[[], None],
              what: str) -> None:
        """Keep a room-level report until the room's hooks are known. Ordered by FreeSWITCH's
        Event-Sequence, one number per fired event whichever connection delivers it
        (switch_event.c switch_event_prep_for_delivery_detailed, line 2002); an event
        without one keeps its place after the one before it."""
        if len(room.held) >= MAX_HELD_EVENTS:
            log.warning("rooms: %s: %d events wait for the room's hooks; %s not reported",
                        room.name, len(room.held), what)
            return
        order = room.held[-1].order if room.held else 0
        if event is not None and event.get("Event-Sequence", "").isdigit():
            order = int(event.get("Event-Sequence", ""))
        room.held.append(HeldEvent(order, report, what))
        if room.hold_timer is None:
            room.hold_timer = gevent.spawn_later(HOLD_SECONDS, self._expire_held, room)

    def _release_held(self, room: Room) -> None:
        """The room's hooks are known: report what was held, in FreeSWITCH's order (the
        sort is stable: a join's created/joined/started keep theirs)."""
        if room.state is None:
            return
        if room.hold_timer is not None:
            room.hold_timer.kill(block=False)
            room.hold_timer = None
        held, room.held = sorted(room.held, key=lambda h: h.order), []
        for item in held:
            item.report()

    def _expire_held(self, room: Room) -> None:
        room.hold_timer = None
        if room.state is None and room.held:
            log.warning("rooms: %s: the room's hooks were not known after %.0fs; %d events "
                        "not reported (%s)", room.name, HOLD_SECONDS, len(room.held),
                        ", ".join(h.what for h in room.held))
            room.held.clear()

    def _cancel_time_limit(self, conference_uuid: str) -> None:
        try:
            self.esl.api(scheduler.sched_del(f"{TIME_LIMIT_GROUP}{conference_uuid}"))
        except EslError as exc:
            log.warning("rooms: cannot cancel time limit of %s: %s", conference_uuid, exc)

    # ------------------------------------------------------------ joins
    def expect_join(self, call_uuid: str, join: ConferenceJoin, dialect: str) -> RoomState:
        """Called before the call runs the conference app: what this call decides for the
        room should it be the one that creates it."""
        state = RoomState(dialect, join.room_hooks, join.recording_callback or join.callback)
        self._expected[call_uuid] = state
        self._joins[call_uuid] = join
        if _wants_speakers(state):
            self._speaker_joins.add(call_uuid)
            self._speakers_changed()
        return state

    def forget_join(self, call_uuid: str) -> None:
        self._take_expected(call_uuid)
        self._joins.pop(call_uuid, None)

    def member_joined(self, plan: JoinPlan, member: MemberFacts, creator: bool, api: ApiCall,
                      join: ConferenceJoin, dialect: str, event: Event | None = None,
                      hold_sound: str | None = None) -> None:
        """Room-level parts of a join; ``api`` runs a FreeSWITCH API command (the call's own
        socket, so this works even while the inbound connection is reconnecting).
        ``event``: the member's add-member as the call's socket saw it (reported now if
        the inbound connection has not yet). ``hold_sound``: the FreeSWITCH sound of
        ``join.hold_sound``, resolved by the caller (None: use it as it is)."""
        if event is not None:
            self._member_added(plan.fs_room, event)
        if join.stay_recording is not None:
            try:
                self.stay.start(member.call_uuid, member, join.stay_recording, dialect, api)
            except Exception as exc:  # the member stays in the room; the failure is logged
                log.error("rooms: recording call %s failed: %s", member.call_uuid, exc)
        stamp = event.timestamp_us if event is not None else 0
        room = self._room(plan.fs_room)
        room.uuid = room.uuid or member.conference_uuid
        room.members.setdefault(member.member_id,
                                Member(member.member_id, member.call_uuid, time.time()))
        if "mintwo" in plan.member_flags:
            room.stay_alone = False
        with self.lock(plan.fs_room):
            if creator:
                state = self._take_expected(member.call_uuid) or \
                    RoomState(dialect, join.room_hooks, join.recording_callback or join.callback)
                self._set_state(room, room.state or state)
                self._release_held(room)  # events of members who got in before us
                # Every later event of the room carries it (capture 02a: setvar -> header).
                api(fsconf.setvar(plan.fs_room, ROOM_VAR, room_state_value(room.state)))
                for command in plan.creator_commands:
                    api(command)
                if plan.time_limit:
                    self._schedule_time_limit(plan.fs_room, member.conference_uuid,
                                              plan.time_limit, api)
                    room.time_limit = plan.time_limit
            else:
                self._take_expected(member.call_uuid)
            if join.hold:
                sound = join.hold_sound if hold_sound is None else hold_sound
                reply = api(fsconf.hold(plan.fs_room, int(member.member_id), sound))
                if not replies.ok(reply):
                    log.error("rooms: FreeSWITCH did not hold member %s: %s", member.member_id,
                              reply.strip())
            if join.coach:
                if join.single_coach:  # one coach per room: a new one ends the others'
                    for other in [c for c in room.coaches if c != member.member_id]:
                        self._set_coach(room, other, None, api, stamp)
                self._set_coach(room, member.member_id, frozenset(join.coach), api, stamp)
            if plan.record is not None and not room.recordings and \
                    len(room.members) >= join.record_min_members:
                self._record_on_join(plan, member, api, join, dialect)

    def _record_on_join(self, plan: JoinPlan, member: MemberFacts, api: ApiCall,
                        join: ConferenceJoin, dialect: str) -> None:
        callback = join.recording_callback or join.callback
        transcription = None
        if join.transcription_type is not None and join.transcription is not None:
            transcription = (join.transcription_type.value, join.transcription)
        try:
            self.start_recording(plan.fs_room, plan.record, api=api, owner=member,
                                 callback=callback, transcription=transcription,
                                 dialect=dialect, events=join.recording_events,
                                 trim_silence=join.trim_silence)
        except RoomError as exc:
            log.error("rooms: %s", exc)
            if callback is not None:
                self._send_record_callback(
                    plan.fs_room, member, callback, RecordingFacts("", "", error=str(exc)),
                    dialect, kind=EventKind.RECORDING_FAILED)

    def _schedule_time_limit(self, fs_room: str, conference_uuid: str, seconds: int,
                             api: ApiCall) -> None:
        group = f"{TIME_LIMIT_GROUP}{conference_uuid}"
        reply = api(scheduler.sched_api(seconds + TIME_LIMIT_BACKSTOP, group,
                                        fsconf.kick(fs_room, "all")))
        if not reply.startswith("+OK"):
            log.error("rooms: FreeSWITCH refused the time limit of %s: %s", fs_room, reply.strip())
        self._timers[conference_uuid] = gevent.spawn_later(
            seconds, self._time_limit_reached, fs_room, conference_uuid)

    def _time_limit_reached(self, fs_room: str, conference_uuid: str) -> None:
        self._timers.pop(conference_uuid, None)
        room = self.rooms.get(fs_room)
        if room is None or room.uuid != conference_uuid:
            return  # ended already; a new room of that name has its own limit
        log.info("rooms: %s reached its time limit", fs_room)
        try:
            self.esl.api(fsconf.kick(fs_room, "all"))
        except EslError as exc:
            log.warning("rooms: time limit of %s: %s; FreeSWITCH's own task will end it",
                        fs_room, exc)

    # ------------------------------------------------------------ coaching
    def _set_coach(self, room: Room, coach_id: str, heard_by: frozenset[str] | None,
                   api: ApiCall, timestamp_us: int = 0) -> None:
        """Only the members whose call is in ``heard_by`` hear the coach (None: coaching
        ends, everyone hears it again). ``relate <coach> <other> nospeak``: the other no
        longer hears the coach (capture 07b)."""
        was_coaching = coach_id in room.coaches
        if was_coaching:
            cleared = room.muted_for.pop(coach_id, set())
            if cleared:
                api(fsconf.relate(room.fs_name, [int(coach_id)], sorted(map(int, cleared)),
                                  Relation.CLEAR))
            del room.coaches[coach_id]
        if heard_by is None:
            if was_coaching:
                self._coach_event(room, coach_id, False, timestamp_us)
            return
        room.coaches[coach_id] = heard_by
        room.muted_for[coach_id] = set()
        others = [m for m in room.members.values()
                  if m.member_id != coach_id and not _hears_coach(m, heard_by)]
        self._mute_for(room, coach_id, others, api)
        self._coach_event(room, coach_id, True, timestamp_us)

    def _mute_for(self, room: Room, coach_id: str, others: Iterable[Member],
                  api: ApiCall) -> None:
        ids = sorted(int(m.member_id) for m in others)
        if not ids:
            return
        reply = api(fsconf.relate(room.fs_name, [int(coach_id)], ids, Relation.NOSPEAK))
        if "-ERR" in reply:
            log.error("rooms: coaching relation in %s refused: %s", room.fs_name, reply.strip())
        room.muted_for.setdefault(coach_id, set()).update(str(i) for i in ids)

    def _apply_coaching_to_newcomer(self, room: Room, member: Member) -> None:
        for coach_id, heard_by in room.coaches.items():
            if member.member_id != coach_id and not _hears_coach(member, heard_by):
                try:
                    self._mute_for(room, coach_id, [member], self.esl.api)
                except EslError as exc:
                    log.error("rooms: cannot keep %s from hearing coach %s: %s",
                              member.member_id, coach_id, exc)

    def _coach_left(self, room: Room, member_id: str) -> None:
        room.coaches.pop(member_id, None)
        room.muted_for.pop(member_id, None)
        for muted in room.muted_for.values():
            muted.discard(member_id)

    def _coach_event(self, room: Room, coach_id: str, on: bool, timestamp_us: int = 0) -> None:
        # `relate` fires no event (capture 07b): the time is the coach's add-member when
        # the join made it a coach, else the controller's clock.
        self._room_event(room, EventKind.MEMBER_COACHING, member=room.members.get(coach_id),
                         coaching=on, timestamp_us=timestamp_us)

    def set_coach(self, fs_room: str, coach_id: str, heard_by: Iterable[str] | None,
                  api: ApiCall | None = None) -> None:
        """Make member ``coach_id`` a coach heard only by the calls ``heard_by`` (call uuids),
        or stop its coaching (None). RoomError if there is no such member."""
        room = self.rooms.get(fs_room)
        if room is None or coach_id not in room.members:
            raise RoomError(f"no member {coach_id} in {fs_room}")
        with self.lock(fs_room):
            self._set_coach(room, coach_id, None if heard_by is None else frozenset(heard_by),
                            api or self.esl.api)

    def coaching(self, fs_room: str) -> dict[str, frozenset[str]]:
        room = self.rooms.get(fs_room)
        return dict(room.coaches) if room else {}

    # ------------------------------------------------------------ recordings
    def start_recording(self, fs_room: str, fmt: RecordFormat, *, api: ApiCall | None = None,
                        owner: MemberFacts | None = None, callback: Webhook | None = None,
                        transcription: tuple[str, Webhook] | None = None,
                        dialect: str | None = None,
                        events: frozenset[EventKind] = frozenset(),
                        trim_silence: bool = False) -> RecordingFacts:
        """``conference <room> record <path>``; the callback/transcription requests travel
        with the room as conference variables. Without a callback, the room's own record
        callback (its creator's) is used, so a recording started over REST reports too."""
        api = api or self.esl.api
        room = self._room(fs_room)
        if callback is None and room.state is not None:
            callback = room.state.record_callback
        dialect = dialect or (room.state.dialect if room.state else DEFAULT_DIALECT)
        recording_id = str(uuid.uuid4())
        fs_path = f"{self.recordings_fs_dir.rstrip('/')}/{recording_id}.{fmt.value}"
        try:
            os.makedirs(self.recordings_local_dir, exist_ok=True)
        except OSError as exc:  # FreeSWITCH may still manage; it says so if not
            log.warning("rooms: recordings directory %s: %s", self.recordings_local_dir, exc)
        if callback is not None:
            member_id = owner.member_id if owner else ""
            call_uuid = owner.call_uuid if owner else ""
            wanted = ",".join(sorted(kind.value for kind in events))
            api(fsconf.setvar(fs_room, f"{RECORD_VAR}{_hex(recording_id)}",
                              f"{dialect}|{wanted}|{callback.method.value}|{member_id}|"
                              f"{call_uuid}|{callback.url}"))
        if trim_silence:
            if fmt is not RecordFormat.WAV:
                raise RoomError(f"silence is trimmed from WAV recordings only, not {fmt.value}")
            api(fsconf.setvar(fs_room, f"{TRIM_VAR}{_hex(recording_id)}", "true"))
        if transcription is not None:
            kind, hook = transcription
            api(fsconf.setvar(fs_room, f"{TRANSCRIBE_VAR}{_hex(recording_id)}",
                              f"{kind}|{hook.method.value}|{hook.url}|{dialect}"))
        reply = api(fsconf.record(fs_room, fs_path))
        if not reply.startswith("+OK"):
            raise RoomError(f"FreeSWITCH did not start recording {fs_room}: {reply.strip()}")
        room.recordings[fs_path] = Recording(recording_id, fs_path, time.time())
        return RecordingFacts(recording_id, self.recording_url(recording_id, fmt.value))

    def _recording_changed(self, fs_room: str, event: Event, kind: EventKind) -> None:
        """A recording started, paused or resumed: the room's hooks hear it, and the
        recording's callback when it named this kind in its events (an empty list keeps
        what callbacks always meant: completed or failed only)."""
        path = event.get("Path", "")
        recording_id = recording_id_from_path(path)
        fmt = os.path.splitext(path)[1].lstrip(".")
        facts = RecordingFacts(recording_id, self.recording_url(recording_id, fmt))
        room = self.rooms.get(fs_room)
        if room is not None:
            self._room_event(room, kind, event, recording=facts)
        fields = event.get(f"{RECORD_VAR}{_hex(recording_id)}", "").split("|", 5)
        if len(fields) != 6:
            return
        dialect, wanted, method, member_id, call_uuid, url = fields
        if url and kind.value in wanted.split(","):
            owner = MemberFacts(self.app_room_name(fs_room) or fs_room,
                                event.get("Conference-Unique-ID", ""), member_id, call_uuid)
            self._send_record_callback(fs_room, owner, Webhook(url, HttpMethod(method)), facts,
                                       dialect, event.timestamp_us, kind)

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
        if not error and event.get(f"{TRIM_VAR}{_hex(recording_id)}") == "true" \
                and event.get("Milliseconds-Elapsed"):
            # The record thread closes the file, then fires stop-recording with
            # Milliseconds-Elapsed (conference_record.c, conference_record_thread_run:
            # switch_core_file_close, then the event), so the file is complete here. The
            # `norecord` API fires its own stop-recording, without that header, possibly
            # before the thread closed the file (conference_api.c, conference_api_sub_norecord):
            # that one is not trimmed.
            try:
                duration_ms = silence.trim_wav(local)
            except (OSError, silence.NotTrimmable) as exc:
                error = f"silence could not be trimmed: {exc}"
        facts = RecordingFacts(
            recording_id, self.recording_url(recording_id, fmt), duration_ms=duration_ms,
            start_ms=end_ms - duration_ms, end_ms=end_ms, error=error,
        )
        kind = EventKind.RECORDING_FAILED if error else EventKind.RECORDING_COMPLETED
        room_name = self.app_room_name(fs_room) or fs_room
        owner = MemberFacts(room_name, event.get("Conference-Unique-ID", ""), "", "")
        if not error:  # listed with its conference after the room is gone (cXML REST)
            recording_index.save(self.recordings_local_dir, recording_index.FinishedRecording(
                recording_id, owner.conference_uuid, room_name, fmt, duration_ms,
                facts.start_ms, end_ms))
        record_var = event.get(f"{RECORD_VAR}{_hex(recording_id)}")
        if record_var:
            fields = record_var.split("|", 5)
            if len(fields) != 6:  # written before dialects: Plivo's, every event
                fields = [DEFAULT_DIALECT, "", *record_var.split("|", 3)]
            dialect, wanted, method, member_id, call_uuid, url = fields
            owner = MemberFacts(owner.room, owner.conference_uuid, member_id, call_uuid)
            with log_context(room=owner.room, recording_id=recording_id):
                if wanted and kind.value not in wanted.split(","):
                    url = ""  # the callback did not ask for this outcome
                if error:
                    log.error("recording failed: %s", error)
                else:
                    log.info("recording stopped after %d ms", duration_ms)
                if url:
                    self._send_record_callback(fs_room, owner, Webhook(url, HttpMethod(method)),
                                               facts, dialect, event.timestamp_us, kind)
        room = self.rooms.get(fs_room)
        if room is not None:
            self._room_event(room, kind, event, recording=facts)
        transcribe_var = event.get(f"{TRANSCRIBE_VAR}{_hex(recording_id)}")
        if transcribe_var:
            kind_name, method, url, *rest = transcribe_var.split("|", 3)
            hook = Webhook(url, HttpMethod(method))
            gevent.spawn(self._transcribe, owner, facts, path, kind_name, hook,
                         rest[0] if rest else DEFAULT_DIALECT)

    def _send_record_callback(self, fs_room: str, owner: MemberFacts, hook: Webhook,
                              facts: RecordingFacts, dialect: str, timestamp_us: int = 0,
                              kind: EventKind = EventKind.RECORDING_COMPLETED) -> None:
        if self.cluster is not None and not self.cluster.once(
                f"rec:{owner.conference_uuid}:{facts.recording_id}:{kind.value}"):
            return  # another controller connected to this node reports it
        room = self.rooms.get(fs_room)
        event = EngineEvent(kind, room=owner.room, conference_uuid=owner.conference_uuid,
                            member=owner, recording=facts, timestamp_us=timestamp_us,
                            call_status=CallStatus.IN_PROGRESS,
                            sequence=room.next_sequence() if room is not None else 0)
        self.notifier.emit(event, hook, dialect, lane=f"rec:{fs_room}")

    def local_recording_path(self, recording_id: str, fmt: str) -> str:
        return os.path.join(self.recordings_local_dir, f"{recording_id}.{fmt}")

    def _transcribe(self, owner: MemberFacts, recording: RecordingFacts, fs_path: str,
                    kind: str, hook: Webhook, dialect: str) -> None:
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
        facts = TranscriptionFacts(owner, recording, kind, text=text, error=error)
        event = EngineEvent(EventKind.TRANSCRIPTION_DONE, room=owner.room,
                            conference_uuid=owner.conference_uuid, member=owner,
                            recording=recording, transcription=facts)
        self.notifier.emit(event, hook, dialect, lane=f"tx:{recording.recording_id}")
