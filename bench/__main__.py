"""`make bench`: run every benchmark, print a table, write JSON to bench/results/.

    python -m bench                 # all
    python -m bench parse esl_throughput  # some (module names under bench/)

Benchmarks measure; they assert nothing. Each module exposes ``run() -> dict``
whose keys are figure names and values numbers or strings; a key ``target``
(dict figure -> text) says what the goal is.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

ORDER = ["parse", "esl_throughput", "sim_events", "join_overhead", "callback_latency",
         "capacity"]


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def parse_args(argv: list[str]) -> list[str]:
    """The benchmark names to run (all by default); --help and unknown names exit here,
    before anything runs or a results file is written."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the benchmarks, print a table, write JSON to bench/results/.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(ORDER)}",
    )
    names = parser.parse_args(argv).names
    unknown = [name for name in names if name not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(ORDER)}")
    return names or ORDER


def main(argv: list[str]) -> int:
    names = parse_args(argv)
    report: dict[str, object] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "results": {},
    }
    failed = False
    for name in names:
        print(f"\n== {name}", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            figures = module.run()
        except Exception:  # one broken benchmark must not hide the others
            traceback.print_exc()
            report["results"][name] = {"error": traceback.format_exc(limit=3)}
            failed = True
            continue
        report["results"][name] = figures
        targets = figures.get("target", {}) if isinstance(figures, dict) else {}
        width = max((len(k) for k in figures), default=10)
        for key, value in figures.items():
            if key == "target":
                continue
            goal = f"   (target {targets[key]})" if key in targets else ""
            print(f"  {key:<{width}}  {_format(value):>14}{goal}")
    os.makedirs("bench/results", exist_ok=True)
    path = time.strftime("bench/results/%Y%m%dT%H%M%S.json")
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2, default=str)
    print(f"\nwritten {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
