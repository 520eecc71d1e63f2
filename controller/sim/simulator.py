"""The simulator: an inbound Event Socket server, phones, rooms, heartbeats.

sim = Simulator(SimConfig(esl_port=0, outbound_port=8084))
sim.start()                      # returns once listening (gevent greenlets)
phone = sim.phones.call("1000", caller_id="alice")
...
sim.stop()                       # closes every socket and greenlet it made
"""

from __future__ import annotations

import logging
import os
from typing import Any

import gevent
import gevent.server

from controller.sim import apps, cluster, outbound, read  # noqa: F401 - registers dialplan applications
from controller.sim.commands import VERSION, register_all
from controller.sim.conference import app as conference_app  # noqa: F401 - registers `conference`
from controller.sim.config import SimConfig
from controller.sim.core import Core
from controller.sim.dialplan import Dialplan, make_dialplan
from controller.sim.listener import Listener
from controller.sim.phones import PhoneBook

log = logging.getLogger(__name__)


class Simulator:
    def __init__(self, config: SimConfig | None = None, dialplan: Dialplan | None = None) -> None:
        self.config = (config or SimConfig()).validate()
        self.core = Core(self.config)
        register_all(self.core)
        target = (
            f"{self.config.outbound_host}:{self.config.outbound_port} {self.config.outbound_mode}"
        )
        self.dialplan = dialplan or make_dialplan(target.strip(), self.config.recordings_dir,
                                                  self.config.product_dialplan)
        self.phones = PhoneBook(self.core, self.dialplan)
        self._server: gevent.server.StreamServer | None = None
        self._listeners: set[Listener] = set()
        self._control: Any = None
        self.esl_port: int | None = None
        self.control_port: int | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> Simulator:
        """Listen for inbound ESL (and the control port); returns when listening."""
        if self._server is not None:
            raise RuntimeError("Simulator.start: already started")
        os.makedirs(self.core.map_path(self.config.recordings_dir), exist_ok=True)
        self._server = gevent.server.StreamServer(
            (self.config.esl_host, self.config.esl_port), self._accept
        )
        self._server.start()
        self.esl_port = self._server.server_port
        self.core.spawn(self._heartbeat)
        if self.config.control_port is not None:
            from controller.sim.control import ControlServer

            self._control = ControlServer(self, self.config.control_host, self.config.control_port)
            self._control.start()
            self.control_port = self._control.port
        return self

    def stop(self) -> None:
        """Hang up every call and close every socket and greenlet the simulator made."""
        core = self.core
        if core.stopping:
            return
        for channel in list(core.channels.values()):
            channel.hangup("SYSTEM_SHUTDOWN")
        gevent.sleep(0)
        core.stopping = True
        if self._control is not None:
            self._control.stop()
        if self._server is not None:
            self._server.stop(timeout=1)
        for listener in list(self._listeners):
            listener.close()
        for channel in list(core.channels.values()):
            for listener in list(channel.controllers):
                listener.close()
        gevent.sleep(0)
        core.kill_all()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self, sock: Any, address: Any) -> None:
        listener = Listener(self.core, sock)
        self._listeners.add(listener)
        listener.start()
        try:
            listener.finished.wait()
        finally:
            self._listeners.discard(listener)

    def _heartbeat(self) -> None:
        """switch_core.c send_heartbeat every heartbeat_interval (20 s in FreeSWITCH)."""
        core = self.core
        while not core.stopping:
            core.clock.sleep(self.config.heartbeat_interval)
            up = int((core.clock.now() - core.started_at) * 1000)
            seconds, ms = divmod(up, 1000)
            days, rem = divmod(seconds, 86400)
            hours, rem = divmod(rem, 3600)
            minutes, secs = divmod(rem, 60)

            def unit(n: int, word: str) -> str:
                return f"{n} {word}{'' if n == 1 else 's'}"

            event = core.bus.create("HEARTBEAT", ("switch_core.c", "send_heartbeat", 95))
            live = len(core.channels)
            event.extend(
                [
                    ("Event-Info", "System Ready"),
                    (
                        "Up-Time",
                        ", ".join(
                            [
                                unit(0, "year"),
                                unit(days, "day"),
                                unit(hours, "hour"),
                                unit(minutes, "minute"),
                                unit(secs, "second"),
                                unit(ms, "millisecond"),
                                unit(0, "microsecond"),
                            ]
                        ),
                    ),
                    ("FreeSWITCH-Version", VERSION.split(" ")[2]),
                    ("Uptime-msec", str(up)),
                    ("Session-Count", str(live)),
                    ("Max-Sessions", "1000"),
                    ("Session-Per-Sec", "30"),
                    ("Session-Per-Sec-Last", "0"),
                    ("Session-Per-Sec-Max", "0"),
                    ("Session-Per-Sec-FiveMin", "0"),
                    ("Session-Since-Startup", str(core.sessions_since_start)),
                    ("Session-Peak-Max", str(live)),
                    ("Session-Peak-FiveMin", str(live)),
                    ("Idle-CPU", "99.500000"),
                ]
            )
            core.bus.fire(event)

    # ------------------------------------------------------------ inspection
    def conference_state(self, room: str) -> dict | None:
        """A snapshot of a live room (None if it does not exist), for tests and demos."""
        conf = self.core.conferences.get(room)
        if conf is None or "destruct" in conf.flags:
            return None
        members = []
        for member in conf.members:
            if member.channel is None:
                continue
            f = member.flags
            members.append(
                {
                    "id": member.id,
                    "uuid": member.channel.uuid,
                    "caller_id": member.channel.leg.caller_id,
                    "caller_name": member.channel.leg.caller_name,
                    "muted": "can_speak" not in f,
                    "deaf": "can_hear" not in f,
                    "talking": "talking" in f,
                    "hold": "hold" in f,
                    "moderator": "moderator" in f,
                    "floor": member.id == conf.floor_holder,
                    "flags": sorted(f),
                    "energy": member.energy_level,
                    "volume_in": member.volume_in,
                    "volume_out": member.volume_out,
                }
            )
        return {
            "name": conf.name,
            "uuid": conf.uuid,
            "profile": conf.profile_name,
            "count": conf.count,
            "flags": sorted(conf.flags),
            "locked": "locked" in conf.flags,
            "wait_mod": "wait_mod" in conf.flags,
            "max_members": conf.max_members,
            "floor_holder": conf.floor_holder or None,
            "recording": conf.record_count > 0,
            "recordings": [rec.path for rec in conf.records],
            "variables": dict(conf.variables),
            "moh": conf.tmp_moh_sound or conf.moh_sound,
            "playing": [node.path for node in conf.fnodes]
            + ([conf.async_fnode.path] if conf.async_fnode else []),
            "members": members,
        }

    def rooms(self) -> list[str]:
        return [
            name for name, conf in self.core.conferences.items() if "destruct" not in conf.flags
        ]

    # ------------------------------------------------------------ load
    def churn_talking(self, room: str, cycles: int, interval: float = 0.0) -> int:
        """Toggle every member of ``room`` between talking and silent ``cycles`` times.

        Each toggle goes through the normal path (start-talking/stop-talking,
        floor changes). Returns how many toggles were applied. Meant for
        throughput benchmarks; stop-talking needs 800 ms of simulated silence.
        """
        conf = self.core.conferences.get(room)
        if conf is None:
            raise ValueError(f"churn_talking: no conference named {room!r}")
        toggles = 0
        for _ in range(cycles):
            for member in list(conf.members):
                channel = member.channel
                if (
                    channel is None
                    or channel.phone is None
                    or not member.running
                    or not channel.phone.is_up
                ):
                    continue
                if channel.audio_active:
                    channel.phone.stop_talking()
                else:
                    channel.phone.start_talking()
                toggles += 1
            gevent.sleep(interval)
        return toggles

    def churn_mute(self, room: str, cycles: int, interval: float = 0.0) -> int:
        """Run ``conference <room> mute all`` then ``unmute all``, ``cycles`` times.

        The commands go through the API table exactly as over ESL, so every
        member yields a real mute-member/unmute-member event; no timers are
        involved, which makes this the cheapest high-volume event source.
        Returns how many member events were produced.
        """
        conf = self.core.conferences.get(room)
        if conf is None:
            raise ValueError(f"churn_mute: no conference named {room!r}")
        produced = 0
        for _ in range(cycles):
            for verb in ("mute", "unmute"):
                _found, output = self.core.execute_api("conference", f"{room} {verb} all")
                produced += output.count(f"+OK {verb} ")
            gevent.sleep(interval)
        return produced
