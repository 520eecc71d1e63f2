"""examples/telnyx_app.py against the controller and simulated phones: its "call these
three numbers into a room" flow, with nothing changed but its base URL, key and webhook
public key (the module's client, as its environment would set it)."""

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
    stack = Stack(tmp_path, app=example.app, start_controller=False, simulate=True,
                  settings={"app": {"dialect": "telnyx", "hangup_url": ""}})
    with stack:
        if not hasattr(stack.phones, "expect"):
            pytest.skip("needs phones that FreeSWITCH can dial (simulator only for now)")
        stack.extra_settings["telnyx"] = {"api_key": API_KEY, "signing_key": private,
                                          "webhook_url": f"{stack.app_url}/webhooks"}
        stack.start_controller_service()
        # What TELNYX_API_KEY, TELNYX_BASE_URL and TELNYX_PUBLIC_KEY would give it.
        example.client = Telnyx(api_key=API_KEY, base_url=f"{stack.api_base}/v2",
                                public_key=public_key(private), max_retries=0)
        yield stack, example


def test_call_three_numbers_into_a_room(example_stack):
    stack, example = example_stack
    callees = [stack.phones.expect(user, "answer") for user in ("amy", "ben")]
    stack.phones.expect("cy", "busy")
    reply = requests.post(
        f"{stack.app_url}/call-three", json={"numbers": ["amy", "ben", "cy"], "from": "1000"},
        timeout=10)
    assert reply.status_code == 202
    phones = [callee.wait_dialled(timeout=10) for callee in callees]
    wait_until(lambda: "huddle" in example.rooms, what="the app to create the room")
    client = example.client

    def in_room() -> set[str]:
        return {p.call_control_id for p in
                client.conferences.list_participants(example.rooms["huddle"])}

    wanted = {f"v3:{phone.uuid}" for phone in phones}
    wait_until(lambda: in_room() == wanted, what="both answered calls in the huddle")
    assert all(phone.is_up for phone in phones)
