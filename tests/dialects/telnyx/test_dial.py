"""Dialling out with the official SDK (``client.calls.dial``): the webhooks of the dialled
leg as Telnyx sends them, each verified by the SDK. The phones FreeSWITCH dials come from
``stack.expect_phone``: the simulator's, or SIPp answering phones on a real FreeSWITCH
(dialled at the ``sip:`` URI it returns)."""

from __future__ import annotations

import pytest
import telnyx
from conftest import b64
from stack import wait_until


def test_dialled_call_is_initiated_answered_commanded_and_hung_up(telnyx_stack):
    stack = telnyx_stack
    callee, to = stack.expect_phone("bob@127.0.0.1:5090", "answer")
    dialled = stack.client.calls.dial(connection_id="conn-1", to=to, from_="+15550001111",
                                      from_display_name="Front Desk",
                                      client_state=b64("outbound"), timeout_secs=10)
    ccid = dialled.data.call_control_id
    assert dialled.data.is_alive is False and dialled.data.record_type == "call"
    initiated = stack.telnyx.wait_for("call.initiated", call_control_id=ccid)[0].payload
    assert (initiated.direction, initiated.state) == ("outgoing", "bridging")
    assert (initiated.from_, initiated.to) == ("+15550001111", to)
    assert initiated.connection_id == "conn-1"
    answered = stack.telnyx.wait_for("call.answered", call_control_id=ccid)[0].payload
    assert answered.client_state == b64("outbound")
    phone = callee.wait_dialled()
    assert phone.uuid == dialled.data.call_leg_id
    assert (phone.caller_id, phone.caller_name) == ("+15550001111", "Front Desk")

    stack.client.calls.actions.speak(ccid, payload="Hello from the controller", voice="male")
    assert stack.telnyx.wait_for("call.speak.ended", call_control_id=ccid)[0].payload.status \
        == "completed"
    if not stack.real:  # what a phone heard: the simulator's view only
        assert any("Hello from the controller" in heard for heard in phone.heard)
    phone.hangup()
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=ccid)[0].payload
    assert (hangup.hangup_cause, hangup.hangup_source) == ("normal_clearing", "callee")
    assert stack.telnyx.types(ccid) == ["call.initiated", "call.answered", "call.speak.started",
                                        "call.speak.ended", "call.hangup"]
    assert not stack.telnyx.refused


@pytest.mark.parametrize(("behaviour", "cause", "source"), [
    ("busy", "user_busy", "callee"),
    ("ring", "timeout", "unknown"),
    ("reject", "call_rejected", "callee"),
    ("unreachable", "unspecified", "unknown"),
])
def test_unanswered_dial_reports_call_hangup_with_its_cause(telnyx_stack, behaviour, cause,
                                                            source):
    stack = telnyx_stack
    _, to = stack.expect_phone("carol", behaviour)
    dialled = stack.client.calls.dial(connection_id="c", to=to, from_="1000",
                                      timeout_secs=5, client_state=b64("x"))
    ccid = dialled.data.call_control_id
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=ccid)[0].payload
    assert (hangup.hangup_cause, hangup.hangup_source) == (cause, source)
    assert hangup.client_state == b64("x")
    assert stack.telnyx.types(ccid) == ["call.initiated", "call.hangup"]


def test_hangup_of_a_ringing_dial_cancels_it(telnyx_stack):
    stack = telnyx_stack
    callee, to = stack.expect_phone("dave", "ring")
    dialled = stack.client.calls.dial(connection_id="c", to=to, from_="1000")
    ccid = dialled.data.call_control_id
    stack.telnyx.wait_for("call.initiated", call_control_id=ccid)
    wait_until(lambda: callee.dialled or stack.api(f"uuid_exists {dialled.data.call_leg_id}")
               == "true", what="the leg to ring")
    stack.client.calls.actions.hangup(ccid)
    hangup = stack.telnyx.wait_for("call.hangup", call_control_id=ccid)[0].payload
    assert (hangup.hangup_cause, hangup.hangup_source) == ("originator_cancel", "caller")


def test_dial_requests_are_checked_field_by_field(telnyx_stack):
    client = telnyx_stack.client
    cases = [
        (dict(connection_id="c", to="bob", from_="1", timeout_secs=2), "timeout_secs"),
        (dict(connection_id="c", to="bob", from_="1", time_limit_secs=10), "time_limit_secs"),
        (dict(connection_id="c", to="not a destination!", from_="1"), "to"),
        (dict(connection_id="c", to="bob", from_="1", client_state="no base64!"),
         "client_state"),
        (dict(connection_id="c", to=["bob", "carol"], from_="1"), "to"),
        (dict(connection_id="c", to="bob", from_="1", record="record-from-answer"), "record"),
    ]
    for params, field in cases:
        with pytest.raises(telnyx.UnprocessableEntityError) as refused:
            client.calls.dial(**params)
        assert field in str(refused.value), (params, str(refused.value))
    assert not telnyx_stack.telnyx.events  # nothing was dialled


def test_dial_with_a_command_id_dials_once(telnyx_stack):
    stack = telnyx_stack
    _, to = stack.expect_phone("erin", "busy")
    first = stack.client.calls.dial(connection_id="c", to=to, from_="1", command_id="d1")
    again = stack.client.calls.dial(connection_id="c", to=to, from_="1", command_id="d1")
    assert first.data.call_control_id == again.data.call_control_id
    stack.telnyx.wait_for("call.hangup", call_control_id=first.data.call_control_id)
    assert len(stack.telnyx.of("call.initiated")) == 1
