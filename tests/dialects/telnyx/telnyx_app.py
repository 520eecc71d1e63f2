"""A Telnyx Call Control application for the tests: a Flask app that receives webhooks,
verifies each with the official SDK (``client.webhooks.unwrap``: Ed25519 over
``timestamp|body``) and keeps the parsed events in arrival order."""

from __future__ import annotations

import io
import time
import wave
from typing import Any

import gevent
from flask import Flask, request


class TelnyxApp:
    def __init__(self, client: Any, public_key: str):
        self.client = client
        self.public_key = public_key
        self.events: list[Any] = []  # the SDK's parsed webhook events
        self.refused: list[str] = []  # webhooks whose signature did not verify
        self.bodies: list[str] = []  # the raw JSON, as received
        self.app = Flask("telnyx-test-app")
        self.app.add_url_rule("/webhooks", "webhooks", self._webhook, methods=["POST"])
        self.app.add_url_rule("/sounds/tone.wav", "tone", self._tone)

    @staticmethod
    def _tone() -> tuple[bytes, int, dict[str, str]]:
        """Half a second of 8 kHz 16-bit mono silence: a sound the controller can fetch."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\x00\x00" * 4000)
        return buffer.getvalue(), 200, {"Content-Type": "audio/wav"}

    def _webhook(self) -> tuple[str, int]:
        body = request.get_data(as_text=True)
        try:
            event = self.client.webhooks.unwrap(body, headers=dict(request.headers),
                                                key=self.public_key)
        except ValueError as exc:
            self.refused.append(str(exc))
            return "bad signature", 400
        self.events.append(event)
        self.bodies.append(body)
        return "", 200

    def of(self, event_type: str, **payload: Any) -> list[Any]:
        found = []
        for event in self.events:
            data = self.event_data(event)
            if data is None or data.event_type != event_type:
                continue
            if all(getattr(data.payload, k, None) == v for k, v in payload.items()):
                found.append(data)
        return found

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 15.0,
                 **payload: Any) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(event_type, **payload)
            if len(found) >= count:
                return found
            gevent.sleep(0.02)
        seen = [d.event_type for d in map(self.event_data, self.events) if d is not None]
        raise AssertionError(f"expected {count} {event_type} {payload}; got {seen}; "
                             f"refused: {self.refused}; bodies: {self.bodies[-3:]}")

    def types(self, call_control_id: str) -> list[str]:
        return [d.event_type for d in map(self.event_data, self.events)
                if d is not None and getattr(d.payload, "call_control_id", None)
                == call_control_id]

    @staticmethod
    def event_data(event: Any) -> Any:
        """The event object: under ``data`` for most events; conference.floor.changed is
        delivered unwrapped (the SDK's ConferenceFloorChanged has no ``data``)."""
        return event.data if hasattr(event, "data") else event
