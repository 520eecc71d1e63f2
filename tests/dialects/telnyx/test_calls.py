"""Inbound Telnyx calls driven by the official SDK: the call waits for commands, answers,
speaks, plays, takes digits and hangs up; every webhook verified by the SDK. On the
simulator or a real FreeSWITCH (SIPp phones)."""

from __future__ import annotations

import gevent
import pytest
import telnyx
from conftest import b64, callstate, waiting_unanswered
from stack import wait_until


def ring(stack, caller: str = "alice"):
    phone = stack.phones.call("5000", caller_id=caller)
    initiated = stack.telnyx.wait_for("call.initiated", from_=caller)[-1]
    return phone, initiated.payload.call_control_id


def test_inbound_call_waits_for_commands_then_answers_speaks_and_hangs_up(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = ring(stack)
    initiated = stack.telnyx.of("call.initiated")[0].payload
    assert initiated.direction == "incoming" and initiated.state == "parked"
    assert initiated.to == "5000" and initiated.call_leg_id == phone.uuid
    gevent.sleep(1.0)  # nothing is fetched, nothing runs: the call just waits
    assert waiting_unanswered(stack, phone.uuid)
    assert stack.telnyx.types(ccid) == ["call.initiated"]

    stack.client.calls.actions.answer(ccid, client_state=b64("greeting"))
    answered = stack.telnyx.wait_for("call.answered", call_control_id=ccid)[0]
    phone.wait_answered(timeout=5)
    assert answered.payload.client_state == b64("greeting")
    assert callstate(stack, phone.uuid) == "ACTIVE"

    stack.client.calls.actions.speak(ccid, payload="Welcome to the room", voice="female")
    ended = stack.telnyx.wait_for("call.speak.ended", call_control_id=ccid)[0]
    assert ended.payload.status == "completed"
    if not stack.real:  # what a phone heard: the simulator's view only
        assert any("Welcome to the room" in heard for heard in phone.heard)

    stack.client.calls.actions.hangup(ccid)
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=ccid)[0]
    assert hangup.payload.hangup_cause == "normal_clearing"
    assert hangup.payload.hangup_source == "callee"
    assert hangup.payload.client_state == b64("greeting")
    assert stack.telnyx.types(ccid) == ["call.initiated", "call.answered", "call.speak.started",
                                        "call.speak.ended", "call.hangup"]
    assert not stack.telnyx.refused


def test_caller_hangs_up_while_waiting(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = ring(stack)
    phone.hangup()
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=ccid)[0]
    assert hangup.payload.hangup_source == "caller"


def test_reject_ends_the_call_with_the_cause(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = ring(stack)
    stack.client.calls.actions.reject(ccid, cause="USER_BUSY")
    assert phone.wait_hangup(timeout=5) == "USER_BUSY"
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=ccid)[0]
    assert hangup.payload.hangup_cause == "user_busy"


def test_digits_pressed_while_waiting_are_reported(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = ring(stack)
    stack.client.calls.actions.answer(ccid)
    phone.wait_answered(timeout=5)
    stack.telnyx.wait_for("call.answered", call_control_id=ccid)
    phone.send_dtmf("42")
    digits = stack.telnyx.wait_for("call.dtmf.received", count=2, call_control_id=ccid)
    assert [d.payload.digit for d in digits] == ["4", "2"]


def test_playback_start_and_stop(telnyx_stack, tmp_path):
    stack = telnyx_stack
    phone, ccid = ring(stack)
    stack.client.calls.actions.answer(ccid)
    phone.wait_answered(timeout=5)
    url = f"{stack.app_url}/missing.wav"
    stack.client.calls.actions.start_playback(ccid, audio_url=url)
    failed = stack.telnyx.wait_for("call.playback.ended", call_control_id=ccid)[0]
    assert failed.payload.status == "file_not_found" and failed.payload.media_url == url


def test_commands_are_checked_before_they_reach_the_call(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = ring(stack)
    with pytest.raises(telnyx.UnprocessableEntityError) as refused:
        stack.client.calls.actions.speak(ccid, payload="too early", voice="female")
    assert "answer the call" in str(refused.value)
    with pytest.raises(telnyx.UnprocessableEntityError) as bad_state:
        stack.client.calls.actions.answer(ccid, client_state="not base64!")
    assert "client_state" in str(bad_state.value)
    with pytest.raises(telnyx.UnprocessableEntityError):
        stack.client.calls.actions.hangup("v3:00000000-0000-0000-0000-000000000000")
    bad_key = telnyx.Telnyx(api_key="wrong", base_url=stack.client.base_url, max_retries=0)
    with pytest.raises(telnyx.AuthenticationError):
        bad_key.calls.actions.answer(ccid)
    assert waiting_unanswered(stack, phone.uuid)
    assert stack.telnyx.types(ccid) == ["call.initiated"]


def test_command_id_runs_once(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = ring(stack)
    actions = stack.client.calls.actions
    actions.answer(ccid)
    phone.wait_answered(timeout=5)
    for _ in range(2):
        actions.send_dtmf(ccid, digits="7", command_id="once-dtmf")
    for _ in range(2):
        actions.speak(ccid, payload="Said once", voice="male", command_id="once-speak")
    # The call runs its commands in order: once the last one's speech has ended, a
    # repeated command would have run too.
    actions.speak(ccid, payload="The last command", voice="male")
    stack.telnyx.wait_for("call.speak.ended", count=2, call_control_id=ccid)
    assert stack.telnyx.types(ccid) == [
        "call.initiated", "call.answered", "call.speak.started", "call.speak.ended",
        "call.speak.started", "call.speak.ended"]
    if not stack.real:
        # A SIPp phone does not decode the RFC 2833 digits FreeSWITCH sends it.
        wait_until(lambda: phone.received_dtmf, what="digits at the phone")
        assert phone.received_dtmf == ["7"]
