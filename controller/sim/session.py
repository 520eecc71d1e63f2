"""The session greenlet: dialplan, application execution and queued sendmsgs.

``execute_app`` is switch_core_session_exec (CHANNEL_EXECUTE, the app,
CHANNEL_EXECUTE_COMPLETE); ``parse_event`` is switch_ivr_parse_event (a
sendmsg's execute/hangup with event-lock, loops, Event-UUID); ``play`` is the
media loop every timed application runs, during which queued sendmsgs run
nested and DTMF is taken off the channel queue, as in FreeSWITCH.
"""

from __future__ import annotations

import logging
import math
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from controller.sim import sofia
from controller.sim.fsutil import CAUSES, atoi, cause_from_str, expand_variables, switch_true

if TYPE_CHECKING:
    from controller.sim.channel import Channel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class App:
    func: Callable[[Channel, str], None]
    nomedia: bool = False  # SAF_SUPPORT_NOMEDIA: runs without pre-answering
    zombie: bool = False  # SAF_ZOMBIE_EXEC: runs on a hung-up channel


APPS: dict[str, App] = {}


def register_app(name: str, nomedia: bool = False, zombie: bool = False) -> Callable:
    def wrap(func: Callable[[Channel, str], None]) -> Callable[[Channel, str], None]:
        APPS[name] = App(func, nomedia, zombie)
        return func

    return wrap


# ------------------------------------------------------------ execution
def expand(channel: Channel, text: str) -> str:
    if switch_true(channel.get_var("app_disable_expand_variables")):
        return text
    return expand_variables(text, channel.lookup(), channel.core.global_vars)


def execute_app(channel: Channel, name: str, arg: str | None) -> bool:
    """switch_core_session_execute_application + switch_core_session_exec."""
    spec = APPS.get(name)
    core = channel.core
    if channel.down:
        if spec is None or not spec.zombie:
            return False
    elif spec is None:
        core.log(
            3,
            "switch_core_session.c",
            "switch_core_session_execute_application_get_flags",
            2818,
            f"Invalid Application {name}",
            channel.uuid,
        )
        channel.hangup("DESTINATION_OUT_OF_ORDER")
        return False
    if not spec.nomedia and not channel.answered and not channel.early_media:
        channel.pre_answer()
    app_uuid = channel.get_var("app_uuid") or str(uuidlib.uuid4())
    channel.set_var("app_uuid", None)
    expanded = expand(channel, arg) if arg is not None else None
    core.log(
        6,
        "switch_core_session.c",
        "switch_core_session_exec",
        2907,
        f"EXECUTE [depth={channel.app_depth}] {channel.name} {name}({expanded or ''})",
        channel.uuid,
        clean=True,
    )
    channel.set_var("current_application", name)
    channel.set_var("current_application_data", expanded)
    channel.set_var("current_application_response", None)
    channel.fire(
        "CHANNEL_EXECUTE",
        [
            ("Application", name),
            ("Application-Data", expanded or ""),
            ("Application-UUID", app_uuid),
        ],
    )
    channel.break_requested = False
    channel.set_var("current_application", name)
    channel.app_depth += 1
    try:
        spec.func(channel, expanded or "")
    except Exception:  # an app bug ends the app, never the switch
        log.exception("simulated application %s failed", name)
    finally:
        channel.app_depth -= 1
    response = channel.get_var("current_application_response") or "_none_"
    channel.fire(
        "CHANNEL_EXECUTE_COMPLETE",
        [
            ("Application", name),
            ("Application-Data", expanded or ""),
            ("Application-Response", response),
            ("Application-UUID", app_uuid),
        ],
    )
    return True


def parse_event(channel: Channel, command: Any) -> bool:
    """switch_ivr_parse_event: a sendmsg (or broadcast) on this session."""
    call_command = (command.header("call-command") or "").strip()
    if not call_command:
        channel.core.log(
            3, "switch_ivr.c", "switch_ivr_parse_event", 544, "Invalid Command!", channel.uuid
        )
        return False
    lock = switch_true(command.header("event-lock"))
    if lock:
        channel.event_lock += 1
    try:
        frames = atoi(command.header("lead-frames"))
        for _ in range(max(0, frames)):
            if channel.down:
                return True
            channel.next_frame()
        lowered = call_command.lower()
        if lowered == "execute":
            _execute(channel, command)
        elif lowered == "hangup":
            channel.hangup(cause_from_str(command.header("hangup-cause")))
        # unicast, nomedia and xferext have no simulated media to act on
        return True
    finally:
        if lock:
            channel.event_lock -= 1


def _execute(channel: Channel, command: Any) -> None:
    app = command.header("execute-app-name")
    if not app:
        return
    arg = command.header("execute-app-arg")
    content_type = command.header("content-type") or ""
    if not arg and content_type.lower() == "text/plain":
        arg = command.body
    loops_h = command.header("loops")
    loops = atoi(loops_h) if loops_h is not None else 1
    event_uuid = command.header("event-uuid")
    event_uuid_name = command.header("event-uuid-name")
    clock = channel.core.clock
    x = 0
    while x < loops or loops < 0:
        if event_uuid:
            channel.set_var("app_uuid", event_uuid)
        if event_uuid_name:
            channel.set_var("app_uuid_name", event_uuid_name)
        channel.set_var("current_loop", str(x + 1))
        channel.set_var("total_loops", str(loops))
        started = clock.now()
        if not execute_app(channel, app, arg):
            break
        if not channel.ready or clock.now() - started < 0.5:
            break
        x += 1
    channel.set_var("current_loop", None)
    channel.set_var("total_loops", None)


def process_private(channel: Channel) -> None:
    """switch_ivr_parse_all_events: run queued sendmsgs (unless event-locked)."""
    while channel.has_private():
        command = channel.private_events.popleft()
        parse_event(channel, command)
        event = channel.core.bus.create(
            "PRIVATE_COMMAND", ("switch_ivr.c", "switch_ivr_parse_next_event", 806)
        )
        for key, value in command.headers:
            event.add(key, value)
        event.extend(channel.full_data())
        channel.core.bus.fire(event)


# ------------------------------------------------------------ media loop
class PlayResult:
    DONE = "done"
    BREAK = "break"
    HANGUP = "hangup"


def play(
    channel: Channel,
    duration_ms: float,
    terminators: str | None = None,
    on_digit: Callable[[str], bool] | None = None,
    take_digits: bool = True,
) -> str:
    """Let timed media run for ``duration_ms`` of simulated time.

    Queued sendmsgs run nested (their time does not count), digits are taken
    off the queue (DTMF events fire) and a terminator ends the media early.
    ``take_digits=False``: media played without input arguments, which leaves the
    digits queued (switch_ivr_play_file dequeues DTMF only ``if (args)``,
    switch_ivr_play_say.c:1689 in 1.11.1).
    """
    clock = channel.core.clock
    remaining = duration_ms / 1000.0
    while True:
        if channel.down:
            return PlayResult.HANGUP
        if channel.break_requested:
            channel.break_requested = False
            return PlayResult.BREAK
        while take_digits and channel.dtmf_queue:
            digit = channel.dequeue_dtmf()
            if digit and terminators and digit in terminators:
                channel.set_var("playback_terminator_used", digit)
                return PlayResult.BREAK
            if digit and on_digit is not None and on_digit(digit):
                return PlayResult.BREAK
        if channel.has_private():
            channel.next_frame()
            process_private(channel)
            continue
        if remaining <= 0:
            return PlayResult.DONE
        started = clock.now()
        channel.wait_input(None if math.isinf(remaining) else remaining)
        remaining -= clock.now() - started


def park(channel: Channel) -> None:
    """switch_ivr_park as the async socket app runs it: sendmsgs until released."""
    channel.controlled = True
    channel.fire("CHANNEL_PARK")
    while channel.ready and channel.controlled:
        if channel.has_private():
            channel.next_frame()
            process_private(channel)
            continue
        while channel.dtmf_queue:
            channel.dequeue_dtmf()
        channel.wait_input(None)
    channel.controlled = False
    channel.fire("CHANNEL_UNPARK")


# ------------------------------------------------------------ the session
def run(
    channel: Channel,
    extension: list[tuple[str, str | None]],
    dialplan: Callable[[str], list[tuple[str, str | None]]],
) -> None:
    """The session thread of an inbound call, from routing to destruction."""
    core = channel.core
    core.channels[channel.uuid] = channel
    try:
        _route(channel)
        while True:
            for name, arg in extension:
                if channel.down or channel.pending_transfer:
                    break
                execute_app(channel, name, arg)
            if channel.pending_transfer and not channel.down:
                destination, channel.pending_transfer = channel.pending_transfer, None
                channel.transferred_to(destination)
                extension = dialplan(destination)
                continue
            break
        if not channel.down:
            core.log(
                5,
                "switch_core_state_machine.c",
                "switch_core_standard_on_execute",
                382,
                f"{channel.name} has executed the last dialplan instruction, hanging up.",
                channel.uuid,
            )
            channel.hangup("NORMAL_CLEARING")
    finally:
        _teardown(channel)


def _route(channel: Channel) -> None:
    core = channel.core
    core.log(
        5,
        "switch_channel.c",
        "switch_channel_set_name",
        1143,
        f"New Channel {channel.name} [{channel.uuid}]",
        channel.uuid,
    )
    channel.fire("CHANNEL_CREATE")
    channel.set_running_state("CS_INIT")
    core.log(
        6,
        "sofia.c",
        "sofia_handle_sip_i_invite",
        10472,
        f"{channel.name} receiving invite from 127.0.0.1:{channel.leg.port} version: "
        f"1.11.1-release call-id: {channel.leg.call_id}",
        channel.uuid,
    )
    channel.set_running_state("CS_ROUTING")
    channel.set_callstate("RINGING")
    core.log(
        6,
        "mod_dialplan_xml.c",
        "dialplan_hunt",
        648,
        f"Processing {channel.leg.caller_name} <{channel.leg.caller_id}>->"
        f"{channel.leg.destination} in context public",
        channel.uuid,
    )
    channel.set_var("DP_MATCH", channel.dp_match)
    channel.set_var("call_uuid", channel.uuid)
    channel.set_running_state("CS_EXECUTE")


def _teardown(channel: Channel) -> None:
    core = channel.core
    try:
        channel.set_running_state("CS_HANGUP")
        channel.set_running_state("CS_REPORTING")
        _cdr_variables(channel)
        channel.set_callstate("HANGUP")
        # Hangup-Cause right after the standard headers, before the channel data
        hc = channel.new_event(
            "CHANNEL_HANGUP_COMPLETE",
            head=[("Hangup-Cause", channel.hangup_cause or "NORMAL_CLEARING")],
        )
        core.bus.fire(hc)
        channel.hangup_complete = True
        for listener in list(channel.controllers):
            listener.wake.set()
        # Listeners hold a read lock on the session: destruction waits for them.
        while channel.controllers and not core.stopping:
            channel.wait_input(None)
        core.log(
            5,
            "switch_core_session.c",
            "switch_core_session_thread",
            1766,
            f"Session {channel.leg.session_id} ({channel.name}) Ended",
            channel.uuid,
        )
        channel.set_running_state("CS_DESTROY")
        channel.fire("CHANNEL_DESTROY")
    finally:
        core.channels.pop(channel.uuid, None)
        channel.destroyed.set()
        if channel.phone is not None:
            channel.phone._on_destroyed()


def _cdr_variables(channel: Channel) -> None:
    t = channel.times
    created, answered, ended = (
        t["created"],
        t["answered"],
        t["hangup"] or channel.core.clock.now_us(),
    )
    cause = channel.hangup_cause or "NORMAL_CLEARING"

    def stamp(us: int) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(us / 1e6)) if us else ""

    bill_us = ended - answered if answered else 0
    dur_us = ended - created
    pairs = [
        ("hangup_cause", cause),
        ("hangup_cause_q850", str(CAUSES.get(cause, 16))),
        ("digits_dialed", "none"),
        ("start_stamp", stamp(created)),
        ("profile_start_stamp", stamp(created)),
        ("answer_stamp", stamp(answered)),
        ("end_stamp", stamp(ended)),
        ("start_epoch", str(created // 1_000_000)),
        ("start_uepoch", str(created)),
        ("profile_start_epoch", str(created // 1_000_000)),
        ("profile_start_uepoch", str(created)),
        ("answer_epoch", str(answered // 1_000_000)),
        ("answer_uepoch", str(answered)),
        ("bridge_epoch", "0"),
        ("bridge_uepoch", "0"),
        ("last_hold_epoch", "0"),
        ("last_hold_uepoch", "0"),
        ("hold_accum_seconds", "0"),
        ("hold_accum_usec", "0"),
        ("hold_accum_ms", "0"),
        ("resurrect_epoch", "0"),
        ("resurrect_uepoch", "0"),
        ("progress_epoch", "0"),
        ("progress_uepoch", "0"),
        ("progress_media_epoch", str(t["progress_media"] // 1_000_000)),
        ("progress_media_uepoch", str(t["progress_media"])),
        ("end_epoch", str(ended // 1_000_000)),
        ("end_uepoch", str(ended)),
        ("last_app", channel.get_var("current_application") or ""),
        ("last_arg", channel.get_var("current_application_data") or ""),
        ("caller_id", f'"{channel.leg.caller_name}" <{channel.leg.caller_id}>'),
        ("duration", str(dur_us // 1_000_000)),
        ("billsec", str(bill_us // 1_000_000)),
        ("progresssec", "0"),
        ("answersec", str((answered - created) // 1_000_000 if answered else 0)),
        ("waitsec", str((answered - created) // 1_000_000 if answered else 0)),
        ("progress_mediasec", "0"),
        ("flow_billsec", str(bill_us // 1_000_000)),
        ("mduration", str(dur_us // 1000)),
        ("billmsec", str(bill_us // 1000)),
        ("progressmsec", "0"),
        ("answermsec", str((answered - created) // 1000 if answered else 0)),
        ("waitmsec", str((answered - created) // 1000 if answered else 0)),
        ("progress_mediamsec", "0"),
        ("flow_billmsec", str(bill_us // 1000)),
        ("uduration", str(dur_us)),
        ("billusec", str(bill_us)),
        ("progressusec", "0"),
        ("answerusec", str(answered - created if answered else 0)),
        ("waitusec", str(answered - created if answered else 0)),
        ("progress_mediausec", "0"),
        ("flow_billusec", str(bill_us)),
    ]
    packets = int(bill_us / 20000) if answered else 0
    pairs += sofia.rtp_stats_variables(packets, packets)
    if not channel.hung_up_by_phone:
        pairs.append(sofia.hangup_disposition(bool(answered), by_phone=False))
    for name, value in pairs:
        channel.set_var(name, value)
