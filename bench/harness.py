"""What the controller benchmarks share: three processes, an event tap, paced calls, /proc.

Layout (bench/README.md explains why):

    this process      the FreeSWITCH simulator (or a real FreeSWITCH, see below), the
                      event tap, the pacing of calls
    controller        ``python -m bench.probe``: the unmodified ``conference-controller
                      run`` configured by CC_* environment variables, alone in its process
                      so its RSS and CPU are its own
    application       ``python -m bench.app``: the Flask app serving the answer URL and
                      receiving callbacks, stamping each callback's arrival

Every child holds its stdin open to us and exits when it reads EOF, so even a
killed benchmark leaves no process behind; ``Rig`` stops them in order.

Real FreeSWITCH (``FS_ESL_HOST`` set, as in tests/stack.py): no simulator; the
controller connects to that FreeSWITCH and listens on CC_OUTBOUND_LISTEN_PORT
(8084) where its dialplan sends calls, SIPp phones (``FS_SIP_*``) place the
calls (finding each call's channel from CHANNEL_CREATE on their own ESL
connection), and the tap is an inbound ESL connection. Only join_overhead
supports it; with FS_BENCH_DIRECT_JOIN=true in FreeSWITCH's environment it
measures the direct path too.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gevent
from gevent.resolver.blocking import Resolver as BlockingResolver

from bench.children import AppProcess, ControllerProcess, free_port
from bench.faces import DEFAULT_FACE, check_face, controller_settings
from bench.procstat import ProcStats, children_cpu_s, proc_stats, socket_kinds
from bench.tap import EslTap, SimTap, Tap

SIM_GC_THRESHOLD = 10_000  # allocations between two young-generation collections (default 700)


def real_freeswitch() -> bool:
    return bool(os.environ.get("FS_ESL_HOST"))


class CpuMeter:
    """CPU used by this process (the simulator), the controller and the app over a span:
    on two cores, a figure means little unless we know who else was busy."""

    def __init__(self, rig: Rig) -> None:
        self._pids = {"controller": rig.controller.pid, "app": rig.app.pid}
        self._start = self._sample()

    def _sample(self) -> dict[str, float]:
        own = os.times()
        sample = {"simulator": own.user + own.system, "wall": time.monotonic()}
        for name, pid in self._pids.items():
            sample[name] = proc_stats(pid).cpu_s
        # [webhooks] delivery_processes: the controller's children send its callbacks
        sample["delivery_workers"] = children_cpu_s(self._pids["controller"])
        return sample

    def percent(self) -> dict[str, float]:
        """{"simulator": %, "controller": %, "app": %} since the meter was made."""
        now = self._sample()
        wall = max(now["wall"] - self._start["wall"], 1e-9)
        return {name: round(100 * (now[name] - self._start[name]) / wall, 1)
                for name in now if name != "wall"}


# ---------------------------------------------------------------- calls
def uuid_of(phone: Any) -> str:
    """The phone's channel UUID, or "" while unknown (a SIPp phone looks it up over ESL
    and fails if the call is gone; a simulated phone knows it at once)."""
    try:
        return phone.uuid
    except Exception:  # noqa: BLE001 - PhoneError and the like: no channel to name
        return ""


def place_paced(call: Callable[[int], Any], count: int, rate: float) -> tuple[list[Any], float]:
    """Open loop: call ``call(i)`` at ``rate`` per second whatever happens to earlier calls.

    Returns the results and the achieved placing rate (per second). If placing
    falls behind, calls go out back to back until the schedule is met again.
    """
    results = []
    started = time.monotonic()
    for index in range(count):
        due = started + index / rate
        delay = due - time.monotonic()
        if delay > 0:
            gevent.sleep(delay)
        results.append(call(index))
    elapsed = time.monotonic() - started
    return results, (count - 1) / elapsed if count > 1 and elapsed > 0 else float(count)


def place_windowed(call: Callable[[int], Any], count: int, max_rate: float, window: int,
                   done: Callable[[], int]) -> tuple[list[Any], float]:
    """Place calls as fast as ``max_rate`` allows while fewer than ``window`` are still
    being set up (``done()`` says how many of ours have joined): the ramp measures the
    rate the controller sustains rather than a queue that grows without bound."""
    results = []
    started = time.monotonic()
    for index in range(count):
        due = started + index / max_rate
        delay = due - time.monotonic()
        if delay > 0:
            gevent.sleep(delay)
        while index - done() >= window:
            gevent.sleep(0.005)
        results.append(call(index))
    elapsed = time.monotonic() - started
    return results, (count - 1) / elapsed if count > 1 and elapsed > 0 else float(count)


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(step)
    return True


# ---------------------------------------------------------------- the rig
class Rig:
    """Simulator (or real FreeSWITCH) + controller process + app process, torn down in order.

        with Rig("join") as rig:
            phone = rig.call("room1", caller_id="a1")
            rig.tap.joined ...
    """

    def __init__(self, profile: str, controller_env: dict[str, str] | None = None,
                 face: str = DEFAULT_FACE) -> None:
        self.profile = profile
        self.face = check_face(face)  # what the app and the controller speak (bench/faces.py)
        self.controller_env = controller_env or {}
        self.real = real_freeswitch()
        self._gc_threshold = gc.get_threshold()  # this process's, restored on exit
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.workdir = Path()
        self.app: AppProcess | None = None
        self.controller: ControllerProcess | None = None
        self.sim: Any = None
        self.phones: Any = None
        self._tap: Any = None
        self.idle: ProcStats | None = None  # the controller once ready, before any call
        self.esl_port = 0
        self._resolver: Any = None

    @property
    def tap(self) -> Tap:
        return self._tap.tap

    @property
    def tap_client(self) -> EslTap:
        """The tap's inbound connection (real FreeSWITCH only)."""
        if not isinstance(self._tap, EslTap):
            raise RuntimeError("the simulator's tap has no Event Socket connection")
        return self._tap

    def __enter__(self) -> Rig:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-")
        self.workdir = Path(self._tmp.name)
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        http_port = free_port()
        self.app = AppProcess(self.workdir, self.face, f"http://127.0.0.1:{http_port}")
        urls = {"answer_url": f"{self.app.url}/answer/{self.profile}",
                "hangup_url": f"{self.app.url}/hangup"}
        if self.real:
            esl = (os.environ["FS_ESL_HOST"], int(os.environ.get("FS_ESL_PORT", "8021")),
                   os.environ.get("FS_ESL_PASSWORD", "ClueCon"))
            outbound = ("0.0.0.0", int(os.environ.get("CC_OUTBOUND_LISTEN_PORT", "8084")))
            self._tap = EslTap(*esl)
            from controller.testing.sipp_phones import SippPhones

            self.phones = SippPhones.from_environment(esl=self._tap.api)
        else:
            from controller.sim import SimConfig, Simulator

            outbound = ("127.0.0.1", free_port())
            self.sim = Simulator(SimConfig(
                esl_host="127.0.0.1", esl_port=0, password="ClueCon",
                outbound_host="127.0.0.1", outbound_port=outbound[1],
                recordings_dir=str(self.workdir / "sim-recordings"),
                time_scale=1.0,  # event stamps must be wall-clock time: callbacks compare them
            )).start()
            esl = ("127.0.0.1", self.sim.esl_port, "ClueCon")
            # The socket app connects to 127.0.0.1 for every call: gevent's default
            # resolver hands each getaddrinfo to its thread pool (12% of the simulator's
            # time at 100 calls/s); numeric addresses need no resolver thread.
            self._resolver = gevent.get_hub().resolver
            gevent.get_hub().resolver = BlockingResolver()
            self._tap = SimTap(self.sim)
            self.phones = self.sim.phones
            # The simulator's cyclic garbage collection was about half of this process's
            # CPU (a profile of 2,000 calls: 5.5 of 11 s): its events and channels are
            # young objects by the thousand. Collect less often while the rig lives (the
            # controller is another process: its own settings are untouched).
            gc.collect()
            gc.freeze()
            gc.set_threshold(SIM_GC_THRESHOLD, 20, 100)
        self.esl_port = esl[1]
        extra = {**controller_settings(self.face, self.app.url), **self.controller_env}
        self.controller = ControllerProcess(self.workdir, esl=esl, outbound=outbound,
                                            extra=extra, http_port=http_port, **urls)
        self.controller.wait_ready()
        gevent.sleep(0.2)  # the controller's first room resync runs right after connecting
        self.idle = self.controller.stats()

    def controller_sockets(self) -> dict[str, int]:
        """The controller's sockets: calls (outbound ESL), freeswitch (inbound ESL),
        app (kept-alive webhook connections), listening, other."""
        return socket_kinds(self.controller.pid, {
            "calls": self.controller.outbound[1], "freeswitch": self.esl_port,
            "app": int(self.app.url.rsplit(":", 1)[1]), "http": self.controller.http_port,
        })

    def settle(self, timeout: float = 30.0) -> bool:
        """Until no call socket is open in the controller (each closes after its linger,
        exit and hangup callbacks)."""
        return wait_until(lambda: self.controller_sockets()["calls"] == 0, timeout, step=0.1)

    def call(self, number: str, caller_id: str) -> Any:
        return self.phones.call(number, caller_id=caller_id)

    def live_channels(self) -> int:
        if self.sim is not None:
            return len(self.sim.core.channels)
        return len(set(self.tap.created) - set(self.tap.hung_up))

    def hang_up_all(self, phones: Iterable[Any], timeout: float = 30.0) -> bool:
        """BYE on every phone still up; True once FreeSWITCH has no channel left."""
        for phone in phones:
            try:
                phone.hangup()
            except Exception:  # noqa: BLE001 - a phone already gone is fine
                pass
        return wait_until(lambda: self.live_channels() == 0, timeout)

    def __exit__(self, *exc: object) -> None:
        try:
            if self.phones is not None:
                self.phones.close()
        finally:
            if self.controller is not None:
                self.controller.stop()
            if self._tap is not None:
                self._tap.close()
            if self.sim is not None:
                self.sim.stop()
                gevent.get_hub().resolver = self._resolver
                gc.set_threshold(*self._gc_threshold)
                gc.unfreeze()
            if self.app is not None:
                self.app.stop()
            if self._tmp is not None:
                self._tmp.cleanup()
