"""The demo's conference application: what a web app behind the controller looks like.

`conference-controller sim demo` and the Docker example-app run it; it ships in the
package so both work from an installed wheel. (Your own application needs none of
this module: it answers HTTP with XML.)

Dial a number and the controller fetches ``/answer`` with the call's parameters
(CallUUID, From, To, ...). Each number shows one kind of room:

    1000  plain room "lobby"
    2000  moderated room "board", as a participant: wait with music for the host
    2001  moderated room "board", as the host: the room starts, and ends when you leave
    3000  recorded room "minutes" (wav); the recording is announced to /callbacks
    4000  digits menu: press 1 or 2 (sent to /callbacks), * leaves the room to a menu
    5000  time-limited room "standup" (TIME_LIMIT seconds, default 60)

Every callback and action request lands in ``/callbacks`` and can be read back
with ``GET /callbacks`` (JSON). Relative URLs in the XML are resolved by the
controller against this document's URL, so the app needs no public address.

Run: ``python -m controller.demo_app`` (port from $PORT, default 5000).
"""

from __future__ import annotations

import io
import logging
import math
import os
import struct
import threading
import wave
from typing import Any

from flask import Flask, Response, jsonify, request

from controller.dialects.plivo.builder import Response as PlivoResponse
from controller.signing import SIGNATURE_HEADER, verify_signature

log = logging.getLogger("controller.demo_app")

XML = "application/xml"


def beep_wav(frequency: int = 660, millis: int = 400, rate: int = 8000) -> bytes:
    """A short sine beep as 8 kHz 16-bit mono WAV (so the demo needs no sound files)."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * frequency * n / rate)))
        for n in range(rate * millis // 1000)
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(frames)
    return out.getvalue()


def create_app(time_limit: int | None = None, signing_secret: str | None = None) -> Flask:
    app = Flask("controller.demo_app")
    app.received: list[dict[str, Any]] = []  # every callback/action request, in arrival order
    lock = threading.Lock()
    limit = time_limit if time_limit is not None else int(os.environ.get("TIME_LIMIT", "60"))
    secret = signing_secret if signing_secret is not None else os.environ.get("SIGNING_SECRET", "")

    def params() -> dict[str, str]:
        return request.values.to_dict()

    def xml(response: PlivoResponse) -> Response:
        return Response(response.to_xml(), mimetype=XML)

    def keep(kind: str) -> dict[str, Any]:
        entry = {"kind": kind, "path": request.path, "method": request.method, **params()}
        if secret:
            signed = request.form.to_dict() if request.method == "POST" else {}
            entry["signature_valid"] = verify_signature(
                secret, request.url, signed, request.headers.get(SIGNATURE_HEADER, "")
            )
        with lock:
            app.received.append(entry)
        log.info("%s %s", kind, entry)
        return entry

    @app.route("/answer", methods=["GET", "POST"])
    def answer() -> Response:
        number = params().get("To", "")
        r = PlivoResponse()
        if number == "1000":
            r.speak("Welcome to the lobby.")
            r.conference("lobby", enter_sound="beep:1", exit_sound="beep:2",
                         callback_url="/callbacks", action="/after")
        elif number == "2000":
            r.conference("board", start_conference_on_enter=False, wait_sound="/wait-music",
                         callback_url="/callbacks", action="/after")
        elif number == "2001":
            r.conference("board", start_conference_on_enter=True, end_conference_on_exit=True,
                         callback_url="/callbacks", action="/after")
        elif number == "3000":
            r.speak("This call is recorded.")
            r.conference("minutes", record=True, record_file_format="wav",
                         callback_url="/callbacks", action="/after")
        elif number == "4000":
            r.conference("menu", digits_match=["1", "2"], hangup_on_star=True,
                         callback_url="/callbacks", action="/menu")
        elif number == "5000":
            r.conference("standup", time_limit=limit, callback_url="/callbacks",
                         action="/after")
        else:
            r.speak(f"The number {' '.join(number) or 'you dialed'} is not in service.")
            r.hangup(reason="rejected")
        return xml(r)

    @app.route("/wait-music", methods=["GET", "POST"])
    def wait_music() -> Response:
        r = PlivoResponse()
        r.speak("Please wait for the host.")
        r.play("/media/beep.wav")
        r.wait(length=2)
        return xml(r)

    @app.route("/menu", methods=["GET", "POST"])
    def menu() -> Response:
        keep("action")
        r = PlivoResponse()
        r.speak("You left the room. Goodbye.")
        return xml(r)

    @app.route("/after", methods=["GET", "POST"])
    def after() -> Response:
        keep("action")
        r = PlivoResponse()
        r.speak("The conference has ended. Goodbye.")
        return xml(r)

    @app.route("/callbacks", methods=["GET", "POST"])
    def callbacks() -> Any:
        if request.method == "GET" and not request.args:
            with lock:
                return jsonify(app.received)
        keep("callback")
        return "", 204

    @app.route("/hangup", methods=["GET", "POST"])
    def hangup() -> Any:
        keep("hangup")
        return "", 204

    @app.get("/media/beep.wav")
    def beep() -> Response:
        return Response(beep_wav(), mimetype="audio/wav")

    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    from gevent.pywsgi import WSGIServer

    port = int(os.environ.get("PORT", "5000"))
    WSGIServer(("0.0.0.0", port), create_app()).serve_forever()


if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()
    main()
