"""Twilio's Participants create through the official SDK
(``client.conferences(sid).participants.create``): the controller dials the number on
the shared Dialer (phones that answer, are busy, never answer or are not there), the
answered leg joins the room with the parameters as its <Conference> attributes, and the
participant's call-progress StatusCallbacks validate with RequestValidator.

Phones FreeSWITCH dials come from ``stack.expect_phone``: the simulator's, or on a real
FreeSWITCH (FS_ESL_HOST) SIPp answering phones on this host, dialled at the ``to`` it
returns. Everything asserted here is visible on both: the application's requests, the
SDK's REST answers, the phones' SIP view and FreeSWITCH's ``conference json_list``."""

from __future__ import annotations

import pytest
from cxml_testapp import wait_until
from hearing import members
from test_cxml_end_to_end import conference_document, join, sid_of
from twilio.base.exceptions import TwilioRestException

ALICE = "sip:alice@127.0.0.1:5090"  # never dialled: refused requests only


def by_uuid(stack, room: str) -> dict[str, dict]:
    return {m["uuid"]: m for m in members(stack, room).values()}


def test_participant_dialled_into_a_live_conference_by_its_sid(
        cxml_stack, cxml_app, client, room_name):
    cxml_app.documents["/answer"] = conference_document(room_name)
    host = join(cxml_stack, cxml_app, "host")
    conference = client.conferences.list(friendly_name=room_name)[0]
    callee, to = cxml_stack.expect_phone("alice@127.0.0.1:5090", "answer")
    created = client.conferences(conference.sid).participants.create(
        from_="+15551230000", to=to, label="agent", muted=True, beep="false",
        caller_display_name="Front Desk",
        status_callback=cxml_stack.app_url + "/progress",
        status_callback_event=["initiated", "answered", "completed"])
    assert created.conference_sid == conference.sid and created.label == "agent"
    assert created.call_sid.startswith("CA") and len(created.call_sid) == 34
    phone = callee.wait_dialled(timeout=10)
    assert phone is not None
    assert sid_of(phone) == created.call_sid
    assert (phone.caller_id, phone.caller_name) == ("+15551230000", "Front Desk")

    # It joined the host's room, muted, labelled, and the room's statusCallback heard it.
    joined = cxml_app.wait_for("/status", StatusCallbackEvent="participant-join",
                               CallSid=created.call_sid)[0]
    assert joined["ConferenceSid"] == conference.sid and joined["Muted"] == "true"
    assert joined["ParticipantLabel"] == "agent"
    assert by_uuid(cxml_stack, room_name)[phone.uuid]["flags"]["can_speak"] is False
    fetched = client.conferences(conference.sid).participants("agent").fetch()
    assert fetched.call_sid == created.call_sid and fetched.muted is True
    assert {p.call_sid for p in client.conferences(conference.sid).participants.list()} == \
        {sid_of(host), created.call_sid}

    progress = cxml_app.wait_for("/progress", 2)
    assert [p["CallStatus"] for p in progress] == ["initiated", "in-progress"]
    assert all(p["CallSid"] == created.call_sid and p["Direction"] == "outbound-api"
               and p["From"] == "+15551230000" and p["To"] == to for p in progress)
    assert [int(p["SequenceNumber"]) for p in progress] == [0, 1]
    phone.hangup()
    done = cxml_app.wait_for("/progress", 3)[2]
    assert done["CallStatus"] == "completed" and done["CallSid"] == created.call_sid
    cxml_app.wait_for("/status", StatusCallbackEvent="participant-leave",
                      CallSid=created.call_sid)
    assert host.is_up
    assert all(r["valid"] for r in cxml_app.requests), \
        [r for r in cxml_app.requests if not r["valid"]]


def test_participant_by_friendly_name_creates_the_room_with_its_callbacks(
        cxml_stack, cxml_app, client, room_name):
    callee, to = cxml_stack.expect_phone("bob@127.0.0.1:5090", "answer")
    created = client.conferences(room_name).participants.create(
        from_="+15551230000", to=to,
        conference_status_callback=cxml_stack.app_url + "/room",
        conference_status_callback_event=["start", "join"],
        start_conference_on_enter=True, end_conference_on_exit=True)
    assert created.conference_sid is None  # the room does not exist until the leg joins
    start = cxml_app.wait_for("/room", StatusCallbackEvent="conference-start")[0]
    joined = cxml_app.wait_for("/room", StatusCallbackEvent="participant-join")[0]
    assert start["FriendlyName"] == room_name and joined["CallSid"] == created.call_sid
    assert joined["EndConferenceOnExit"] == "true"
    conference = client.conferences.list(friendly_name=room_name)[0]
    assert conference.sid == joined["ConferenceSid"]
    phone = callee.wait_dialled(timeout=10)
    assert phone is not None and sid_of(phone) == created.call_sid
    assert phone.uuid in by_uuid(cxml_stack, room_name)  # FreeSWITCH's own listing
    client.conferences(conference.sid).update(status="completed")
    wait_until(lambda: room_name not in cxml_stack.api("conference list"),
               what="the room to end")


# FreeSWITCH's causes (capture README, 07c/07d): 486 gives USER_BUSY, 180 alone until
# originate_timeout NO_ANSWER, a port nothing listens on NORMAL_TEMPORARY_FAILURE (ICMP).
@pytest.mark.parametrize(("behaviour", "status", "cause"), [
    ("busy", "busy", "USER_BUSY"), ("ring", "no-answer", "NO_ANSWER"),
    ("unreachable", "failed", "NORMAL_TEMPORARY_FAILURE")])
def test_unanswered_participant_reports_completed_with_its_status(
        cxml_stack, cxml_app, client, room_name, behaviour, status, cause):
    callee, to = cxml_stack.expect_phone("carol@127.0.0.1:5090", behaviour)
    created = client.conferences(room_name).participants.create(
        from_="+15551230000", to=to, timeout=5,
        status_callback=cxml_stack.app_url + "/progress")
    done = cxml_app.wait_for("/progress", timeout=20)[0]  # only "completed" by default
    assert (done["CallStatus"], done["HangupCause"]) == (status, cause)
    assert done["CallSid"] == created.call_sid and done["valid"]
    assert done["To"] == to
    if behaviour != "unreachable":
        assert callee.dialled  # the INVITE reached the phone: the cause is its answer
    assert room_name not in cxml_stack.api("conference list")


@pytest.mark.parametrize(("fields", "named"), [
    ({"beep": "loud"}, "Beep"),
    ({"status_callback_event": ["rang"]}, "StatusCallbackEvent"),
    ({"coaching": True}, "CallSidToCoach"),
    ({"record": True}, "Record"),
    ({"to": "two words"}, "To"),
    ({"timeout": 1}, "Timeout"),
    ({"conference_record": "sometimes"}, "ConferenceRecord"),
])
def test_bad_parameters_are_400_naming_the_parameter(cxml_stack, client, room_name,
                                                     fields, named):
    body = {"from_": "+15551230000", "to": ALICE} | fields
    with pytest.raises(TwilioRestException) as refused:
        client.conferences(room_name).participants.create(**body)
    assert refused.value.status == 400
    # The SDK prefixes our message with "Unable to create record: ".
    assert refused.value.msg.split(": ", 1)[1].startswith(f"{named}: "), refused.value.msg


def test_unknown_conference_sid_is_404(cxml_stack, client):
    with pytest.raises(TwilioRestException) as missing:
        client.conferences("CF" + "0" * 32).participants.create(from_="+1555", to=ALICE)
    assert missing.value.status == 404 and missing.value.code == 20404
