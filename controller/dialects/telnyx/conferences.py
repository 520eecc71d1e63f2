"""/v2/conferences: Telnyx conferences on the engine's rooms.

A conference is a room whose creator is the call named by ``call_control_id``;
its id is FreeSWITCH's Conference-Unique-ID, learnt when that call has joined
(the create answers once it has). The room's webhooks (created, participant
joined/left, ended, recording saved) go to the creator's webhook URL with the
creator's ``client_state``, through the engine's RoomHooks, so they survive a
controller restart (cc_room). What Telnyx keeps about a conference after it
ended (status completed, end_reason) is kept here, in memory.

Supervisor roles use the engine's coaching (``RoomManager.set_coach``: relate
nospeak, capture 07b): whisper = heard only by ``whisper_call_control_ids``,
monitor = heard by nobody, barge/none = heard by everyone.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Any

import gevent

from controller.api.actions import ConferenceActions
from controller.api.errors import ApiError
from controller.api.listing import members_view
from controller.calls import JoinRoom
from controller.conference.events import MemberFacts
from controller.conference.rooms import RoomError
from controller.dialects.telnyx.confmedia import ConferenceMedia, Expected
from controller.dialects.telnyx.ids import call_control_id, call_uuid
from controller.dialects.telnyx.inputs import (
    Fields,
    TelnyxApiError,
    call_gone,
    invalid,
    not_found,
    unsupported,
)
from controller.dialects.telnyx.state import CALLS
from controller.dialects.telnyx.webhooks import ROOM_TAG, iso
from controller.freeswitch import conference as fsconf
from controller.freeswitch import replies
from controller.freeswitch.args import UnsafeArgument, tts_file
from controller.freeswitch.names import BadRoomName, fs_room_name
from controller.media import tts_voice
from controller.media_cache import MediaError
from controller.model import (
    ConferenceJoin,
    EventKind,
    HttpMethod,
    RoomHooks,
    Sound,
    SoundKind,
    Webhook,
)

LIFETIME = 4 * 3600  # Telnyx: conferences expire 4 hours after creation
JOIN_TIMEOUT = 10.0  # seconds for a call to be in the room before the API gives up
KEEP_ENDED = 1000  # ended conferences remembered for retrieve/list
ROOM_EVENTS = frozenset({EventKind.ROOM_CREATED, EventKind.ROOM_ENDED, EventKind.MEMBER_JOINED,
                         EventKind.MEMBER_LEFT, EventKind.RECORDING_COMPLETED})
BEEPS = ("always", "never", "on_enter", "on_exit")
ROLES = ("barge", "monitor", "none", "whisper")
END_REASON_VAR = "cc_end_reason"
ACTIONS = ("join", "leave", "mute", "unmute", "hold", "unhold", "speak", "play", "stop",
           "send_dtmf", "record_start", "record_stop", "record_pause", "record_resume",
           "update", "end")  # read by the room manager at conference-destroy


@dataclass
class ConferenceRecord:
    id: str
    name: str
    created_us: int
    connection_id: str
    client_state: str
    beep: str
    hold_sound: str
    started: bool
    held_for_start: set[str] = field(default_factory=set)  # call uuids on hold until start
    end_reason: str = ""
    updated_us: int = 0
    hook: Webhook | None = None  # the creator's webhook URL: the room's webhooks


def _now_us() -> int:
    return int(time.time() * 1e6)


def _sounds(beep: str) -> dict[str, Sound]:
    beep_sound = Sound(SoundKind.BEEP_ONE)
    return {"enter_sound": beep_sound if beep in ("always", "on_enter") else Sound(),
            "exit_sound": beep_sound if beep in ("always", "on_exit") else Sound()}


class ConferenceFace:
    def __init__(self, service: Any):
        self.service = service
        self.native = ConferenceActions(service)
        self.media = ConferenceMedia(service)
        self.records: Any = collections.OrderedDict()  # id -> ConferenceRecord, oldest first
        cluster = getattr(service, "cluster", None)
        if cluster is not None:  # any controller uses a conference another one created
            from controller.cluster.conference_records import SharedRecords

            self.records = SharedRecords(cluster.shared, "telnyx", ConferenceRecord, LIFETIME)

    # ------------------------------------------------------------ lookups
    @property
    def prefix(self) -> str:
        return self.service.settings.freeswitch.room_prefix

    def fs_room(self, record: ConferenceRecord) -> str:
        return fs_room_name(record.name, self.prefix)

    def live(self, record: ConferenceRecord) -> bool:
        room = self.service.rooms.rooms.get(self.fs_room(record))
        return room is not None and room.uuid == record.id

    def record(self, id_or_name: str) -> ConferenceRecord:
        """By id, or by name (Telnyx accepts either): the newest of that name."""
        if id_or_name in self.records:
            return self.records[id_or_name]
        for record in reversed(self.records.values()):
            if record.name == id_or_name:
                return record
        raise not_found(f"no conference with id or name {id_or_name[:80]!r}")

    def live_record(self, id_or_name: str) -> ConferenceRecord:
        record = self.record(id_or_name)
        if not self.live(record) and self._on_node(record) is None:
            raise TelnyxApiError(422, "90019", "Conference has ended",
                                 f"conference {record.id} has ended")
        return record

    def call(self, control_id: str, pointer: str = "call_control_id") -> Any:
        uuid = call_uuid(control_id)
        # find: in a cluster, a call another controller runs is forwarded there
        call = self.service.engine.calls.find(uuid) if uuid else None
        if call is None or call.session.hungup.is_set():
            error = call_gone(control_id)
            error.pointer = f"/{pointer}"
            raise error
        return call

    def member_id(self, record: ConferenceRecord, uuid: str, pointer: str) -> int:
        room = self.service.rooms.rooms.get(self.fs_room(record))
        for member in (room.members.values() if room else ()):
            if member.call_uuid == uuid:
                return int(member.member_id)
        for member in (self._on_node(record) or {}).get("members") or []:
            if member.get("type") == "caller" and member.get("uuid") == uuid:
                return int(member["id"])
        raise invalid(pointer, f"call {call_control_id(uuid)} is not in conference {record.id}")

    def _on_node(self, record: ConferenceRecord) -> dict[str, Any] | None:
        """In a cluster, FreeSWITCH's own listing of the conference when this controller's
        view (built from events) may lag behind another controller that just changed it
        (created it, joined a call); None when it is not live, or on a single node."""
        if getattr(self.service, "cluster", None) is None:
            return None
        from controller.esl import EslError

        try:
            found = replies.parse_listing(self.service.esl.api(fsconf.json_list(
                self.fs_room(record))))
        except (EslError, replies.ListingError):
            return None
        return next((c for c in found if c.get("conference_uuid") == record.id), None)

    def targets(self, record: ConferenceRecord, fields: Fields, required: bool = False
                ) -> list[int] | None:
        """Member ids of ``call_control_ids`` (None: the whole room)."""
        ids = fields.id_list("call_control_ids", required)
        if ids is None:
            return None
        if not ids:
            raise invalid("call_control_ids", "must name at least one call")
        return [self.member_id(record, call_uuid(i), "call_control_ids") for i in ids]

    # ------------------------------------------------------------ views
    def view(self, record: ConferenceRecord) -> dict[str, Any]:
        live = self.live(record)
        data: dict[str, Any] = {
            "record_type": "conference", "id": record.id, "name": record.name,
            "created_at": iso(record.created_us),
            "expires_at": iso(record.created_us + LIFETIME * 1_000_000),
            "updated_at": iso(record.updated_us or record.created_us),
            "connection_id": record.connection_id,
            "status": ("in_progress" if record.started else "init") if live else "completed",
        }
        if not live:
            data["end_reason"] = record.end_reason or "all_left"
        return data

    def listing(self, args: Any) -> dict[str, Any]:
        name, status = args.get("filter[name]"), args.get("filter[status]")
        views = [self.view(r) for r in reversed(self.records.values())
                 if name is None or r.name == name]
        if status is not None:
            views = [v for v in views if v["status"] == status]
        return {"data": views, "meta": {"page_number": 1, "page_size": len(views),
                                        "total_pages": 1, "total_results": len(views)}}

    def participants(self, id_or_name: str, args: Any) -> dict[str, Any]:
        record = self.record(id_or_name)
        views = []
        if self.live(record):
            try:
                conference = self.native.conference(record.name)
            except ApiError:
                conference = {}
            coaching = self.service.rooms.coaching(self.fs_room(record))
            for member in members_view(conference, time.time(), {}):
                uuid = member["call_uuid"]
                heard_by = coaching.get(str(member["member_id"]))
                views.append({
                    "record_type": "participant", "id": uuid,
                    "call_control_id": call_control_id(uuid), "call_leg_id": uuid,
                    "conference": {"id": record.id, "name": record.name},
                    "created_at": member["joined_at"], "updated_at": member["joined_at"],
                    "end_conference_on_exit": member["end_conference_on_exit"],
                    "soft_end_conference_on_exit": False,
                    "muted": member["muted"] and not member["on_hold"],
                    "on_hold": member["on_hold"], "status": "joined",
                    "whisper_call_control_ids": sorted(call_control_id(u) for u in heard_by)
                    if heard_by else [],
                })
        for flag in ("muted", "on_hold"):
            wanted = args.get(f"filter[{flag}]")
            if wanted is not None:
                views = [v for v in views if str(v[flag]).lower() == wanted.lower()]
        return {"data": views, "meta": {"page_number": 1, "page_size": len(views),
                                        "total_pages": 1, "total_results": len(views)}}

    # ------------------------------------------------------------ create / join
    def create(self, fields: Fields) -> dict[str, Any]:
        fields.only(("call_control_id", "name", "beep_enabled", "client_state", "comfort_noise",
                     "command_id", "duration_minutes", "hold_audio_url", "max_participants",
                     "start_conference_on_create"),
                    {"hold_media_name": "there is no media storage here yet: give "
                                        "hold_audio_url (a WAV or MP3 URL)",
                     "region": "this controller is one region"})
        call = self.call(fields.text("call_control_id", required=True) or "")
        name = fields.text("name", required=True, max_len=100) or ""
        try:
            fs_room_name(name, self.prefix)
        except BadRoomName as exc:
            raise invalid("name", str(exc)) from None
        if self.service.rooms.rooms.get(fs_room_name(name, self.prefix)) is not None:
            raise invalid("name", f"a conference named {name!r} is running: join it "
                                  "(POST /v2/conferences/{id}/actions/join)")
        beep = fields.choice("beep_enabled", BEEPS, "never") or "never"
        client_state = fields.client_state() or ""
        # The conference profile's comfort-noise param decides (freeswitch-conf's profile
        # sets it, as the captures' did); there is no per-room switch to turn it off.
        if not fields.flag("comfort_noise", True):
            raise unsupported("comfort_noise", "comfort noise is the FreeSWITCH conference "
                                               "profile's comfort-noise param")
        minutes = fields.number("duration_minutes", 1, LIFETIME // 60)
        started = fields.flag("start_conference_on_create", True)
        hold_sound = self._sound(fields.text("hold_audio_url"), "hold_audio_url")
        hook = call.call_hook
        if hook is None:
            raise invalid("call_control_id", "this call has no webhook URL ([telnyx] "
                                             "webhook_url) for the conference's webhooks")
        join = ConferenceJoin(
            room=name, max_members=fields.number("max_participants", 2, 800, 250) or 250,
            time_limit=(minutes * 60) if minutes else LIFETIME,
            hold=not started, hold_sound=hold_sound if not started else "",
            room_hooks=RoomHooks(hook, ROOM_EVENTS, ROOM_TAG + client_state),
            callback=hook, floor_event=True,
            # Recordings report through the room's hooks (with the creator's client_state);
            # a record callback without a URL sends nothing (rooms: `if url:`).
            recording_callback=Webhook("", HttpMethod.POST),
            **_sounds(beep))
        if client_state:
            CALLS.get(call.uuid).client_state = client_state
        member = self._enter(call, join)
        record = ConferenceRecord(member.conference_uuid, name, _now_us(),
                                  CALLS.get(call.uuid).connection_id, client_state, beep,
                                  hold_sound, started)
        record.hook = hook
        if not started:
            record.held_for_start.add(call.uuid)
        self.records[record.id] = record
        while len(self.records) > KEEP_ENDED and not self.live(next(iter(self.records.values()))):
            self.records.popitem(last=False)
        return {"data": self.view(record)}

    def _sound(self, url: str | None, pointer: str) -> str:
        if not url:
            return ""
        try:
            return self.service.media.path_for(url)
        except MediaError as exc:
            raise invalid(pointer, str(exc)) from None

    def _enter(self, call: Any, join: ConferenceJoin) -> MemberFacts:
        """Put the call in the room and wait until FreeSWITCH says it is a member."""
        call.submit(JoinRoom(join))
        deadline = time.monotonic() + JOIN_TIMEOUT
        seen = False
        while time.monotonic() < deadline:
            current = call.member
            if current is not None and current.join is join:
                seen = True
                if current.member is not None:
                    return current.member
            elif seen:
                raise invalid("name", f"the call could not join {join.room!r}: the "
                                      "conference is full (max_participants)")
            if call.session.hungup.is_set():
                raise call_gone(call_control_id(call.uuid))
            gevent.sleep(0.02)
        raise TelnyxApiError(422, "90035", "Join timed out",
                             f"the call was not in {join.room!r} after {JOIN_TIMEOUT:g} s")

    def _join(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("call_control_id", "beep_enabled", "client_state", "command_id",
                     "end_conference_on_exit", "hold", "hold_audio_url", "mute",
                     "start_conference_on_enter", "supervisor_role",
                     "whisper_call_control_ids", "soft_end_conference_on_exit"),
                    {"hold_media_name": "no media storage here yet: give hold_audio_url",
                     "region": "this controller is one region"})
        call = self.call(fields.text("call_control_id", required=True) or "")
        if fields.flag("soft_end_conference_on_exit", False):
            raise unsupported("soft_end_conference_on_exit", "use end_conference_on_exit")
        beep = fields.choice("beep_enabled", BEEPS, record.beep) or record.beep
        client_state = fields.client_state()
        held = fields.flag("hold", False)
        starts = fields.flag("start_conference_on_enter", False)
        hold_sound = self._sound(fields.text("hold_audio_url"), "hold_audio_url")
        role = fields.choice("supervisor_role", ROLES, "none")
        whisper = fields.id_list("whisper_call_control_ids") or []
        if whisper and role != "whisper":
            raise invalid("whisper_call_control_ids", "only with supervisor_role whisper")
        wait = not record.started and not starts
        join = ConferenceJoin(
            room=record.name, muted=fields.flag("mute", False),
            end_on_exit=fields.flag("end_conference_on_exit", False),
            hold=held or wait, hold_sound=hold_sound or (record.hold_sound if wait else ""),
            coach=tuple(call_uuid(i) for i in whisper),
            callback=call.call_hook, floor_event=call.call_hook is not None,
            recording_callback=Webhook("", HttpMethod.POST), **_sounds(beep))
        if client_state is not None:
            CALLS.get(call.uuid).client_state = client_state
        member = self._enter(call, join)
        if role == "monitor":
            self._coach(record, int(member.member_id), [])
        if wait:
            record.held_for_start.add(call.uuid)
        if starts and not record.started:
            self._start(record)
        return {"data": {"result": "ok"}}

    def _start(self, record: ConferenceRecord) -> None:
        """The conference starts: who waited on hold for it hears the room."""
        record.started = True
        for uuid in sorted(record.held_for_start):
            try:
                self._api(record, fsconf.unhold(self.fs_room(record),
                                                self.member_id(record, uuid, "call_control_id")))
            except TelnyxApiError:
                pass  # left meanwhile
        record.held_for_start.clear()

    # ------------------------------------------------------------ actions
    def action(self, id_or_name: str, action: str, fields: Fields) -> dict[str, Any]:
        if action not in ACTIONS:
            raise not_found(f"no conference action {action[:40]!r}; known: "
                            + ", ".join(ACTIONS))
        handler = getattr(self, f"_{action}")
        record = self.live_record(id_or_name)
        answer = handler(record, fields)
        record.updated_us = _now_us()
        self.records[record.id] = record  # kept (shared in a cluster) with its changes
        return answer

    def _api(self, record: ConferenceRecord, command: str) -> str:
        from controller.esl import EslError

        try:
            reply = self.service.esl.api(command)
        except EslError as exc:
            raise TelnyxApiError(503, "10007", "FreeSWITCH unavailable", str(exc)) from None
        if not replies.ok(reply) or "-ERR" in reply:
            raise TelnyxApiError(422, "10015", "FreeSWITCH refused the command",
                                 reply.strip()[:200])
        return reply

    def _each(self, record: ConferenceRecord, verb: str, targets: list[int] | None,
              sound: str = "") -> dict[str, Any]:
        room = self.fs_room(record)
        for target in targets if targets is not None else ["all"]:
            if verb == "hold":
                self._api(record, fsconf.hold(room, target, sound))
            else:
                self._api(record, fsconf.member_command(room, verb, target))
        return {"data": {"result": "ok"}}

    def _leave(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("call_control_id", "command_id"),
                    {"beep_enabled": "the exit beep is chosen at join"})
        uuid = call_uuid(fields.text("call_control_id", required=True) or "")
        self.call(call_control_id(uuid))
        # kick: the call leaves the room and goes on waiting for commands (02a).
        self._api(record, fsconf.kick(self.fs_room(record),
                                      self.member_id(record, uuid, "call_control_id")))
        return {"data": {"result": "ok"}}

    def _mute(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("call_control_ids",))
        return self._each(record, "mute", self.targets(record, fields))

    def _unmute(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("call_control_ids",))
        return self._each(record, "unmute", self.targets(record, fields))

    def _hold(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("call_control_ids", "audio_url"),
                    {"media_name": "no media storage here yet: give audio_url"})
        sound = self._sound(fields.text("audio_url"), "audio_url")
        return self._each(record, "hold", self.targets(record, fields), sound)

    def _unhold(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("call_control_ids",))
        return self._each(record, "unhold", self.targets(record, fields, required=True))

    def _send_dtmf(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("digits", "call_control_ids", "client_state", "duration_millis"))
        digits = fields.text("digits", required=True, max_len=64) or ""
        if not all(c in "0123456789*#" for c in digits):
            raise invalid("digits", "only 0-9 * #")
        fields.client_state()
        fields.number("duration_millis", 100, 500)
        room = self.fs_room(record)
        for target in self.targets(record, fields) or ["all"]:
            self._api(record, fsconf.dtmf(room, target, digits))
        return {"data": {"result": "ok"}}

    def _play_file(self, record: ConferenceRecord, sound: str, targets: list[int] | None,
                   kind: str = "playback", media_url: str = "") -> dict[str, Any]:
        room = self.fs_room(record)
        try:
            commands = ([(fsconf.play(room, sound), "")] if targets is None
                        else [(fsconf.play(room, sound, t), str(t)) for t in targets])
        except UnsafeArgument as exc:
            raise invalid("audio_url", str(exc)) from None
        for command, member_id in commands:
            expected = None
            if record.hook is not None:
                # Said before the command: its play-file event may come before the reply.
                expected = Expected(record.hook, kind, media_url, record.id,
                                    record.connection_id, record.client_state, member_id)
                self.media.expect(room, sound, expected)
            try:
                self._api(record, command)
            except TelnyxApiError:
                if expected is not None:
                    self.media.forget(room, sound, expected)
                raise
        return {"data": {"result": "ok"}}

    def _speak(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        from controller.dialects.telnyx.rest import speak_media

        fields.only(("payload", "voice", "language", "payload_type", "call_control_ids",
                     "command_id"), {"voice_settings": "voices are [media] tts_voice_*",
                                     "region": "this controller is one region"})
        media = speak_media(fields)
        settings = self.service.settings.media
        sound = tts_file(settings.tts_engine, tts_voice(media, settings), media.text)
        return self._play_file(record, sound, self.targets(record, fields), "speak")

    def _play(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("audio_url", "call_control_ids", "loop"),
                    {"media_name": "no media storage here yet: give audio_url",
                     "region": "this controller is one region"})
        if fields.loop() != 1:
            raise unsupported("loop", "a conference plays a file once (mod_conference play)")
        url = fields.text("audio_url", required=True)
        sound = self._sound(url, "audio_url")
        return self._play_file(record, sound, self.targets(record, fields), "playback",
                               url or "")

    def _stop(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only((), {"call_control_ids": "stop ends what plays to the whole room"})
        self._api(record, fsconf.stop(self.fs_room(record)))
        return {"data": {"result": "ok"}}

    def _recording(self, record: ConferenceRecord, action: str, body: dict) -> dict[str, Any]:
        try:
            self.native.room_action(record.name, action, body)
        except ApiError as exc:
            raise TelnyxApiError(422 if exc.status < 500 else exc.status, "10015",
                                 "Recording command refused", exc.message) from None
        except RoomError as exc:
            raise TelnyxApiError(422, "10015", "Recording command refused", str(exc)) from None
        return {"data": {"result": "ok"}}

    def _record_start(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("format", "channels", "command_id"),
                    {"play_beep": "no beep before recordings here",
                     "trim": "recordings are kept whole",
                     "custom_file_name": "recordings are named by their recording_id",
                     "region": "this controller is one region"})
        fmt = fields.choice("format", ("wav", "mp3"), required=True)
        fields.choice("channels", ("single",))
        return self._recording(record, "record_start", {"format": fmt})

    def _record_control(self, record: ConferenceRecord, fields: Fields,
                        action: str) -> dict[str, Any]:
        fields.only(("command_id", "recording_id", "client_state"),
                    {"region": "this controller is one region"})
        fields.text("recording_id")  # one recording per room: it is that one
        fields.client_state()
        return self._recording(record, action, {})

    def _record_stop(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        return self._record_control(record, fields, "record_stop")

    def _record_pause(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        return self._record_control(record, fields, "record_pause")

    def _record_resume(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        return self._record_control(record, fields, "record_resume")

    def _update(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("call_control_id", "supervisor_role", "whisper_call_control_ids",
                     "command_id"), {"region": "this controller is one region"})
        uuid = call_uuid(fields.text("call_control_id", required=True) or "")
        role = fields.choice("supervisor_role", ROLES, required=True)
        whisper = fields.id_list("whisper_call_control_ids") or []
        if whisper and role != "whisper":
            raise invalid("whisper_call_control_ids", "only with supervisor_role whisper")
        if role == "whisper" and not whisper:
            raise invalid("whisper_call_control_ids", "whisper needs the calls that hear it")
        for other in whisper:
            self.member_id(record, call_uuid(other), "whisper_call_control_ids")
        heard_by = None if role in ("barge", "none") else [call_uuid(i) for i in whisper]
        self._coach(record, self.member_id(record, uuid, "call_control_id"), heard_by)
        return {"data": {"result": "ok"}}

    def _coach(self, record: ConferenceRecord, member_id: int,
               heard_by: list[str] | None) -> None:
        try:
            self.service.rooms.set_coach(self.fs_room(record), str(member_id), heard_by)
        except RoomError as exc:
            raise invalid("call_control_id", str(exc)) from None

    def _end(self, record: ConferenceRecord, fields: Fields) -> dict[str, Any]:
        fields.only(("command_id",))
        room = self.fs_room(record)
        record.end_reason = "ended_via_api"
        # The reason rides on the room's later events (setvar -> header, capture 02a),
        # so the room manager's conference-destroy carries it.
        self._api(record, fsconf.setvar(room, END_REASON_VAR, "ended_via_api"))
        # kick, not hup: every call goes on waiting for commands (02a, 07d).
        self._api(record, fsconf.kick(room, "all"))
        return {"data": {"result": "ok"}}
