"""Twilio's Calls create through the official SDK (``client.calls.create``): the
controller dials on the shared Dialer, the answered call fetches Url (Direction
outbound-api, signed) or runs Twiml, and the call-progress StatusCallbacks report
initiated, answered and completed.

Phones FreeSWITCH dials come from ``stack.expect_phone``: the simulator's, or on a real
FreeSWITCH (FS_ESL_HOST) SIPp answering phones on this host. The tests synchronise on
what both show: the application's requests, the callee phone's own state (answered,
hung up by FreeSWITCH) and FreeSWITCH's ``conference <room> json_list``; what a phone
heard is the simulator's view only."""

from __future__ import annotations

import pytest
from cxml_testapp import wait_until
from hearing import members
from test_cxml_end_to_end import say_document
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import Dial, VoiceResponse

ALICE = "sip:alice@127.0.0.1:5090"  # never dialled: refused requests only


def heard(phone, text: str) -> bool:
    return any(text in str(media) for media in phone.heard)


def test_created_call_fetches_its_url_and_reports_progress(cxml_stack, cxml_app, client):
    cxml_app.documents["/outbound"] = say_document("hello from the app")
    callee, to = cxml_stack.expect_phone("alice@127.0.0.1:5090", "answer")
    call = client.calls.create(
        to=to, from_="+15551230000", url=cxml_stack.app_url + "/outbound",
        status_callback=cxml_stack.app_url + "/progress",
        status_callback_event=["initiated", "ringing", "answered", "completed"])
    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert (call.to, call._from, call.direction) == (to, "+15551230000", "outbound-api")
    fetched = cxml_app.wait_for("/outbound")[0]
    assert fetched["CallSid"] == call.sid and fetched["Direction"] == "outbound-api"
    assert (fetched["From"], fetched["To"]) == ("+15551230000", to)
    phone = callee.wait_dialled(timeout=10)
    assert phone is not None  # the callee answered: the document ran on its call
    if not cxml_stack.real:
        wait_until(lambda: heard(phone, "hello from the app"), what="the fetched document")
    progress = cxml_app.wait_for("/progress", 4)  # the document ends: the call is hung up
    # ringing: the callee's 180 (FreeSWITCH's CHANNEL_PROGRESS on the dialled leg)
    assert [p["CallStatus"] for p in progress] == ["initiated", "ringing", "in-progress",
                                                    "completed"]
    assert all(p["CallSid"] == call.sid and p["valid"] for p in progress)
    assert all(r["valid"] for r in cxml_app.requests)
    # FreeSWITCH hung up the callee's phone itself (it never hangs up on its own).
    phone.wait_hangup(timeout=10)


def test_created_call_runs_its_twiml(cxml_stack, cxml_app, client, room_name):
    callee, to = cxml_stack.expect_phone("alice@127.0.0.1:5090", "answer")
    twiml = VoiceResponse()
    twiml.say("inline document")
    dial = Dial()
    dial.conference(room_name)  # the Twiml's own room: FreeSWITCH lists the call in it
    twiml.append(dial)
    created = client.calls.create(to=to, from_="+15551230000", twiml=str(twiml))
    phone = callee.wait_dialled(timeout=10)
    assert phone is not None
    call_uuid = phone.uuid
    assert "CA" + call_uuid.replace("-", "") == created.sid
    wait_until(lambda: call_uuid in {m["uuid"] for m in members(cxml_stack, room_name).values()},
               what="the Twiml's Conference to take the call")
    if not cxml_stack.real:
        assert heard(phone, "inline document")  # the Say ran before the Conference
    assert not cxml_app.requests  # nothing fetched
    phone.hangup()
    wait_until(lambda: room_name not in cxml_stack.api("conference list"),
               what="the room to end")


def test_busy_callee_reports_completed_busy(cxml_stack, cxml_app, client):
    callee, to = cxml_stack.expect_phone("bob@127.0.0.1:5090", "busy")
    call = client.calls.create(to=to, from_="+15551230000",
                               url=cxml_stack.app_url + "/never",
                               status_callback=cxml_stack.app_url + "/progress")
    done = cxml_app.wait_for("/progress")[0]
    assert (done["CallSid"], done["CallStatus"]) == (call.sid, "busy")
    assert callee.dialled  # the INVITE reached the phone, which answered 486
    assert not cxml_app.at("/never")


@pytest.mark.parametrize(("fields", "named"), [
    ({"url": "ftp://x/y"}, "Url"),
    ({"twiml": "<Response><Say>unclosed</Response>"}, "Twiml"),
    ({"url": "http://127.0.0.1:9/a", "send_digits": "1234"}, "SendDigits"),
    ({"url": "http://127.0.0.1:9/a", "status_callback_event": ["rang"]},
     "StatusCallbackEvent"),
    ({"url": "http://127.0.0.1:9/a", "to": "not a destination"}, "To"),
])
def test_bad_calls_create_is_400_naming_the_parameter(cxml_stack, client, fields, named):
    body = {"to": ALICE, "from_": "+15551230000"} | fields
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(**body)
    assert refused.value.status == 400
    assert refused.value.msg.split(": ", 1)[1].startswith(f"{named}: "), refused.value.msg
