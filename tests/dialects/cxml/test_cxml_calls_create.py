"""Twilio's Calls create through the official SDK (``client.calls.create``): the
controller dials on the shared Dialer (the simulator's phones), the answered call fetches
Url (Direction outbound-api, signed) or runs Twiml, and the call-progress StatusCallbacks
report initiated, answered and completed."""

from __future__ import annotations

import pytest
from cxml_testapp import wait_until
from stack import real_freeswitch
from test_cxml_end_to_end import say_document
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import VoiceResponse

ALICE = "sip:alice@127.0.0.1:5090"


@pytest.fixture(autouse=True)
def _dialable_phones(cxml_stack) -> None:
    if real_freeswitch() or not hasattr(cxml_stack.phones, "expect"):
        pytest.skip("needs phones that FreeSWITCH can dial (simulator only for now)")


def heard(phone, text: str) -> bool:
    return any(text in str(media) for media in phone.heard)


def test_created_call_fetches_its_url_and_reports_progress(cxml_stack, cxml_app, client):
    cxml_app.documents["/outbound"] = say_document("hello from the app")
    callee = cxml_stack.phones.expect("alice@127.0.0.1:5090", "answer")
    call = client.calls.create(
        to=ALICE, from_="+15551230000", url=cxml_stack.app_url + "/outbound",
        status_callback=cxml_stack.app_url + "/progress",
        status_callback_event=["initiated", "answered", "completed"])
    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert (call.to, call._from, call.direction) == (ALICE, "+15551230000", "outbound-api")
    fetched = cxml_app.wait_for("/outbound")[0]
    assert fetched["CallSid"] == call.sid and fetched["Direction"] == "outbound-api"
    assert (fetched["From"], fetched["To"]) == ("+15551230000", ALICE)
    phone = callee.wait_dialled()
    wait_until(lambda: heard(phone, "hello from the app"), what="the fetched document")
    progress = cxml_app.wait_for("/progress", 3)  # the document ends: the call is hung up
    assert [p["CallStatus"] for p in progress] == ["initiated", "in-progress", "completed"]
    assert all(p["CallSid"] == call.sid and p["valid"] for p in progress)
    assert all(r["valid"] for r in cxml_app.requests)


def test_created_call_runs_its_twiml(cxml_stack, cxml_app, client):
    callee = cxml_stack.phones.expect("alice@127.0.0.1:5090", "answer")
    twiml = VoiceResponse()
    twiml.say("inline document")
    twiml.pause(length=5)
    client.calls.create(to=ALICE, from_="+15551230000", twiml=str(twiml))
    phone = callee.wait_dialled()
    wait_until(lambda: heard(phone, "inline document"), what="the Twiml to run")
    assert not cxml_app.requests  # nothing fetched


def test_busy_callee_reports_completed_busy(cxml_stack, cxml_app, client):
    cxml_stack.phones.expect("bob@127.0.0.1:5090", "busy")
    call = client.calls.create(to="sip:bob@127.0.0.1:5090", from_="+15551230000",
                               url=cxml_stack.app_url + "/never",
                               status_callback=cxml_stack.app_url + "/progress")
    done = cxml_app.wait_for("/progress")[0]
    assert (done["CallSid"], done["CallStatus"]) == (call.sid, "busy")
    assert not cxml_app.at("/never")


@pytest.mark.parametrize(("fields", "named"), [
    ({"url": "ftp://x/y"}, "Url"),
    ({"twiml": "<Response><Say>unclosed</Response>"}, "Twiml"),
    ({"url": "http://127.0.0.1:9/a", "send_digits": "1234"}, "SendDigits"),
    ({"url": "http://127.0.0.1:9/a", "status_callback_event": ["ringing"]},
     "StatusCallbackEvent"),
    ({"url": "http://127.0.0.1:9/a", "to": "not a destination"}, "To"),
])
def test_bad_calls_create_is_400_naming_the_parameter(cxml_stack, client, fields, named):
    body = {"to": ALICE, "from_": "+15551230000"} | fields
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(**body)
    assert refused.value.status == 400
    assert refused.value.msg.split(": ", 1)[1].startswith(f"{named}: "), refused.value.msg
