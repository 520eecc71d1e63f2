"""The application behind the controller in benchmarks: a Flask app in its own process.

    python -m bench.app          # prints "ready <port>" once it listens on 127.0.0.1

``POST /answer/<profile>`` answers every call with one ``<Conference>`` whose room
is the dialled number (``To``), so a benchmark picks rooms by the numbers it
dials. Profiles:

    join      callbackUrl                                  (join overhead, capacity)
    latency   callbackUrl, floorEvent="true", digitsMatch  (event -> callback latency)

``POST /callbacks`` records, per request, the arrival time (``time.time()`` taken
when the WSGI server hands the request over, before Flask runs), ConferenceAction,
CallUUID and EventTimestamp. ``GET /stats`` returns them; ``POST /reset`` clears
them. Requests to ``/hangup`` are counted.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask, Response, jsonify, request  # noqa: E402
from gevent.fileobject import FileObjectPosix  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from controller.dialects.plivo.builder import Response as PlivoResponse  # noqa: E402

DIGITS = ["1", "2", "3"]  # what callback_latency presses; each is its own match
ARRIVAL_KEY = "bench.arrival_us"


def _conference(profile: str, room: str) -> PlivoResponse | None:
    document = PlivoResponse()
    if profile == "join":
        document.conference(room, callback_url="/callbacks")
    elif profile == "latency":
        document.conference(room, callback_url="/callbacks", floor_event=True,
                            digits_match=DIGITS)
    else:
        return None
    return document


def create_app() -> Flask:
    app = Flask("bench.app")
    state: dict[str, Any] = {"callbacks": [], "answers": 0, "hangups": 0, "errors": []}

    @app.post("/answer/<profile>")
    def answer(profile: str) -> Any:
        room = request.form.get("To", "")
        document = _conference(profile, room) if room else None
        if document is None:
            state["errors"].append(f"answer: profile {profile!r}, To {room!r}")
            return Response(f"unknown profile {profile!r} or no To\n", status=404)
        state["answers"] += 1
        return Response(document.to_xml(), mimetype="application/xml")

    @app.post("/callbacks")
    def callbacks() -> Any:
        form = request.form
        state["callbacks"].append((
            form.get("ConferenceAction", ""), form.get("CallUUID", ""),
            int(form.get("EventTimestamp") or 0), request.environ[ARRIVAL_KEY],
            form.get("ConferenceMemberID", ""),
        ))
        return "", 204

    @app.post("/hangup")
    def hangup() -> Any:
        state["hangups"] += 1
        return "", 204

    @app.get("/stats")
    def stats() -> Any:
        return jsonify(answers=state["answers"], hangups=state["hangups"],
                       callbacks=state["callbacks"], errors=state["errors"][-20:])

    @app.post("/reset")
    def reset() -> Any:
        state.update(callbacks=[], answers=0, hangups=0, errors=[])
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
    server = _NoDelayServer(("127.0.0.1", 0), create_app(), log=None, backlog=2048)
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
