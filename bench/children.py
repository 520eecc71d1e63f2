"""The benchmark's child processes: the controller (bench.probe) and the app (bench.app).

Every child holds its stdin open to the benchmark and exits on EOF, so even a
killed benchmark leaves no process behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import requests

from bench.procstat import ProcStats, proc_stats

REPO = Path(__file__).resolve().parent.parent
API_TOKEN = "bench-token"


def free_port() -> int:
    """A port free right now (the simulator must know the controller's port before
    either starts; the window for a clash is a few milliseconds)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Child:
    """A benchmark child process that lives while we hold its stdin open."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path,
                 stdout: Any = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv, cwd=REPO, env=env, stdin=subprocess.PIPE,
            stdout=stdout if stdout is not None else self._log, stderr=self._log,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stats(self) -> ProcStats:
        return proc_stats(self.pid)

    def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            gevent.sleep(0.05)
        return self.process.poll() is not None

    def log_errors(self) -> int:
        """ERROR lines in the child's log so far (the controller logs JSON lines)."""
        try:
            with open(self.log_path, errors="replace") as handle:
                return sum(1 for line in handle if '"level": "ERROR"' in line)
        except OSError:
            return 0

    def log_error_messages(self, limit: int = 5, width: int = 160) -> list[str]:
        """The first distinct ERROR messages of the child's JSON log (what the
        ``log_errors`` count is made of), each cut to ``width`` characters."""
        found: list[str] = []
        try:
            with open(self.log_path, errors="replace") as handle:
                for line in handle:
                    if '"level": "ERROR"' not in line:
                        continue
                    try:
                        message = str(json.loads(line).get("msg", line))
                    except ValueError:
                        message = line
                    message = message.strip()[:width]
                    if message not in found:
                        found.append(message)
                    if len(found) >= limit:
                        break
        except OSError:
            pass
        return found

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 10.0) -> int | None:
        """EOF on stdin (the child stops itself), SIGTERM if it does not, then SIGKILL;
        returns the exit status."""
        process = self.process
        if process.poll() is None:
            try:
                process.stdin.close()
            except OSError:
                pass
            if not self._wait_exit(timeout / 2):
                process.send_signal(signal.SIGTERM)
                if not self._wait_exit(timeout / 2):
                    process.kill()
                    process.wait(5)
        for stream in (process.stdin, process.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._log.close()
        return process.returncode


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    # No CC_* or CC_CONFIG leaks in from the caller's shell: the benchmark says everything.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class AppProcess(Child):
    """``python -m bench.app``: answer URL and callback receiver."""

    def __init__(self, workdir: Path, face: str = "plivo", controller_url: str = "") -> None:
        # BENCH_FACE: the face it speaks; BENCH_CONTROLLER_URL: where a Telnyx app sends
        # its REST commands.
        super().__init__([sys.executable, "-m", "bench.app"],
                         _child_env({"BENCH_FACE": face, "BENCH_CONTROLLER_URL": controller_url}),
                         workdir / "app.log", stdout=subprocess.PIPE)
        self.face = face
        line = self.process.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "ready":
            self.stop()
            raise RuntimeError(f"bench app did not start: {line!r}\n{self.log_tail()}")
        self.url = f"http://127.0.0.1:{int(line[1])}"
        self.http = requests.Session()

    def stats(self) -> dict[str, Any]:  # type: ignore[override]
        response = self.http.get(f"{self.url}/stats", timeout=30)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.http.post(f"{self.url}/reset", timeout=10).raise_for_status()

    def stop(self, timeout: float = 10.0) -> int | None:
        if hasattr(self, "http"):
            self.http.close()
        return super().stop(timeout)


class ControllerProcess(Child):
    """The controller alone in its process (bench.probe = ``conference-controller run``)."""

    def __init__(self, workdir: Path, *, esl: tuple[str, int, str], outbound: tuple[str, int],
                 answer_url: str, hangup_url: str, extra: dict[str, str] | None = None,
                 http_port: int | None = None) -> None:
        # The port may be chosen before: a Telnyx app must know where to send commands.
        self.http_port = http_port or free_port()
        self.outbound = outbound
        self.probe_file = workdir / "probe.json"
        settings = {
            "CC_FREESWITCH_ESL_HOST": esl[0],
            "CC_FREESWITCH_ESL_PORT": str(esl[1]),
            "CC_FREESWITCH_ESL_PASSWORD": esl[2],
            "CC_OUTBOUND_LISTEN_HOST": outbound[0],
            "CC_OUTBOUND_LISTEN_PORT": str(outbound[1]),
            "CC_HTTP_LISTEN_HOST": "127.0.0.1",
            "CC_HTTP_LISTEN_PORT": str(self.http_port),
            "CC_HTTP_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.http_port}",
            "CC_APP_ANSWER_URL": answer_url,
            "CC_APP_HANGUP_URL": hangup_url,
            "CC_API_TOKEN": API_TOKEN,
            "CC_RECORDINGS_DIRECTORY": str(workdir / "recordings"),
            "CC_MEDIA_DIRECTORY": str(workdir / "media"),
            # The outbox and call journal of this run only: the default (./var/data) kept
            # the last run's pending callbacks and FreeSWITCH's core UUID, so every run
            # began by resending them and logging a FreeSWITCH restart.
            "CC_DATA_DIRECTORY": str(workdir / "data"),
            "CC_LOG_LEVEL": "INFO",  # what production runs: its cost is part of the figures
            "BENCH_PROBE_FILE": str(self.probe_file),
        }
        settings.update(extra or {})
        super().__init__([sys.executable, "-m", "bench.probe"], _child_env(settings),
                         workdir / "controller.log")

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Until /readyz says the inbound ESL connection is up."""
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.http_port}/readyz"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"controller exited ({self.process.returncode}):\n"
                                   f"{self.log_tail()}")
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            gevent.sleep(0.05)
        raise RuntimeError(f"controller not ready within {timeout} s:\n{self.log_tail()}")

    def census(self, timeout: float = 10.0) -> dict[str, Any]:
        """The probe's greenlet snapshot (SIGUSR1 -> JSON file)."""
        try:
            self.probe_file.unlink()
        except FileNotFoundError:
            pass
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.probe_file.exists():
                return json.loads(self.probe_file.read_text())
            gevent.sleep(0.02)
        raise RuntimeError(f"no greenlet census from the controller within {timeout} s")
