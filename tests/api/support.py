"""Helpers for the REST API tests: capture replies, a live stack with an answer app."""

from __future__ import annotations

from pathlib import Path

from capture_file import read_capture
from flask import Flask, Response, request

CAPTURES = Path(__file__).parent.parent / "data" / "captures"


def api_replies(capture: str) -> list[tuple[str, str]]:
    """(command, api/response body) for every ``api ...`` a capture sent, in order."""
    pairs: list[tuple[str, str]] = []
    waiting: list[str] = []
    for record in read_capture(CAPTURES / capture):
        if record.direction == "sent" and record.data.startswith(b"api "):
            waiting.append(record.data.split(b"\n", 1)[0][4:].decode())
        elif record.direction == "received" and b"Content-Type: api/response" in record.data:
            body = record.data.split(b"\n\n", 1)[1].decode("utf-8", "replace")
            pairs.append((waiting.pop(0), body))
    return pairs


def reply_to(capture: str, command: str) -> str:
    """The first reply FreeSWITCH gave to exactly ``command`` in the capture."""
    for sent, body in api_replies(capture):
        if sent == command:
            return body
    raise KeyError(f"{capture} never sent {command!r}")


def silent_wav(seconds: float) -> bytes:
    """A real WAV file (8 kHz, 16-bit mono silence) that the media cache accepts."""
    data = b"\x00\x00" * int(8000 * seconds)
    return (
        b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVEfmt "
        + (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
        + (8000).to_bytes(4, "little") + (16000).to_bytes(4, "little")
        + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
        + b"data" + len(data).to_bytes(4, "little") + data
    )


def conference_app(room: str = "room1", after: str = "after") -> Flask:
    """An application: every call joins ``room``, then hears ``after`` when it leaves.

    Also serves /media/hello.wav (0.1 s) and /media/long.wav (20 s) for play actions, and
    records what it was sent in ``app.config["hits"]``.
    """
    app = Flask("api-test-app")
    app.config["hits"] = []

    @app.route("/answer", methods=["GET", "POST"])
    def answer() -> Response:
        app.config["hits"].append(("answer", request.values.to_dict()))
        xml = (f"<Response><Conference>{room}</Conference>"
               f"<Speak>{after}</Speak></Response>")
        return Response(xml, content_type="application/xml")

    @app.route("/hangup", methods=["GET", "POST"])
    def hangup() -> Response:
        app.config["hits"].append(("hangup", request.values.to_dict()))
        return Response("", status=204)

    @app.get("/media/hello.wav")
    def short_media() -> Response:
        return Response(silent_wav(0.1), content_type="audio/wav")

    @app.get("/media/long.wav")
    def long_media() -> Response:
        return Response(silent_wav(20), content_type="audio/wav")

    return app


def ephemeral_http() -> dict[str, dict[str, str]]:
    """Settings for an HTTP port the OS picks."""
    return {"http": {"listen_host": "127.0.0.1", "listen_port": "0"}}
