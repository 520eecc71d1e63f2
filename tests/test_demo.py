"""`conference-controller sim demo` as a new user runs it: real processes, real sockets."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import gevent
import pytest

ROOT = Path(__file__).parent.parent
CLI = [sys.executable, "-m", "controller.cli"]
# The whole story `make sim` tells, with the per-run ids and ports masked.
STORY = Path(__file__).parent / "data" / "demo_story.txt"

pytestmark = pytest.mark.slow


def masked(text: str) -> str:
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", text)
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)


def env_with_tmpdir(tmpdir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}


def test_demo_tells_the_same_story_and_leaves_no_files(tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    done = subprocess.run([*CLI, "sim", "demo"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env_with_tmpdir(tmpdir))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warnings, no log lines: only the story
    assert masked(done.stdout) == STORY.read_text()
    assert list(tmpdir.iterdir()) == []


def test_demo_serve_takes_calls_from_sim_call(tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    serve = subprocess.Popen([*CLI, "sim", "demo", "--serve", "--control-port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path, env=env_with_tmpdir(tmpdir))
    try:
        lines = []
        for line in serve.stdout:
            lines.append(line)
            if "conference-controller sim call" in line:
                break
        hint = lines[-1].strip()
        assert re.fullmatch(r"conference-controller sim call 1000 --caller-id alice "
                            r"--control-port [1-9]\d*", hint), "".join(lines)
        # What the hint says, from another process:
        # 4 s: long enough for the greeting to end and alice to be in the room
        call = subprocess.run([*CLI, *hint.split()[1:], "--hangup-after", "4", "--wait"],
                              capture_output=True, text=True, timeout=60,
                              env=env_with_tmpdir(tmpdir))
        assert call.returncode == 0, call.stderr
        assert "call ended: NORMAL_CLEARING" in call.stdout
        assert "Welcome to the lobby." in call.stdout  # the demo app's greeting was played
        expected = {
            'alice dials 1000 -> app: Speak "Welcome to the lobby." · Conference lobby '
            "(enterSound=beep:1, exitSound=beep:2, action=/after, callbackUrl=/callbacks)",
            "callback  enter  lobby: alice",
            "callback  exit   lobby: alice",
            'action    /after: alice left lobby -> app: Speak "The conference has ended. '
            'Goodbye."',
            "hangup    alice (NORMAL_CLEARING)",
        }
        served = set()
        with gevent.Timeout(60, AssertionError(f"the demo printed only {served}")):
            for line in serve.stdout:  # printed live, in arrival order
                served.add(line.strip())
                if expected <= served:
                    break
        assert expected <= served, served
    finally:
        serve.send_signal(signal.SIGINT)
        rest, errors = serve.communicate(timeout=30)
    assert serve.returncode == 0, errors
    assert rest.strip().endswith("demo finished")
    assert list(tmpdir.iterdir()) == []
