"""gather and gather_using_speak (DTMF) with the official SDK: the engine's run_gather on
the call's own greenlet, reported as call.gather.ended (verified by the SDK)."""

from __future__ import annotations

import pytest
import telnyx
from conftest import b64, callstate
from stack import wait_until
from test_calls import ring


def answered_call(stack):
    phone, ccid = ring(stack)
    stack.client.calls.actions.answer(ccid, client_state=b64("menu"))
    phone.wait_answered(timeout=5)
    stack.telnyx.wait_for("call.answered", call_control_id=ccid)
    return phone, ccid


def collecting(stack, phone) -> None:
    """Wait until FreeSWITCH runs the gather's play_and_get_digits on the call."""
    wait_until(lambda: stack.api(f"uuid_getvar {phone.uuid} current_application")
               == "play_and_get_digits", what="the gather to start")


def test_gather_using_speak_collects_valid_digits(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    stack.client.calls.actions.gather_using_speak(
        ccid, payload="Enter your PIN", voice="female", maximum_digits=4,
        terminating_digit="#", inter_digit_timeout_millis=3000)
    collecting(stack, phone)
    if not stack.real:  # what a phone heard: the simulator's view only
        wait_until(lambda: any("Enter your PIN" in h for h in phone.heard), what="the prompt")
    phone.send_dtmf("1234")
    ended = stack.telnyx.wait_for("call.gather.ended", call_control_id=ccid)[0].payload
    assert (ended.digits, ended.status) == ("1234", "valid")
    assert ended.client_state == b64("menu")
    assert not stack.telnyx.refused


def test_gather_ends_on_the_terminating_digit_and_checks_minimum_digits(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    stack.client.calls.actions.gather(ccid, minimum_digits=3, maximum_digits=6,
                                      terminating_digit="#", valid_digits="0123456789")
    collecting(stack, phone)
    phone.send_dtmf("12#")
    ended = stack.telnyx.wait_for("call.gather.ended", call_control_id=ccid)[0].payload
    assert (ended.digits, ended.status) == ("12", "invalid")
    # The call goes on taking commands after the gather.
    stack.client.calls.actions.gather(ccid, maximum_digits=1)
    collecting(stack, phone)
    phone.send_dtmf("7")
    second = stack.telnyx.wait_for("call.gather.ended", count=2, call_control_id=ccid)[1]
    assert (second.payload.digits, second.payload.status) == ("7", "valid")


def test_gather_without_input_times_out(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    stack.client.calls.actions.gather_using_speak(ccid, payload="Press a key", voice="male",
                                                  timeout_millis=1000, maximum_tries=2)
    ended = stack.telnyx.wait_for("call.gather.ended", call_control_id=ccid)[0].payload
    assert (ended.digits, ended.status) == ("", "timeout")
    if not stack.real:
        assert sum("Press a key" in h for h in phone.heard) == 2  # maximum_tries prompts
    assert phone.is_up and callstate(stack, phone.uuid) == "ACTIVE"


def test_caller_hanging_up_during_a_gather_ends_it_with_call_hangup(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    stack.client.calls.actions.gather(ccid, initial_timeout_millis=30000)
    collecting(stack, phone)
    phone.hangup()
    ended = stack.telnyx.wait_for("call.gather.ended", call_control_id=ccid)[0].payload
    assert ended.status == "call_hangup"
    stack.telnyx.wait_for("call.hangup", call_control_id=ccid)
    assert stack.telnyx.types(ccid)[-2:] == ["call.gather.ended", "call.hangup"]


def test_gather_commands_are_checked(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    actions = stack.client.calls.actions
    for call, field in [
        (lambda: actions.gather(ccid, minimum_digits=5, maximum_digits=2), "maximum_digits"),
        (lambda: actions.gather(ccid, valid_digits="12A"), "valid_digits"),
        (lambda: actions.gather(ccid, terminating_digit="x"), "terminating_digit"),
        (lambda: actions.gather_using_speak(ccid, payload="x", voice="female",
                                            invalid_payload="no"), "invalid_payload"),
        (lambda: actions.gather_using_speak(ccid, payload=" ", voice="female"), "payload"),
    ]:
        with pytest.raises(telnyx.UnprocessableEntityError) as refused:
            call()
        assert field in str(refused.value)
    assert not stack.telnyx.of("call.gather.ended")
