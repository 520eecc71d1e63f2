"""The cXML face end to end with the official twilio SDK: VoiceResponse documents run on
the simulator, every request validates with RequestValidator, and the SDK's REST Client
lists, mutes, holds, coaches, announces, kicks and ends a live conference.

Runs against a real FreeSWITCH with SIPp phones when FS_ESL_HOST is set; the only
simulator-only assertion (what a phone heard) is marked."""

from __future__ import annotations

import email.utils
import json
import re

import pytest
from cxml_testapp import ACCOUNT_SID, wait_until
from hearing import hearing, members
from stack import real_freeswitch
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import Dial, VoiceResponse

SID = re.compile(r"^(CA|CF|RE)[0-9a-f]{32}$")


def conference_document(room: str, **conference: object) -> str:
    response = VoiceResponse()
    dial = Dial(action="/after", method="POST")
    dial.conference(room, status_callback="/status",
                    status_callback_event="start end join leave mute hold modify",
                    **conference)
    response.append(dial)
    return str(response)


def hangup_document() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def say_document(text: str) -> str:
    response = VoiceResponse()
    response.say(text)
    return str(response)


def join(stack, app, caller: str):
    phone = stack.phones.call("1000", caller_id=caller)
    phone.wait_answered(timeout=10)
    app.wait_for("/status", StatusCallbackEvent="participant-join",
                 CallSid="CA" + phone.uuid.replace("-", ""))
    return phone


def sid_of(phone) -> str:
    return "CA" + phone.uuid.replace("-", "")


def room_members(stack, room: str) -> dict[str, dict]:
    return {m["uuid"]: m for m in members(stack, room).values()}


def test_dial_conference_callbacks_signatures_and_dial_action(cxml_stack, cxml_app, room_name):
    cxml_app.documents["/answer"] = lambda p: conference_document(
        room_name, participant_label=p["From"],
        end_conference_on_exit="true" if p["From"] == "host" else "false")
    cxml_app.documents["/after"] = hangup_document()
    host = join(cxml_stack, cxml_app, "host")
    guest = join(cxml_stack, cxml_app, "guest")

    answer = cxml_app.at("/answer")[0]
    assert answer["AccountSid"] == ACCOUNT_SID and answer["ApiVersion"] == "2010-04-01"
    assert answer["CallSid"] == sid_of(host) and len(answer["CallSid"]) == 34
    assert (answer["From"], answer["To"], answer["Direction"], answer["CallStatus"]) == \
        ("host", "1000", "inbound", "ringing")

    start = cxml_app.wait_for("/status", StatusCallbackEvent="conference-start")[0]
    joined = cxml_app.at("/status", StatusCallbackEvent="participant-join",
                         CallSid=sid_of(host))[0]
    conf_uuid = next(iter(json.loads(cxml_stack.api("conference json_list"))
                          and [c["conference_uuid"] for c in json.loads(
                              cxml_stack.api("conference json_list"))
                              if c["conference_name"] == room_name]))
    assert joined["ConferenceSid"] == "CF" + conf_uuid.replace("-", "")
    assert start["ConferenceSid"] == joined["ConferenceSid"]
    assert joined["FriendlyName"] == room_name
    assert joined["ParticipantLabel"] == "host"
    assert (joined["Muted"], joined["Hold"], joined["Coaching"]) == ("false", "false", "false")
    assert (joined["StartConferenceOnEnter"], joined["EndConferenceOnExit"]) == ("true", "true")
    assert email.utils.parsedate_to_datetime(joined["Timestamp"]).year >= 2024
    sequence = [int(r["SequenceNumber"]) for r in cxml_app.at("/status")]
    assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)

    host.hangup()  # endConferenceOnExit: the room ends, the guest goes on with its action
    end = cxml_app.wait_for("/status", StatusCallbackEvent="conference-end")[0]
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert end["CallSidEndingConference"] == sid_of(host)
    after = cxml_app.wait_for("/after", CallSid=sid_of(guest))[0]
    assert after["DialCallStatus"] == "completed"
    # A conference Dial's "dialled call" is the caller's own stay in the room.
    assert after["DialCallSid"] == sid_of(guest) == after["CallSid"]
    assert after["DialCallDuration"].isdigit()
    assert after["ConferenceSid"] == joined["ConferenceSid"]
    guest.wait_hangup(timeout=10)

    # Every request (answer, callbacks, action; POST) validated with the SDK.
    assert cxml_app.requests and all(r["valid"] for r in cxml_app.requests), \
        [r for r in cxml_app.requests if not r["valid"]]
    assert all(r["signalwire"] == r["twilio"] for r in cxml_app.requests)


def test_get_requests_validate_too(cxml_stack, cxml_app, room_name):
    response = VoiceResponse()
    response.redirect("/second", method="GET")
    cxml_app.documents["/answer"] = str(response)
    cxml_app.documents["/second"] = hangup_document()
    phone = cxml_stack.phones.call("1000", caller_id="alice")
    second = cxml_app.wait_for("/second")[0]
    assert second["method"] == "GET" and second["valid"]
    assert second["CallSid"] == sid_of(phone)
    phone.wait_hangup(timeout=10)


def test_rest_client_lists_mutes_holds_coaches_announces_kicks_and_ends(
        cxml_stack, cxml_app, client, room_name):
    cxml_app.documents["/answer"] = lambda p: conference_document(
        room_name, participant_label=p["From"])
    cxml_app.documents["/after"] = say_document("bye")
    alice = join(cxml_stack, cxml_app, "alice")
    bob = join(cxml_stack, cxml_app, "bob")
    carol = join(cxml_stack, cxml_app, "carol")

    conferences = client.conferences.list(friendly_name=room_name, status="in-progress")
    assert [c.friendly_name for c in conferences] == [room_name]
    conference = conferences[0]
    assert SID.match(conference.sid) and conference.sid.startswith("CF")
    assert client.conferences.list(friendly_name="no-such-room") == []
    participants = client.conferences(conference.sid).participants.list()
    assert {p.call_sid for p in participants} == {sid_of(alice), sid_of(bob), sid_of(carol)}
    assert client.conferences(conference.sid).participants("bob").fetch().call_sid == sid_of(bob)

    # Mute alice: FreeSWITCH stops taking her audio; the statusCallback hears it.
    updated = client.conferences(conference.sid).participants(sid_of(alice)).update(muted=True)
    assert updated.muted is True
    assert room_members(cxml_stack, room_name)[alice.uuid]["flags"]["can_speak"] is False
    mute = cxml_app.wait_for("/status", StatusCallbackEvent="participant-mute")[0]
    assert mute["CallSid"] == sid_of(alice) and mute["Muted"] == "true"
    client.conferences(conference.sid).participants(sid_of(alice)).update(muted=False)

    # Hold bob: he neither hears nor is heard.
    client.conferences(conference.sid).participants(sid_of(bob)).update(hold=True)
    assert room_members(cxml_stack, room_name)[bob.uuid]["flags"]["hold"] is True
    held = cxml_app.wait_for("/status", StatusCallbackEvent="participant-hold")[0]
    assert held["Hold"] == "true"
    client.conferences(conference.sid).participants(sid_of(bob)).update(hold=False)
    cxml_app.wait_for("/status", StatusCallbackEvent="participant-unhold")

    # Alice coaches bob: bob hears her, carol does not; everyone else hears as before.
    coach = client.conferences(conference.sid).participants(sid_of(alice)).update(
        coaching=True, call_sid_to_coach=sid_of(bob))
    assert coach.coaching is True and coach.call_sid_to_coach == sid_of(bob)
    ids = {m["uuid"]: mid for mid, m in members(cxml_stack, room_name).items()}
    a, b, c = ids[alice.uuid], ids[bob.uuid], ids[carol.uuid]
    wait_until(lambda: (c, a) not in hearing(cxml_stack, room_name), what="carol not hearing")
    assert hearing(cxml_stack, room_name) == {(a, b), (a, c), (b, a), (b, c), (c, b)}
    modify = cxml_app.wait_for("/status", StatusCallbackEvent="participant-modify")[0]
    assert modify["Coaching"] == "true" and modify["CallSidToCoach"] == sid_of(bob)
    client.conferences(conference.sid).participants(sid_of(alice)).update(coaching=False)
    wait_until(lambda: (c, a) in hearing(cxml_stack, room_name), what="carol hears alice again")

    # Kick carol: she leaves the room and her call goes on with the Dial action.
    client.conferences(conference.sid).participants(sid_of(carol)).delete()
    cxml_app.wait_for("/after", CallSid=sid_of(carol))
    wait_until(lambda: carol.uuid not in room_members(cxml_stack, room_name), what="carol out")

    # Unknown participant: Twilio's 20404.
    with pytest.raises(TwilioRestException) as missing:
        client.conferences(conference.sid).participants("CA" + "0" * 32).fetch()
    assert missing.value.status == 404 and missing.value.code == 20404

    # End the conference: everybody leaves, with the reason.
    ended = client.conferences(conference.sid).update(status="completed")
    assert ended.status == "completed"
    end = cxml_app.wait_for("/status", StatusCallbackEvent="conference-end")[0]
    assert end["ReasonConferenceEnded"] == "conference-ended-via-api"
    cxml_app.wait_for("/after", CallSid=sid_of(alice))
    cxml_app.wait_for("/after", CallSid=sid_of(bob))
    assert all(r["valid"] for r in cxml_app.requests)


def test_announce_plays_to_the_room(cxml_stack, cxml_app, client, room_name):
    if real_freeswitch():
        pytest.skip("what a phone heard is the simulator's view")
    cxml_app.documents["/answer"] = conference_document(room_name)
    cxml_app.documents["/announce"] = say_document("the meeting ends soon")
    alice = join(cxml_stack, cxml_app, "alice")
    sid = client.conferences.list(friendly_name=room_name)[0].sid
    client.conferences(sid).update(announce_url=cxml_stack.app_url + "/announce")
    wait_until(lambda: any("the meeting ends soon" in h for h in alice.heard),
               what="the announcement")


def test_live_call_redirect_with_twiml(cxml_stack, cxml_app, client, room_name):
    cxml_app.documents["/answer"] = conference_document(room_name)
    alice = join(cxml_stack, cxml_app, "alice")
    twiml = VoiceResponse()
    twiml.redirect(cxml_stack.app_url + "/moved")
    cxml_app.documents["/moved"] = hangup_document()
    client.calls(sid_of(alice)).update(twiml=str(twiml))
    moved = cxml_app.wait_for("/moved")[0]
    assert moved["CallSid"] == sid_of(alice) and moved["valid"]
    alice.wait_hangup(timeout=10)
    with pytest.raises(TwilioRestException) as gone:
        client.calls(sid_of(alice)).update(status="completed")
    assert gone.value.code == 20404


def test_rest_needs_the_account_credentials(cxml_stack, client):
    import requests

    url = f"http://127.0.0.1:{cxml_stack.http_port}/2010-04-01/Accounts/{ACCOUNT_SID}/" \
          "Conferences.json"
    refused = requests.get(url, auth=(ACCOUNT_SID, "wrong"), timeout=5)
    assert refused.status_code == 401 and refused.json()["code"] == 20003
