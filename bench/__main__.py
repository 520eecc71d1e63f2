"""`make bench`: run every benchmark, print a table, write JSON to bench/results/.

    python -m bench                 # all
    python -m bench parse esl_throughput  # some (module names under bench/)
    python -m bench --face all join_overhead callback_latency   # per face (bench/faces.py)
    python -m bench --face cxml --quick join_overhead           # a short check, not figures
    make bench BENCH_FACE=all                                   # every benchmark, every face

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

from bench.faces import DEFAULT_FACE, FACES  # noqa: E402

ORDER = ["parse", "esl_throughput", "sim_events", "join_overhead", "callback_latency",
         "capacity"]
FACE_ENV = "BENCH_FACE"  # --face's default, so that `make bench BENCH_FACE=all` works
# Benchmarks that run once per face given with --face; their results are stored under
# "<name>" for plivo (as before faces existed) and "<name>.<face>" for the others.
PER_FACE = ("join_overhead", "callback_latency")
# The per-face table: (column, benchmark, figure).
FACE_COLUMNS = (
    ("overhead20 p50", "join_overhead", "overhead_20_p50_ms"),
    ("overhead20 p99", "join_overhead", "overhead_20_p99_ms"),
    ("own share p50", "join_overhead", "controller_20_ctl_total_p50_ms"),
    ("enter cb p50", "join_overhead", "controller_20_enter_callback_p50_ms"),
    ("enter cb p99", "join_overhead", "controller_20_enter_callback_p99_ms"),
    ("join cb p50", "callback_latency", "join_callback_p50_ms"),
    ("join cb p99", "callback_latency", "join_callback_p99_ms"),
    ("joins/s", "callback_latency", "join_rate_per_s"),
    ("lost", "callback_latency", "join_callbacks_lost"),
    ("errors", "join_overhead", "controller_log_errors"),
)


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def result_key(name: str, face: str) -> str:
    return name if face == DEFAULT_FACE else f"{name}.{face}"


def face_table(results: dict, faces: list[str]) -> list[dict[str, object]]:
    """One row per face: the figures that show what a face costs (missing: "-")."""
    rows = []
    for face in faces:
        row: dict[str, object] = {"face": face}
        for column, name, figure in FACE_COLUMNS:
            figures = results.get(result_key(name, face))
            value = figures.get(figure, "-") if isinstance(figures, dict) else "-"
            row[column] = value
        rows.append(row)
    return rows


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The benchmark names to run (all by default), the faces and --quick; --help and
    unknown names exit here, before anything runs or a results file is written."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        # one line, as before --face existed (argparse would wrap it)
        usage=f"%(prog)s [-h] [--face {{{','.join([*FACES, 'all'])}}}] [--quick] [NAME ...]",
        description="Run the benchmarks, print a table, write JSON to bench/results/.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(ORDER)}",
    )
    parser.add_argument(
        "--face", choices=[*FACES, "all"], default=os.environ.get(FACE_ENV) or DEFAULT_FACE,
        help=f"the face(s) {', '.join(PER_FACE)} run with (default ${FACE_ENV}, else "
             f"{DEFAULT_FACE}: today's figures; the others run once whatever the face); "
             f"`make bench {FACE_ENV}=all` passes it through make",
    )
    parser.add_argument(
        "--quick", action="store_true",
        help=f"{', '.join(PER_FACE)}: a few calls only, to check that every path works "
             "(the figures are not comparable)",
    )
    args = parser.parse_args(argv)
    if args.face not in (*FACES, "all"):  # argparse checks given values, not defaults
        parser.error(f"{FACE_ENV}={args.face!r}: not a face; known: {', '.join(FACES)}, all")
    unknown = [name for name in args.names if name not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(ORDER)}")
    args.names = args.names or ORDER
    args.faces = list(FACES) if args.face == "all" else [args.face]
    return args


def _print_figures(figures: object) -> None:
    if not isinstance(figures, dict):
        print(f"  {figures}")
        return
    targets = figures.get("target", {})
    width = max((len(k) for k in figures), default=10)
    for key, value in figures.items():
        if key == "target":
            continue
        goal = f"   (target {targets[key]})" if key in targets else ""
        print(f"  {key:<{width}}  {_format(value):>14}{goal}")


def _print_face_table(rows: list[dict[str, object]]) -> None:
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(_format(r[c])) for r in rows)) for c in columns}
    print("\n== per face (ms; at 20 setups/s, join callbacks during callback_latency's fill)")
    print("  " + "  ".join(f"{c:>{widths[c]}}" for c in columns))
    for row in rows:
        print("  " + "  ".join(f"{_format(row[c]):>{widths[c]}}" for c in columns))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    report: dict[str, object] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "faces": args.faces,
        "quick": args.quick,
        "results": {},
    }
    results: dict[str, object] = report["results"]  # type: ignore[assignment]
    failed = False
    runs = [(name, face) for name in args.names
            for face in (args.faces if name in PER_FACE else [DEFAULT_FACE])]
    for name, face in runs:
        key = result_key(name, face) if name in PER_FACE else name
        print(f"\n== {key}", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            figures = (module.run(face=face, quick=args.quick) if name in PER_FACE
                       else module.run())
        except Exception:  # one broken benchmark must not hide the others
            traceback.print_exc()
            results[key] = {"error": traceback.format_exc(limit=3)}
            failed = True
            continue
        results[key] = figures
        _print_figures(figures)
    if any(name in PER_FACE for name in args.names):
        report["per_face"] = face_table(results, args.faces)
        _print_face_table(report["per_face"])
    os.makedirs("bench/results", exist_ok=True)
    path = time.strftime("bench/results/%Y%m%dT%H%M%S.json")
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2, default=str)
    print(f"\nwritten {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
