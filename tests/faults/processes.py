"""Fault tests' processes: the controller and the simulator as `conference-controller`
processes, so that they can be SIGKILLed, and an application that keeps the
``X-Conference-Recovered`` header of every request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from appkit import AppRecorder
from flask import Response, request

from controller.webhooks import RECOVERED_HEADER

ROOT = Path(__file__).resolve().parent.parent.parent


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "CC_LOG_LEVEL": "INFO"}
    env.update(extra or {})
    return env


def controller_process(overrides: dict[str, dict[str, str]], log_path: Path) -> subprocess.Popen:
    """`conference-controller run`, configured by environment from ``overrides``
    (``Stack.settings_overrides()`` shape)."""
    env = _env({f"CC_{section}_{name}".upper(): str(value)
                for section, values in overrides.items() for name, value in values.items()})
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "controller.cli", "run"], cwd=ROOT, env=env,
                            stdout=log, stderr=log)


def simulator_process(esl_port: int, outbound_port: int, control_port: int,
                      recordings: Path, log_path: Path) -> subprocess.Popen:
    """`conference-controller sim serve` with the product's dialplan (two sockets)."""
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "sim", "serve", "--esl-port", str(esl_port),
         "--outbound", f"127.0.0.1:{outbound_port}", "--control-port", str(control_port),
         "--recordings-dir", str(recordings), "--product-dialplan"],
        cwd=ROOT, env=_env(), stdout=log, stderr=log)


def controller_ready(http_port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{http_port}/readyz", timeout=1).ok
    except requests.RequestException:
        return False


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    """Polls without gevent (for the simulator's control API from this process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class HeaderRecorder(AppRecorder):
    """AppRecorder that also keeps ``X-Conference-Recovered`` as ``recovered_header``."""

    def _serve(self, path: str) -> Response:
        path = "/" + path
        params = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
        self.requests.append({"path": path, "method": request.method, "at": time.monotonic(),
                              "recovered_header": request.headers.get(RECOVERED_HEADER, ""),
                              **params})
        document = self.documents.get(path)
        if document is None:
            return Response(status=204)
        text = document(params) if callable(document) else document
        return Response(text, mimetype="application/xml")
