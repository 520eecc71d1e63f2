"""A face added by the tests alone (tiny_dialect.py, registered on import) runs calls on the
simulator through the real wire, next to Plivo in the same controller.

What it proves: the engine finds a face by name only (``[app] dialect``,
``[app] number_dialects``); its JSON markup, JSON requests, signature header and
REST routes are used as they are; every room-level event reaches the room's hooks in
order, with strictly increasing per-room sequence numbers, the room's tag and
FreeSWITCH's own timestamps; member-level ``callback_events`` work; call-level events
go to the face's call hook; and the Plivo face on the next number is unchanged.
"""

from __future__ import annotations

import json

import gevent
import pytest
import tiny_dialect
from stack import Stack, wait_until
from tinykit import FaceApp, Observer

from controller.model import EventKind

ROOM_KINDS = [
    EventKind.ROOM_CREATED, EventKind.ROOM_STARTED, EventKind.ROOM_ENDED,
    EventKind.MEMBER_JOINED, EventKind.MEMBER_LEFT, EventKind.MEMBER_MUTED,
    EventKind.MEMBER_UNMUTED, EventKind.MEMBER_HELD, EventKind.MEMBER_UNHELD,
    EventKind.MEMBER_COACHING, EventKind.SPEAKING_STARTED, EventKind.SPEAKING_STOPPED,
    EventKind.RECORDING_STARTED, EventKind.RECORDING_PAUSED, EventKind.RECORDING_RESUMED,
    EventKind.RECORDING_COMPLETED, EventKind.ANNOUNCEMENT_DONE,
]
# What each room-level event is in FreeSWITCH's own words (its Action), when it has one.
FS_ACTION = {
    "member.joined": "add-member", "member.left": "del-member",
    "member.muted": "mute-member", "member.unmuted": "unmute-member",
    "member.held": "hold-member", "member.unheld": "unhold-member",
    "member.speaking.started": "start-talking", "member.speaking.stopped": "stop-talking",
    "recording.started": "start-recording", "recording.paused": "pause-recording",
    "recording.resumed": "resume-recording", "recording.completed": "stop-recording",
    "room.ended": "conference-destroy", "room.announcement.done": "play-file-done",
}


@pytest.fixture(autouse=True)
def _no_call_hook():
    yield
    tiny_dialect.DIALECT.call_hook_url = ""


def room_doc(name: str, **fields) -> dict:
    return {"do": [{"say": "welcome"}, {"room": {"name": name, **fields}}, {"hangup": {}}]}


def tiny_calls(stack, path: str) -> list:
    return [r for r in stack.requests.at(path) if r.json is not None]


def hooks(stack) -> list[dict]:
    return [r.json for r in stack.requests.at("/rooms")]


def wait_hook(stack, event: str, count: int = 1, **fields) -> list[dict]:
    def found():
        got = [h for h in hooks(stack) if h["event"] == event
               and all(h.get(k) == v for k, v in fields.items())]
        return got if len(got) >= count else None

    return wait_until(found, what=f"room hook {event} {fields}: got "
                      f"{[h['event'] for h in hooks(stack)]}")


def join_tiny(stack, number: str, caller: str):
    phone = stack.phones.call(number, caller_id=caller)
    phone.wait_answered(timeout=10)
    return phone


def member_id_of(stack, fs_room: str, phone) -> str:
    from tinykit import members

    def find():
        return next((str(mid) for mid, m in members(stack, fs_room).items()
                     if m["uuid"] == phone.uuid), None)

    return wait_until(find, what=f"{phone.uuid} in {fs_room}")


def test_room_events_reach_the_room_hooks_in_order_with_sequence_tag_and_fs_time(tmp_path):
    face = FaceApp()
    face.tiny["3000"] = room_doc(
        "tinyroom", hook="/rooms", events=[k.value for k in ROOM_KINDS], tag="t-42",
        record=True, callback="/alice")
    face.tiny["3001"] = room_doc(
        "tinyroom", callback="/bob", hook="/ignored", events=["room.created"], tag="other",
        callback_events=["member.muted", "member.unmuted", "member.held", "member.unheld"])
    settings = {"app": {"dialect": "tiny"}}
    with Stack(tmp_path, app=face.app, settings=settings) as stack, Observer(stack) as fs:
        tiny_dialect.DIALECT.call_hook_url = stack.app_url + "/calls"
        alice = join_tiny(stack, "3000", "alice")
        wait_hook(stack, "recording.started")
        bob = join_tiny(stack, "3001", "bob")
        bob_id = member_id_of(stack, "tinyroom", bob)
        alice_id = member_id_of(stack, "tinyroom", alice)
        wait_hook(stack, "member.joined", member=bob_id)

        def rest(path: str, body: dict | None = None) -> None:
            answer = stack.rest("POST", f"/v1/conferences/tinyroom/{path}", json=body)
            assert answer.status_code in (200, 201), answer.text

        rest(f"members/{bob_id}/mute")
        wait_hook(stack, "member.muted")
        rest(f"members/{bob_id}/unmute")
        wait_hook(stack, "member.unmuted")
        bob.start_talking()
        wait_hook(stack, "member.speaking.started")
        bob.stop_talking()
        wait_hook(stack, "member.speaking.stopped")
        rest(f"members/{bob_id}/hold")
        wait_hook(stack, "member.held")
        rest(f"members/{bob_id}/unhold")
        wait_hook(stack, "member.unheld")
        rest(f"members/{alice_id}/coach", {"heard_by": [int(bob_id)]})
        wait_hook(stack, "member.coaching", coaching=True)
        rest(f"members/{alice_id}/uncoach")
        wait_hook(stack, "member.coaching", coaching=False)
        rest("play", {"tone": "beep:1"})
        wait_hook(stack, "room.announcement.done")
        rest("record_pause")
        wait_hook(stack, "recording.paused")
        rest("record_resume")
        wait_hook(stack, "recording.resumed")
        bob.hangup()
        wait_hook(stack, "member.left", member=bob_id)
        alice.hangup()
        wait_hook(stack, "room.ended")
        gevent.sleep(0.3)  # nothing may follow the end

        got = hooks(stack)
        assert [h["event"] for h in got] == [
            "room.created", "member.joined", "room.started", "recording.started",
            "member.joined", "member.muted", "member.unmuted", "member.speaking.started",
            "member.speaking.stopped", "member.held", "member.unheld", "member.coaching",
            "member.coaching", "room.announcement.done", "recording.paused",
            "recording.resumed", "member.left", "member.left", "recording.completed",
            "room.ended",
        ]
        # The creator's hooks and tag; the later member's hook is ignored.
        assert not stack.requests.at("/ignored")
        assert {h["tag"] for h in got} == {"t-42"}
        assert all(h["room"] == "tinyroom" for h in got)
        sequences = [h["seq"] for h in got]
        assert all(a < b for a, b in zip(sequences, sequences[1:], strict=False)), sequences
        assert [h["member"] for h in got if h["event"] == "member.joined"] == [alice_id, bob_id]
        assert [h["coaching"] for h in got if h["event"] == "member.coaching"] == [True, False]
        # FreeSWITCH's time of each event, where FreeSWITCH fired one.
        for hook in got:
            action = FS_ACTION.get(hook["event"])
            if action is None:
                continue
            wanted = {"Member-ID": hook["member"]} if hook["member"] else {}
            stamps = {e.timestamp_us for e in fs.find(action, **wanted)}
            assert hook["at_us"] in stamps, (hook, stamps)
        created = fs.find("add-member", **{"Member-ID": alice_id})[0].timestamp_us
        assert got[0]["at_us"] == created  # room.created: the creator's add-member

        # Member level: bob's callback got what he asked for, alice's only joined/left.
        bob_events = [r.json["event"] for r in tiny_calls(stack, "/bob")]
        assert bob_events == ["member.joined", "member.muted", "member.unmuted",
                              "member.held", "member.unheld", "member.left"]
        alice_events = [r.json["event"] for r in tiny_calls(stack, "/alice")]
        assert alice_events[:1] == ["member.joined"] and "member.left" in alice_events
        assert "member.muted" not in alice_events
        # The recording's callback (alice's, the creator) reports the completed recording.
        assert alice_events[-1] == "recording.completed"

        # Call level: each tiny call's events in order, with FreeSWITCH's times.
        calls = tiny_calls(stack, "/calls")
        for phone in (alice, bob):
            mine = [r.json for r in calls if r.json["call_id"] == "tiny-" + phone.uuid]
            assert [c["event"] for c in mine] == ["call.initiated", "call.ringing",
                                                  "call.answered", "call.ended"]
            stamps = [c["at_us"] for c in mine]
            assert all(s > 0 for s in stamps) and stamps == sorted(stamps)
            assert mine[-1]["reason"] == "NORMAL_CLEARING"
            assert mine[-1]["status"] == "completed"


def test_requests_are_json_signed_with_the_face_header(tmp_path):
    face = FaceApp()
    face.tiny["3000"] = room_doc("signed", callback="/cb")
    with Stack(tmp_path, app=face.app, settings={"app": {"dialect": "tiny"}}) as stack:
        phone = join_tiny(stack, "3000", "alice")
        [enter] = wait_until(lambda: tiny_calls(stack, "/cb"), what="enter callback")
        phone.hangup()
        [answer] = stack.requests.at("/answer")
        assert answer.json["purpose"] == "answer"
        assert answer.json["call_id"] == "tiny-" + phone.uuid
        assert answer.json["status"] == "ringing"
        # (``json`` is only decoded from an application/json body: recorder.py)
        for request in (answer, enter):
            body = json.dumps(request.json, separators=(",", ":")).encode()
            expected = tiny_dialect.signature("POST", stack.app_url + request.path, body)
            assert request.headers[tiny_dialect.SIGNATURE_HEADER] == expected
        assert enter.json["event"] == "member.joined"
        assert enter.json["call_id"] == "tiny-" + phone.uuid


def test_a_bad_tiny_document_is_a_clear_error(tmp_path):
    face = FaceApp()
    face.tiny["3000"] = {"do": [{"room": {"name": "r", "colour": "red"}}]}
    with Stack(tmp_path, app=face.app, settings={"app": {"dialect": "tiny"}}) as stack:
        phone = stack.phones.call("3000", caller_id="alice")
        phone.wait_hangup(timeout=10)
        [hangup] = wait_until(lambda: tiny_calls(stack, "/hangup"), what="hangup request")
        assert hangup.json["purpose"] == "hangup"
        assert "<room colour=" in hangup.json["error"] and "unknown field" in hangup.json["error"]


def test_number_dialects_choose_tiny_per_number_next_to_plivo(tmp_path):
    face = FaceApp()
    face.tiny["3000"] = room_doc("mixed", callback="/tinycb", hook="/rooms",
                                 events=["member.joined", "member.left"], tag="mix")
    face.plivo["1000"] = ('<Response><Conference callbackUrl="/plivocb">mixed</Conference>'
                          "</Response>")
    settings = {"app": {"number_dialects": "3000=tiny"}}
    with Stack(tmp_path, app=face.app, settings=settings) as stack:
        tiny_dialect.DIALECT.call_hook_url = stack.app_url + "/calls"
        alice = join_tiny(stack, "3000", "alice")
        wait_hook(stack, "member.joined")
        bob = join_tiny(stack, "1000", "bob")
        [enter] = stack.requests.wait_for("/plivocb", ConferenceAction="enter")
        # The face's REST routes see its own calls only.
        listed = stack.rest("GET", "/tiny/calls").json()["calls"]
        assert listed == ["tiny-" + alice.uuid]
        # Plivo's callback: form fields, Plivo's names, no tiny header, no call events.
        assert enter.json is None
        assert enter.params["CallUUID"] == bob.uuid
        assert enter.params["ConferenceName"] == "mixed"
        assert tiny_dialect.SIGNATURE_HEADER not in enter.headers
        bob_room = wait_hook(stack, "member.joined", count=2)[1]
        assert bob_room["member"] == enter.params["ConferenceMemberID"]  # room hooks see all
        # Hanging up the tiny call through its own REST route.
        answer = stack.rest("POST", f"/tiny/calls/tiny-{alice.uuid}/hangup")
        assert answer.status_code == 200
        alice.wait_hangup(timeout=10)
        assert stack.rest("POST", "/tiny/calls/tiny-nope/hangup").status_code == 404
        bob.hangup()
        stack.requests.wait_for("/plivocb", ConferenceAction="exit")
        wait_until(lambda: not stack.rest("GET", "/v1/calls").json()["calls"],
                   what="no live call left")
        tiny_events = [r.json["call_id"] for r in tiny_calls(stack, "/calls")]
        assert set(tiny_events) == {"tiny-" + alice.uuid}  # Plivo's call reported none
