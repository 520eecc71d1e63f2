"""The whole product on real sockets: FreeSWITCH (simulated, or real when FS_ESL_HOST is
set), the controller service, and the application under test.

    with Stack(tmp_path, app=my_wsgi_app) as stack:      # or app="http://127.0.0.1:5000"
        phone = stack.phones.call("1000", caller_id="alice")
        stack.requests.wait_for("/callbacks", ConferenceAction="enter")

The application is a WSGI callable (served here on a free loopback port and
recorded: ``stack.requests``) or the base URL of one already running. Its answer
and hangup URLs default to ``<app>/answer`` and ``<app>/hangup``; ``settings``
overrides any controller setting (``{"app": {"answer_url": "/voice"}}``: a path is
taken relative to the application).

Against a real FreeSWITCH (FS_ESL_HOST, FS_ESL_PORT, FS_ESL_PASSWORD, FS_SIP_HOST,
FS_SIP_PORT, FS_SIP_USER, FS_SIP_PASSWORD, CC_OUTBOUND_LISTEN_PORT, CC_TEST_HOST)
the phones are SIPp processes and the controller listens where FreeSWITCH's
dialplan sends calls. Phones FreeSWITCH dials: ``callee, to = stack.expect_phone("alice",
"answer")`` (the simulator's, or a SIPp answering phone on CC_TEST_HOST), then dial ``to``.

gevent must have patched the standard library before this module is imported
(the pytest plugin does it; so does ``conference-controller``).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gevent
import requests
from gevent.pywsgi import WSGIServer

from controller.config import load_settings
from controller.service import ControllerService
from controller.testing.recorder import RecordingApp

API_TOKEN = "test-token"


def free_port() -> int:
    """A loopback port nobody uses right now, and nothing more: until something binds it,
    an outgoing connection may take it as its source port. A server of this process
    binds port 0 itself instead (ReservedPort); this is for ports that must stay unused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _holding_socket(host: str, port: int) -> socket.socket | None:
    """A socket bound to ``host:port`` (0: one the kernel picks), with SO_REUSEADDR and never
    listening: while it is open Linux hands the port to no outgoing connection
    (net/ipv4/inet_hashtables.c, __inet_hash_connect skips a port that has a bound
    socket) yet lets a server with SO_REUSEADDR, gevent's default, bind and listen there
    (net/ipv4/inet_connection_sock.c, inet_bind_conflict: reusable sockets that do not
    listen share a port). Other systems refuse that second bind: None there, after
    trying it. OSError when the port is taken."""
    hold = socket.socket()
    hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        hold.bind((host, port))
    except OSError:
        hold.close()
        raise
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(hold.getsockname()[:2])
            probe.listen(1)
        except OSError:
            hold.close()
            return None
    return hold


class ReservedPort:
    """A TCP port for a server, picked by the kernel (bind to port 0) and bound from that
    moment on, never picked first and bound later: in between, an outgoing connection can
    take a port as its source port (CI: "cannot listen for FreeSWITCH on
    127.0.0.1:40821: Address already in use").

    ``take_listener()`` hands over a socket already listening on it, once; the server
    closes it when it stops. A server started again later (a controller restart, or one in
    another process: ``release_listener()`` first) binds ``port`` itself; meanwhile a
    holding socket keeps the port from outgoing connections where the system allows it
    (Linux: see _holding_socket). ``port``: a given one instead of a free one."""

    def __init__(self, host: str, port: int = 0, *, backlog: int, what: str):
        self.host = host
        self._listener: socket.socket | None = None
        self._hold: socket.socket | None = None
        try:
            self._hold = _holding_socket(host, port)
            held = self._hold.getsockname()[1] if self._hold is not None else port
            self._listener = socket.socket()
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, held))
            self._listener.listen(backlog)
        except OSError as exc:
            self.close()
            raise OSError(exc.errno, f"cannot listen for {what} on {host}:{port}: "
                                     f"{exc.strerror}") from None
        self.port: int = self._listener.getsockname()[1]

    def take_listener(self) -> socket.socket | None:
        """The listening socket, the first time; None afterwards (bind ``port`` then)."""
        listener, self._listener = self._listener, None
        return listener

    def release_listener(self) -> None:
        """Stop listening, for a server in another process to bind ``port``."""
        listener = self.take_listener()
        if listener is not None:
            listener.close()

    def close(self) -> None:
        self.release_listener()
        if self._hold is not None:
            self._hold.close()
            self._hold = None

    def __enter__(self) -> ReservedPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hold_port(what: str = "a server in another process") -> ReservedPort:
    """A loopback port (``.port``) for a server started later or by another process, which
    binds it with SO_REUSEADDR (gevent's servers do): held from outgoing connections until
    ``close()`` where the system allows it (ReservedPort), merely free elsewhere. A server
    that can bind port 0 and tell its port needs none of this."""
    port = ReservedPort("127.0.0.1", backlog=1, what=what)
    port.release_listener()
    return port


def real_freeswitch() -> bool:
    return bool(os.environ.get("FS_ESL_HOST"))


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0,
               what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something true (returned); AssertionError after
    ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        gevent.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Stack:
    """Simulator (or real FreeSWITCH) + controller + application, started by ``with``.

    ``control_port``: also start the simulator's HTTP control server there (0: any free
    port; None: none), so other processes can place calls (``conference-controller sim
    call``). ``http_port``/``outbound_port``: the controller's ports (None: ones the
    kernel picks, known as ``.http_port``/``.outbound_port`` once started).
    ``simulate``: True for the simulator even when FS_ESL_HOST names a real FreeSWITCH.

    Every server binds its port before anything is told it (the simulator's listeners,
    the application's server: port 0; the controller's: a ReservedPort each, bound before
    the settings and the simulator's dialplan name it), so none can lose its port to an
    outgoing connection's source port.
    """

    def __init__(self, tmp_path: Path | str, app: Any = None,
                 settings: Mapping[str, Mapping[str, str]] | None = None,
                 time_scale: float = 1.0, start_controller: bool = True,
                 http_port: int | None = None, outbound_port: int | None = None,
                 control_port: int | None = None, api_token: str = API_TOKEN,
                 simulate: bool = False):
        self.tmp_path = Path(tmp_path)
        self.app = app
        self.extra_settings = {k: dict(v) for k, v in (settings or {}).items()}
        self.time_scale = time_scale
        self.start_controller = start_controller
        self.control_port = control_port
        self.api_token = api_token
        self.real = real_freeswitch() and not simulate
        self.sim: Any = None
        self.phones: Any = None
        self.controller: ControllerService | None = None
        self.app_server: WSGIServer | None = None
        self.requests: RecordingApp | None = None
        self.app_url = app.rstrip("/") if isinstance(app, str) else ""
        # Bound at start (ReservedPort); public_base_url (RecordUrl...) is built from it.
        self.http_port = http_port or 0
        self.outbound_port = outbound_port or 0
        self._ports: dict[str, ReservedPort] = {}  # "http", "outbound": the controller's

    # ------------------------------------------------------------ settings
    def settings_overrides(self) -> dict[str, dict[str, str]]:
        """The controller settings of this stack, for a controller started elsewhere (another
        process): the stack stops listening on the controller's ports so that it can bind
        them (while the stack lives they stay held from outgoing connections where the
        system allows it: ReservedPort)."""
        for port in self._ports.values():
            port.release_listener()
        return self._settings_overrides()

    def _settings_overrides(self) -> dict[str, dict[str, str]]:
        outbound_port = self.outbound_port
        if self.real:
            outbound_port = int(os.environ.get("CC_OUTBOUND_LISTEN_PORT", "0")) or outbound_port
        overrides: dict[str, dict[str, str]] = {
            "freeswitch": {"esl_host": self.esl_host, "esl_port": str(self.esl_port),
                           "esl_password": self.esl_password, "command_timeout": "5"},
            "outbound": {"listen_host": "0.0.0.0" if self.real else "127.0.0.1",
                         "listen_port": str(outbound_port)},
            "http": {"listen_host": "127.0.0.1", "listen_port": str(self.http_port),
                     "public_base_url": f"http://127.0.0.1:{self.http_port}"},
            "recordings": self._shared_dir("RECORDINGS", "recordings"),
            "media": self._shared_dir("MEDIA", "media"),
            "data": {"directory": str(self.tmp_path / "data")},
            "webhooks": {"retries": "1", "backoff": "0.05", "read_timeout": "5"},
            "api": {"token": self.api_token},
            "app": {},
        }
        if self.app_url:
            overrides["app"]["answer_url"] = "/answer"
            overrides["app"]["hangup_url"] = "/hangup"
        for section, values in self.extra_settings.items():
            overrides.setdefault(section, {}).update(values)
        for key in ("answer_url", "hangup_url"):
            value = overrides["app"].get(key, "")
            if value.startswith("/"):
                if not self.app_url:
                    raise ValueError(f"settings app.{key} {value!r} is a path, but the stack "
                                     "has no application to resolve it against")
                overrides["app"][key] = self.app_url + value
        return overrides

    def _shared_dir(self, kind: str, name: str) -> dict[str, str]:
        """A directory FreeSWITCH writes/reads and the controller reads/writes. On the
        simulator both are this test's tmp dir; a real FreeSWITCH names its own path
        (CC_<KIND>_DIRECTORY) and where this process sees it (CC_<KIND>_LOCAL_DIRECTORY)."""
        if self.real and os.environ.get(f"CC_{kind}_DIRECTORY"):
            return {"directory": os.environ[f"CC_{kind}_DIRECTORY"],
                    "local_directory": os.environ.get(f"CC_{kind}_LOCAL_DIRECTORY", "")}
        return {"directory": str(self.tmp_path / name)}

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def start(self) -> Stack:
        self._ports["http"] = ReservedPort("127.0.0.1", self.http_port, backlog=256,
                                           what="the controller's HTTP")
        self.http_port = self._ports["http"].port
        if self.app is not None and not isinstance(self.app, str):
            self.requests = RecordingApp(self.app)
            self.app_server = WSGIServer(("127.0.0.1", 0), self.requests, log=None)
            self.app_server.start()
            self.app_url = f"http://127.0.0.1:{self.app_server.address[1]}"
        if self.real:
            self._start_real()
        else:
            self._start_sim()
        if self.start_controller:
            self.start_controller_service()
        return self

    def _start_sim(self) -> None:
        from controller.sim import SimConfig, Simulator

        # Bound before the dialplan names it: the simulator dials it from the first call.
        self._ports["outbound"] = ReservedPort("127.0.0.1", self.outbound_port, backlog=1024,
                                               what="FreeSWITCH (the controller's outbound)")
        self.outbound_port = self._ports["outbound"].port
        self.sim = Simulator(SimConfig(
            esl_host="127.0.0.1", esl_port=0, password="ClueCon",
            outbound_host="127.0.0.1", outbound_port=self.outbound_port,
            recordings_dir=str(self.tmp_path / "recordings"), time_scale=self.time_scale,
            product_dialplan=True, control_port=self.control_port,
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
        settings = load_settings(environ={}, overrides=self._settings_overrides())
        listeners = {name: port.take_listener() for name, port in self._ports.items()}
        try:
            self.controller = ControllerService(settings,
                                                outbound_listener=listeners.get("outbound"),
                                                http_listener=listeners.get("http"))
        except BaseException:
            for listener in listeners.values():
                if listener is not None:
                    listener.close()
            raise
        self.controller.start()
        if not self.controller.esl.wait_connected(10):
            raise RuntimeError(f"the controller did not reach FreeSWITCH at "
                               f"{self.esl_host}:{self.esl_port} within 10 s")
        gevent.sleep(0.05)  # the first resync runs right after connecting
        return self.controller

    def stop_controller_service(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def stop(self) -> None:
        try:
            if self.phones is not None:
                self.phones.close()
        finally:
            self.stop_controller_service()
            if self.sim is not None:
                self.sim.stop()
                self.sim = None
            if self.app_server is not None:
                self.app_server.stop(timeout=1)
                self.app_server = None
            for port in self._ports.values():
                port.close()
            self._ports.clear()
            self.phones = None

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ helpers
    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.controller.http_port}"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}

    def rest(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to the controller's REST API with the stack's credentials:
        ``stack.rest("GET", "/v1/conferences/lobby").json()``."""
        headers = {**self.auth_headers, **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 10)
        return requests.request(method, self.api_base + path, headers=headers, **kwargs)

    def expect_phone(self, address: str, behaviour: str = "answer",
                     sim_to: str | None = None) -> tuple[Any, str]:
        """A phone FreeSWITCH will dial, and the ``to`` that reaches it.

        On the simulator: ``phones.expect(address, behaviour)`` and ``sim_to`` (default
        ``address``: a user, or ``sip:`` + ``user@host:port``). On a real FreeSWITCH: a
        SIPp answering phone for the user part of ``address``, listening on this host,
        and its ``sip:<user>@<CC_TEST_HOST or 127.0.0.1>:<port>`` (dialled through
        ``sofia/<profile>/``); a bare user there would be dialled as user/<id>, a
        registration no SIPp phone has."""
        if self.real:
            callee = self.phones.expect(address.split("@")[0], behaviour)
            return callee, callee.uri
        if sim_to is None:
            sim_to = f"sip:{address}" if "@" in address else address
        return self.phones.expect(address, behaviour), sim_to

    def api(self, command: str) -> str:
        """A FreeSWITCH API command through the controller's inbound connection."""
        return self.controller.esl.api(command)
