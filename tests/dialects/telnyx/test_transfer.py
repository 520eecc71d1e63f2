"""transfer with the official SDK: the new number is dialled through the Dialer (its
webhooks as for any dialled leg) and, once it answers, both legs talk in a private
two-member room; an unanswered transfer leaves the call as it was."""

from __future__ import annotations

import json

import pytest
import telnyx
from conftest import b64
from stack import wait_until
from test_gather import answered_call


@pytest.fixture(autouse=True)
def _answering_phones(telnyx_stack) -> None:
    if not hasattr(telnyx_stack.phones, "expect"):
        pytest.skip("needs phones that FreeSWITCH can dial (simulator only for now)")


def room_of(stack, *uuids: str) -> dict | None:
    """The FreeSWITCH conference holding all of ``uuids`` (json_list), or None."""
    text = stack.api("conference json_list").strip()
    for conf in json.loads(text) if text.startswith("[") else []:
        members = {m.get("uuid") for m in conf.get("members", [])}
        if set(uuids) <= members:
            return conf
    return None


def test_transfer_dials_the_number_and_bridges_both_legs(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    callee = stack.phones.expect("bob@127.0.0.1:5090", "answer")
    stack.client.calls.actions.transfer(ccid, to="sip:bob@127.0.0.1:5090",
                                        target_leg_client_state=b64("agent"),
                                        client_state=b64("transferred"))
    initiated = stack.telnyx.wait_for("call.initiated", direction="outgoing")[0].payload
    new_ccid = initiated.call_control_id
    assert initiated.from_ == "alice"  # the transferred call's caller id by default
    assert initiated.client_state == b64("agent")
    stack.telnyx.wait_for("call.answered", call_control_id=new_ccid)
    bob = callee.wait_dialled()
    stack.telnyx.wait_for("call.bridged", call_control_id=ccid)
    stack.telnyx.wait_for("call.bridged", call_control_id=new_ccid)
    wait_until(lambda: room_of(stack, phone.uuid, bob.uuid), what="both legs in one room")
    assert room_of(stack, phone.uuid, bob.uuid)["member_count"] == 2

    bob.hangup()  # the bridge ends: the transferred call hangs up too (Telnyx's default)
    assert stack.telnyx.wait_for("call.hangup", call_control_id=new_ccid)
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=ccid)[0].payload
    assert hangup.client_state == b64("transferred")
    phone.wait_hangup(timeout=10)
    assert not stack.telnyx.refused


def test_unanswered_transfer_leaves_the_call_up_for_more_commands(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    stack.phones.expect("carol", "busy")
    stack.client.calls.actions.transfer(ccid, to="carol")
    new = stack.telnyx.wait_for("call.initiated", direction="outgoing")[0].payload
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=new.call_control_id)[0]
    assert hangup.payload.hangup_cause == "user_busy"
    stack.client.calls.actions.speak(ccid, payload="Nobody is free", voice="female")
    assert stack.telnyx.wait_for("call.speak.ended", call_control_id=ccid)
    assert phone.is_up and not stack.telnyx.of("call.bridged")


def test_transfer_requests_are_checked(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    for params, field in [(dict(to="bad destination!"), "to"),
                          (dict(to="bob", timeout_secs=1), "timeout_secs"),
                          (dict(to="bob", park_after_unbridge="other"), "park_after_unbridge"),
                          (dict(to="bob", audio_url="http://x/a.wav"), "audio_url")]:
        with pytest.raises(telnyx.UnprocessableEntityError) as refused:
            stack.client.calls.actions.transfer(ccid, **params)
        assert field in str(refused.value)
    assert not stack.telnyx.of("call.initiated", direction="outgoing")
