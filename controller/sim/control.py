"""HTTP control of a running simulator, so another process can place calls.

``conference-controller sim call`` talks to this; so can curl or a test in
another language. JSON in and out, errors as ``{"error": "..."}`` with 400
(bad request, naming the field), 404 (no such call/room/path) or 405.

    GET    /                    simulator summary (ports, version, rooms, calls)
    POST   /calls               place a call: CallSpec fields -> 201 + the call
    GET    /calls               every call placed through the simulator
    GET    /calls/<uuid>        one call
    POST   /calls/<uuid>/dtmf   {"digits": "12#", "gap": 0.2}
    POST   /calls/<uuid>/talk   {"seconds": 2.5}  (omit seconds: talk until /quiet)
    POST   /calls/<uuid>/quiet  stop talking
    DELETE /calls/<uuid>        hang up (the phone sends BYE)
    GET    /rooms               live conference names
    GET    /rooms/<name>        Simulator.conference_state(name)
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from gevent.pywsgi import WSGIServer

from controller.sim.callspec import DTMF_DIGITS, CallSpec, CallSpecError, parse_call_spec
from controller.sim.commands import VERSION
from controller.sim.phones import PhoneError

if TYPE_CHECKING:
    from controller.sim.phones import Phone
    from controller.sim.simulator import Simulator

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


def call_view(phone: Phone) -> dict[str, Any]:
    return {
        "uuid": phone.uuid,
        "number": phone.number,
        "caller_id": phone.caller_id,
        "caller_name": phone.caller_name,
        "answered": phone.answered,
        "up": phone.is_up,
        "cause": phone.cause,
        "heard": list(phone.heard),
        "received_dtmf": "".join(phone.received_dtmf),
    }


def run_script(sim: Simulator, phone: Phone, spec: CallSpec) -> None:
    """What the scripted phone does once placed: digits, then speech; BYE on a timer."""
    clock = sim.core.clock
    try:
        phone.wait_answered(spec.answer_timeout)
    except TimeoutError:
        phone.hangup()
        return
    if spec.hangup_after is not None:
        sim.core.spawn_later(spec.hangup_after, phone.hangup)
    try:
        if spec.dtmf:
            clock.sleep(spec.dtmf_after)
            phone.send_dtmf(spec.dtmf, gap=spec.dtmf_gap)
        if spec.talk > 0:
            phone.start_talking()
            clock.sleep(spec.talk)
            phone.stop_talking()
    except PhoneError:
        pass  # FreeSWITCH (or the controller) ended the call first: the script is over


def _quietly(action: Callable[..., None], *args: Any) -> None:
    try:
        action(*args)
    except PhoneError:
        pass


class ControlServer:
    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self._server = WSGIServer((host, port), self._app, log=None, error_log=None)
        self.port: int | None = None

    def start(self) -> None:
        self._server.start()
        self.port = self._server.server_port

    def stop(self) -> None:
        self._server.stop(timeout=1)

    # ------------------------------------------------------------ WSGI
    def _app(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = urllib.parse.unquote(environ.get("PATH_INFO", "/"))
        try:
            status, payload = self._route(method, path.rstrip("/") or "/", environ)
        except HttpError as exc:
            status, payload = exc.status, {"error": exc.message}
        except Exception as exc:  # noqa: BLE001 - a bad request must never stop the simulator
            log.exception("control: %s %s failed", method, path)
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        body = (json.dumps(payload, indent=1) + "\n").encode()
        start_response(
            f"{status} {_REASONS.get(status, '')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _route(self, method: str, path: str, environ: dict) -> tuple[int, Any]:
        parts = path.strip("/").split("/") if path != "/" else []
        if not parts:
            self._allow(method, "GET")
            return 200, self._summary()
        if parts[0] == "calls":
            if len(parts) == 1:
                if method == "POST":
                    return 201, self._place(self._json(environ))
                self._allow(method, "GET", "POST")
                return 200, [call_view(p) for p in self.sim.phones.all()]
            phone = self.sim.phones.get(parts[1])
            if phone is None:
                raise HttpError(404, f"no call with uuid {parts[1]!r}")
            if len(parts) == 2:
                if method == "DELETE":
                    phone.hangup()
                    return 200, call_view(phone)
                self._allow(method, "GET", "DELETE")
                return 200, call_view(phone)
            if len(parts) == 3 and parts[2] in ("dtmf", "talk", "quiet"):
                self._allow(method, "POST")
                return 200, self._act(phone, parts[2], self._json(environ, allow_empty=True))
        if parts[0] == "rooms":
            if len(parts) == 1:
                self._allow(method, "GET")
                return 200, self.sim.rooms()
            if len(parts) == 2:
                self._allow(method, "GET")
                state = self.sim.conference_state(parts[1])
                if state is None:
                    raise HttpError(404, f"no conference named {parts[1]!r}")
                return 200, state
        raise HttpError(404, f"no such resource {path!r}; see controller/sim/README.md")

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise HttpError(405, f"method {method} not allowed here; use {' or '.join(allowed)}")

    @staticmethod
    def _json(environ: dict, allow_empty: bool = False) -> Any:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise HttpError(400, "Content-Length is not a number") from None
        if length > MAX_BODY:
            raise HttpError(413, f"request body is {length} bytes; the limit is {MAX_BODY}")
        raw = environ["wsgi.input"].read(length) if length else b""
        if not raw.strip():
            if allow_empty:
                return {}
            raise HttpError(400, "request body must be a JSON object")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(400, f"request body is not valid JSON: {exc}") from None

    def _summary(self) -> dict[str, Any]:
        sim = self.sim
        return {
            "version": VERSION.strip(),
            "esl": f"{sim.config.esl_host}:{sim.esl_port}",
            "outbound": f"{sim.config.outbound_host}:{sim.config.outbound_port}",
            "time_scale": sim.config.time_scale,
            "rooms": sim.rooms(),
            "calls_up": sum(1 for p in sim.phones.all() if p.is_up),
        }

    def _place(self, data: Any) -> dict[str, Any]:
        try:
            spec = parse_call_spec(data, "POST /calls")
            phone = self.sim.phones.call(
                spec.number, caller_id=spec.caller_id, caller_name=spec.caller_name
            )
        except (CallSpecError, ValueError) as exc:
            raise HttpError(400, str(exc)) from None
        except RuntimeError as exc:  # simulator stopping
            raise HttpError(400, str(exc)) from None
        self.sim.core.spawn(run_script, self.sim, phone, spec)
        return call_view(phone)

    def _act(self, phone: Phone, action: str, data: Any) -> dict[str, Any]:
        where = f"POST /calls/{phone.uuid}/{action}"
        if not isinstance(data, dict):
            raise HttpError(400, f"{where}: expected a JSON object")
        if not phone.is_up:
            raise HttpError(400, f"{where}: the call has ended ({phone.cause})")
        if action == "dtmf":
            digits, gap = data.get("digits"), data.get("gap", 0.2)
            if (
                not isinstance(digits, str)
                or not digits
                or any(c not in DTMF_DIGITS for c in digits)
            ):
                raise HttpError(
                    400,
                    f"{where}: field 'digits' must be DTMF digits (0-9 * # A-D), got {digits!r}",
                )
            if isinstance(gap, bool) or not isinstance(gap, (int, float)) or not 0 <= gap <= 60:
                raise HttpError(400, f"{where}: field 'gap' must be seconds 0-60, got {gap!r}")
            self.sim.core.spawn(_quietly, phone.send_dtmf, digits, float(gap))
        elif action == "talk":
            seconds = data.get("seconds")
            if seconds is not None and (
                isinstance(seconds, bool)
                or not isinstance(seconds, (int, float))
                or not 0 < seconds <= 86400
            ):
                raise HttpError(
                    400, f"{where}: field 'seconds' must be a number > 0, got {seconds!r}"
                )
            phone.start_talking()
            if seconds is not None:
                self.sim.core.spawn_later(float(seconds), phone.stop_talking)
        else:
            phone.stop_talking()
        return call_view(phone)
