"""Benchmark: what the controller adds to joining a conference (issue 7).

    .venv/bin/python -m bench join_overhead
    .venv/bin/python -m bench --face cxml join_overhead     # another face (bench/faces.py)

One call setup = from FreeSWITCH creating the channel (CHANNEL_CREATE) to the
member being in the room (conference::maintenance add-member), both times
FreeSWITCH's own Event-Date-Timestamp, taken from the simulator's event bus in
this process: one clock, one event, for both paths:

    direct      number ``direct-<room>``: the dialplan runs answer + conference, no controller
    controller  any other number: ``socket ... async full`` to the controller process,
                which fetches the answer URL from the app process (a <Conference> with a
                callbackUrl), answers, sets its variables and runs ``conference``

At 20 and 100 setups/s (open loop, rooms of 10, members stay until the phase
ends) each path gets its own phase, direct first, in the same run.
``overhead`` = controller percentile - direct percentile.

The controller path has FreeSWITCH-imposed waits the direct one does not: the
async socket app parks one 20 ms media frame after ``connect``, and a parked
channel runs queued sendmsgs on its next frame (captures 05a: 20-40 ms from
``answer`` sent to executed). The breakdown separates the controller's own
share from those frames, per call, from the same events (F = one frame):

    ctl_connect      PARK - CREATE - F              accept the socket, send ``connect``
    ctl_to_answer    EXEC(answer) - PARK - F        myevents/linger/subscribe, answer URL,
                                                    parse, ``answer`` (0 if hidden in the frame)
    ctl_to_conf      EXEC(next app) - DONE(answer) - F   plan, then set/bind/conference sent

Real FreeSWITCH (FS_ESL_HOST and FS_SIP_* set): the tap is an inbound ESL
connection and SIPp places the calls (a few calls at a low rate: one SIPp
process per call). The direct path needs freeswitch-conf's benchmark-only
``direct-<room>`` extension, on when FreeSWITCH runs with
FS_BENCH_DIRECT_JOIN=true; the tap asks FreeSWITCH, and without it only the
controller path is measured (``direct_note`` says so). Room names carry a
per-run suffix there: FreeSWITCH keeps rooms between runs while members leave.

Enter callback latency (``controller_<rate>_enter_callback_*``; the direct path
has no controller to send one): the app's arrival time minus the time this
process's tap took the member's add-member, both ``time.time()`` on this host:
one clock, wherever FreeSWITCH runs.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import secrets  # noqa: E402

from bench.faces import DEFAULT_FACE  # noqa: E402
from bench.harness import (  # noqa: E402
    CpuMeter,
    Rig,
    Tap,
    place_paced,
    real_freeswitch,
    uuid_of,
    wait_until,
)
from bench.stats import median, percentile, summary_ms  # noqa: E402

ROOM_SIZE = 10
PHASES = ((20, 300), (100, 500))  # (setups per second, calls per path)
REAL_PHASES = ((5, 40), (20, 80))
QUICK_PHASES = ((20, 30),)  # --quick: does every path work? (figures mean little)
FRAME_US = 20_000


def _controller_share(tap: Tap, uuid: str) -> tuple[float, float, float] | None:
    """(connect, to_answer, to_conference) µs the controller held the call up, or None."""
    created, parked = tap.created.get(uuid), tap.parked.get(uuid)
    executed, completed = tap.executed.get(uuid, []), tap.completed.get(uuid, [])
    answer_exec = next((t for app, t in executed if app == "answer"), None)
    answer_done = next((t for app, t in completed if app == "answer"), None)
    if None in (created, parked, answer_exec, answer_done):
        return None
    after = next((t for app, t in executed
                  if app not in ("socket", "answer") and t >= answer_done), None)
    if after is None:
        return None
    return (max(0, parked - created - FRAME_US),
            max(0, answer_exec - parked - FRAME_US),
            max(0, after - answer_done - FRAME_US))


def _enter_latencies(rig: Rig, uuids: list[str]) -> list[int]:
    """µs from the tap taking each member's add-member to its enter callback at the app."""
    tap = rig.tap
    wanted = {u for u in uuids if u in tap.joined_seen}

    def arrivals() -> dict[str, int]:
        return {uuid: arrival for action, uuid, _ts, arrival, _member
                in rig.app.stats()["callbacks"] if action == "enter" and uuid in wanted}

    wait_until(lambda: len(arrivals()) >= len(wanted), timeout=15, step=0.2)
    return [arrival - tap.joined_seen[uuid] for uuid, arrival in arrivals().items()]


def _phase(rig: Rig, rate: int, calls: int, direct: bool, run: str = "") -> dict:
    tag = f"{'d' if direct else 'c'}{rate}{run}"
    prefix = "direct-" if direct else ""
    meter = CpuMeter(rig)

    def place(index: int):
        return rig.call(f"{prefix}{tag}r{index // ROOM_SIZE}", caller_id=f"{tag}n{index}")

    phones, placed_rate = place_paced(place, calls, rate)
    tap = rig.tap
    wait_until(lambda: all(uuid_of(p) in tap.joined for p in phones), timeout=30)
    busy = meter.percent()
    uuids = [uuid_of(p) for p in phones]
    setups = [tap.joined[u][0] - tap.created[u] for u in uuids
              if u in tap.joined and u in tap.created]
    name = "direct" if direct else "controller"
    figures = {f"{name}_{rate}_calls": calls, f"{name}_{rate}_joined": len(setups),
               f"{name}_{rate}_placed_per_s": round(placed_rate, 1)}
    figures.update(summary_ms(setups, f"{name}_{rate}"))
    if not direct:
        figures[f"controller_{rate}_cpu_pct"] = busy["controller"]
        figures[f"controller_{rate}_simulator_cpu_pct"] = busy["simulator"]
        shares = {u: share for u in uuids if u in tap.joined
                  if (share := _controller_share(tap, u)) is not None}
        for index, part in enumerate(("ctl_connect", "ctl_to_answer", "ctl_to_conf")):
            figures[f"controller_{rate}_{part}_p50_ms"] = round(
                median([share[index] for share in shares.values()]) / 1000, 2)
        own = sorted(sum(share) for share in shares.values())
        figures[f"controller_{rate}_ctl_total_p50_ms"] = round(percentile(own, 0.5) / 1000, 2)
        figures[f"controller_{rate}_ctl_total_p99_ms"] = round(percentile(own, 0.99) / 1000, 2)
        # the rest of each setup: FreeSWITCH's frame waits and its own work
        rest = [tap.joined[u][0] - tap.created[u] - sum(share) for u, share in shares.items()]
        figures[f"controller_{rate}_freeswitch_p50_ms"] = round(median(rest) / 1000, 2)
        enter = _enter_latencies(rig, uuids)
        figures.update(summary_ms(enter, f"controller_{rate}_enter_callback"))
    if not rig.hang_up_all(phones, timeout=60):
        figures[f"{name}_{rate}_note"] = "channels still up 60 s after hanging up"
    if not rig.settle():  # the next phase starts with an idle controller
        figures[f"{name}_{rate}_note"] = "controller sockets still open 30 s after the calls"
    return figures


def _overhead(figures: dict, rate: int) -> None:
    for name in ("p50", "p95", "p99"):
        through = figures.get(f"controller_{rate}_{name}_ms")
        direct = figures.get(f"direct_{rate}_{name}_ms")
        if through is not None and direct is not None:
            figures[f"overhead_{rate}_{name}_ms"] = round(through - direct, 1)


def run(face: str = DEFAULT_FACE, quick: bool = False) -> dict:
    """The figures for ``face`` (bench/faces.py): the app answers in that face and the
    controller speaks it; the direct path is the same for every face."""
    figures: dict = {"face": face}
    real = real_freeswitch()
    with Rig("join", face=face) as rig:
        direct = not real or rig.tap_client.direct_join_enabled()
        if not direct:
            figures["direct_note"] = ("FreeSWITCH has no direct-<room> extension: start it "
                                      "with FS_BENCH_DIRECT_JOIN=true (freeswitch-conf)")
        # A real FreeSWITCH keeps rooms while their members leave: new names every run.
        run_suffix = f"x{secrets.token_hex(2)}" if real else ""
        for rate, calls in QUICK_PHASES if quick else REAL_PHASES if real else PHASES:
            if direct:
                figures.update(_phase(rig, rate, calls, direct=True, run=run_suffix))
            figures.update(_phase(rig, rate, calls, direct=False, run=run_suffix))
            _overhead(figures, rate)
        figures["controller_log_errors"] = rig.controller.log_errors()
        if figures["controller_log_errors"]:
            figures["controller_log_error_messages"] = rig.controller.log_error_messages()
        app_stats = rig.app.stats()
        figures["app_errors"] = app_stats["error_count"]
        if app_stats["errors"]:
            figures["app_error_messages"] = app_stats["errors"][-5:]
    figures["freeswitch"] = "real (FS_ESL_HOST)" if real else "simulator, time_scale 1.0"
    figures["target"] = {
        "overhead_20_p50_ms": "<= 15 ms",
        "overhead_20_p99_ms": "<= 40 ms",
    }
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
