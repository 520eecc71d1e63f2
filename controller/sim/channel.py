"""A simulated call leg: variables, states, the events a sofia channel fires.

This is the switch_channel_t of the simulator. It owns no greenlet: the
session greenlet (``session.py``) drives the dialplan, and anything else (a
phone's BYE, ``uuid_kill``, a DTMF packet) only changes state and wakes it.
"""

from __future__ import annotations

import dataclasses
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent.event

from controller.sim import sofia
from controller.sim.clock import FRAME
from controller.sim.events import Block, Event
from controller.sim.fsutil import CAUSES

if TYPE_CHECKING:
    from controller.sim.core import Core
    from controller.sim.digits import DigitMachine

STATE_NUMBERS = {
    "CS_NEW": 0, "CS_INIT": 1, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3, "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6, "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8,
    "CS_RESET": 9, "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12,
}  # fmt: skip

PCMA = ("PCMA", "8000", "64000")
L16 = ("L16", "8000", "128000")

# switch_caller_profile_event_set_data, in order (each prefixed "Caller-", "Channel-", ...)
PROFILE_FIELDS = (
    "Direction", "Logical-Direction", "Username", "Dialplan", "Caller-ID-Name",
    "Caller-ID-Number", "Orig-Caller-ID-Name", "Orig-Caller-ID-Number", "Network-Addr", "ANI",
    "Destination-Number", "Unique-ID", "Source", "Context", "Channel-Name", "Profile-Index",
    "Profile-Created-Time", "Channel-Created-Time", "Channel-Answered-Time",
    "Channel-Progress-Time", "Channel-Progress-Media-Time", "Channel-Hangup-Time",
    "Channel-Transfer-Time", "Channel-Resurrect-Time", "Channel-Bridged-Time",
    "Channel-Last-Hold", "Channel-Hold-Accum", "Screen-Bit", "Privacy-Hide-Name",
    "Privacy-Hide-Number",
)  # fmt: skip
_PROFILE_NAMES: dict[str, tuple[str, ...]] = {}


class _VariableNames(dict):
    """Variable name -> its event header name (``variable_<name>``), made once."""

    def __missing__(self, name: str) -> str:
        if len(self) > 100_000:
            self.clear()
        header = self[name] = f"variable_{name}"
        return header


_VARIABLE_NAMES = _VariableNames()

# (file, function, line) FreeSWITCH stamps on each channel event (from the captures)
ORIGIN = {
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", 602),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2409),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", 322),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3848),
    # No capture shows CHANNEL_PROGRESS; the line is the event's place in switch_channel.c,
    # counted back 121 lines from the CHANNEL_PROGRESS_MEDIA one the captures show (3593).
    "CHANNEL_PROGRESS": (
        "switch_channel.c",
        "switch_channel_perform_mark_ring_ready_value",
        3472,
    ),
    "CHANNEL_PROGRESS_MEDIA": (
        "switch_channel.c",
        "switch_channel_perform_mark_pre_answered",
        3593,
    ),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3447),
    "CHANNEL_HANGUP_COMPLETE": (
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
    ),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", 1685),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2949),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2972),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 1002),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", 1213),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", 678),
    "PRIVATE_COMMAND": ("switch_ivr.c", "switch_ivr_parse_next_event", 806),
    "PLAYBACK_START": ("switch_ivr_play_say.c", "switch_ivr_play_file", 1649),
    "PLAYBACK_STOP": ("switch_ivr_play_say.c", "switch_ivr_play_file", 2023),
}


class Channel:
    """One call leg as FreeSWITCH sees it (switch_channel_t + session data)."""

    def __init__(self, core: Core, leg: sofia.SipLeg, uuid: str | None = None) -> None:
        self.core = core
        self.leg = leg
        self.uuid = uuid or str(uuidlib.uuid4())
        self.name = sofia.channel_name(leg)
        now = core.clock.now_us()
        self.times: dict[str, int] = {
            "created": now, "answered": 0, "progress": 0, "progress_media": 0,
            "hangup": 0, "transfer": 0, "resurrect": 0, "bridged": 0, "last_hold": 0,
            "hold_accum": 0,
        }  # fmt: skip
        self.variables: dict[str, str] = {}
        # set_var counts its changes: the variables block is made again after one
        self._vars_version = 0
        self._vars_key: tuple[int, int] | None = None
        self._vars_block: Block | None = None
        # the lower-case form of every variable name ever set: get_var's
        # case-insensitive fallback scans only when the name may be there
        self._folded_vars: set[str] = set()
        for name, value in sofia.invite_variables(leg, self.uuid, now):
            self.set_var(name, value)
        self.running_state = "CS_NEW"
        self._basic_key: tuple | None = None
        self._basic: Block = Block([])
        self.state = "CS_NEW"
        self.callstate = "DOWN"
        self.answered = False
        self.early_media = False
        self.ringing = False  # 180 sent (ring_ready)
        self.hangup_cause: str | None = None
        self.hangup_complete = False
        self.destroyed = gevent.event.Event()
        self.read_codec = PCMA
        self.write_codec = PCMA
        # inputs the session greenlet consumes
        self.wake = gevent.event.Event()
        self.private_events: deque[Any] = deque()
        self.event_lock = 0  # CF_EVENT_LOCK is set recursively
        self.dtmf_queue: deque[tuple[str, int, str]] = deque()
        self.session_events: deque[Event] = deque(maxlen=1000)
        self.divert_events = False
        self.break_requested = False
        self.dmachine: DigitMachine | None = None
        # control
        self.controllers: list[Any] = []  # listeners holding this session (read locks)
        self.controlled = False  # CF_CONTROLLED (a socket app parks it)
        self.app_depth = 0
        self.member: Any = None  # the conference member while in a conference
        self.conf_member_id: int | None = None  # mod_conference's private __confmid
        self.phone: Any = None
        self.audio_active = False  # the phone is sending speech
        self.pending_transfer: str | None = None
        self.hung_up_by_phone = False
        self.dp_match = f"ARRAY::{leg.destination}|:{leg.destination}"  # the dialplan's captures
        self.on_down: list[Callable[[Channel], None]] = []

    # ------------------------------------------------------------ variables
    def set_var(self, name: str, value: object) -> None:
        """switch_channel_set_variable: empty or None deletes; a set moves it last."""
        old = self.variables.pop(name, None)
        text = "" if value is None else str(value)
        if text:
            self.variables[name] = text
            if old is None:
                self._folded_vars.add(name.lower())
        self._vars_version += 1

    def get_var(self, name: str) -> str | None:
        """switch_channel_get_variable: channel variables, then the caller
        profile's fields (05d: uuid_getvar destination_number), then globals."""
        if name in self.variables:
            return self.variables[name]
        lowered = name.lower()
        if lowered in self._folded_vars:
            for key, value in self.variables.items():
                if key.lower() == lowered:
                    return value
        field = self.profile_fields().get(lowered)
        if field is not None:
            return field
        return self.core.global_vars.get(name)

    def profile_fields(self) -> dict[str, str]:
        """switch_caller_get_field_by_name's names (matched case-insensitively)."""
        leg = self.leg
        return {
            "dialplan": "XML",
            "username": leg.caller_id,
            "caller_id_name": leg.caller_name,
            "caller_id_number": leg.caller_id,
            "orig_caller_id_name": leg.caller_name,
            "orig_caller_id_number": leg.caller_id,
            "ani": leg.caller_id,
            "network_addr": "127.0.0.1",
            "destination_number": leg.destination,
            "uuid": self.uuid,
            "source": "mod_sofia",
            "context": "public",
            "chan_name": self.name,
            "profile_index": "1",
        }

    def lookup(self) -> dict[str, str]:
        """Variables plus caller-profile fields, for ${...} expansion and var=value."""
        merged = dict(self.variables)
        for name, value in self.profile_fields().items():
            merged.setdefault(name, value)
        merged.setdefault("channel_name", self.name)
        return merged

    # ------------------------------------------------------------ state
    @property
    def down(self) -> bool:
        """switch_channel_down: hangup requested (state >= CS_HANGUP)."""
        return STATE_NUMBERS[self.state] >= STATE_NUMBERS["CS_HANGUP"]

    @property
    def ready(self) -> bool:
        return not self.down

    def answer_state(self) -> str:
        if self.down:
            return "hangup"
        if self.answered:
            return "answered"
        if self.early_media:
            return "early"
        return "ringing"

    # ------------------------------------------------------------ event data
    def profile_headers(self, prefix: str) -> list[tuple[str, str]]:
        """switch_caller_profile_event_set_data."""
        leg, t = self.leg, self.times
        names = _PROFILE_NAMES.get(prefix)
        if names is None:
            names = _PROFILE_NAMES[prefix] = tuple(f"{prefix}-{n}" for n in PROFILE_FIELDS)
        values = (
            "inbound", "inbound", leg.caller_id, "XML", leg.caller_name, leg.caller_id,
            leg.caller_name, leg.caller_id, "127.0.0.1", leg.caller_id, leg.destination,
            self.uuid, "mod_sofia", "public", self.name, "1", str(t["created"]),
            str(t["created"]), str(t["answered"]), str(t["progress"]),
            str(t["progress_media"]), str(t["hangup"]), str(t["transfer"]),
            str(t["resurrect"]), str(t["bridged"]), str(t["last_hold"]),
            str(t["hold_accum"]), "true", "false", "false",
        )  # fmt: skip
        return list(zip(names, values, strict=True))

    def basic_data(self) -> list[tuple[str, str]]:
        """switch_channel_event_set_basic_data (what conference events carry).

        Every conference event carries it, so the list is reused while none of
        the values it is made of changed (callers must not mutate it).
        """
        return self.basic_block().pairs

    def basic_block(self) -> Block:
        """basic_data() as an event Block (made again when one of its values changed)."""
        key = (
            self.running_state, self.callstate, self.state, self.hangup_cause,
            self.answered, self.early_media, self.read_codec, self.write_codec,
            self.variables.get("call_uuid"), self.leg, *self.times.values(),
        )  # fmt: skip
        if self._basic_key != key:
            self._basic = Block(self._build_basic_data(), previous=self._basic)
            self._basic_key = key
        return self._basic

    def _build_basic_data(self) -> list[tuple[str, str]]:
        rc, wc = self.read_codec, self.write_codec
        pairs = [
            ("Channel-State", self.running_state),
            ("Channel-Call-State", self.callstate),
            ("Channel-State-Number", str(STATE_NUMBERS[self.state])),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", "inbound"),
            ("Presence-Call-Direction", "inbound"),
            ("Channel-HIT-Dialplan", "true"),
            ("Channel-Call-UUID", self.variables.get("call_uuid", self.uuid)),
            ("Answer-State", self.answer_state()),
        ]
        if self.hangup_cause:
            pairs.append(("Hangup-Cause", self.hangup_cause))
        pairs += [
            ("Channel-Read-Codec-Name", rc[0]),
            ("Channel-Read-Codec-Rate", rc[1]),
            ("Channel-Read-Codec-Bit-Rate", rc[2]),
            ("Channel-Write-Codec-Name", wc[0]),
            ("Channel-Write-Codec-Rate", wc[1]),
            ("Channel-Write-Codec-Bit-Rate", wc[2]),
        ]
        # filtered once here, so events may take the block as it is
        return [pair for pair in pairs + self.profile_headers("Caller") if pair[1]]

    def full_data(self) -> list[tuple[str, str]]:
        """switch_channel_event_set_data: basic data plus every ``variable_*``."""
        return self.basic_data() + self.variables_block().pairs

    def variables_block(self) -> Block:
        """Every variable as ``variable_<name>``, in set order, as an event Block (made
        again after a set_var; lines of unchanged variables are reused)."""
        key = (self._vars_version, len(self.variables))
        if self._vars_key != key:
            names = _VARIABLE_NAMES
            pairs = list(
                zip(map(names.__getitem__, self.variables), self.variables.values(), strict=True)
            )
            self._vars_block = Block(pairs, "variable_", self._vars_block)
            self._vars_key = key
        return self._vars_block

    def new_event(
        self,
        name: str,
        full: bool = True,
        origin: tuple[str, str, int] | None = None,
        head: list[tuple[str, str]] = (),
    ) -> Event:
        """A channel event: the standard headers, ``head``, then the channel's data."""
        event = self.core.bus.create(name, origin or ORIGIN[name])
        if head:
            event.extend(list(head))
        event.add_block(self.basic_block())
        if full:
            event.add_block(self.variables_block())
        return event

    def fire(self, name: str, extra: list[tuple[str, str]] = (), full: bool = True) -> Event:
        event = self.new_event(name, full)
        event.extend(list(extra))
        self.core.bus.fire(event)
        return event

    # ------------------------------------------------------------ transitions
    def set_running_state(self, state: str) -> None:
        """switch_channel_perform_set_running_state: fires CHANNEL_STATE."""
        self.running_state = state
        if STATE_NUMBERS[state] > STATE_NUMBERS[self.state] or state == "CS_EXECUTE":
            self.state = state
        self.fire("CHANNEL_STATE", full=False)

    def set_callstate(self, callstate: str) -> None:
        old = self.callstate
        if old == callstate:
            return
        self.callstate = callstate
        self.fire(
            "CHANNEL_CALLSTATE",
            [("Original-Channel-Call-State", old), ("Channel-Call-State-Number", "0")],
            full=False,
        )

    def ring_ready(self) -> bool:
        """switch_channel_perform_ring_ready_value: nothing once answered or in early
        media; otherwise sofia sends 180 Ringing (the phone plays its own ringback) and
        switch_channel_perform_mark_ring_ready_value stamps the progress time, fires
        CHANNEL_PROGRESS and sets the call state RINGING (switch_channel.c)."""
        if self.down:
            return False
        if self.answered or self.early_media or self.ringing:
            return True
        self.ringing = True
        self.times["progress"] = self.core.clock.now_us()
        self.fire("CHANNEL_PROGRESS")
        self.set_callstate("RINGING")
        if self.phone is not None:
            self.phone._on_ringing()
        return True

    def pre_answer(self) -> bool:
        if self.down:
            return False
        if self.answered or self.early_media:
            return True
        self.early_media = True
        self.times["progress_media"] = self.core.clock.now_us()
        for name, value in sofia.media_variables(self.leg):
            self.set_var(name, value)
        self.set_callstate("EARLY")
        self.fire("CHANNEL_PROGRESS_MEDIA")
        return True

    def answer(self) -> bool:
        """switch_channel_perform_mark_answered (sofia sends 200 OK, the phone ACKs)."""
        if self.down:
            return False
        if self.answered:
            return True
        if not self.early_media:
            for name, value in sofia.media_variables(self.leg):
                self.set_var(name, value)
        self.answered = True
        self.times["answered"] = self.core.clock.now_us()
        self.core.spawn_later(FRAME, self._acked)
        self.fire("CHANNEL_ANSWER")
        self.set_callstate("ACTIVE")
        self.core.log(
            5,
            "mod_dptools.c",
            "answer_function",
            1406,
            f"Channel [{self.name}] has been answered",
            self.uuid,
        )
        if self.phone is not None:
            self.phone._on_answered()
        return True

    def _acked(self) -> None:
        """The phone's ACK for FreeSWITCH's 200 OK arrived (a frame after the answer)."""
        if not self.down:
            for name, value in sofia.answered_variables(self.leg):
                self.set_var(name, value)

    def hangup(self, cause: str = "NORMAL_CLEARING", by_phone: bool = False) -> None:
        """switch_channel_perform_hangup: state HANGUP, CHANNEL_HANGUP, wake everyone."""
        if self.down:
            return
        self.hangup_cause = cause if cause in CAUSES else "NORMAL_CLEARING"
        self.times["hangup"] = self.core.clock.now_us()
        self.state = "CS_HANGUP"
        self.hung_up_by_phone = by_phone
        cancelled = by_phone and not self.times["answered"]
        if cancelled:
            # the phone gave up before the 200 OK: CANCEL, not BYE (sofia nua_i_cancel)
            for name, value in sofia.cancel_variables():
                self.set_var(name, value)
        elif by_phone:
            for name, value in sofia.bye_variables():
                self.set_var(name, value)
        self.core.log(
            5,
            "sofia.c" if by_phone else "switch_channel.c",
            "sofia_handle_sip_i_bye" if by_phone else "switch_channel_perform_hangup",
            1065 if by_phone else 3447,
            f"Hangup {self.name} [{self.running_state}] [{self.hangup_cause}]",
            self.uuid,
        )
        self.fire("CHANNEL_HANGUP")
        if by_phone and not cancelled:
            # sofia's thread sets it when the BYE transaction terminates: just
            # after CHANNEL_HANGUP, before the session thread's next event (05b)
            self.set_var(*sofia.hangup_disposition(True, by_phone=True))
        if self.phone is not None:
            self.phone._on_hangup(self.hangup_cause, by_phone)
        for callback in list(self.on_down):
            callback(self)
        self.poke()
        for listener in list(self.controllers):
            listener.wake.set()

    # ------------------------------------------------------------ inputs
    def poke(self) -> None:
        """Wake whatever the session greenlet is waiting in."""
        self.wake.set()

    def wait_input(self, sim_timeout: float | None) -> None:
        """Sleep until poked or ``sim_timeout`` simulated seconds pass."""
        if sim_timeout is not None and sim_timeout <= 0:
            return
        self.core.clock.wait(self.wake, sim_timeout)
        self.wake.clear()

    def next_frame(self) -> None:
        """Work queued for the media thread is picked up on the next 20 ms frame."""
        self.core.clock.sleep(FRAME)

    def queue_private(self, command: Any) -> None:
        self.private_events.append(command)
        self.poke()

    def has_private(self) -> bool:
        """switch_core_session_private_event_count (0 while CF_EVENT_LOCK)."""
        return bool(self.private_events) and not self.event_lock

    def queue_session_event(self, event: Event) -> None:
        """switch_core_session_queue_event: seen only by a diverting socket."""
        self.session_events.append(event)
        for listener in list(self.controllers):
            listener.wake.set()

    def recv_dtmf(self, digit: str, duration: int = 2000, source: str = "RTP") -> None:
        """switch_core_session_recv_dtmf: the dmachine eats digits before the queue."""
        if self.down:
            return
        if self.dmachine is not None:
            self.dmachine.feed(digit)
            return
        self.queue_dtmf(digit, duration, source)

    def queue_dtmf(self, digit: str, duration: int = 2000, source: str = "APP") -> None:
        self.dtmf_queue.append((digit, duration, source))
        self.poke()

    def dequeue_dtmf(self) -> str | None:
        """switch_channel_dequeue_dtmf: this is when the DTMF event fires."""
        if not self.dtmf_queue:
            return None
        digit, duration, source = self.dtmf_queue.popleft()
        event = self.new_event("DTMF", full=False)
        event.extend(
            [("DTMF-Digit", digit), ("DTMF-Duration", str(duration)), ("DTMF-Source", source)]
        )
        if self.divert_events:
            self.queue_session_event(event)
        else:
            self.core.bus.fire(event)
        return digit

    def flush_dtmf(self) -> None:
        self.dtmf_queue.clear()

    def request_transfer(self, destination: str) -> None:
        """switch_ivr_session_transfer: stop what runs, then route ``destination``."""
        self.pending_transfer = destination
        self.controlled = False
        if self.member is not None:
            self.member.flags.discard("running")
        self.break_requested = True
        self.poke()

    def transferred_to(self, destination: str) -> None:
        self.leg = dataclasses.replace(self.leg, destination=destination)
        self.times["transfer"] = self.core.clock.now_us()
        history = self.get_var("transfer_history")
        entry = f"{self.times['transfer'] // 1_000_000}:{self.uuid}:uuid_br:{destination}"
        self.set_var("transfer_history", f"{history}|{entry}" if history else entry)

    def hear(self, media: str) -> None:
        """Media that reached the phone's ear (recorded for tests and demos)."""
        if self.phone is not None and not self.down:
            self.phone.heard.append(media)
