"""Benchmark: what a cluster of two FreeSWITCH nodes and two controllers on one Redis
sustains (issue 17): setups per second with nothing lost.

    .venv/bin/python -m bench.cluster_capacity      (or: make bench-cluster)

Layout: this process runs two simulators (node 1, node 2: time_scale 1.0, so both
stamp events with this host's clock) and their event taps; ``redis-server`` (Debian's
package) on a port of its own with no disk; two controllers (``bench.probe``, each
alone in its process) with ``[cluster] redis_url`` and ``[freeswitch] nodes`` listing
both nodes: every controller holds an Event Socket connection to each node, and each
node's dialplan sends its calls to its own controller; one application process.

Rooms never split: room k's callers all dial node k % 2, as a SIP dispatcher hashing
the dialled number would place them (README, "SIP in front of the nodes"), so no call
is moved between nodes here. MEMBERS calls in ROOMS rooms are placed as fast as
MAX_RATE allows while at most WINDOW are being set up (as ``capacity`` does), then
everyone hangs up.

The same ramp runs first on one node with one controller and no Redis (``one_node_*``):
on the 2-core machine every process of both rigs shares the same two cores, so the
two-node figure says what the cluster costs and loses, not how far it scales (two nodes
on machines of their own carry what each carries alone).

- ``setups_per_s``: members / (last add-member - first CHANNEL_CREATE), over both nodes.
- ``events_lost``: enter callbacks the application did not get for members FreeSWITCH
  added, exit callbacks for members it removed, hangup callbacks for calls; each is
  owed exactly once (``duplicates``: more than once).
- ``controllers_cpu_ms_per_setup``: both controllers' CPU during the ramp / members;
  ``redis_cpu_ms_per_setup`` the same for redis-server.
- ``move_added_join_p50_ms``: the cross-node move (controller.cluster.moves): per room a
  first caller on the home node, then one caller on the other node (moved before it
  joins) and one on the home node, one call at a time; join = CHANNEL_CREATE where the
  caller dialled -> its enter callback at the app; moved minus not moved, medians.
  ``moved_joined_on_own_node`` must be 0 (no room split).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.resolver.blocking import Resolver as BlockingResolver  # noqa: E402

from bench.children import AppProcess, ControllerProcess, free_port  # noqa: E402
from bench.harness import place_windowed, real_freeswitch, wait_until  # noqa: E402
from bench.procstat import proc_stats  # noqa: E402
from bench.stats import summary_ms  # noqa: E402
from bench.tap import SimTap  # noqa: E402
from controller.testing.redis_server import RedisServer  # noqa: E402

MEMBERS, ROOMS = 800, 80  # 10 per room, per rig: the whole run stays under two minutes
WARMUP = 20
MAX_RATE = 200.0
WINDOW = 100
MOVE_ROOMS = 20  # rooms of the move measurement: 20 moved callers, 20 not moved


class ClusterRig:
    """Two simulated nodes + Redis + two controller processes + the app, stopped in order;
    ``nodes=1``: one node and one controller without Redis (the same rig's baseline)."""

    def __init__(self, nodes: int = 2) -> None:
        self.nodes = nodes
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.redis: RedisServer | None = None
        self.app: AppProcess | None = None
        self.sims: list[Any] = []
        self.taps: list[SimTap] = []
        self.controllers: list[ControllerProcess] = []
        self._resolver: Any = None

    def __enter__(self) -> ClusterRig:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-cluster-")
        try:
            self._start(Path(self._tmp.name))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, workdir: Path) -> None:
        from controller.sim import SimConfig, Simulator

        self.redis = RedisServer(workdir) if self.nodes > 1 else None
        self.app = AppProcess(workdir)
        self._resolver = gevent.get_hub().resolver
        gevent.get_hub().resolver = BlockingResolver()  # as bench.harness.Rig: no threads
        from controller.sim.cluster import join_sip_network

        outbound = [free_port() for _ in range(self.nodes)]
        for index, port in enumerate(outbound):
            # The product's dialplan: its cluster context takes the calls moved to a room's
            # home node (freeswitch-conf/dialplan/cluster.xml).
            self.sims.append(Simulator(SimConfig(
                esl_host="127.0.0.1", esl_port=0, password="ClueCon",
                outbound_host="127.0.0.1", outbound_port=port, product_dialplan=True,
                recordings_dir=str(workdir / f"sim{index}-recordings"), time_scale=1.0,
            )).start())
        self.taps = [SimTap(sim) for sim in self.sims]
        self.sip = [f"127.0.0.1:{free_port()}" for _ in self.sims]
        for sim, address in zip(self.sims, self.sip, strict=True):
            join_sip_network(sim, address)  # one pretend SIP network (controller.sim.cluster)
        sip_addresses = ", ".join(f"127.0.0.1:{sim.esl_port}={address}"
                                  for sim, address in zip(self.sims, self.sip, strict=True))
        names = [f"127.0.0.1:{sim.esl_port}:ClueCon" for sim in self.sims]
        for index, sim in enumerate(self.sims):
            own = workdir / f"controller{index + 1}"
            own.mkdir()
            # Each lists its own node first (its default for commands it cannot route).
            nodes = ",".join([names[index], *[n for n in names if n != names[index]]])
            self.controllers.append(ControllerProcess(
                own, esl=("127.0.0.1", sim.esl_port, "ClueCon"),
                outbound=("127.0.0.1", outbound[index]),
                answer_url=f"{self.app.url}/answer/join", hangup_url=f"{self.app.url}/hangup",
                extra={} if self.redis is None else {
                    "CC_FREESWITCH_NODES": nodes, "CC_CLUSTER_REDIS_URL": self.redis.url,
                    "CC_CLUSTER_NODE_ID": f"ctl-{index + 1}",
                    "CC_CLUSTER_NODE_SIP_ADDRESSES": sip_addresses}))
        for controller in self.controllers:
            controller.wait_ready()
        gevent.sleep(0.5)  # the first room resyncs run right after connecting

    def call(self, room: int, caller_id: str, node: int | None = None,
             prefix: str = "cap") -> Any:
        """A call to room ``room`` on its node (room k lives on node k % 2), or on ``node``."""
        return self.sims[room % self.nodes if node is None else node].phones.call(
            f"{prefix}{room}", caller_id=caller_id)

    def joined(self) -> dict[str, tuple[int, str, str]]:
        return {uuid: value for tap in self.taps for uuid, value in tap.tap.joined.items()}

    def created(self) -> dict[str, int]:
        return {uuid: value for tap in self.taps for uuid, value in tap.tap.created.items()}

    def left(self) -> dict[str, int]:
        return {uuid: value for tap in self.taps for uuid, value in tap.tap.left.items()}

    def live_channels(self) -> int:
        return sum(len(sim.core.channels) for sim in self.sims)

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds so far of each process (``simulators``: this one) and the clock."""
        figures = {f"ctl-{i + 1}": proc_stats(c.pid).cpu_s
                   for i, c in enumerate(self.controllers)}
        figures["redis"] = proc_stats(self.redis.pid).cpu_s if self.redis else 0.0
        figures["app"] = proc_stats(self.app.pid).cpu_s
        own = os.times()
        figures["simulators"] = own.user + own.system
        figures["wall"] = time.monotonic()
        return figures

    def __exit__(self, *exc: object) -> None:
        for sim in self.sims:
            sim.phones.close()
        for controller in self.controllers:
            controller.stop()
        for tap in self.taps:
            tap.close()
        for sim in self.sims:
            sim.stop()
        from controller.sim.cluster import leave_sip_network

        for address in getattr(self, "sip", []):
            leave_sip_network(address)
        if self._resolver is not None:
            gevent.get_hub().resolver = self._resolver
        if self.app is not None:
            self.app.stop()
        if self.redis is not None:
            self.redis.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def _callbacks(rig: ClusterRig) -> tuple[dict[str, int], int, dict[str, int]]:
    """(callbacks by action, hangup callbacks, callbacks of one member by action+uuid)."""
    stats = rig.app.stats()
    counts: dict[str, int] = {}
    per_member: dict[str, int] = {}
    for action, *rest in stats["callbacks"]:
        counts[action] = counts.get(action, 0) + 1
        key = f"{action} {rest[0] if rest else ''}"
        per_member[key] = per_member.get(key, 0) + 1
    return counts, stats["hangups"], per_member


def _hang_up(phones: list[Any]) -> None:
    for phone in phones:
        try:
            phone.hangup()
        except Exception:  # noqa: BLE001 - a phone already gone is fine
            pass


def _enter_arrivals(rig: ClusterRig) -> dict[str, int]:
    """Call uuid -> when its enter callback reached the application (this host's µs)."""
    return {uuid: arrival for action, uuid, _stamp, arrival, *_ in rig.app.stats()["callbacks"]
            if action == "enter"}


def _moves(rig: ClusterRig) -> dict:
    """The cost of the cross-node move: per room, a first caller on the home node, then
    one caller on the other node (moved to the home node before it joins) and one more on
    the home node (not moved), one call at a time: join time = the caller's CHANNEL_CREATE
    on the node it dialled -> its enter callback at the application (the move is
    invisible to the app: same call uuid). Added join time = moved - not moved, median."""
    rig.app.reset()
    joins: dict[str, list[float]] = {"moved": [], "direct": []}
    phones = []
    for room in range(MOVE_ROOMS):
        home, other = room % 2, 1 - room % 2
        for kind, node in (("first", home), ("moved", other), ("direct", home)):
            phone = rig.call(room, caller_id=f"mv{room}{kind}", node=node, prefix="mv")
            phones.append(phone)
            if not wait_until(lambda phone=phone: phone.uuid in _enter_arrivals(rig), 20,
                              step=0.02):
                continue
            if kind != "first":
                created = rig.created()[phone.uuid]
                joins[kind].append(_enter_arrivals(rig)[phone.uuid] - created)
    # The moved callers' members are on the home node: their far legs (node 1's tap
    # sees them join, under their own uuid), none under the caller's uuid on its own node.
    split = sum(1 for p in phones if "moved" in p.caller_id and p.uuid in rig.joined())
    _hang_up(phones)
    wait_until(lambda: rig.live_channels() == 0, 30)
    figures = {"move_rooms": MOVE_ROOMS, "moved_joined": len(joins["moved"]),
               "moved_joined_on_own_node": split}
    figures.update(summary_ms(joins["moved"], "moved_join"))
    figures.update(summary_ms(joins["direct"], "direct_join"))
    if joins["moved"] and joins["direct"]:
        figures["move_added_join_p50_ms"] = round(
            figures["moved_join_p50_ms"] - figures["direct_join_p50_ms"], 1)
    return figures


def _ramp(rig: ClusterRig) -> dict:
    """Warm-up, then MEMBERS calls into ROOMS rooms as fast as allowed, then everyone
    hangs up: setups/s, join times, CPU, what was lost or sent twice."""
    figures: dict = {}
    warm = [rig.call(i % rig.nodes, caller_id=f"warm{i}") for i in range(WARMUP)]
    wait_until(lambda: all(p.uuid in rig.joined() for p in warm), timeout=30)
    _hang_up(warm)
    wait_until(lambda: rig.live_channels() == 0, 30)
    wait_until(lambda: _callbacks(rig)[1] >= WARMUP, 15, step=0.1)
    rig.app.reset()
    base = len(rig.joined())
    per_room = MEMBERS // ROOMS
    cpu_before = rig.cpu_s()

    def place(index: int) -> Any:
        return rig.call(index // per_room, caller_id=f"cap{index}")

    phones, placed_rate = place_windowed(place, MEMBERS, MAX_RATE, WINDOW,
                                         done=lambda: len(rig.joined()) - base)
    all_joined = wait_until(lambda: all(p.uuid in rig.joined() for p in phones), 120)
    cpu_ramp = rig.cpu_s()
    joined_now, created = rig.joined(), rig.created()
    joined = [p.uuid for p in phones if p.uuid in joined_now]
    first = min(created[u] for u in joined)
    last = max(joined_now[u][0] for u in joined)
    setups = [joined_now[u][0] - created[u] for u in joined]
    wait_until(lambda: _callbacks(rig)[0].get("enter", 0) >= len(joined), 60, step=0.5)
    controllers_cpu = sum(cpu_ramp[k] - cpu_before[k] for k in cpu_ramp if k.startswith("ctl-"))
    wall = cpu_ramp["wall"] - cpu_before["wall"]
    figures.update({
        "nodes": rig.nodes, "controllers": len(rig.controllers),
        "members": len(joined),
        "rooms": len({joined_now[u][1] for u in joined}),
        "all_joined": all_joined,
        "setups_per_s": round(len(joined) / max((last - first) / 1e6, 1e-6), 1),
        "placed_per_s": round(placed_rate, 1),
    })
    figures.update(summary_ms(setups, "ramp_join"))
    figures.update({
        "controllers_cpu_ms_per_setup": round(1000 * controllers_cpu / max(1, len(joined)), 2),
        "redis_cpu_ms_per_setup": round(
            1000 * (cpu_ramp["redis"] - cpu_before["redis"]) / max(1, len(joined)), 3),
        # who was busy during the ramp (% of one core): on two shared cores the figure
        # means little without it
        "cpu_pct_ramp": ", ".join(f"{k} {100 * (cpu_ramp[k] - cpu_before[k]) / wall:.0f}"
                                  for k in cpu_ramp if k != "wall"),
        "members_per_node": "/".join(
            str(sum(1 for u in joined if u in tap.tap.joined)) for tap in rig.taps),
    })

    started = time.monotonic()
    _hang_up(phones)
    down = wait_until(lambda: rig.live_channels() == 0, 120)
    wait_until(lambda: _callbacks(rig)[1] >= len(phones), 60, step=0.5)
    gevent.sleep(1.0)  # a callback sent twice would arrive now
    counts, hangups, per_member = _callbacks(rig)
    left = rig.left()
    lost = {
        "enter": max(0, len(joined) - counts.get("enter", 0)),
        "exit": max(0, sum(1 for u in joined if u in left) - counts.get("exit", 0)),
        "hangup": max(0, len(phones) - hangups),
    }
    figures.update({
        "teardown_s": round(time.monotonic() - started, 1),
        "teardown_complete": down,
        "events_lost": sum(lost.values()),
        "events_lost_detail": ", ".join(f"{k} {v}" for k, v in lost.items()),
        "duplicates": sum(n - 1 for n in per_member.values() if n > 1),
        "controller_log_errors": sum(c.log_errors() for c in rig.controllers),
    })
    if figures["controller_log_errors"]:
        figures["controller_log_errors_detail"] = " | ".join(
            message for c in rig.controllers for message in c.log_error_messages(3))
    return figures


def run() -> dict:
    if real_freeswitch():
        return {"skipped": "needs the simulator (two simulated nodes)"}
    # The same rig with one node and one controller, no Redis, first: on two shared cores
    # the two-node figure is only meaningful beside it.
    with ClusterRig(nodes=1) as rig:
        one = _ramp(rig)
    with ClusterRig(nodes=2) as rig:
        figures = _ramp(rig)
        figures.update(_moves(rig))
    figures.update({f"one_node_{name}": one[name] for name in (
        "setups_per_s", "ramp_join_p50_ms", "controllers_cpu_ms_per_setup", "events_lost",
        "duplicates", "cpu_pct_ramp")})
    figures["target"] = {"setups_per_s": "> one_node_setups_per_s on machines of their own",
                         "events_lost": "0", "duplicates": "0",
                         "move_added_join_p50_ms": "small beside the join itself"}
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
