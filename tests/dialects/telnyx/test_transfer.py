"""transfer with the official SDK: the call runs FreeSWITCH's ``bridge`` to the new
destination, which gets its own call_control_id and webhooks (call.initiated,
call.answered, call.bridged, call.hangup); the transferred call gets call.bridged and,
when the bridge ends, hangs up (or waits for commands with park_after_unbridge=self);
an unanswered transfer leaves the call as it was.

Runs on the simulator and on a real FreeSWITCH (``stack.expect_phone``: a SIPp answering
phone there). The tests synchronise on webhooks and on FreeSWITCH's channel listing
(``show channels as json``), never on what a simulated phone heard."""

from __future__ import annotations

import json

import pytest
import telnyx
from conftest import b64
from stack import wait_until


def answered_call(stack, caller: str = "alice"):
    phone = stack.phones.call("5000", caller_id=caller)
    ccid = stack.telnyx.wait_for("call.initiated", from_=caller)[-1].payload.call_control_id
    stack.client.calls.actions.answer(ccid, client_state=b64("menu"))
    phone.wait_answered(timeout=5)
    stack.telnyx.wait_for("call.answered", call_control_id=ccid)
    return phone, ccid


def channels(stack) -> dict[str, dict]:
    """FreeSWITCH's channels by uuid (``show channels as json``, capture 07f's form)."""
    listing = json.loads(stack.api("show channels as json") or "{}")
    return {row["uuid"]: row for row in listing.get("rows", [])}


def in_a_conference(stack, uuid: str) -> bool:
    text = stack.api("conference json_list").strip()
    return any(uuid == m.get("uuid") for conf in (json.loads(text) if text.startswith("[")
                                                  else []) for m in conf.get("members", []))


def transferred(stack, ccid: str, behaviour: str = "answer", **options):
    """Transfer ``ccid`` to a phone that behaves so; (callee, to, new leg's initiated)."""
    callee, to = stack.expect_phone("bob@127.0.0.1:5090", behaviour)
    stack.client.calls.actions.transfer(ccid, to=to, **options)
    initiated = stack.telnyx.wait_for("call.initiated", direction="outgoing")[-1].payload
    return callee, to, initiated


def test_transfer_bridges_the_call_to_the_new_leg(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    callee, to, initiated = transferred(stack, ccid, target_leg_client_state=b64("agent"),
                                        client_state=b64("transferred"),
                                        from_display_name="Front Desk", timeout_secs=10)
    new_ccid = initiated.call_control_id
    assert new_ccid != ccid and initiated.to == to
    assert initiated.from_ == "alice"  # the transferred call's caller id by default
    assert initiated.client_state == b64("agent")
    answered = stack.telnyx.wait_for("call.answered", call_control_id=new_ccid)[0].payload
    assert answered.client_state == b64("agent")
    bob = callee.wait_dialled()
    assert bob.uuid == initiated.call_leg_id
    assert stack.telnyx.wait_for("call.bridged", call_control_id=ccid)[0].payload.client_state \
        == b64("transferred")
    stack.telnyx.wait_for("call.bridged", call_control_id=new_ccid)
    # FreeSWITCH: both legs up and answered, bridged (no conference stands in for it)
    listing = channels(stack)
    assert listing[bob.uuid]["callstate"] == "ACTIVE"
    assert listing[bob.uuid]["cid_num"] == "alice" and listing[phone.uuid]
    assert not in_a_conference(stack, phone.uuid) and not in_a_conference(stack, bob.uuid)

    bob.hangup()  # the bridge ends: the transferred call hangs up too (Telnyx's default)
    ended = stack.telnyx.wait_for("call.hangup", call_control_id=new_ccid)[0].payload
    assert (ended.hangup_cause, ended.hangup_source) == ("normal_clearing", "callee")
    assert ended.client_state == b64("agent")
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=ccid)[0].payload
    assert hangup.client_state == b64("transferred")
    phone.wait_hangup(timeout=10)
    assert stack.telnyx.types(new_ccid) == ["call.initiated", "call.answered", "call.bridged",
                                            "call.hangup"]
    assert not stack.telnyx.refused


def test_park_after_unbridge_keeps_the_call_for_more_commands(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    callee, _, initiated = transferred(stack, ccid, park_after_unbridge="self")
    stack.telnyx.wait_for("call.bridged", call_control_id=ccid)
    callee.wait_dialled().hangup()
    stack.telnyx.wait_for("call.hangup", call_control_id=initiated.call_control_id)
    stack.client.calls.actions.speak(ccid, payload="The agent left", voice="female")
    assert stack.telnyx.wait_for("call.speak.ended", call_control_id=ccid)[0].payload.status \
        == "completed"
    assert phone.is_up and not stack.telnyx.of("call.hangup", call_control_id=ccid)
    stack.client.calls.actions.hangup(ccid)
    stack.telnyx.wait_for("call.hangup", call_control_id=ccid)


def test_caller_hanging_up_ends_the_new_leg(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    callee, _, initiated = transferred(stack, ccid)
    stack.telnyx.wait_for("call.bridged", call_control_id=initiated.call_control_id)
    bob = callee.wait_dialled()
    phone.hangup()
    bob.wait_hangup(timeout=10)  # FreeSWITCH ends the other leg of the bridge
    ended = stack.telnyx.wait_for("call.hangup",
                                  call_control_id=initiated.call_control_id)[0].payload
    assert ended.hangup_source == "caller"
    stack.telnyx.wait_for("call.hangup", call_control_id=ccid)
    wait_until(lambda: bob.uuid not in channels(stack), what="the new leg gone")


def test_hangup_command_on_the_new_leg(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    callee, _, initiated = transferred(stack, ccid)
    stack.telnyx.wait_for("call.bridged", call_control_id=initiated.call_control_id)
    bob = callee.wait_dialled()
    stack.client.calls.actions.hangup(initiated.call_control_id)
    bob.wait_hangup(timeout=10)
    stack.telnyx.wait_for("call.hangup", call_control_id=initiated.call_control_id)
    stack.telnyx.wait_for("call.hangup", call_control_id=ccid)
    phone.wait_hangup(timeout=10)


@pytest.mark.parametrize(("behaviour", "cause"), [("busy", "user_busy"),
                                                  ("reject", "call_rejected")])
def test_unanswered_transfer_leaves_the_call_up_for_more_commands(telnyx_stack, behaviour,
                                                                  cause):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    _, _, new = transferred(stack, ccid, behaviour)
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=new.call_control_id)[0]
    assert hangup.payload.hangup_cause == cause
    stack.client.calls.actions.speak(ccid, payload="Nobody is free", voice="female")
    assert stack.telnyx.wait_for("call.speak.ended", call_control_id=ccid)
    assert phone.is_up and not stack.telnyx.of("call.bridged")
    assert ccid in {f"v3:{uuid}" for uuid in channels(stack)}


def test_transfer_requests_are_checked(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    for params, field in [(dict(to="bad destination!"), "to"),
                          (dict(to="bob", timeout_secs=1), "timeout_secs"),
                          (dict(to="bob", park_after_unbridge="other"), "park_after_unbridge"),
                          (dict(to="bob", from_display_name="A {b}"), "from_display_name"),
                          (dict(to="bob", audio_url="http://x/a.wav"), "audio_url")]:
        with pytest.raises(telnyx.UnprocessableEntityError) as refused:
            stack.client.calls.actions.transfer(ccid, **params)
        assert field in str(refused.value)
    assert not stack.telnyx.of("call.initiated", direction="outgoing")
    assert phone.is_up
