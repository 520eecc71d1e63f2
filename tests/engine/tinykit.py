"""Helpers of the engine tests that run the tiny face next to Plivo on the simulator.

``FaceApp``: one application for both faces: ``/answer`` answers a tiny call (JSON
request) with ``tiny[to]`` and a Plivo call (form) with ``plivo[To]``; anything else
answers 204. ``Observer``: our own Event Socket connection to FreeSWITCH, subscribed
to conference::maintenance, so tests compare what the application heard with what
FreeSWITCH itself said. ``hears``: mod_conference's hearing rules, read from
FreeSWITCH's listings (json_list flags, ``relate`` lines).
"""

from __future__ import annotations

import io
import json
import re
import wave
from typing import Any

import gevent
from flask import Flask, Response, request

from controller.esl import InboundClient


class FaceApp:
    def __init__(self) -> None:
        # dialed number -> tiny document, or a function of the answer request making one
        self.tiny: dict[str, Any] = {}
        self.plivo: dict[str, str] = {}  # dialed number -> Plivo XML
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (body, mimetype)
        self.app = Flask("face-app")
        self.app.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST"])

    def _serve(self, path: str) -> Response:
        if "/" + path in self.files:
            body, mimetype = self.files["/" + path]
            return Response(body, mimetype=mimetype)
        if path == "answer":
            if request.is_json:
                document = self.tiny[request.get_json()["to"]]
                if callable(document):
                    document = document(request.get_json())
                return Response(json.dumps(document), mimetype="application/json")
            return Response(self.plivo[request.form["To"]], mimetype="application/xml")
        return Response(status=204)


class Observer:
    """FreeSWITCH's conference events, as FreeSWITCH sent them."""

    def __init__(self, stack: Any) -> None:
        self.client = InboundClient(stack.esl_host, stack.esl_port, stack.esl_password)
        self.events: list[Any] = []
        self._greenlet: gevent.Greenlet | None = None

    def __enter__(self) -> Observer:
        self.client.start()
        assert self.client.wait_connected(5), "observer could not reach FreeSWITCH"
        queue = self.client.subscribe("observer", ["conference::maintenance"])

        def collect() -> None:
            while True:
                event = queue.get()
                if event is not None:
                    self.events.append(event)

        self._greenlet = gevent.spawn(collect)
        gevent.sleep(0.1)  # the subscription is sent on connect
        return self

    def __exit__(self, *exc: object) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()
        self.client.stop()

    def find(self, action: str, **headers: str) -> list[Any]:
        return [e for e in self.events if e.action == action
                and all(e.get(k) == v for k, v in headers.items())]


def wav_bytes(seconds: float = 0.5) -> bytes:
    """A short silent 8 kHz mono WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * int(8000 * seconds))
    return out.getvalue()


RELATION = re.compile(r"^(\d+) -> (\d+) (SPEAK|NOSPEAK) (HEAR|NOHEAR)", re.M)


def members(stack: Any, fs_room: str) -> dict[int, dict]:
    """json_list's callers of ``fs_room`` by member id."""
    text = stack.api(f"conference {fs_room} json_list").strip()
    if not text.startswith("["):
        return {}
    return {m["id"]: m for conf in json.loads(text) for m in conf.get("members", [])
            if m.get("type") == "caller"}


def relations(stack: Any, fs_room: str, member_ids: list[int]) -> dict[tuple[int, int], set]:
    """(member, other) -> {"nospeak", "nohear"} from ``relate <id>``: only outgoing relations
    are listed (capture 07b)."""
    found: dict[tuple[int, int], set] = {}
    for member_id in member_ids:
        reply = stack.api(f"conference {fs_room} relate {member_id}")
        for a, b, speak, hear in RELATION.findall(reply):
            flags = set()
            if speak == "NOSPEAK":
                flags.add("nospeak")
            if hear == "NOHEAR":
                flags.add("nohear")
            found[(int(a), int(b))] = flags
    return found


def hearing(stack: Any, fs_room: str) -> set[tuple[int, int]]:
    """Every (listener, speaker) pair where the listener hears the speaker, by mod_conference's
    rules: a held member neither hears nor is heard (capture 07a); ``relate A C nospeak``:
    C does not hear A; ``relate A C nohear``: A does not hear C (capture 07b)."""
    listed = members(stack, fs_room)
    related = relations(stack, fs_room, list(listed))
    pairs = set()
    for listener, lm in listed.items():
        for speaker, sm in listed.items():
            if listener == speaker:
                continue
            if not lm["flags"].get("can_hear") or not sm["flags"].get("can_speak"):
                continue  # held, deaf or muted (json_list reports held as neither)
            if "nospeak" in related.get((speaker, listener), set()):
                continue
            if "nohear" in related.get((listener, speaker), set()):
                continue
            pairs.add((listener, speaker))
    return pairs
