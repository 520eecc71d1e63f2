"""The whole product on real sockets: FreeSWITCH (simulated, or real when FS_ESL_HOST is set),
the controller service, and an application's Flask app.

    with Stack(tmp_path, app=my_flask_app) as stack:
        phone = stack.phones.call("1000", caller_id="alice")
        ...

Against a real FreeSWITCH (FS_ESL_HOST, FS_ESL_PORT, FS_ESL_PASSWORD, FS_SIP_HOST,
FS_SIP_PORT, FS_SIP_USER, FS_SIP_PASSWORD, CC_OUTBOUND_LISTEN_PORT, CC_TEST_HOST)
the phones are sipp processes and the controller listens where FreeSWITCH's
dialplan sends calls.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import gevent
from flask import Flask
from gevent.pywsgi import WSGIServer

from controller.config import load_settings
from controller.service import ControllerService

API_TOKEN = "test-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def real_freeswitch() -> bool:
    return bool(os.environ.get("FS_ESL_HOST"))


class Stack:
    def __init__(self, tmp_path: Path, app: Flask | None = None,
                 settings: dict[str, dict[str, str]] | None = None, time_scale: float = 1.0,
                 start_controller: bool = True):
        self.tmp_path = tmp_path
        self.app = app
        self.extra_settings = settings or {}
        self.time_scale = time_scale
        self.start_controller = start_controller
        self.sim: Any = None
        self.phones: Any = None
        self.controller: ControllerService | None = None
        self.app_server: WSGIServer | None = None
        self.app_url = ""
        self.http_port = free_port()  # known up front: RecordUrl is built from it

    # ------------------------------------------------------------ settings
    def settings_overrides(self) -> dict[str, dict[str, str]]:
        outbound_port = int(os.environ.get("CC_OUTBOUND_LISTEN_PORT", "0")) or self.outbound_port
        overrides: dict[str, dict[str, str]] = {
            "freeswitch": {"esl_host": self.esl_host, "esl_port": str(self.esl_port),
                           "esl_password": self.esl_password, "command_timeout": "5"},
            "outbound": {"listen_host": "0.0.0.0" if real_freeswitch() else "127.0.0.1",
                         "listen_port": str(outbound_port)},
            "http": {"listen_host": "127.0.0.1", "listen_port": str(self.http_port),
                     "public_base_url": f"http://127.0.0.1:{self.http_port}"},
            "recordings": self._shared_dir("RECORDINGS", "recordings"),
            "media": self._shared_dir("MEDIA", "media"),
            "webhooks": {"retries": "1", "backoff": "0.05", "read_timeout": "5"},
            "api": {"token": API_TOKEN},
            "app": {},
        }
        if self.app_url:
            overrides["app"]["answer_url"] = f"{self.app_url}/answer"
            overrides["app"]["hangup_url"] = f"{self.app_url}/hangup"
        for section, values in self.extra_settings.items():
            overrides.setdefault(section, {}).update(values)
        return overrides

    def _shared_dir(self, kind: str, name: str) -> dict[str, str]:
        """A directory FreeSWITCH writes/reads and the controller reads/writes. On the
        simulator both are this test's tmp dir; a real FreeSWITCH names its own path
        (CC_<KIND>_DIRECTORY) and where this process sees it (CC_<KIND>_LOCAL_DIRECTORY)."""
        if real_freeswitch() and os.environ.get(f"CC_{kind}_DIRECTORY"):
            return {"directory": os.environ[f"CC_{kind}_DIRECTORY"],
                    "local_directory": os.environ.get(f"CC_{kind}_LOCAL_DIRECTORY", "")}
        return {"directory": str(self.tmp_path / name)}

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Stack:
        if self.app is not None:
            self.app_server = WSGIServer(("127.0.0.1", 0), self.app, log=None)
            self.app_server.start()
            self.app_url = f"http://127.0.0.1:{self.app_server.address[1]}"
            self.app.config["BASE_URL"] = self.app_url
        if real_freeswitch():
            self._start_real()
        else:
            self._start_sim()
        if self.start_controller:
            self.start_controller_service()
        return self

    def _start_sim(self) -> None:
        from controller.sim import SimConfig, Simulator

        self.outbound_port = free_port()
        self.sim = Simulator(SimConfig(
            esl_host="127.0.0.1", esl_port=0, password="ClueCon",
            outbound_host="127.0.0.1", outbound_port=self.outbound_port,
            recordings_dir=str(self.tmp_path / "recordings"), time_scale=self.time_scale,
            product_dialplan=True,
        ))
        self.sim.start()
        self.esl_host, self.esl_port, self.esl_password = "127.0.0.1", self.sim.esl_port, "ClueCon"
        self.phones = self.sim.phones

    def _start_real(self) -> None:
        from controller.testing.sipp_phones import SippPhones

        self.esl_host = os.environ["FS_ESL_HOST"]
        self.esl_port = int(os.environ.get("FS_ESL_PORT", "8021"))
        self.esl_password = os.environ.get("FS_ESL_PASSWORD", "ClueCon")
        self.outbound_port = int(os.environ.get("CC_OUTBOUND_LISTEN_PORT", "8084"))
        # FS_SIP_HOST, FS_SIP_PORT, FS_SIP_USER, FS_SIP_PASSWORD, FS_SIP_LOCAL_IP
        self.phones = SippPhones.from_environment(
            esl=lambda command: self.controller.esl.api(command)
        )

    def start_controller_service(self) -> ControllerService:
        settings = load_settings(environ={}, overrides=self.settings_overrides())
        self.controller = ControllerService(settings)
        self.controller.start()
        assert self.controller.esl.wait_connected(10), "controller did not reach FreeSWITCH"
        gevent.sleep(0.05)  # the first resync runs right after connecting
        return self.controller

    def stop_controller_service(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __exit__(self, *exc: object) -> None:
        try:
            if self.phones is not None:
                self.phones.close()
        finally:
            self.stop_controller_service()
            if self.sim is not None:
                self.sim.stop()
            if self.app_server is not None:
                self.app_server.stop(timeout=1)

    # ------------------------------------------------------------ helpers
    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.controller.http_port}"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_TOKEN}"}

    def api(self, command: str) -> str:
        """A FreeSWITCH API command through the controller's inbound connection."""
        return self.controller.esl.api(command)
