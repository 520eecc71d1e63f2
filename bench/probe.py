"""The controller process for benchmarks: ``conference-controller run`` plus a greenlet census.

    CC_... settings in the environment, BENCH_PROBE_FILE=/tmp/x/probe.json
    python -m bench.probe

It runs the unmodified ``controller.cli.main(["run"])``. The only addition: on
SIGUSR1 it writes a JSON snapshot of the live greenlets to $BENCH_PROBE_FILE
(atomically), because greenlets cannot be counted from outside the process.
RSS, CPU time and file descriptors are read from /proc by the benchmark, so
the snapshot stays this small. Until the controller has a debug endpoint of
its own (proposed to the lead), this is the introspection path.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import collections  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
import gevent.threadpool  # noqa: E402
import greenlet  # noqa: E402
from gevent.fileobject import FileObjectPosix  # noqa: E402
from gevent.hub import Hub  # noqa: E402

PROBE_FILE_ENV = "BENCH_PROBE_FILE"
# gevent's thread-pool worker class is private: without it, workers count as greenlets
_POOL_WORKER = getattr(gevent.threadpool, "_WorkerGreenlet", ())


def _label(glet: greenlet.greenlet) -> str:
    """What a greenlet runs: its gevent ``_run`` function, else its class."""
    run = getattr(glet, "_run", None) or getattr(glet, "run", None)
    target = getattr(run, "__func__", run)
    name = getattr(target, "__qualname__", None)
    module = getattr(target, "__module__", "") or ""
    if name:
        return f"{module}.{name}" if module else name
    return type(glet).__name__


def census() -> dict:
    """Live greenlets (started or scheduled, not finished), grouped by what they run.

    Left out: every thread's main greenlet and hub, and the greenlet running this
    census. gevent's thread-pool workers (the resolver runs getaddrinfo there) are
    counted apart: they are per process, not per call.
    """
    gc.collect()  # finished greenlets still referenced only by cycles are gone after this
    current = greenlet.getcurrent()
    live, pool = [], 0
    for obj in gc.get_objects():
        if not isinstance(obj, greenlet.greenlet) or obj.dead or obj is current:
            continue
        if obj.parent is None or isinstance(obj, Hub):
            continue
        if isinstance(obj, _POOL_WORKER):
            pool += 1
            continue
        live.append(obj)
    kinds = collections.Counter(_label(glet) for glet in live)
    return {"greenlets": len(live), "threadpool_workers": pool,
            "by_function": dict(kinds.most_common(15))}


def _write_snapshot(path: str) -> None:
    data = census()
    temporary = f"{path}.tmp"
    with open(temporary, "w") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


def _stop_with_parent() -> None:
    """The benchmark holds our stdin open: EOF means it finished or died, so stop too
    (a SIGKILLed benchmark must not leave a controller behind)."""
    FileObjectPosix(sys.stdin.fileno(), "rb", close=False).read()
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> int:
    path = os.environ.get(PROBE_FILE_ENV, "")
    if not path:
        print(f"bench.probe: set {PROBE_FILE_ENV} to the snapshot path", file=sys.stderr)
        return 2
    gevent.signal_handler(signal.SIGUSR1, _write_snapshot, path)
    gevent.spawn(_stop_with_parent)
    from controller.cli import main as controller_main

    return controller_main(["run"])


if __name__ == "__main__":
    sys.exit(main())
