"""Benchmark: FreeSWITCH event -> callback request at the application (issue 7).

    .venv/bin/python -m bench callback_latency

500 members in 50 rooms join through the controller; each <Conference> has a
callbackUrl, floorEvent="true" and digitsMatch="1,2,3" (bench/app.py, profile
``latency``). Then, for DRIVE_SECONDS, the simulator produces callback events
at EVENTS_PER_S:

    floor   in every room the members take turns to talk: the next speaker starts,
            the holder goes quiet, and after FreeSWITCH's 800 ms talk hangover the
            floor moves (start-talking, stop-talking, floor-change). About one floor
            change per room per second: ~50/s, each a ``floor`` callback to the new holder.
    digits  the rest of the rate: members press 1, 2 or 3 in turn (RFC 2833, 280 ms
            each); every press is a digits-match event and a ``digits`` callback.

Latency = arrival at the app (its process's ``time.time()`` when the WSGI server
hands the request over) - EventTimestamp (FreeSWITCH's Event-Date-Timestamp of the
event, carried by every member callback). The simulator runs at time_scale 1.0,
so its event clock is this host's wall clock; ``clock_offset_us`` checks it.

Expected callbacks are the floor-change (New-ID one of ours) and digits-match
events the simulator fired during the drive (its event bus, in this process);
``callbacks_lost`` are expected ones that never arrived (matched on CallUUID,
action and EventTimestamp), after a grace period for the stragglers.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import itertools  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

from bench.faces import DEFAULT_FACE  # noqa: E402
from bench.harness import (  # noqa: E402
    CpuMeter,
    Rig,
    place_windowed,
    real_freeswitch,
    wait_until,
)
from bench.procstat import children_cpu_s  # noqa: E402
from bench.stats import summary_ms  # noqa: E402

ROOMS, ROOM_SIZE = 50, 10
EVENTS_PER_S = 1000
DRIVE_SECONDS = 10.0
REFERENCE_PER_S = 200  # a rate the controller carries on this machine, for comparison
REFERENCE_SECONDS = 5.0
TARGET_PER_S = 500  # issue 16's latency target: callback p99 <= 20 ms at 500 events/s
TARGET_SECONDS = 10.0
FLOOR_TURN = 1.0  # fastest floor hand-over in a room (talk hangover 0.8 s + ramp)
DIGITS = "123"
GRACE_SECONDS = 15.0
QUICK_ROOMS = 5  # --quick: 50 members, one short drive below saturation
QUICK_SECONDS = 2.0
# The drive at EVENTS_PER_S again with [webhooks] delivery_processes: callbacks' HTTP in
# worker processes (figures ``workers_callback_*``; 0 skips it). BENCH_DELIVERY_PROCESSES
# overrides the count.
DELIVERY_PROCESSES = int(os.environ.get("BENCH_DELIVERY_PROCESSES", "2"))




def _fill(rig: Rig, rooms: int = ROOMS) -> list:
    tap = rig.tap
    base = len(tap.joined)

    def place(index: int):
        return rig.call(f"lat{index // ROOM_SIZE}", caller_id=f"lat{index}")

    phones, _ = place_windowed(place, rooms * ROOM_SIZE, max_rate=100, window=50,
                               done=lambda: len(tap.joined) - base)
    if not wait_until(lambda: all(p.uuid in tap.joined for p in phones), timeout=60):
        missing = sum(p.uuid not in tap.joined for p in phones)
        raise RuntimeError(f"{missing} of {len(phones)} members did not join")
    # every member's enter callback delivered before the drive starts
    wait_until(lambda: _count(rig, "enter") >= len(phones), timeout=30, step=0.2)
    return phones


def join_callbacks(rig: Rig, phones: list) -> dict:
    """Every face's own member-join webhook (Plivo enter, cXML participant-join, BXML
    conferenceMemberJoin, Telnyx conference.participant.joined) during the fill:
    arrival at the app - the add-member's Event-Date-Timestamp (the tap's record of
    FreeSWITCH's stamp; cXML's Timestamp has whole seconds only, so the stamp is not
    taken from the webhook). ``join_rate_per_s``: members / (last add-member - first
    CHANNEL_CREATE), the rate those webhooks came at."""
    tap, ours = rig.tap, {p.uuid for p in phones}
    arrivals = {uuid: arrival for action, uuid, _ts, arrival, _member
                in rig.app.stats()["callbacks"] if action == "enter" and uuid in ours}
    latencies = [arrival - tap.joined[uuid][0] for uuid, arrival in arrivals.items()
                 if uuid in tap.joined]
    joins = [tap.joined[u][0] for u in ours if u in tap.joined]
    creates = [tap.created[u] for u in ours if u in tap.created]
    span_s = (max(joins) - min(creates)) / 1e6 if joins and creates else 0.0
    figures = {"join_callbacks": len(latencies),
               "join_callbacks_lost": len(ours) - len(arrivals),
               "join_rate_per_s": round(len(joins) / span_s, 1) if span_s > 0 else 0.0}
    figures.update(summary_ms(latencies, "join_callback"))
    return figures


def _count(rig: Rig, action: str) -> int:
    return sum(1 for entry in rig.app.stats()["callbacks"] if entry[0] == action)


def _floor_turns(room: list, stop: float, turn: float, offset: float) -> None:
    """Hand the floor around the room, one member to the next, every ``turn`` seconds,
    starting after ``offset`` (rooms are staggered: 50 rooms handing over in the same
    millisecond would be a burst no real set of conferences produces)."""
    gevent.sleep(offset)
    speaker = 0
    room[speaker].start_talking()
    while time.monotonic() < stop:
        following = (speaker + 1) % len(room)
        room[following].start_talking()
        room[speaker].stop_talking()
        speaker = following
        gevent.sleep(turn)
    room[speaker].stop_talking()


def _press(phone, digit: str) -> None:
    if phone.is_up:
        phone.send_dtmf(digit)


def _digits(phones: list, rate: float, stop: float) -> list:
    """Presses at ``rate`` per second, round robin over the members; their greenlets."""
    members = itertools.cycle(phones)
    digits = itertools.cycle(DIGITS)
    started = time.monotonic()
    presses: list = []
    while time.monotonic() < stop:
        due = started + len(presses) / rate
        delay = due - time.monotonic()
        if delay > 0:
            gevent.sleep(delay)
        presses.append(gevent.spawn(_press, next(members), next(digits)))
    return presses


def drive(rig: Rig, phones: list, rate: float, seconds: float, prefix: str) -> dict:
    """Floor turns plus digit presses adding up to ``rate`` callback events per second
    for ``seconds``; figures named ``<prefix>_...``."""
    tap, ours = rig.tap, {p.uuid for p in phones}
    rooms_count = len(phones) // ROOM_SIZE  # ROOMS but in --quick runs
    floor_rate = min(rate / 2, rooms_count / FLOOR_TURN)
    start_us = rig.sim.core.clock.now_us()
    floor_seen, digits_seen = len(tap.floor), len(tap.digits)
    talking_seen = tap.counts["start-talking"] + tap.counts["stop-talking"]
    cpu_before = rig.controller.stats().cpu_s
    workers_before = children_cpu_s(rig.controller.pid)
    meter = CpuMeter(rig)
    started = time.monotonic()
    stop = started + seconds
    rooms = [phones[i:i + ROOM_SIZE] for i in range(0, len(phones), ROOM_SIZE)]
    turns_per_room = floor_rate / rooms_count
    turn = 1 / turns_per_room
    turners = [gevent.spawn(_floor_turns, room, stop, turn, turn * index / len(rooms))
               for index, room in enumerate(rooms)]
    presses = _digits(phones, rate - floor_rate, stop)
    gevent.joinall(turners + presses, timeout=30)
    gevent.sleep(0.2)  # matched digits fire on the member's next frame
    drive_s = time.monotonic() - started
    busy = meter.percent()

    expected = {(uuid, "floor", ts) for ts, _room, _new, uuid in tap.floor[floor_seen:]
                if uuid in ours and ts >= start_us}
    expected |= {(uuid, "digits", ts) for ts, uuid, _digits in tap.digits[digits_seen:]
                 if uuid in ours}
    received: dict = {}

    def all_in() -> bool:
        for action, uuid, ts, arrival, _member in rig.app.stats()["callbacks"]:
            if action in ("floor", "digits") and ts >= start_us:
                received[(uuid, action, ts)] = arrival
        return expected <= received.keys()

    wait_until(all_in, timeout=GRACE_SECONDS, step=0.5)
    drained_s = time.monotonic() - started
    cpu_all = rig.controller.stats().cpu_s - cpu_before
    workers_cpu = children_cpu_s(rig.controller.pid) - workers_before

    def latencies(action: str | None) -> list[int]:
        return [received[key] - key[2] for key in expected
                if key in received and action in (None, key[1])]

    figures = {
        f"{prefix}_events": len(expected),
        f"{prefix}_events_per_s": round(len(expected) / seconds, 1),
        f"{prefix}_floor_events": sum(1 for key in expected if key[1] == "floor"),
        f"{prefix}_talking_events": tap.counts["start-talking"] + tap.counts["stop-talking"]
        - talking_seen,
    }
    figures.update(summary_ms(latencies(None), prefix))
    for action in ("floor", "digits"):
        figures.update({k: v for k, v in summary_ms(latencies(action), f"{prefix}_{action}")
                        .items() if k.endswith(("p50_ms", "p99_ms"))})
    figures.update({
        f"{prefix}_received": len(expected & received.keys()),
        f"{prefix}_lost": len(expected - received.keys()),
        f"{prefix}_unexpected": len(received.keys() - expected),
        f"{prefix}_controller_cpu_pct": busy["controller"],
        f"{prefix}_controller_cpu_ms_per_callback": round(1000 * cpu_all / max(1, len(received)),
                                                          2),
        f"{prefix}_drain_s": round(drained_s - drive_s, 1),
        # 0 without delivery processes: the controller's children send its callbacks
        f"{prefix}_delivery_workers_cpu_pct": busy["delivery_workers"],
        f"{prefix}_delivery_workers_cpu_ms_per_callback": round(
            1000 * workers_cpu / max(1, len(received)), 2),
        f"{prefix}_simulator_cpu_pct": busy["simulator"],
        f"{prefix}_app_cpu_pct": busy["app"],
    })
    return figures


def _errors(rig: Rig, prefix: str) -> dict:
    figures: dict = {f"{prefix}controller_log_errors": rig.controller.log_errors()}
    if figures[f"{prefix}controller_log_errors"]:
        figures[f"{prefix}controller_log_error_messages"] = rig.controller.log_error_messages()
    app_stats = rig.app.stats()
    figures[f"{prefix}app_errors"] = app_stats["error_count"]
    if app_stats["errors"]:
        figures[f"{prefix}app_error_messages"] = app_stats["errors"][-5:]
    return figures


def run(face: str = DEFAULT_FACE, quick: bool = False) -> dict:
    """Plivo: the fill, then the floor and digits drives (today's figures). Every face:
    its member-join webhook's latency during the fill (``join_callback_*``); the drives
    are Plivo's (its member callbacks report floor changes and digits matches; the other
    faces' benchmark documents subscribe to join and leave only)."""
    if real_freeswitch():
        return {"skipped": "needs the simulator (drives talking and digits at 1,000/s)"}
    rooms = QUICK_ROOMS if quick else ROOMS
    with Rig("latency", face=face) as rig:
        phones = _fill(rig, rooms)
        figures = {"face": face, "members": len(phones), "rooms": rooms}
        figures.update(join_callbacks(rig, phones))
        if face != "plivo":
            figures["drive_note"] = "floor and digits drives: plivo only"
        elif quick:
            figures.update(drive(rig, phones, REFERENCE_PER_S, QUICK_SECONDS,
                                 f"at{REFERENCE_PER_S}"))
        else:
            # below saturation first, then the target rate
            figures.update(drive(rig, phones, REFERENCE_PER_S, REFERENCE_SECONDS,
                                 f"at{REFERENCE_PER_S}"))
            figures.update(drive(rig, phones, TARGET_PER_S, TARGET_SECONDS,
                                 f"at{TARGET_PER_S}"))
            figures.update(drive(rig, phones, EVENTS_PER_S, DRIVE_SECONDS, "callback"))
        figures["clock_offset_us"] = rig.sim.core.clock.now_us() - int(time.time() * 1e6)
        figures.update(_errors(rig, ""))
    if face == "plivo" and DELIVERY_PROCESSES:
        # The same drive with callbacks sent by worker processes (a rig of its own: the
        # controller is started with the setting); --quick: the short drive below saturation.
        env = {"CC_WEBHOOKS_DELIVERY_PROCESSES": str(DELIVERY_PROCESSES)}
        with Rig("latency", face=face, controller_env=env) as rig:
            phones = _fill(rig, rooms)
            figures["workers_delivery_processes"] = DELIVERY_PROCESSES
            if quick:
                figures.update(drive(rig, phones, REFERENCE_PER_S, QUICK_SECONDS,
                                     f"workers_at{REFERENCE_PER_S}"))
            else:
                figures.update(drive(rig, phones, EVENTS_PER_S, DRIVE_SECONDS,
                                     "workers_callback"))
            figures.update(_errors(rig, "workers_"))
    figures["target"] = {
        f"at{TARGET_PER_S}_p99_ms": "<= 20 ms (issue 16)",
        "callback_p50_ms": "<= 3 ms at 1,000 events/s",
        "callback_p99_ms": "<= 20 ms at 1,000 events/s",
        "callback_lost": "0",
        "callback_events_per_s": "1,000",
    }
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
