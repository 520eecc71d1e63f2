"""Dialling out through the native REST API, end to end: POST /v1/calls -> the controller's
originate over the Event Socket -> a phone that answers, is busy, never answers or is not
there -> the answered leg's outbound socket back to the controller -> the application's
answer URL (Direction outbound) -> a room; the outcome of an unanswered call reaches the
application's hangup URL with FreeSWITCH's cause.

Phones that FreeSWITCH dials come from ``stack.expect_phone``: the simulator's, or on a
real FreeSWITCH (FS_ESL_HOST) SIPp answering phones on this host
(controller/testing/sipp_phones.py SippCallees), dialled as
``sip:<user>@<CC_TEST_HOST or 127.0.0.1>:<port>`` through ``sofia/<profile>/``. On the
simulator the tests keep their own destinations (user/<id> included).
"""

from __future__ import annotations

import pytest
from appkit import AppRecorder, conferences, member_of, wait_until
from stack import Stack

from controller.dialer import DialRequest, Outcome

ROOM_DOC = "<Response><Conference>{room}</Conference></Response>"


def dial(stack: Stack, **body: object):
    return stack.rest("POST", "/v1/calls", json=body)


def test_answered_call_fetches_the_answer_url_as_outbound_and_joins_a_room(
        stack: Stack, recorder: AppRecorder, room):
    name = room("dialled")
    recorder.documents["/out-answer"] = ROOM_DOC.format(room=name)
    callee, to = stack.expect_phone("alice@127.0.0.1:5090", "answer")
    reply = dial(stack, to=to, **{"from": "+15551230000"},
                 caller_name="Front Desk", answer_url=stack.app_url + "/out-answer")
    assert reply.status_code == 201, reply.text
    call_uuid = reply.json()["call_uuid"]
    assert reply.json()["to"] == to
    answer = recorder.wait_for("/out-answer")[0]
    assert (answer["Direction"], answer["CallUUID"]) == ("outbound", call_uuid)
    assert (answer["From"], answer["To"]) == ("+15551230000", to)
    assert answer["CallerName"] == "Front Desk"
    wait_until(lambda: member_of(stack, name, call_uuid), what="the dialled leg in the room")
    phone = callee.wait_dialled()
    assert phone.uuid == call_uuid
    # caller id as the callee's phone sees it: the INVITE's From (the simulator's model
    # of it, or the From header a SIPp phone received)
    assert (phone.caller_id, phone.caller_name) == ("+15551230000", "Front Desk")
    phone.hangup()
    hangup = recorder.wait_for("/hangup", CallUUID=call_uuid)[0]
    assert (hangup["HangupCause"], hangup["Direction"]) == ("NORMAL_CLEARING", "outbound")
    wait_until(lambda: name not in conferences(stack), what="the room to end")


@pytest.mark.parametrize(("behaviour", "cause"), [
    ("busy", "USER_BUSY"),
    ("ring", "NO_ANSWER"),
    ("unreachable", "NORMAL_TEMPORARY_FAILURE"),
])
def test_unanswered_call_reaches_the_hangup_url_with_its_cause(
        stack: Stack, recorder: AppRecorder, behaviour: str, cause: str):
    _, to = stack.expect_phone("bob", behaviour)
    reply = dial(stack, to=to, answer_url=stack.app_url + "/never",
                 hangup_url=stack.app_url + "/dial-ended", ring_timeout=2)
    assert reply.status_code == 201, reply.text
    call_uuid = reply.json()["call_uuid"]
    ended = recorder.wait_for("/dial-ended", CallUUID=call_uuid)
    assert ended[0]["HangupCause"] == cause
    assert ended[0]["Direction"] == "outbound"
    assert not recorder.at("/never")  # nothing answered, nothing fetched
    assert not recorder.at("/hangup")  # the request's own hangup URL, not [app] hangup_url


def test_time_limit_ends_the_answered_call(stack: Stack, recorder: AppRecorder, room):
    name = room("limited")
    recorder.documents["/out-answer"] = ROOM_DOC.format(room=name)
    _, to = stack.expect_phone("carol", "answer")
    reply = dial(stack, to=to, answer_url=stack.app_url + "/out-answer", time_limit=2)
    assert reply.status_code == 201, reply.text
    call_uuid = reply.json()["call_uuid"]
    hangup = recorder.wait_for("/hangup", CallUUID=call_uuid, timeout=20)[0]
    assert hangup["HangupCause"] == "ALLOTTED_TIMEOUT"


def test_cancel_hangs_up_a_ringing_call(stack: Stack, recorder: AppRecorder):
    callee, to = stack.expect_phone("dave", "ring")
    outcomes: list = []
    handle = stack.controller.dialer.dial(DialRequest(
        to=to, answer=_hook(stack, "/never"), timeout_secs=30,
        on_outcome=outcomes.append, state={"ticket": "42"}))
    wait_until(lambda: callee.dialled or stack.api(f"uuid_exists {handle.uuid}") == "true",
               what="the leg to ring")
    assert stack.controller.dialer.cancel(handle)
    outcome = handle.wait(10)
    assert outcome is not None and outcome.kind is Outcome.CANCELLED
    assert outcome.cause == "ORIGINATOR_CANCEL" and outcome.state == {"ticket": "42"}
    assert outcomes == [outcome]
    assert not stack.controller.dialer.cancel(handle)  # no longer ringing


def _hook(stack: Stack, path: str):
    from controller.model import Webhook

    return Webhook(stack.app_url + path)


@pytest.mark.parametrize(("body", "field"), [
    ({"answer_url": "http://127.0.0.1:9/a"}, "body.to"),
    ({"to": "alice"}, "body.answer_url"),
    ({"to": "alice", "answer_url": "ftp://x/a"}, "body.answer_url"),
    ({"to": "+15551234567", "answer_url": "http://127.0.0.1:9/a"}, "body.to"),
    ({"to": "a b", "answer_url": "http://127.0.0.1:9/a"}, "body.to"),
    ({"to": "alice", "answer_url": "http://127.0.0.1:9/a", "caller_name": "A {x}"},
     "body.caller_name"),
    ({"to": "alice", "answer_url": "http://127.0.0.1:9/a", "ring_timeout": 0},
     "body.ring_timeout"),
    ({"to": "alice", "answer_url": "http://127.0.0.1:9/a", "colour": "red"}, "body.colour"),
])
def test_bad_dial_requests_are_422_naming_the_field(stack: Stack, body: dict, field: str):
    reply = dial(stack, **body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field
