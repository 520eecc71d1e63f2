"""Benchmark: how many members one controller process carries, and what each costs (issue 7).

    .venv/bin/python -m bench capacity

The controller runs alone in its process (bench.probe: ``conference-controller
run`` configured by CC_* variables), so everything read from /proc is its own:

1. warm-up: WARMUP calls join and leave (first-use imports and caches are not
   per-member costs), then the baseline: RSS, CPU time, sockets, greenlets.
2. ramp: MEMBERS calls in ROOMS rooms through the controller (the app answers with
   a <Conference> with a callbackUrl), placed as fast as MAX_RATE allows while at
   most WINDOW calls are still being set up: ``setups_per_s`` is what the controller
   sustains (members / (last add-member - first CHANNEL_CREATE), FreeSWITCH's clock),
   with the join time percentiles of the ramp beside it.
3. plateau: every member in its room; RSS growth / members = ``rss_kb_per_member``;
   ``controller_cpu_pct_idle_plateau``: CPU while nothing happens for IDLE_SECONDS.
4. teardown: every phone hangs up; once the controller has closed every call socket,
   greenlets and sockets left over the baseline must be 0.

``events_lost``: FreeSWITCH's add-member and del-member events for our calls
versus the enter and exit callbacks the app received, plus hangups notified
versus calls (each call owes the app one of each).
Greenlets are counted by the probe (SIGUSR1 -> a gc census), sockets from
/proc/<pid>/fd (by what they connect to: call sockets, the inbound ESL, kept-alive
webhook connections to the app). ``sockets_left`` is every socket over the
baseline, ``call_sockets_left`` only call sockets: the webhook pool keeps up to
webhooks.pool_size connections to the app open by design.
``setups_per_s_per_core`` = 1 / CPU seconds per setup: what the controller would
carry on a core of its own (here the simulator and the app share the two cores).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import time  # noqa: E402

from bench.harness import (  # noqa: E402
    CpuMeter,
    Rig,
    place_windowed,
    real_freeswitch,
    wait_until,
)
from bench.stats import summary_ms  # noqa: E402

MEMBERS, ROOMS = 2000, 200
WARMUP = 20
MAX_RATE = 200.0  # calls placed per second at most
WINDOW = 100  # calls being set up at once at most
IDLE_SECONDS = 3.0


def _join_and_leave(rig: Rig, count: int, tag: str) -> None:
    phones = [rig.call(f"{tag}{i // 10}", caller_id=f"{tag}{i}") for i in range(count)]
    wait_until(lambda: all(p.uuid in rig.tap.joined for p in phones), timeout=30)
    rig.hang_up_all(phones)
    rig.settle()
    wait_until(lambda: _callbacks(rig)[1] >= count, 10, step=0.1)  # hangup callbacks too


def _callbacks(rig: Rig) -> tuple[dict[str, int], int]:
    stats = rig.app.stats()
    counts: dict[str, int] = {}
    for action, *_rest in stats["callbacks"]:
        counts[action] = counts.get(action, 0) + 1
    return counts, stats["hangups"]


def run() -> dict:
    if real_freeswitch():
        return {"skipped": "needs the simulator (2,000 simulated phones)"}
    figures: dict = {}
    with Rig("join") as rig:
        tap, controller = rig.tap, rig.controller
        _join_and_leave(rig, WARMUP, "warm")
        rig.app.reset()
        census_before = controller.census()
        gcount_before = census_before["greenlets"]
        before, sockets_before = controller.stats(), rig.controller_sockets()

        base = len(tap.joined)
        per_room = MEMBERS // ROOMS
        meter = CpuMeter(rig)

        def place(index: int):
            return rig.call(f"cap{index // per_room}", caller_id=f"cap{index}")

        phones, placed_rate = place_windowed(place, MEMBERS, MAX_RATE, WINDOW,
                                             done=lambda: len(tap.joined) - base)
        all_joined = wait_until(lambda: all(p.uuid in tap.joined for p in phones), 120)
        ramp = controller.stats()
        busy = meter.percent()
        joined = [p.uuid for p in phones if p.uuid in tap.joined]
        first = min(tap.created[u] for u in joined)
        last = max(tap.joined[u][0] for u in joined)
        setups = [tap.joined[u][0] - tap.created[u] for u in joined]
        wait_until(lambda: _callbacks(rig)[0].get("enter", 0) >= len(joined), 60, step=0.5)
        plateau = controller.stats()
        census_plateau = controller.census()
        idle = CpuMeter(rig)
        time.sleep(IDLE_SECONDS)  # 2,000 members in their rooms, nothing happening
        idle_pct = idle.percent()["controller"]

        figures.update({
            "members": len(joined),
            "rooms": len({tap.joined[u][1] for u in joined}),
            "all_joined": all_joined,
            "setups_per_s": round(len(joined) / max((last - first) / 1e6, 1e-6), 1),
            "placed_per_s": round(placed_rate, 1),
        })
        figures.update(summary_ms(setups, "ramp_join"))
        figures.update({
            "controller_cpu_pct_ramp": busy["controller"],
            "simulator_cpu_pct_ramp": busy["simulator"],
            "app_cpu_pct_ramp": busy["app"],
            "controller_cpu_ms_per_setup": round(
                1000 * (ramp.cpu_s - before.cpu_s) / max(1, len(joined)), 2),
            # what one core given to the controller alone would carry at this cost
            "setups_per_s_per_core": round(
                len(joined) / max(ramp.cpu_s - before.cpu_s, 1e-9), 1),
            "rss_mb_baseline": round(before.rss_kb / 1024, 1),
            "rss_mb_plateau": round(plateau.rss_kb / 1024, 1),
            "rss_kb_per_member": round((plateau.rss_kb - before.rss_kb) / max(1, len(joined)),
                                       1),
            "greenlets_plateau": census_plateau["greenlets"] - gcount_before,
            "greenlets_per_member": round(
                (census_plateau["greenlets"] - gcount_before) / max(1, len(joined)), 2),
            "sockets_plateau": plateau.sockets - before.sockets,
            "controller_cpu_pct_idle_plateau": idle_pct,
        })

        cpu_teardown = controller.stats().cpu_s
        started = time.monotonic()
        down = rig.hang_up_all(phones, timeout=120)
        settled = rig.settle(timeout=120)
        teardown_s = time.monotonic() - started
        wait_until(lambda: _callbacks(rig)[1] >= len(phones), 60, step=0.5)
        after = controller.stats()
        census_after = controller.census()
        figures["threadpool_workers"] = census_after.get("threadpool_workers", 0)
        sockets_after = rig.controller_sockets()
        counts, hangups = _callbacks(rig)
        ours = set(joined)
        left = sum(1 for u in ours if u in tap.left)
        lost = {
            "enter": max(0, len(ours) - counts.get("enter", 0)),
            "exit": max(0, left - counts.get("exit", 0)),
            "hangup": max(0, len(phones) - hangups),
        }
        figures.update({
            "teardown_s": round(teardown_s, 1),
            "teardown_complete": down and settled,
            "controller_cpu_ms_per_teardown": round(
                1000 * (after.cpu_s - cpu_teardown) / max(1, len(phones)), 2),
            "events_lost": sum(lost.values()),
            "events_lost_detail": ", ".join(f"{k} {v}" for k, v in lost.items()),
            "greenlets_left": census_after["greenlets"] - gcount_before,
            "call_sockets_left": sockets_after["calls"],
            "sockets_left": after.sockets - before.sockets,
            "sockets_left_detail": ", ".join(
                f"{kind} {sockets_after[kind] - sockets_before.get(kind, 0):+d}"
                for kind in sockets_after if sockets_after[kind] != sockets_before.get(kind, 0)),
            "rss_mb_after": round(after.rss_kb / 1024, 1),
            "controller_log_errors": controller.log_errors(),
        })
        if figures["greenlets_left"]:
            grown = {name: count - census_before["by_function"].get(name, 0)
                     for name, count in census_after["by_function"].items()}
            figures["greenlets_left_detail"] = ", ".join(
                f"{name} {count:+d}" for name, count in grown.items() if count)
    figures["target"] = {
        "members": ">= 2,000 concurrent",
        "setups_per_s": ">= 100",
        "rss_kb_per_member": "<= 60 KB",
        "events_lost": "0",
        "greenlets_left": "0",
        "sockets_left": "0",
    }
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
