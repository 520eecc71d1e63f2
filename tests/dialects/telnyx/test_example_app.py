"""examples/telnyx_app.py against the controller and phones (the simulator's, or SIPp
phones on a real FreeSWITCH when FS_ESL_HOST is set): its inbound greeting-then-lobby
flow and its "call these three numbers into a room" flow, with nothing changed but its
base URL, key and webhook public key (the module's client, as its environment would set
it)."""

from __future__ import annotations

import importlib

import pytest
import requests
from conftest import API_KEY
from stack import Stack, wait_until
from telnyx import Telnyx

from controller.dialects.telnyx.signing import new_private_key, public_key


@pytest.fixture
def example_stack(tmp_path):
    example = importlib.reload(importlib.import_module("examples.telnyx_app"))
    private = new_private_key()
    stack = Stack(tmp_path, app=example.app, start_controller=False,
                  settings={"app": {"dialect": "telnyx", "hangup_url": ""}})
    with stack:
        stack.extra_settings["telnyx"] = {"api_key": API_KEY, "signing_key": private,
                                          "webhook_url": f"{stack.app_url}/webhooks"}
        stack.start_controller_service()
        # What TELNYX_API_KEY, TELNYX_BASE_URL and TELNYX_PUBLIC_KEY would give it.
        example.client = Telnyx(api_key=API_KEY, base_url=f"{stack.api_base}/v2",
                                public_key=public_key(private), max_retries=0)
        yield stack, example
        stack.phones.close()  # the rooms end with their last call


def participants(example, room: str) -> set[str]:
    """The call_control_ids in the app's room, as the controller's REST API lists them."""
    conference_id = example.rooms.get(room)
    if conference_id is None:
        return set()
    return {p.call_control_id for p in example.client.conferences.list_participants(
        conference_id)}


def lobby_call(stack, example):
    """A caller the app greets and puts in its lobby; the webhooks the app got for it."""
    phone = stack.phones.call("5000", caller_id="alice")
    phone.wait_answered(timeout=10)
    # answer, speak, then join: the speech's end is the app's cue for the lobby.
    ccid = f"v3:{phone.uuid}"
    wait_until(lambda: participants(example, "lobby") == {ccid}, timeout=20,
               what="the caller in the lobby after the greeting")
    # In the order they were sent (the app handles a webhook while the next may arrive,
    # so the order they completed in differs), a retried delivery (same id) once.
    received, seen = [], set()
    for request in sorted(stack.requests.at("/webhooks"), key=lambda r: r.at):
        event = event_of(request.json)
        if event["payload"].get("call_control_id") == ccid and event["id"] not in seen:
            seen.add(event["id"])
            received.append(request)
    return phone, received


def event_of(body: dict) -> dict:
    """The event in a webhook body: under ``data``, or the body itself for the events
    Telnyx sends unwrapped (conference.floor.changed, controller/dialects/telnyx/webhooks.py
    UNWRAPPED_EVENTS)."""
    return body.get("data", body)


def test_inbound_call_is_greeted_then_joins_the_lobby(example_stack):
    stack, example = example_stack
    phone, received = lobby_call(stack, example)
    wrapped = [r for r in received if "data" in r.json]
    kinds = [event_of(r.json)["event_type"] for r in wrapped]
    assert kinds[:4] == ["call.initiated", "call.answered", "call.speak.started",
                         "call.speak.ended"]
    assert "conference.participant.joined" in kinds
    # each verified by the app (it answers 400 to a bad signature)
    assert all(r.status == 200 for r in wrapped)
    if not stack.real:  # what a phone heard: the simulator's view only
        assert any("joining the lobby" in heard for heard in phone.heard)


def test_the_example_accepts_every_webhook_of_a_lobby_call(example_stack):
    stack, example = example_stack
    _, received = lobby_call(stack, example)
    assert [r.status for r in received if r.status != 200] == []


def test_call_three_numbers_into_a_room(example_stack):
    stack, example = example_stack
    dialled = [stack.expect_phone(user, "answer") for user in ("amy", "ben")]
    _, busy_to = stack.expect_phone("cy", "busy")
    reply = requests.post(
        f"{stack.app_url}/call-three",
        json={"numbers": [to for _, to in dialled] + [busy_to], "from": "1000"}, timeout=10)
    assert reply.status_code == 202
    phones = [callee.wait_dialled(timeout=10) for callee, _ in dialled]
    wait_until(lambda: "huddle" in example.rooms, what="the app to create the room")
    wanted = {f"v3:{phone.uuid}" for phone in phones}
    wait_until(lambda: participants(example, "huddle") == wanted,
               what="both answered calls in the huddle")
    assert all(phone.is_up for phone in phones)
