"""Plivo's Call API beyond answering, driven by the official ``plivo`` SDK: ring_url hears
the callee ringing (FreeSWITCH's CHANNEL_PROGRESS on the dialled leg), signed as every
Plivo request; stopping a play or speak on a conference member and on a call (mod_conference
``stop``, ``uuid_break``); the hangup request's durations and times.

Written for the simulator and a real FreeSWITCH (FS_ESL_HOST): phones come from
``stack.expect_phone``; the tests synchronise on the application's requests and on
FreeSWITCH's own events (read through the controller's inbound connection), which carry
how much of a sound played. What a phone heard is the simulator's view only."""

# The API tests' fixtures are imported and then named as test parameters, as pytest wants.
# ruff: noqa: F811

from __future__ import annotations

import calendar
import io
import time
import wave

import pytest
from plivo import exceptions, plivoxml
from stack import wait_until
from test_plivo_rest_api import (  # noqa: F401  (pytest fixtures)
    FROM,
    app,
    client,
    conference_doc,
    dial_into_room,
    members,
    room,
    stack,
    wait_requests,
)

LONG_SOUND_SECONDS = 60  # far longer than any wait below: a stopped sound ends early


def long_wav(seconds: int = LONG_SOUND_SECONDS):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000 * seconds)

    class Wav:
        def to_string(self) -> bytes:
            return buffer.getvalue()

    return Wav()


class Events:
    """FreeSWITCH's events of some names, through the controller's inbound connection."""

    def __init__(self, stack, *names: str):
        self.esl = stack.controller.esl
        self.queue = self.esl.subscribe(f"test-{'-'.join(names)}", names)
        self.seen: list = []

    def wait(self, predicate, what: str, timeout: float = 30.0):
        def found():
            while (event := self.queue.get(timeout=0.05)) is not None:
                self.seen.append(event)
            return next((e for e in self.seen if predicate(e)), None)

        return wait_until(found, timeout, what)

    def close(self) -> None:
        self.esl.unsubscribe(self.queue)


@pytest.fixture
def conference_events(stack):
    events = Events(stack, "conference::maintenance")
    yield events
    events.close()


@pytest.fixture
def playback_events(stack):
    events = Events(stack, "PLAYBACK_START", "PLAYBACK_STOP")
    yield events
    events.close()


def member_file_event(room: str, action: str, member_id: int):
    return lambda e: (e.get("Conference-Name") == room and action in e.get_all("Action")
                      and e.get("Member-ID") == str(member_id))


# ------------------------------------------------------------------ ring_url
def test_ring_url_hears_the_ringing_once_signed_before_the_answer(stack, app, client, room):
    app.documents["/answer"] = conference_doc(room)
    callee, to = stack.expect_phone("rita@127.0.0.1:5090", "answer")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/answer",
                               ring_url=stack.app_url + "/ring", ring_method="POST",
                               hangup_url=stack.app_url + "/hangup")
    call_uuid = made.request_uuid
    ring = wait_requests(app, "/ring")[0]
    assert ring.method == "POST"
    assert ring.valid and not ring.valid_with_wrong_token and not ring.valid_when_tampered
    assert (ring.params["CallUUID"], ring.params["RequestUUID"]) == (call_uuid, call_uuid)
    assert (ring.params["CallStatus"], ring.params["Direction"]) == ("ringing", "outbound")
    assert (ring.params["From"], ring.params["To"]) == (FROM, to)
    wait_requests(app, "/answer")
    wait_until(lambda: call_uuid in {m["uuid"] for m in members(stack, room).values()},
               what="the answered call in its room")
    client.calls.delete(call_uuid)
    wait_requests(app, "/hangup")
    assert len(app.at("/ring")) == 1  # once, however the call went on


def test_ring_url_with_get_for_a_callee_who_never_answers(stack, app, client):
    callee, to = stack.expect_phone("ruth@127.0.0.1:5090", "ring")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/never",
                               ring_url=stack.app_url + "/ring", ring_method="GET",
                               hangup_url=stack.app_url + "/hangup", ring_timeout=2)
    ring = wait_requests(app, "/ring")[0]
    assert ring.method == "GET" and ring.valid
    assert (ring.params["CallUUID"], ring.params["CallStatus"]) == (made.request_uuid,
                                                                   "ringing")
    hangup = wait_requests(app, "/hangup")[0]
    assert (hangup.params["CallStatus"], hangup.params["HangupCause"]) == ("no-answer",
                                                                         "NO_ANSWER")
    assert len(app.at("/ring")) == 1 and not app.at("/never")


def test_a_busy_callee_never_rings(stack, app, client):
    callee, to = stack.expect_phone("bill@127.0.0.1:5090", "busy")
    client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/never",
                        ring_url=stack.app_url + "/ring", hangup_url=stack.app_url + "/hangup")
    hangup = wait_requests(app, "/hangup")[0]
    assert hangup.params["CallStatus"] == "busy"
    assert not app.at("/ring")  # 486 without a 180: FreeSWITCH fired no CHANNEL_PROGRESS


@pytest.mark.parametrize(("fields", "named"), [
    ({"ring_url": "http://x/" + "a" * 2100}, "ring_url"),
    ({"ring_url": "http://127.0.0.1:9/ring", "ring_method": "PUT"}, "ring_method"),
])
def test_bad_ring_parameters_are_400_naming_them(stack, client, fields, named):
    with pytest.raises(exceptions.ValidationError) as refused:
        client.calls.create(from_=FROM, to_="sip:alice@127.0.0.1:5090",
                            answer_url=stack.app_url + "/never", **fields)
    assert str(refused.value).startswith(f"{named}: "), str(refused.value)


# ------------------------------------------------------------------ stop play / speak
def test_stop_play_and_speak_on_conference_members(stack, app, client, room,
                                                   conference_events):
    first, _, first_id = dial_into_room(stack, app, client, room, "sam")
    second, _, second_id = dial_into_room(stack, app, client, room, "tia")
    app.documents["/long.wav"] = lambda p: long_wav()

    client.conferences.member_play(room, str(first_id), stack.app_url + "/long.wav")
    conference_events.wait(member_file_event(room, "play-file-member", first_id),
                           "the member's play to start")
    client.conferences.member_play_stop(room, str(first_id))  # 204
    done = conference_events.wait(member_file_event(room, "play-file-member-done", first_id),
                                  "the member's play to stop")
    assert int(done.get("milliseconds")) < LONG_SOUND_SECONDS * 1000

    # Everyone: each member's own sound stops.
    for member_id in (first_id, second_id):
        client.conferences.member_play(room, str(member_id), stack.app_url + "/long.wav")
        conference_events.wait(member_file_event(room, "play-file-member", member_id),
                               f"member {member_id}'s play to start")
    conference_events.seen.clear()
    client.conferences.member_speak_stop(room, "all")
    for member_id in (first_id, second_id):
        done = conference_events.wait(
            member_file_event(room, "play-file-member-done", member_id),
            f"member {member_id}'s play to stop")
        assert int(done.get("milliseconds")) < LONG_SOUND_SECONDS * 1000

    with pytest.raises(exceptions.ResourceNotFoundError):
        client.conferences.member_play_stop(room, "9999")
    with pytest.raises(exceptions.ResourceNotFoundError):
        client.conferences.member_play_stop("no-such-room", "1")
    client.conferences.delete(room)
    wait_until(lambda: room not in stack.api("conference list"), what="the room to end")


def test_stop_play_on_a_call_in_a_room_stops_its_member_sound(stack, app, client, room,
                                                              conference_events):
    phone, call_uuid, member_id = dial_into_room(stack, app, client, room, "uma")
    app.documents["/long.wav"] = lambda p: long_wav()
    client.calls.play(call_uuid, stack.app_url + "/long.wav")
    conference_events.wait(member_file_event(room, "play-file-member", member_id),
                           "the call's play (a member file in its room) to start")
    client.calls.play_stop(call_uuid)  # 204
    done = conference_events.wait(member_file_event(room, "play-file-member-done", member_id),
                                  "the call's play to stop")
    assert int(done.get("milliseconds")) < LONG_SOUND_SECONDS * 1000
    assert member_id in members(stack, room)  # stopping a sound leaves the call in its room
    client.calls.delete(call_uuid)
    wait_requests(app, "/hangup")


def test_stop_speak_on_a_call_outside_a_room_breaks_only_that_sound(stack, app, client,
                                                                    playback_events):
    app.documents["/answer"] = lambda p: plivoxml.ResponseElement().add(
        plivoxml.WaitElement(length=2)).add(plivoxml.SpeakElement("after the play"))
    app.documents["/long.wav"] = lambda p: long_wav()
    callee, to = stack.expect_phone("vera@127.0.0.1:5090", "answer")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/answer",
                               hangup_url=stack.app_url + "/hangup")
    call_uuid = made.request_uuid
    wait_requests(app, "/answer")
    wait_until(lambda: client.live_calls.get(call_uuid).call_status == "in-progress",
               what="the call to run its XML")
    client.calls.play(call_uuid, stack.app_url + "/long.wav")  # runs after the <Wait>

    def ours(name):
        return lambda e: (e.name == name and e.get("Unique-ID") == call_uuid
                          and e.get("Playback-File-Path", "").endswith(".wav"))

    playback_events.wait(ours("PLAYBACK_START"), "the call's play to start")
    client.calls.speak_stop(call_uuid)  # 204
    stopped = playback_events.wait(ours("PLAYBACK_STOP"), "the call's play to stop")
    assert stopped.get("Playback-Status") == "break"
    # The document goes on after the stopped sound: its <Speak>, then its end.
    hangup = wait_requests(app, "/hangup")[0]
    assert hangup.params["CallUUID"] == call_uuid
    if not stack.real:
        assert any("after the play" in m for m in callee.phone.heard)


def test_stopping_nothing_on_a_call_cuts_no_verb(stack, app, client, playback_events):
    app.documents["/answer"] = lambda p: plivoxml.ResponseElement().add(
        plivoxml.PlayElement(stack.app_url + "/doc.wav"))
    app.documents["/doc.wav"] = lambda p: long_wav(3)
    callee, to = stack.expect_phone("wes@127.0.0.1:5090", "answer")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/answer",
                               hangup_url=stack.app_url + "/hangup")
    call_uuid = made.request_uuid
    playback_events.wait(lambda e: e.name == "PLAYBACK_START"
                         and e.get("Unique-ID") == call_uuid, "the document's <Play>")
    # The document's own <Play> is not a play of the Call API: it plays to its end.
    client.calls.play_stop(call_uuid)  # 204
    ended = playback_events.wait(lambda e: e.name == "PLAYBACK_STOP"
                                 and e.get("Unique-ID") == call_uuid, "the <Play> to end")
    assert ended.get("Playback-Status") == "done"
    # Nothing follows the <Play>: the call ends; a stop then finds no call.
    assert wait_requests(app, "/hangup")[0].params["CallUUID"] == call_uuid
    with pytest.raises(exceptions.ResourceNotFoundError):
        client.calls.play_stop(call_uuid)



# ------------------------------------------------------------------ hangup request
def plivo_seconds(text: str) -> int:
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S"))


def test_hangup_url_has_plivos_times_and_durations_from_freeswitch(stack, app, client, room):
    app.documents["/answer"] = conference_doc(room)
    callee, to = stack.expect_phone("xena@127.0.0.1:5090", "answer")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/answer",
                               hangup_url=stack.app_url + "/hangup", time_limit=2)
    hangup = wait_requests(app, "/hangup")[0]  # the time limit ends it
    assert hangup.valid and hangup.params["CallUUID"] == made.request_uuid
    start, answer, end = (plivo_seconds(hangup.params[name])
                          for name in ("StartTime", "AnswerTime", "EndTime"))
    assert start <= answer <= end
    # FreeSWITCH's time limit (sched_hangup +2) ran from the answer: at least a second.
    assert end - answer >= 1
    assert abs(int(hangup.params["Duration"]) - (end - start)) <= 1
    assert abs(int(hangup.params["BillDuration"]) - (end - answer)) <= 1
    assert hangup.params["HangupCause"] == "ALLOTTED_TIMEOUT"
    assert "HangupCauseName" not in hangup.params  # a cause Plivo has no name for here


def test_hangup_url_names_a_normal_hangup_and_a_cancel(stack, app, client, room):
    phone, call_uuid, _ = dial_into_room(stack, app, client, room, "yuri")
    client.calls.delete(call_uuid)
    ended = wait_requests(app, "/hangup")[0]
    assert (ended.params["HangupCause"], ended.params["HangupCauseCode"],
            ended.params["HangupCauseName"]) == ("NORMAL_CLEARING", "4000", "Normal Hangup")
    assert ended.params["AnswerTime"] and ended.params["StartTime"]

    callee, to = stack.expect_phone("zoe@127.0.0.1:5090", "ring")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/never",
                               hangup_url=stack.app_url + "/cancelled", ring_timeout=60)
    wait_until(lambda: made.request_uuid in stack.api("show channels"),
               what="FreeSWITCH to dial the callee")
    client.calls.cancel(made.request_uuid)
    cancelled = wait_requests(app, "/cancelled")[0]
    assert (cancelled.params["CallStatus"], cancelled.params["HangupCauseCode"],
            cancelled.params["HangupCauseName"]) == ("cancel", "1000", "Canceled")
