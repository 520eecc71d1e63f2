"""The switch core: registries shared by every part of the simulator.

One ``Core`` per ``Simulator``: the clock, the event bus, live channels and
conferences, global variables, the API table, the log fan-out and the
greenlets it started (so ``stop()`` can kill exactly those).
"""

from __future__ import annotations

import itertools
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent

from controller.sim.clock import SimClock
from controller.sim.config import SimConfig
from controller.sim.events import EventBus, Identity

if TYPE_CHECKING:
    from controller.sim.channel import Channel

LOG_LEVEL_NAMES = {0: "CONSOLE", 1: "ALERT", 2: "CRIT", 3: "ERR", 4: "WARNING",
                   5: "NOTICE", 6: "INFO", 7: "DEBUG"}  # fmt: skip

ApiFunc = Callable[["Core", str, "Channel | None"], str]


class Core:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.clock = SimClock(config.time_scale)
        self.identity = Identity(
            core_uuid=str(uuidlib.uuid4()),
            hostname=config.hostname,
            switchname=config.hostname,
            ipv4=config.ipv4,
            ipv6=config.ipv6,
        )
        self.bus = EventBus(self.clock, self.identity)
        self.started_at = self.clock.now()
        self.channels: dict[str, Channel] = {}
        self.conferences: dict[str, Any] = {}  # name -> Conference (case-sensitive)
        self.global_vars: dict[str, str] = dict(config.global_vars)
        # switch_core.c (switch_core_init) stores the Core-UUID as the global `core_uuid`.
        self.global_vars.setdefault("core_uuid", self.identity.core_uuid)
        self.apis: dict[str, ApiFunc] = {}
        self.api_syntax: dict[str, str] = {}
        self._member_ids = itertools.count(config.first_member_id)
        self._session_ids = itertools.count(1)
        self.sessions_since_start = 0
        self._log_sinks: list[Callable[[int, str, str, int, str, str, int], None]] = []
        self._greenlets: set[gevent.Greenlet] = set()
        self.stopping = False
        from controller.sim.commands import Scheduler

        self.scheduler = Scheduler(self)

    # ------------------------------------------------------------ ids
    def next_member_id(self) -> int:
        """mod_conference next_member_id: global, only grows; recorders use ids too."""
        return next(self._member_ids)

    def next_session_id(self) -> int:
        self.sessions_since_start += 1
        return next(self._session_ids)

    # ------------------------------------------------------------ greenlets
    def spawn(self, func: Callable[..., Any], *args: Any) -> gevent.Greenlet:
        greenlet = gevent.spawn(func, *args)
        self._track(greenlet)
        return greenlet

    def spawn_later(
        self, sim_seconds: float, func: Callable[..., Any], *args: Any
    ) -> gevent.Greenlet:
        greenlet = self.clock.spawn_later(sim_seconds, func, *args)
        self._track(greenlet)
        return greenlet

    def _track(self, greenlet: gevent.Greenlet) -> None:
        self._greenlets.add(greenlet)
        greenlet.link(self._greenlets.discard)

    def kill_all(self, timeout: float = 2.0) -> None:
        current = gevent.getcurrent()
        victims = [g for g in self._greenlets if g is not current]
        gevent.killall(victims, timeout=timeout)

    # ------------------------------------------------------------ logging
    def add_log_sink(self, sink: Callable[..., None]) -> None:
        self._log_sinks.append(sink)

    def remove_log_sink(self, sink: Callable[..., None]) -> None:
        if sink in self._log_sinks:
            self._log_sinks.remove(sink)

    def log(
        self,
        level: int,
        file: str,
        func: str,
        line: int,
        text: str,
        uuid: str = "",
        clean: bool = False,
    ) -> None:
        """switch_log_printf to every ``log``-enabled socket (text as FreeSWITCH formats it)."""
        if not self._log_sinks:
            return
        if clean:
            body = text + "\n"
            channel = 1
        else:
            now = self.clock.now()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
            micros = int((now % 1) * 1_000_000)
            body = (
                f"{stamp}.{micros:06d} 99.50% [{LOG_LEVEL_NAMES.get(level, 'DEBUG')}] "
                f"{file}:{line} {text}\n"
            )
            channel = 3
        for sink in list(self._log_sinks):
            sink(level, file, func, line, body, uuid, channel)

    # ------------------------------------------------------------ API
    def register_api(self, name: str, func: ApiFunc, syntax: str = "") -> None:
        self.apis[name] = func
        self.api_syntax[name] = syntax

    def execute_api(
        self, cmd: str, arg: str | None, session: Channel | None = None
    ) -> tuple[bool, str]:
        """switch_api_execute: run a command, fire the API event; (found, output)."""
        cmd = cmd.strip()
        arg = arg.strip() if arg else arg
        event = self.bus.create("API", ("switch_loadable_module.c", "switch_api_execute", 2765))
        if cmd:
            event.add("API-Command", cmd)
        if arg:
            event.add("API-Command-Argument", arg)
        func = self.apis.get(cmd)
        if func is None:
            self.bus.fire(event)
            return False, "INVALID COMMAND!\n"
        try:
            output = func(self, arg or "", session)
        except Exception as exc:  # a bug in one command must not take the switch down
            output = f"-ERR {cmd} failed in the simulator: {exc!r}\n"
        self.bus.fire(event)
        return True, output

    # ------------------------------------------------------------ paths
    def map_path(self, path: str) -> str:
        """Where a path FreeSWITCH would use lives on this machine (SimConfig.path_map)."""
        for prefix, local in self.config.path_map.items():
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return local.rstrip("/") + path[len(prefix.rstrip("/")) :]
        if path.startswith("/") or "://" in path:
            return path
        return path

    # ------------------------------------------------------------ channels
    def find_channel(self, uuid: str | None) -> Channel | None:
        if not uuid:
            return None
        channel = self.channels.get(uuid.strip())
        if channel is None or channel.destroyed.is_set():
            return None
        return channel
