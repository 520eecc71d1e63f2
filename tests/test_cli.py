"""The command lines as a new user meets them: real processes, real sockets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from controller import __version__

ROOT = Path(__file__).parent.parent
CLI = [sys.executable, "-m", "controller.cli"]


def run(args: list[str], timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CC_CONFIG", None)
    env.update(kwargs.pop("env", {}))
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(args, text=True, timeout=timeout, cwd=ROOT, env=env, **kwargs)


def test_version():
    done = run([*CLI, "--version"])
    assert done.returncode == 0
    assert done.stdout.strip() == f"conference-controller {__version__}"


def test_markdown_into_a_closed_pipe_ends_without_a_traceback():
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` having exited: every write fails with EPIPE
    try:
        done = run([*CLI, "config", "--markdown"], stdout=write_end)
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_config_without_an_answer_url_warns_and_exits_1():
    done = run([*CLI, "config"], env={"CC_API_TOKEN": "t", "CC_APP_ANSWER_URL": ""})
    assert done.returncode == 1
    assert "configuration is valid" not in done.stdout
    assert "no answer URL" in done.stderr and "CC_APP_ANSWER_URL" in done.stderr


def test_config_with_an_answer_url_is_valid():
    done = run([*CLI, "config"], env={"CC_API_TOKEN": "t",
                                      "CC_APP_ANSWER_URL": "http://127.0.0.1:5000/answer"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("configuration is valid")
    assert done.stderr == ""


def test_sim_call_at_an_event_socket_port_says_so(tmp_path):
    from controller.sim import SimConfig, Simulator

    with Simulator(SimConfig(esl_port=0, recordings_dir=str(tmp_path))) as sim:
        done = run([*CLI, "sim", "call", "1000", "--control-port", str(sim.esl_port)])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "is not a simulator control server (an Event Socket port?)" in done.stderr
    assert "--control-port" in done.stderr


def _serve_and_call(tmp_path: Path, *serve_flags: str) -> str:
    """`sim serve` (nothing listens where its calls go), then `sim call 1000 --wait` from
    another process; returns sim call's output."""
    from stack import free_port

    nobody = free_port()  # nothing listens there
    serve = subprocess.Popen(
        [*CLI, "sim", "serve", "--esl-port", "0", "--control-port", "0",
         "--outbound", f"127.0.0.1:{nobody}", "--recordings-dir", str(tmp_path), *serve_flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        banner = serve.stdout.readline()
        assert "FreeSWITCH simulator" in banner, serve.stderr.read()
        if serve_flags:
            assert "(product dialplan)" in banner
        control = re.search(r"; control http://127\.0\.0\.1:(\d+)", banner).group(1)
        done = run([*CLI, "sim", "call", "1000", "--control-port", str(control), "--wait"])
        assert done.returncode == 0, done.stderr
        return done.stdout
    finally:
        serve.terminate()
        serve.wait(timeout=10)


def test_sim_serve_product_dialplan_plays_the_error_tail(tmp_path):
    # freeswitch-conf/dialplan/phones.xml: no controller took the call (socket failed
    # twice), so an error tone, then hangup NORMAL_TEMPORARY_FAILURE.
    product = _serve_and_call(tmp_path, "--product-dialplan")
    assert "call ended: NORMAL_TEMPORARY_FAILURE" in product
    assert "tone_stream://%(250,250,480,620);loops=6" in product
    plain = _serve_and_call(tmp_path)
    assert "NORMAL_TEMPORARY_FAILURE" not in plain


def test_bench_help_runs_nothing_and_writes_nothing():
    results = ROOT / "bench" / "results"
    before = set(results.iterdir()) if results.exists() else set()
    done = run([sys.executable, "-m", "bench", "--help"])
    assert done.returncode == 0
    assert re.search(r"usage: python -m bench .*NAME", done.stdout)
    assert "join_overhead" in done.stdout
    unknown = run([sys.executable, "-m", "bench", "no_such_benchmark"])
    assert unknown.returncode == 2
    assert "unknown benchmark(s) no_such_benchmark" in unknown.stderr
    after = set(results.iterdir()) if results.exists() else set()
    assert after == before


@pytest.mark.parametrize("flag", ["--version", "-h"])
def test_installed_entry_point_answers(flag):
    script = Path(sys.executable).with_name("conference-controller")
    if not script.exists():
        pytest.skip("the package is not installed in this interpreter's environment")
    assert run([str(script), flag]).returncode == 0
