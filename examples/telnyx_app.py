"""A Telnyx Call Control conference app, unchanged but for its base URL, key and webhook key.

    CC_APP_DIALECT=telnyx CC_TELNYX_API_KEY=KEY... \\
    CC_TELNYX_WEBHOOK_URL=http://127.0.0.1:5000/webhooks \\
    CC_TELNYX_SIGNING_KEY=<conference-controller keys --generate> conference-controller run

    TELNYX_API_KEY=KEY... TELNYX_PUBLIC_KEY=<the public key> \\
    TELNYX_BASE_URL=http://127.0.0.1:8080/v2 python examples/telnyx_app.py

Inbound: every call is answered, greeted, and put in the room "lobby" (the first
caller creates it). Outbound: ``POST /call-three`` with ``{"numbers": [...],
"from": "..."}`` dials the numbers (``client.calls.dial``) and puts each one in the
room "huddle" as it answers (its ``call.answered`` carries the client_state given to
the dial); one that is busy or never answers sends ``call.hangup`` and is left out.
"""

from __future__ import annotations

import base64
import json
import os
import threading

from flask import Flask, request
from telnyx import Telnyx

client = Telnyx(api_key=os.environ.get("TELNYX_API_KEY", "KEY"),
                base_url=os.environ.get("TELNYX_BASE_URL", "http://127.0.0.1:8080/v2"),
                public_key=os.environ.get("TELNYX_PUBLIC_KEY"))
app = Flask(__name__)
rooms: dict[str, str] = {}  # room name -> conference id
rooms_lock = threading.Lock()


def state(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def read_state(value: str | None) -> str:
    return base64.b64decode(value).decode() if value else ""


def into_room(call_control_id: str, name: str) -> None:
    # Calls answered together would otherwise each create the room: the first creates
    # it, the others wait and join.
    with rooms_lock:
        if name not in rooms:
            created = client.conferences.create(call_control_id=call_control_id, name=name,
                                                beep_enabled="on_enter")
            rooms[name] = created.data.id
            return
    client.conferences.actions.join(rooms[name], call_control_id=call_control_id)


@app.post("/webhooks")
def webhooks() -> tuple[str, int]:
    body = request.get_data(as_text=True)
    try:  # the controller signs with Ed25519, exactly as Telnyx does
        event = client.webhooks.unwrap(body, headers=dict(request.headers))
    except ValueError:
        return "bad signature", 400
    # Most events come as {"data": {...}}; conference.floor.changed comes unwrapped, as
    # Telnyx sends it (the SDK's ConferenceFloorChanged has no ``data``).
    data = getattr(event, "data", event)
    if data is None:
        return "", 200
    kind, payload = data.event_type, data.payload
    if kind == "call.initiated" and payload.direction == "incoming":
        client.calls.actions.answer(payload.call_control_id, client_state=state("lobby"))
    elif kind == "call.answered" and read_state(payload.client_state) == "lobby":
        client.calls.actions.speak(payload.call_control_id, voice="female",
                                   payload="Welcome. You are joining the lobby.")
    elif kind == "call.answered" and read_state(payload.client_state) == "huddle":
        into_room(payload.call_control_id, "huddle")
    elif kind == "call.speak.ended" and payload.status == "completed":
        into_room(payload.call_control_id, "lobby")
    elif kind == "conference.ended":
        for name, conference_id in list(rooms.items()):
            if conference_id == payload.conference_id:
                del rooms[name]
    return "", 200


@app.post("/call-three")
def call_three() -> tuple[str, int]:
    wanted = request.get_json(force=True)
    for number in wanted["numbers"][:3]:
        client.calls.dial(connection_id="huddle", to=number, from_=wanted["from"],
                          client_state=state("huddle"), timeout_secs=30)
    return json.dumps({"dialing": wanted["numbers"][:3]}), 202


if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "5000")))
