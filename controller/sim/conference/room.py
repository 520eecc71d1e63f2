"""A conference room and its members (mod_conference's conference_obj_t/member_t).

The C module runs a conference thread that ticks every 20 ms; here the same
work (floor hand-over, MOH, auto-record, file queue, destruction) runs in a
``tick`` that is scheduled one frame after anything changes, so an idle room
costs nothing. Event headers, their order and URL encoding follow
conference_event_add_data / conference_member_add_event_data.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING

import gevent

from controller.sim.clock import FRAME
from controller.sim.conference.files import FileNode, RoomFiles
from controller.sim.conference.flags import (
    BASE_MEMBER_FLAGS,
    apply_conference_flags,
    apply_member_flags,
    suppressed_events,
)
from controller.sim.conference.member import Member
from controller.sim.conference.recording import Recorder, RoomRecording
from controller.sim.events import Block, Event
from controller.sim.fsutil import atoi, switch_false, switch_true

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.core import Core

SUBCLASS = "conference::maintenance"
LEADIN = 20  # CONF_DEFAULT_LEADIN frames
TALK_HANGOVER = 40  # frames of silence before stop-talking (conference_loop_input)
FLOOR_RAMP = (
    14  # frames of speech before the score beats SCORE_IIR_SPEAKING_MAX (+1 tick = 300 ms, 03a)
)
MOH_RETRY = 2.0  # seconds before a failed MOH start is retried (moh_wait)

ORIGINS = {
    "conference-create": ("mod_conference.c", "conference_new", 3848),
    "conference-destroy": ("mod_conference.c", "conference_thread_run", 863),
    "add-member": ("conference_member.c", "conference_member_add", 962),
    "del-member": ("conference_member.c", "conference_member_del", 1355),
    "floor-change": ("conference_member.c", "conference_member_set_floor_holder", 1158),
    "start-talking": ("conference_loop.c", "conference_loop_input", 1154),
    "stop-talking": ("conference_loop.c", "stop_talking_handler", 783),
    "mute-detect": ("conference_loop.c", "conference_loop_input", 1168),
    "play-file": ("conference_file.c", "conference_file_play", 268),
    "play-file-done": ("conference_file.c", "conference_file_close", 52),
    "play-file-member-done": ("conference_file.c", "conference_file_close", 52),
    "start-recording": ("conference_record.c", "conference_record_thread_run", 319),
    "stop-recording": ("conference_record.c", "conference_record_thread_run", 427),
    "dtmf": ("conference_loop.c", "conference_loop_event", 619),
    "rejected-join-only": ("mod_conference.c", "conference_function", 2031),
    "energy-level": ("conference_loop.c", "conference_loop_energy_up", 329),
    "volume-level": ("conference_loop.c", "conference_loop_volume_talk_up", 435),
    "gain-level": ("conference_loop.c", "conference_loop_volume_listen_up", 513),
    "lock": ("conference_loop.c", "conference_loop_lock_toggle", 226),
    "unlock": ("conference_loop.c", "conference_loop_lock_toggle", 238),
    "execute_app": ("conference_loop.c", "conference_loop_exec_app", 692),
    "transfer": ("conference_loop.c", "conference_loop_transfer", 641),
}


class Conference(RoomFiles, RoomRecording):
    def __init__(self, core: Core, name: str, profile: str, channel: Channel) -> None:
        self.core = core
        self.name = name
        params = core.config.profiles.get(profile)
        self.profile_name = profile if params is not None else "none"
        self.params: dict[str, str] = {k.replace("_", "-"): v for k, v in (params or {}).items()}
        p = self.params
        self.uuid = str(uuidlib.uuid4())
        self.rate = atoi(p.get("rate", "8000")) or 8000
        self.interval = atoi(p.get("interval", "20")) or 20
        self.energy_level = max(0, atoi(p.get("energy-level", "0")))
        self.caller_controls = p.get("caller-controls")
        self.moderator_controls = p.get("moderator-controls")
        self.ivr_dtmf_timeout = max(500, atoi(p.get("ivr-dtmf-timeout", "500")))
        moh = p.get("moh-sound")
        self.moh_sound = moh if moh and moh not in ("silence", "indicate_hold") else None
        self.tmp_moh_sound: str | None = None
        self.perpetual_sound = p.get("perpetual-sound") or None
        self.enter_sound = p.get("enter-sound") or None
        self.exit_sound = p.get("exit-sound") or None
        self.alone_sound = p.get("alone-sound") or None
        self.muted_sound = p.get("muted-sound") or None
        self.unmuted_sound = p.get("unmuted-sound") or None
        self.deaf_sound = p.get("deaf-sound") or None
        self.undeaf_sound = p.get("undeaf-sound") or None
        self.kicked_sound = p.get("kicked-sound") or None
        self.locked_sound = p.get("locked-sound") or None
        self.is_locked_sound = p.get("is-locked-sound") or None
        self.is_unlocked_sound = p.get("is-unlocked-sound") or None
        self.maxmember_sound = p.get("max-members-sound") or None
        self.member_enter_sound = p.get("member-enter-sound") or None
        self.sound_prefix = p.get("sound-prefix") or channel.get_var("sound_prefix") or None
        self.caller_id_name = p.get("caller-id-name") or "conference"
        self.caller_id_number = p.get("caller-id-number") or "0000000000"
        self.tts_engine = p.get("tts-engine") or None
        self.tts_voice = p.get("tts-voice") or None
        self.pin = p.get("pin") or None
        self.mpin = p.get("moderator-pin") or None
        max_members = atoi(p.get("max-members", "0"))
        self.max_members = max_members if max_members > 1 else 0
        self.announce_count = atoi(p.get("announce-count", "0"))
        self.auto_record = p.get("auto-record") or None
        self.min_recording_participants = (
            2 if p.get("min-required-recording-participants") == "2" else 1
        )
        self.endconference_grace_time = max(0, atoi(p.get("endconf-grace-time", "0")))
        self.verbose_events = switch_true(p.get("verbose-events"))
        self.suppressed = suppressed_events(p.get("suppress-events"))
        self.domain = self._domain(channel)
        self.mflags = apply_member_flags(p.get("member-flags"), set(BASE_MEMBER_FLAGS))
        self.flags: set[str] = apply_conference_flags(p.get("conference-flags"), set())
        self.flags |= {"enter_sound", "exit_sound"}
        self.members: list[Member] = []  # newest first, as conference->members
        self.count = 0
        self.count_ghosts = 0
        self.min = 1
        self.floor_holder = 0
        self.variables: dict[str, str] = {}
        self._data_key: tuple | None = None
        self._data = Block([])
        self.fnodes: list[FileNode] = []
        self.async_fnode: FileNode | None = None
        self.moh_wait_until = 0.0
        self.records: list[Recorder] = []  # rec_node_head, newest first
        self.record_count = 0
        self.auto_recording = 0
        self.record_filename: str | None = None
        self.end_count = 0
        self.endconference_time = 0.0
        self.relationship_total = 0
        self.run_time = core.clock.now()
        self.holders: set[str] = set()  # channels still inside conference_function
        self.destructing = False
        self._destruct_seen = False
        self.destroyed = gevent.event.Event()
        self._tick_pending: gevent.Greenlet | None = None
        self.talk_spans: list[tuple[float, float | None]] = []
        for name, value in core.global_vars.items():
            if name.startswith("confvar_"):
                self.variables[name[8:]] = value
        for name, value in channel.variables.items():
            if name.startswith("confvar_"):
                self.variables[name[8:]] = value

    def _domain(self, channel: Channel) -> str:
        if "@" in self.name:
            return self.name.split("@", 1)[1]
        if self.params.get("domain"):
            return self.params["domain"]
        presence = channel.get_var("presence_id")
        if presence and "@" in presence:
            return presence.split("@", 1)[1]
        return "cluecon.com"

    # ------------------------------------------------------------ events
    def allowed(self, name: str) -> bool:
        return name not in self.suppressed

    def data(self) -> list[tuple[str, str]]:
        """conference_event_add_data (reused while its values stay the same)."""
        return self.data_block().pairs

    def data_block(self) -> Block:
        """data() as an event Block (made again when one of its values changed)."""
        key = (self.count, self.count_ghosts, self.profile_name, *self.variables.items())
        if self._data_key != key:
            self._data = Block(
                [
                    ("Conference-Name", self.name),
                    ("Conference-Domain", self.domain),
                    ("Conference-Size", str(self.count)),
                    ("Conference-Ghosts", str(self.count_ghosts)),
                    ("Conference-Profile-Name", self.profile_name),
                    ("Conference-Unique-ID", self.uuid),
                    *[(k, v) for k, v in self.variables.items() if v],
                ],
                previous=self._data,
            )
            self._data_key = key
        return self._data

    def member_data(self, member: Member) -> list[tuple[str, str]]:
        """conference_member_add_event_data (every value non-empty: see fire_member)."""
        pairs: list[tuple[str, str]] = []
        if member.conference is not None:
            pairs += self.data()
            pairs.append(("Floor", "true" if member.id == self.floor_holder else "false"))
        channel = member.channel
        if channel is not None:
            pairs += channel.full_data() if self.verbose_events else channel.basic_data()
            pairs.append(("Video", "false"))
        pairs += self._member_tail(member)
        return pairs

    @staticmethod
    def _member_tail(member: Member) -> tuple[tuple[str, str], ...]:
        f = member.flags
        return (
            ("Hear", "true" if "can_hear" in f else "false"),
            ("See", "true" if "can_be_seen" in f else "false"),
            ("Speak", "true" if "can_speak" in f else "false"),
            ("Talking", "true" if "talking" in f else "false"),
            ("Mute-Detect", "true" if "mute_detect" in f else "false"),
            ("Hold", "true" if "hold" in f else "false"),
            ("Member-ID", str(member.id)),
            ("Member-Type", "moderator" if "moderator" in f else "member"),
            ("Member-Ghost", "true" if "ghost" in f else "false"),
            ("Energy-Level", str(member.energy_level)),
            ("Current-Energy", str(member.score)),
        )

    def new_event(self, action: str, origin: tuple[str, str, int] | None = None) -> Event:
        return self.core.bus.create(
            "CUSTOM", origin or ORIGINS.get(action, ("mod_conference.c", "", 0)), SUBCLASS
        )

    def fire(self, event: Event) -> None:
        self.core.bus.fire(event)

    def fire_conf(
        self,
        action: str,
        extra: list[tuple[str, str]] = (),
        origin: tuple[str, str, int] | None = None,
    ) -> None:
        """An event with the conference block, then Action, then ``extra``."""
        event = self.new_event(action, origin)
        event.extend(self.data())
        event.add("Action", action)
        event.extend(list(extra))
        self.fire(event)

    def fire_member(
        self,
        member: Member,
        action: str,
        extra: list[tuple[str, str]] = (),
        origin: tuple[str, str, int] | None = None,
    ) -> None:
        """An event with the member block, then Action, then ``extra``."""
        event = self.new_event(action, origin)
        channel = member.channel
        if self.verbose_events:
            event.extend(self.member_data(member))
        else:
            # the hot path of every member event: the conference and channel
            # blocks come with their serialisation (values never empty)
            if member.conference is not None:
                event.add_block(self.data_block())
                event.headers.append(
                    ("Floor", "true" if member.id == self.floor_holder else "false")
                )
            if channel is not None:
                event.add_block(channel.basic_block())
                event.headers.append(("Video", "false"))
            event.headers += self._member_tail(member)
        event.add("Action", action)
        if extra:
            event.extend(list(extra))
        self.fire(event)

    # ------------------------------------------------------------ lookup
    def callers(self) -> list[Member]:
        return [m for m in self.members if m.channel is not None]

    def get_member(self, member_id: int) -> Member | None:
        """conference_member_get: only running members with a channel or a recorder."""
        for member in self.members:
            if member.id == member_id:
                if not member.running and member.channel is not None:
                    return None
                return member
        return None

    def member_by_var(self, var: str, value: str) -> Member | None:
        """conference_member_get_by_var: a channel variable or caller-profile field."""
        for member in self.members:
            if member.channel is None or not member.running:
                continue
            if member.channel.lookup().get(var) == value:
                return member
        return None

    def member_by_str(self, text: str) -> Member | None:
        """conference_member_get_by_str: ``last``, an id, or var=value."""
        if text == "last":
            best = None
            for member in self.members:
                if best is None or member.id > best.id:
                    best = member
            return best if best is not None and best.channel is not None else None
        if "=" in text:
            var, _, value = text.partition("=")
            return self.member_by_var(var, value)
        member_id = atoi(text)
        return self.get_member(member_id) if member_id > 0 else None

    # ------------------------------------------------------------ ticking
    def poke(self) -> None:
        """Run the conference thread's work on the next 20 ms tick."""
        if self._tick_pending is None and not self.destroyed.is_set():
            self._tick_pending = self.core.spawn_later(FRAME, self._tick)

    def _tick(self) -> None:
        self._tick_pending = None
        if self.destroyed.is_set():
            return
        # The thread checks CFLAG_DESTRUCT at the top of its loop: a flag set
        # during one pass ends the room on the next (capture 03e).
        if self._destruct_seen:
            self._destroy()
            return
        self._floor_tick()
        if "destruct" not in self.flags:
            self._moh_tick()
            self._auto_record_tick()
        self._recorders_tick()
        self._grace_tick()
        if "destruct" in self.flags:
            self._destruct_seen = True
            self.poke()

    def _floor_tick(self) -> None:
        """conference_thread_run: give a free floor away, or to a louder talker.

        set_floor_holder zeroes floor_holder_score_iir, so within one pass the
        floor can move on to the next loud member (capture 03b2).
        """
        holder = self.get_member(self.floor_holder) if self.floor_holder else None
        holder_quiet = not _speaking(holder)
        now = self.core.clock.now()
        for member in self.members:
            if member.channel is None or not member.running:
                continue
            if not self.floor_holder or (
                member.id != self.floor_holder and _loud(member, now) and holder_quiet
            ):
                self.set_floor_holder(member)
                holder_quiet = True

    def _moh_tick(self) -> None:
        now = self.core.clock.now()
        if now < self.moh_wait_until:
            self.core.spawn_later(self.moh_wait_until - now, self.poke)
            return
        moh = self.tmp_moh_sound or self.moh_sound
        nomoh = sum(
            1 for m in self.members if m.channel is not None and m.running and m.has("nomoh")
        )
        if "no_moh" in self.flags:
            nomoh += 1
        ok = True
        if self.perpetual_sound and self.async_fnode is None:
            ok = self.file_play(self.perpetual_sound, LEADIN, None, True) == "ok"
        elif (
            moh
            and ((nomoh == 0 and self.count == 1) or "wait_mod" in self.flags)
            and self.async_fnode is None
            and not self.fnodes
        ):
            ok = self.file_play(moh, LEADIN, None, True) == "ok"
        if not ok:
            self.moh_wait_until = now + MOH_RETRY
            self.core.spawn_later(MOH_RETRY, self.poke)

    def _auto_record_tick(self) -> None:
        if (
            self.auto_record
            and not self.auto_recording
            and self.count >= self.min_recording_participants
        ):
            self.auto_recording += 1
            self.record_count += 1
            first = self.members[0] if self.members else None
            if first is not None and first.channel is not None:
                from controller.sim.session import expand

                path = expand(first.channel, self.auto_record)
                self.record_filename = path
                self.start_recording(path, autorec=True)
                for member in self.callers():
                    member.channel.set_var("conference_recording", self.record_filename)
                    member.channel.set_var("conference_recording_canvas", "1")

    def _recorders_tick(self) -> None:
        for rec in list(self.records):
            member = rec.member
            if member is not None and (not member.running or self.count + self.count_ghosts == 0):
                self.finish_recording(rec)

    def _grace_tick(self) -> None:
        if not self.end_count and self.endconference_time:
            left = self.endconference_grace_time - (self.core.clock.now() - self.endconference_time)
            if left < 0:
                self.flags.add("destruct")
            else:
                self.core.spawn_later(left + FRAME, self.poke)

    # ------------------------------------------------------------ floor
    def set_floor_holder(self, member: Member | None) -> None:
        """conference_member_set_floor_holder (Old-ID is 'none' if the old holder left)."""
        if member is not None and self.floor_holder == member.id:
            return
        old = self.floor_holder
        self.floor_holder = member.id if member is not None else 0
        old_id = str(old) if old and self.get_member(old) is not None else "none"
        if not self.allowed("floor-change"):
            return
        event = self.new_event("floor-change")
        event.extend(self.data())
        event.add("Action", "floor-change")
        event.add("Old-ID", old_id)
        if member is not None:
            event.extend(self.member_data(member))
            event.add("New-ID", str(member.id))
        else:
            event.add("New-ID", "none")
        self.fire(event)

    # ------------------------------------------------------------ membership
    def add_member(self, member: Member) -> None:
        """conference_member_add (callers and recording nodes)."""
        core = self.core
        member.join_time = core.clock.now()
        member.conference = self
        member.energy_level = self.energy_level
        if member.channel is None:
            self.members.insert(0, member)
            return
        channel = member.channel
        if member.has("ghost"):
            self.count_ghosts += 1
        else:
            self.count += 1
        if member.has("endconf"):
            self.endconference_time = 0.0
        if member.has("mandatory_member_endconf"):
            if self.end_count:
                self.endconference_time = 0.0
            self.end_count += 1
        for name, lo, hi, attr in (
            ("conference_join_volume_in", -5, 5, "volume_in"),
            ("conference_join_volume_out", -5, 5, "volume_out"),
            ("conference_join_energy_level", -2, 1801, "energy_level"),
        ):
            value = channel.get_var(name)
            if value is not None and lo < atoi(value) < hi:
                setattr(member, attr, atoi(value))
        channel.set_var("conference_member_id", str(member.id))
        channel.set_var("conference_moderator", "true" if member.has("moderator") else "false")
        channel.set_var("conference_ghost", "true" if member.has("ghost") else "false")
        channel.set_var("conference_recording", self.record_filename)
        channel.set_var("conference_uuid", self.uuid)
        if not channel.get_var("conference_call_key"):
            channel.set_var(
                "conference_call_key",
                f"conference_{self.name}_{self.domain}_"
                f"{channel.get_var('caller_id_number') or channel.leg.caller_id}",
            )
        if "wait_mod" in self.flags and member.has("moderator"):
            self.flags.discard("wait_mod")
        silent = member.has("silent_entry")
        if self.count > 1:
            permanent = switch_true(channel.get_var("conference_permanent_wait_mod_moh"))
            if ((self.moh_sound or self.tmp_moh_sound) and "wait_mod" not in self.flags) or (
                "wait_mod" in self.flags and not permanent
            ):
                self.file_stop("async")
                self.flags.discard("no_moh")
            if not silent and "enter_sound" in self.flags and not member.has("silent"):
                sound = channel.get_var("conference_enter_sound") or self.enter_sound
                self.file_play(sound, LEADIN, channel, False)
        if not silent:
            if self.announce_count > 1 and self.count >= self.announce_count:
                self.say(f"There are {self.count} callers", LEADIN)
            elif self.count == 1 and not self.perpetual_sound and "wait_mod" not in self.flags:
                if self.alone_sound and not member.has("ghost"):
                    self.file_stop("async")
                    self.file_play(self.alone_sound, LEADIN, channel, False)
        if self.min and self.count >= self.min:
            self.flags.add("enforce_min")
        if not silent:
            self.fire_member(member, "add-member")
        self.members.insert(0, member)
        self.poke()

    def del_member(self, member: Member) -> None:
        """conference_member_del."""
        channel = member.channel
        exit_sound = channel.get_var("conference_exit_sound") if channel is not None else None
        if exit_sound:
            self.file_play(exit_sound, LEADIN, channel, False)
        for node in list(member.fnodes):
            self._close_file(node)
        member.fnodes.clear()
        member.controls = None
        if member in self.members:
            self.members.remove(member)
        if member.id == self.floor_holder:
            self.set_floor_holder(None)
        self._talk_span(False)
        if channel is None:
            member.conference = None
            return
        if member.has("ghost"):
            self.count_ghosts -= 1
        else:
            self.count -= 1
        if member.has("endconf"):
            self.flags.add("destruct")
        if member.has("mandatory_member_endconf"):
            self.end_count -= 1
            if not self.end_count:
                self.endconference_time = self.core.clock.now()
        channel.set_var("conference_call_key", None)
        if (
            "enforce_min" in self.flags and self.min and self.count + self.count_ghosts < self.min
        ) or ("dynamic" in self.flags and self.count + self.count_ghosts == 0):
            self.flags.add("destruct")
        else:
            if (
                not switch_true(channel.get_var("conference_permanent_wait_mod_moh"))
                and "wait_mod" in self.flags
            ):
                self.file_stop("async")
            if (
                not exit_sound
                and self.exit_sound
                and "exit_sound" in self.flags
                and not member.has("silent")
            ):
                self.file_play(self.exit_sound, 0, channel, False)
            if (
                self.count == 1
                and self.alone_sound
                and "wait_mod" not in self.flags
                and not member.has("ghost")
            ):
                self.file_stop("async")
                self.file_play(self.alone_sound, 0, channel, False)
        if self.allowed("del-member"):
            self.fire_member(member, "del-member")
        member.conference = None
        self.poke()

    def release(self, key: str) -> None:
        """A conference_function let go of the room (its rwlock read unlock)."""
        self.holders.discard(key)
        if "destruct" in self.flags and not self.holders:
            self.poke()
        self._maybe_finish_destroy()

    # ------------------------------------------------------------ talking
    def talking_changed(self, member: Member) -> None:
        """Audio from a member's phone started or stopped (conference_loop_input)."""
        channel = member.channel
        if channel is None or member.conference is not self or not member.running:
            return
        now = self.core.clock.now()
        can_detect = (member.has("can_speak") and not member.has("hold")) or member.has(
            "mute_detect"
        )
        if channel.audio_active:
            if member.stop_timer is not None:
                member.stop_timer.kill(block=False)
                member.stop_timer = None
            if not can_detect or member.has("talking"):
                return
            member.flags.add("talking")
            member.talk_started = now
            member.last_talking = now
            member.score = 175
            if member.has("can_speak") and not member.has("hold") and self.allowed("start-talking"):
                self.fire_member(member, "start-talking")
            if (
                member.has("mute_detect")
                and not member.has("can_speak")
                and self.allowed("mute-detect")
            ):
                self.fire_member(member, "mute-detect")
            self._talk_span(True)
            self.core.spawn_later(FLOOR_RAMP * FRAME, self.poke)
            self.poke()
        elif member.has("talking") and member.stop_timer is None:
            member.stop_timer = self.core.spawn_later(
                TALK_HANGOVER * FRAME, self._stop_talking, member
            )

    def _stop_talking(self, member: Member) -> None:
        member.stop_timer = None
        channel = member.channel
        if channel is None or channel.audio_active or not member.has("talking"):
            return
        if not (member.has("can_speak") and not member.has("hold")):
            return
        member.flags.discard("talking")
        started = member.talk_started or self.core.clock.now()
        member.talk_started = None
        member.score = 0
        frames = max(1, int((self.core.clock.now() - started) / FRAME))
        self._talk_span(False)
        if self.allowed("stop-talking"):
            stats = [
                ("talking-gate-hits", str(frames)),
                ("talking-total-packets", str(frames + 2)),
                ("talking-duration-ms", str((frames + 2) * self.interval)),
                ("talking-average-energy", "1281.165049"),
                ("talking-delta-average", "472.111650"),
                ("talking-hit-on-percent", f"{frames / (frames + 2) * 100:f}"),
                ("talking-non-hit-ratio", "0.485437"),
                ("talking-hit-off-percent", f"{1 / (frames + 2) * 100:f}"),
                ("talking-hit-off-differential", f"{(frames - 1) / (frames + 2) * 100:f}"),
            ]
            event = self.new_event("stop-talking")
            event.extend(self.member_data(member))
            event.extend(stats)
            event.add("Action", "stop-talking")
            self.fire(event)
        self.poke()

    def clear_talking(self, member: Member) -> None:
        """mute/hold drop MFLAG_TALKING without a stop-talking event."""
        if member.has("talking"):
            member.flags.discard("talking")
            member.score = 0
            member.talk_started = None
            self._talk_span(False)
        if member.stop_timer is not None:
            member.stop_timer.kill(block=False)
            member.stop_timer = None

    def _talk_span(self, started: bool) -> None:
        """Track when anyone audible is speaking (recordings carry a tone then)."""
        speaking = any(
            m.has("talking") and m.has("can_speak") and not m.has("hold")
            for m in self.members
            if m.channel is not None
        )
        now = self.core.clock.now()
        for rec in self.records:
            if speaking and rec.loud_open is None and rec.paused_since is None:
                rec.loud_open = rec.file_ms(now)
            elif not speaking and rec.loud_open is not None:
                rec.loud.append((rec.loud_open, rec.file_ms(now)))
                rec.loud_open = None

    # ------------------------------------------------------------ variables
    def set_variable(self, name: str, value: str | None) -> None:
        self.variables.pop(name, None)
        if value:
            self.variables[name] = value

    # ------------------------------------------------------------ destruction
    def _destroy(self) -> None:
        """The end of conference_thread_run: hang up the members, wait, destroy."""
        if self.destructing:
            return
        self.destructing = True
        if self.core.conferences.get(self.name) is self:
            del self.core.conferences[self.name]
        for node in [self.async_fnode, *self.fnodes]:
            if node is not None:
                node.done = True
        for member in list(self.members):
            if member.channel is not None:
                if not switch_false(member.channel.get_var("hangup_after_conference")):
                    member.channel.hangup("NORMAL_CLEARING")
                member.flags.discard("running")
                member.poke()
        if self.async_fnode is not None:
            node, self.async_fnode = self.async_fnode, None
            self._close_file(node)
        for node in self.fnodes:
            self._close_file(node)
        self.fnodes.clear()
        for rec in list(self.records):
            self.finish_recording(rec)
        self._maybe_finish_destroy()

    def _maybe_finish_destroy(self) -> None:
        if not self.destructing or self.destroyed.is_set():
            return
        if self.holders or any(not r.finished for r in self.records):
            return
        self.fire_conf("conference-destroy")
        self.destroyed.set()


def _speaking(member: Member | None) -> bool:
    """Is the floor holder's score still high (talking and audible)?"""
    if member is None:
        return False
    return member.has("talking") and member.has("can_speak") and not member.has("hold")


def _loud(member: Member, now: float) -> bool:
    """score_iir > SCORE_IIR_SPEAKING_MAX: talking long enough to win the floor."""
    return (
        _speaking(member)
        and member.talk_started is not None
        and now - member.talk_started >= FLOOR_RAMP * FRAME - 1e-9
    )
