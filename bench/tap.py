"""FreeSWITCH's own record of each call, from its events (Event-Date-Timestamp, µs).

``SimTap`` reads the simulator's event bus in this process (no socket, no
serialisation); ``EslTap`` is an inbound ESL connection to a real FreeSWITCH.
Either way every event time is FreeSWITCH's clock. ``joined_seen`` is the other
clock: this host's ``time.time()`` when the tap took each add-member, the clock
the application (bench/app.py) stamps callback arrivals with, so event ->
callback latency is measured on one clock even when FreeSWITCH runs elsewhere.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import gevent

TAPPED = ("CHANNEL_CREATE", "CHANNEL_PARK", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE",
          "CHANNEL_HANGUP_COMPLETE")
MEMBER_ACTIONS = ("add-member", "del-member", "floor-change", "digits-match")


@dataclass
class Tap:
    """Per channel: when it was created, parked, ran each app, joined and left its room;
    every floor change and digits match. Only ``record`` writes it."""

    created: dict[str, int] = field(default_factory=dict)
    parked: dict[str, int] = field(default_factory=dict)
    executed: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    completed: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    hung_up: dict[str, int] = field(default_factory=dict)
    joined: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # ts, room, member
    joined_seen: dict[str, int] = field(default_factory=dict)  # local µs the tap took it
    left: dict[str, int] = field(default_factory=dict)
    floor: list[tuple[int, str, str, str]] = field(default_factory=list)  # ts, room, new, uuid
    digits: list[tuple[int, str, str]] = field(default_factory=list)  # ts, uuid, digits
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def record(self, event: Any) -> None:
        """Take one event (sim ``Event`` or ESL ``Event``: both have ``get``)."""
        get = event.get
        name = get("Event-Name")
        if name == "CUSTOM":
            if get("Event-Subclass") != "conference::maintenance":
                return
            action = get("Action")
            if action not in MEMBER_ACTIONS:
                self.counts[action or "?"] += 1
                return
            self.counts[action] += 1
            stamp, uuid = int(get("Event-Date-Timestamp")), get("Unique-ID") or ""
            if action == "add-member":
                self.joined_seen[uuid] = int(time.time() * 1e6)
                self.joined[uuid] = (stamp, get("Conference-Name") or "", get("Member-ID") or "")
            elif action == "del-member":
                self.left[uuid] = stamp
            elif action == "floor-change":
                new = get("New-ID") or "none"
                self.floor.append((stamp, get("Conference-Name") or "", new,
                                   uuid if new != "none" else ""))
            else:
                self.digits.append((stamp, uuid, get("Digits") or ""))
            return
        if name not in TAPPED:
            return
        self.counts[name] += 1
        uuid, stamp = get("Unique-ID") or "", int(get("Event-Date-Timestamp"))
        if name == "CHANNEL_CREATE":
            self.created[uuid] = stamp
        elif name == "CHANNEL_PARK":
            self.parked.setdefault(uuid, stamp)
        elif name == "CHANNEL_EXECUTE":
            self.executed[uuid].append((get("Application") or "", stamp))
        elif name == "CHANNEL_EXECUTE_COMPLETE":
            self.completed[uuid].append((get("Application") or "", stamp))
        else:
            self.hung_up[uuid] = stamp


class SimTap:
    """The tap on the simulator's event bus: no socket, no serialisation."""

    def __init__(self, sim: Any) -> None:
        self.tap = Tap()
        self._bus = sim.core.bus
        self._bus.subscribe(self.tap.record)

    def close(self) -> None:
        self._bus.unsubscribe(self.tap.record)


class EslTap:
    """The tap as an inbound ESL connection (real FreeSWITCH); also runs API commands."""

    def __init__(self, host: str, port: int, password: str) -> None:
        from controller.esl import InboundClient

        self.tap = Tap()
        self.client = InboundClient(host, port, password)
        self._queue = self.client.subscribe("bench-tap", [*TAPPED, "conference::maintenance"])
        self.client.start()
        if not self.client.wait_connected(10):
            self.client.stop()
            raise RuntimeError(f"cannot reach FreeSWITCH ESL at {host}:{port}: "
                               f"{self.client.last_error}")
        self._reader = gevent.spawn(self._drain)

    def _drain(self) -> None:
        # Events are recorded as they leave the client's queue: joined_seen is when this
        # listener saw the event (plus the queue's wait, microseconds when idle).
        while True:
            event = self._queue.get(timeout=1.0)
            if event is not None:
                self.tap.record(event)

    def api(self, command: str) -> str:
        return self.client.api(command)

    def direct_join_enabled(self) -> bool:
        """Whether freeswitch-conf's benchmark-only ``direct-<room>`` extension is on
        (FS_BENCH_DIRECT_JOIN=true sets the global variable it reads at call time).
        The one FreeSWITCH command string of the benchmarks lives here."""
        return self.client.api("global_getvar bench_direct_join").strip() == "true"

    def close(self) -> None:
        self._reader.kill()
        self.client.stop()
