"""Controller CPU per call setup, per callback and per teardown, with optional cProfile.

    .venv/bin/python -m bench.cpu_profile                     # CPU figures only
    .venv/bin/python -m bench.cpu_profile --profile DIR       # + one cProfile dump per stage
    .venv/bin/python -m bench.cpu_profile --calls 200 --presses 1000

Not a benchmark of latency: on a shared machine wall-clock figures move with the
neighbours' load, the controller process's own CPU time (utime + stime from
/proc/<pid>/stat) much less. The rig is bench/harness.py's (simulator here, the
controller and the app in their own processes, Plivo face, profile ``latency``:
callbackUrl + floorEvent + digitsMatch). Stages, each measured on its own:

    setup      CALLS members join ROOM_SIZE-member rooms (at most 50/s, 20 in flight)
               until every enter callback reached the app: CPU / members
    callbacks  PRESSES digit presses at 200/s, round robin (each: the `event` app's
               EXECUTE/EXECUTE_COMPLETE + digits-match + one ``digits`` callback)
               until every callback reached the app: CPU / callbacks
    teardown   everyone hangs up until every call socket closed: CPU / member

With ``--profile DIR`` the controller runs under cProfile (deterministic, so call
counts repeat run to run; its own overhead inflates the CPU figures, which are then
not comparable with a run without it) and writes DIR/<stage>.prof per stage;
``python -m pstats DIR/setup.prof`` or ``--top N`` prints them.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

PROFILE_DIR_ENV = "BENCH_CPROFILE_DIR"
ROOM_SIZE = 10
WARMUP_CALLS = 10


# ---------------------------------------------------------------- controller side
def _child_main() -> int:
    """bench.probe under cProfile; SIGUSR2 dumps the profile so far to the next stage
    file named in $BENCH_CPROFILE_DIR/next (written by the benchmark) and starts afresh."""
    import cProfile

    # the thread's CPU clock, not wall time: on a shared machine a preempted call would
    # otherwise be charged the neighbours' time (all greenlets run on this one thread)
    clock = time.thread_time
    directory = Path(os.environ[PROFILE_DIR_ENV])
    state = {"profile": cProfile.Profile(clock)}

    def dump() -> None:
        profile = state["profile"]
        profile.disable()
        name = (directory / "next").read_text().strip()
        profile.dump_stats(str(directory / f"{name}.prof.tmp"))
        os.replace(directory / f"{name}.prof.tmp", directory / f"{name}.prof")
        state["profile"] = cProfile.Profile(clock)
        state["profile"].enable()

    gevent.signal_handler(signal.SIGUSR2, dump)
    from bench import probe

    state["profile"].enable()
    return probe.main()


def _profiled_controller_class(argv: list[str], ready_timeout: float = 20.0) -> type:
    """ControllerProcess with the same settings, started with ``argv`` instead.

    ControllerProcess.__init__ builds the settings and hands its argv to Child.__init__;
    the mixin placed between them in the MRO swaps the argv and changes nothing else."""
    from bench.children import Child, ControllerProcess

    class _ArgvSwap(Child):
        def __init__(self, _argv: list[str], env: dict[str, str], log_path: Path,
                     stdout: Any = None) -> None:
            super().__init__(argv, env, log_path, stdout)

    class ProfiledController(ControllerProcess, _ArgvSwap):
        def wait_ready(self, timeout: float = ready_timeout) -> None:
            super().wait_ready(max(timeout, ready_timeout))

    return ProfiledController


# ---------------------------------------------------------------- benchmark side
def _cpu(rig: Any) -> float:
    return rig.controller.stats().cpu_s


def _workers_cpu(rig: Any) -> float:
    """CPU of the controller's delivery worker processes ([webhooks] delivery_processes)."""
    from bench.procstat import children_cpu_s

    return children_cpu_s(rig.controller.pid)


def _callbacks(rig: Any, action: str) -> int:
    return sum(1 for entry in rig.app.stats()["callbacks"] if entry[0] == action)


def _dump(rig: Any, directory: Path | None, stage: str, callgrind: bool = False) -> None:
    if directory is None:
        return
    if callgrind:  # instruction counts since the last dump, into callgrind.out.<pid>.<n>
        subprocess.run(["callgrind_control", f"--dump={stage}", str(rig.controller.pid)],
                       check=True, capture_output=True, timeout=120)
        return
    (directory / "next").write_text(stage)
    target = directory / f"{stage}.prof"
    rig.controller.process.send_signal(signal.SIGUSR2)
    from bench.harness import wait_until

    if not wait_until(target.exists, timeout=30):
        raise RuntimeError(f"no profile dump for {stage}")


def run(calls: int = 200, presses: int = 1000, profile_dir: Path | None = None,
        callgrind: bool = False, delivery_processes: int = 0) -> dict:
    """``callgrind``: the controller runs under valgrind's callgrind (instruction counts:
    the same work gives the same count however busy the machine is; ~50x slower, so use
    few calls) and each stage is dumped to profile_dir/callgrind.out.<pid>.<n>."""
    import tempfile

    import bench.harness as harness
    from bench.harness import Rig, place_windowed, wait_until

    data = tempfile.TemporaryDirectory(prefix="cpu-profile-data-")
    # its own outbox and journal: another controller on this machine may hold the default
    env: dict[str, str] = {"CC_DATA_DIRECTORY": data.name}
    if delivery_processes:
        env["CC_WEBHOOKS_DELIVERY_PROCESSES"] = str(delivery_processes)
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        env[PROFILE_DIR_ENV] = str(profile_dir.resolve())
        if callgrind:
            argv = ["valgrind", "--tool=callgrind", "--collect-atstart=yes",
                    f"--callgrind-out-file={profile_dir.resolve()}/callgrind.out.%p",
                    sys.executable, "-m", "bench.probe"]
            controller = _profiled_controller_class(argv, ready_timeout=300)
        else:
            controller = _profiled_controller_class(
                [sys.executable, "-m", "bench.cpu_profile", "--child"])
        harness.ControllerProcess = controller  # type: ignore[attr-defined]
    figures: dict[str, Any] = {"calls": calls, "presses": presses,
                               "profiled": profile_dir is not None}
    with Rig("latency", controller_env=env) as rig:
        tap = rig.tap
        # warm-up: imports, first-use caches, pools; not measured
        warm = [rig.call("warm0", caller_id=f"w{i}") for i in range(WARMUP_CALLS)]
        wait_until(lambda: _callbacks(rig, "enter") >= WARMUP_CALLS, timeout=30)
        rig.hang_up_all(warm)
        rig.settle()
        rig.app.reset()
        _dump(rig, profile_dir, "warmup", callgrind)

        # setup
        before, workers_before = _cpu(rig), _workers_cpu(rig)
        base = len(tap.joined)
        phones, _ = place_windowed(
            lambda i: rig.call(f"cpu{i // ROOM_SIZE}", caller_id=f"c{i}"), calls,
            max_rate=50, window=20, done=lambda: len(tap.joined) - base)
        if not wait_until(lambda: _callbacks(rig, "enter") >= calls, timeout=60, step=0.1):
            raise RuntimeError("not every enter callback arrived")
        gevent.sleep(0.5)  # the last joins' trailing events (floor, volume) settle
        figures["setup_cpu_ms"] = round(1000 * (_cpu(rig) - before) / calls, 3)
        if delivery_processes:
            figures["setup_workers_cpu_ms"] = round(
                1000 * (_workers_cpu(rig) - workers_before) / calls, 3)
        _dump(rig, profile_dir, "setup", callgrind)

        # callbacks
        before, workers_before = _cpu(rig), _workers_cpu(rig)
        members, digits = itertools.cycle(phones), itertools.cycle("123")
        started = time.monotonic()
        for index in range(presses):
            delay = started + index / 200 - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            phone = next(members)
            gevent.spawn(phone.send_dtmf, next(digits))
        if not wait_until(lambda: _callbacks(rig, "digits") >= presses, timeout=60, step=0.2):
            figures["callbacks_missing"] = presses - _callbacks(rig, "digits")
        delivered = _callbacks(rig, "digits")
        figures["callback_cpu_ms"] = round(1000 * (_cpu(rig) - before) / max(1, delivered), 3)
        if delivery_processes:
            figures["callback_workers_cpu_ms"] = round(
                1000 * (_workers_cpu(rig) - workers_before) / max(1, delivered), 3)
        figures["callbacks"] = delivered
        _dump(rig, profile_dir, "callbacks", callgrind)

        # teardown
        before = _cpu(rig)
        rig.hang_up_all(phones)
        rig.settle()
        figures["teardown_cpu_ms"] = round(1000 * (_cpu(rig) - before) / calls, 3)
        _dump(rig, profile_dir, "teardown", callgrind)
        figures["controller_log_errors"] = rig.controller.log_errors()
        if figures["controller_log_errors"]:
            figures["controller_log_error_messages"] = rig.controller.log_error_messages()
    data.cleanup()
    return figures


def _print_top(directory: Path, count: int, sort: str) -> None:
    import pstats

    for stage in ("setup", "callbacks", "teardown"):
        path = directory / f"{stage}.prof"
        if path.exists():
            print(f"==== {stage} ({sort})")
            pstats.Stats(str(path)).strip_dirs().sort_stats(sort).print_stats(count)


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        return _child_main()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--presses", type=int, default=1000)
    parser.add_argument("--profile", type=Path, help="directory for <stage>.prof dumps")
    parser.add_argument("--top", type=int, default=0, help="print the N top entries per stage")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--delivery-processes", type=int, default=0,
                        help="[webhooks] delivery_processes of the controller (their CPU is "
                             "reported apart: *_workers_cpu_ms; callgrind counts the "
                             "controller only)")
    parser.add_argument("--callgrind", action="store_true",
                        help="with --profile: instruction counts per stage (valgrind)")
    args = parser.parse_args()
    if args.callgrind and not args.profile:
        parser.error("--callgrind needs --profile DIR")
    figures = run(args.calls, args.presses, args.profile, args.callgrind,
                  args.delivery_processes)
    print(json.dumps(figures, indent=2))
    if args.profile and args.top:
        _print_top(args.profile, args.top, args.sort)
    return 0


if __name__ == "__main__":
    sys.exit(main())
