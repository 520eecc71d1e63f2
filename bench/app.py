"""The application behind the controller in benchmarks: a Flask app in its own process.

    BENCH_FACE=cxml python -m bench.app   # prints "ready <port>" once it listens on 127.0.0.1

It speaks the face named by BENCH_FACE (default plivo; bench/faces.py). A markup face's
``POST /answer/<profile>`` answers every call with one conference whose room is the
dialled number, so a benchmark picks rooms by the numbers it dials. Profiles:

    join      the face's member-join webhook           (join overhead, capacity)
    latency   Plivo: callbackUrl, floorEvent="true", digitsMatch (event -> callback
              latency); the other faces: as join

Telnyx has no markup: ``POST /webhooks`` takes every Telnyx webhook; on ``call.initiated``
the app sends the REST commands a Telnyx application sends (answer, then conference
create, or join once the room exists) to the controller at BENCH_CONTROLLER_URL with
the official SDK, as any Telnyx app does.

``POST /callbacks`` (and member events on ``/webhooks``) records, per member event,
the arrival time (``time.time()`` taken when the WSGI server hands the request over,
before Flask runs), the action (enter, exit, floor, digits), the call's FreeSWITCH
UUID, EventTimestamp (Plivo; 0 for faces without a microsecond stamp) and the member
id. ``GET /stats`` returns them; ``POST /reset`` clears them. Requests to ``/hangup``
(Telnyx: ``call.hangup`` webhooks) are counted.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import gevent.lock  # noqa: E402
from flask import Flask, Response, jsonify, request  # noqa: E402
from gevent.fileobject import FileObjectPosix  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from bench.faces import (  # noqa: E402
    DEFAULT_FACE,
    TELNYX_API_KEY,
    answer_document,
    check_face,
    dialled_number,
    member_event,
)

ARRIVAL_KEY = "bench.arrival_us"
FACE_ENV = "BENCH_FACE"
CONTROLLER_ENV = "BENCH_CONTROLLER_URL"


class TelnyxCommands:
    """What a Telnyx Call Control application does with an inbound call: answer it, then
    create its room (the first call) or join it (the others), with the official SDK."""

    def __init__(self, controller_url: str, errors: list[str]) -> None:
        from telnyx import Telnyx

        self.client = Telnyx(api_key=TELNYX_API_KEY, base_url=f"{controller_url}/v2",
                             max_retries=0)
        # The SDK imports its resources on first use: seconds during which this process
        # (one gevent hub) serves nothing. Done now, before the first call is timed.
        _ = (self.client.calls.actions, self.client.conferences.actions)
        self.errors = errors
        self.rooms: dict[str, str] = {}  # room name -> conference id, once created
        self.locks: dict[str, gevent.lock.Semaphore] = {}

    def call_initiated(self, call_control_id: str, room: str) -> None:
        gevent.spawn(self._run, call_control_id, room)  # the webhook is answered at once

    def _run(self, call_control_id: str, room: str) -> None:
        import telnyx

        try:
            self.client.calls.actions.answer(call_control_id)
            conference = self.rooms.get(room)
            if conference is not None:
                try:
                    self.client.conferences.actions.join(conference,
                                                         call_control_id=call_control_id)
                    return
                except telnyx.APIStatusError as exc:
                    if exc.status_code not in (404, 422):
                        raise
                    if self.rooms.get(room) == conference:
                        del self.rooms[room]  # it ended meanwhile: create it again
            self._create_or_join(call_control_id, room)
        except Exception as exc:  # noqa: BLE001 - reported in /stats, the benchmark fails
            self.errors.append(f"telnyx {call_control_id} room {room}: {exc!r}"[:500])

    def _create_or_join(self, call_control_id: str, room: str) -> None:
        """The first call of a room creates it; calls arriving meanwhile wait for that and
        join (only the creation is one at a time: joins run side by side)."""
        with self.locks.setdefault(room, gevent.lock.Semaphore()):
            conference = self.rooms.get(room)
            if conference is None:
                created = self.client.conferences.create(call_control_id=call_control_id,
                                                         name=room)
                self.rooms[room] = created.data.id
                return
        self.client.conferences.actions.join(conference, call_control_id=call_control_id)


def create_app(face: str = DEFAULT_FACE, controller_url: str = "") -> Flask:
    check_face(face)
    app = Flask("bench.app")
    state: dict[str, Any] = {"callbacks": [], "answers": 0, "hangups": 0, "errors": []}
    telnyx = TelnyxCommands(controller_url, state["errors"]) if face == "telnyx" else None

    def json_body() -> dict[str, Any] | None:
        if not request.is_json:
            return None
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else None

    def record(event: tuple[str, str, int, str] | None) -> None:
        if event is not None:
            action, uuid, stamp, member = event
            state["callbacks"].append((action, uuid, stamp, request.environ[ARRIVAL_KEY],
                                       member))

    @app.post("/answer/<profile>")
    def answer(profile: str) -> Any:
        room = dialled_number(face, request.form, json_body())
        # Plivo keeps its relative callbackUrl (today's figures); the others get it absolute.
        url = "/callbacks" if face == "plivo" else f"{request.host_url}callbacks"
        document = answer_document(face, profile, room, url) if room else None
        if document is None:
            state["errors"].append(f"answer: face {face}, profile {profile!r}, To {room!r}")
            return Response(f"unknown profile {profile!r} or no To\n", status=404)
        state["answers"] += 1
        return Response(document, mimetype="application/xml")

    @app.post("/callbacks")
    def callbacks() -> Any:
        record(member_event(face, request.form, json_body()))
        return "", 204

    @app.post("/webhooks")
    def webhooks() -> Any:
        body = json.loads(request.get_data() or b"{}")
        data = body.get("data") or {}
        payload = data.get("payload") or {}
        kind = data.get("event_type")
        if telnyx is not None and kind == "call.initiated":
            state["answers"] += 1
            telnyx.call_initiated(str(payload.get("call_control_id", "")),
                                  str(payload.get("to", "")))
        elif kind == "call.hangup":
            state["hangups"] += 1
        else:
            record(member_event(face, {}, body))
        return "", 200

    @app.post("/hangup")
    def hangup() -> Any:
        state["hangups"] += 1
        return "", 204

    @app.get("/stats")
    def stats() -> Any:
        return jsonify(answers=state["answers"], hangups=state["hangups"],
                       callbacks=state["callbacks"], errors=state["errors"][-20:],
                       error_count=len(state["errors"]))

    @app.post("/reset")
    def reset() -> Any:
        state.update(callbacks=[], answers=0, hangups=0)
        state["errors"].clear()  # the same list the Telnyx commands report into
        return "", 204

    inner = app.wsgi_app

    def stamped(environ: dict, start_response: Any) -> Any:
        # The moment the request reached the application, before Flask's routing.
        environ[ARRIVAL_KEY] = int(time.time() * 1_000_000)
        return inner(environ, start_response)

    app.wsgi_app = stamped  # type: ignore[method-assign]
    return app


class _NoDelayServer(WSGIServer):
    """Small replies on kept-alive connections must not wait for delayed ACKs."""

    def handle(self, sock, address):  # noqa: ANN001, ANN201 - gevent's signature
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().handle(sock, address)


def main() -> int:
    app = create_app(os.environ.get(FACE_ENV, DEFAULT_FACE), os.environ.get(CONTROLLER_ENV, ""))
    server = _NoDelayServer(("127.0.0.1", 0), app, log=None, backlog=2048)
    server.start()
    print(f"ready {server.server_port}", flush=True)
    try:
        # The benchmark closes our stdin when done with us (or dies): read it
        # cooperatively, so the server keeps serving meanwhile.
        FileObjectPosix(sys.stdin.fileno(), "rb", close=False).read()
    finally:
        server.stop(timeout=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
