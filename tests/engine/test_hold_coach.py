"""Hold and coach on the simulator, with who hears whom read from FreeSWITCH's own listings.

Hearing follows mod_conference's rules as captured: a held member neither hears nor
is heard (07a: json_list can_hear/can_speak false), ``relate A C nospeak`` means C no
longer hears A (07b's measured matrix); tinykit.hearing reads both. Joins come from
the tiny test face (its room verb carries ``hold``, ``hold_sound`` and ``coach``);
the REST API is the native one.
"""

from __future__ import annotations

import gevent.event
import tiny_dialect  # noqa: F401 - registers the tiny face
from stack import Stack, wait_until
from tinykit import FaceApp, hearing, members, wav_bytes

from controller.media import BEEP_ONE, BEEP_TWO


def doc(room: str, **fields) -> dict:
    return {"do": [{"room": {"name": room, **fields}}]}


def join(stack, number: str, caller: str, room: str):
    phone = stack.phones.call(number, caller_id=caller)
    phone.wait_answered(timeout=10)
    return phone, member_id(stack, room, phone)


def member_id(stack, room: str, phone) -> int:
    return wait_until(lambda: next((mid for mid, m in members(stack, room).items()
                                    if m["uuid"] == phone.uuid), None),
                      what=f"{phone.caller_id} in {room}")


def everyone_hears_everyone(ids: list[int]) -> set[tuple[int, int]]:
    return {(a, b) for a in ids for b in ids if a != b}


def expect_hearing(stack, room: str, expected: set[tuple[int, int]]) -> None:
    wait_until(lambda: hearing(stack, room) == expected, timeout=5,
               what=f"hearing {sorted(expected)}; FreeSWITCH says {sorted(hearing(stack, room))}")


def post(stack, path: str, body=None):
    return stack.rest("POST", path, json=body)


def test_coach_by_join_hears_only_its_coached_members_as_they_come_and_go(tmp_path):
    face = FaceApp()
    room = "coaching"
    dave_may_join = gevent.event.Event()
    phones: dict = {}
    face.tiny["3001"] = doc(room)
    face.tiny["3002"] = lambda request: dave_may_join.wait(10) and doc(room)
    # The coach names its coached calls by the face's call ids: bob (in the room
    # already) and dave (whose call is up, but who joins after the coach).
    face.tiny["3000"] = lambda request: doc(
        room, coach=["tiny-" + phones["bob"].uuid, "tiny-" + phones["dave"].uuid])
    with Stack(tmp_path, app=face.app, settings={"app": {"dialect": "tiny"}}) as stack:
        phones["bob"], bob = join(stack, "3001", "bob", room)
        phones["carol"], carol = join(stack, "3001", "carol", room)
        phones["dave"] = stack.phones.call("3002", caller_id="dave")
        phones["alice"], alice = join(stack, "3000", "alice", room)
        ids = [bob, carol, alice]
        expect_hearing(stack, room, everyone_hears_everyone(ids) - {(carol, alice)})
        dave_may_join.set()
        dave = member_id(stack, room, phones["dave"])
        ids.append(dave)
        # dave, coached, hears alice; nobody stops hearing anyone else.
        expect_hearing(stack, room, everyone_hears_everyone(ids) - {(carol, alice)})
        phones["erin"], erin = join(stack, "3001", "erin", room)
        ids.append(erin)
        expect_hearing(stack, room,
                       everyone_hears_everyone(ids) - {(carol, alice), (erin, alice)})
        # bob leaves; the others' relations stay right.
        phones["bob"].hangup()
        ids.remove(bob)
        wait_until(lambda: bob not in members(stack, room), what="bob gone")
        expect_hearing(stack, room,
                       everyone_hears_everyone(ids) - {(carol, alice), (erin, alice)})

        # Coaching stopped over REST: everyone hears alice again, newcomers too.
        answer = post(stack, f"/v1/conferences/{room}/members/{alice}/uncoach")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"conference": room, "action": "uncoach", "member_id": alice,
                                 "coaching": False, "heard_by": []}
        expect_hearing(stack, room, everyone_hears_everyone(ids))
        phones["frank"], frank = join(stack, "3001", "frank", room)
        ids.append(frank)
        expect_hearing(stack, room, everyone_hears_everyone(ids))


def test_coach_over_rest_then_members_come_and_go(tmp_path):
    face = FaceApp()
    room = "restcoach"
    face.tiny["3001"] = doc(room)
    with Stack(tmp_path, app=face.app, settings={"app": {"dialect": "tiny"}}) as stack:
        phones = {}
        phones["alice"], alice = join(stack, "3001", "alice", room)
        phones["bob"], bob = join(stack, "3001", "bob", room)
        phones["carol"], carol = join(stack, "3001", "carol", room)
        answer = post(stack, f"/v1/conferences/{room}/members/{alice}/coach",
                      {"heard_by": [bob]})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"conference": room, "action": "coach", "member_id": alice,
                                 "coaching": True, "heard_by": [bob]}
        ids = [alice, bob, carol]
        expect_hearing(stack, room, everyone_hears_everyone(ids) - {(carol, alice)})
        phones["dave"], dave = join(stack, "3001", "dave", room)
        ids.append(dave)
        expect_hearing(stack, room,
                       everyone_hears_everyone(ids) - {(carol, alice), (dave, alice)})
        # Re-coached to carol: bob stops hearing alice, carol starts.
        answer = post(stack, f"/v1/conferences/{room}/members/{alice}/coach",
                      {"heard_by": [carol]})
        assert answer.status_code == 200, answer.text
        expect_hearing(stack, room,
                       everyone_hears_everyone(ids) - {(bob, alice), (dave, alice)})
        # The coach leaves: nobody keeps a relation to it; a new member hears everyone.
        phones["alice"].hangup()
        ids.remove(alice)
        wait_until(lambda: alice not in members(stack, room), what="alice gone")
        phones["erin"], erin = join(stack, "3001", "erin", room)
        ids.append(erin)
        expect_hearing(stack, room, everyone_hears_everyone(ids))


def test_coach_and_uncoach_errors_are_clear(tmp_path):
    face = FaceApp()
    room = "coacherr"
    face.tiny["3001"] = doc(room)
    with Stack(tmp_path, app=face.app, settings={"app": {"dialect": "tiny"}}) as stack:
        _, alice = join(stack, "3001", "alice", room)
        _, bob = join(stack, "3001", "bob", room)
        base = f"/v1/conferences/{room}/members"

        def error(path: str, body=None) -> tuple[int, dict]:
            answer = post(stack, path, body)
            return answer.status_code, answer.json()

        status, body = error(f"{base}/{alice}/coach", {"heard_by": [9999]})
        assert status == 404 and body["error"] == "member_not_found"
        assert "9999" in body["message"] and body["field"] == "body.heard_by"
        status, body = error(f"{base}/9999/coach", {"heard_by": [bob]})
        assert status == 404 and body["error"] == "member_not_found"
        status, body = error(f"{base}/{alice}/coach", {"heard_by": [alice]})
        assert status == 422 and body["field"] == "body.heard_by[0]"
        status, body = error(f"{base}/{alice}/coach", {"heard_by": []})
        assert status == 422 and body["field"] == "body.heard_by"
        status, body = error(f"{base}/{alice}/coach", {"heard_by": ["2"]})
        assert status == 422 and body["field"] == "body.heard_by[0]"
        status, body = error(f"{base}/{alice}/coach", {"heard": [bob]})
        assert status == 422 and body["field"] == "body.heard" and "heard_by" in body["allowed"]
        status, body = error(f"{base}/all/coach", {"heard_by": [bob]})
        assert status == 422 and body["field"] == "path.member"
        status, body = error(f"{base}/{alice},{bob}/uncoach")
        assert status == 422 and body["field"] == "path.member"
        status, body = error(f"/v1/conferences/nosuchroom/members/{alice}/coach",
                             {"heard_by": [bob]})
        assert status == 404 and body["error"] == "conference_not_found"
        # Uncoaching a member that is no coach changes nothing and says so.
        answer = post(stack, f"{base}/{bob}/uncoach")
        assert answer.status_code == 200 and answer.json()["coaching"] is False
        expect_hearing(stack, room, {(alice, bob), (bob, alice)})


def test_hold_by_join_with_a_sound_then_unhold_and_hold_over_rest(tmp_path):
    face = FaceApp()
    room = "holding"
    face.tiny["3001"] = doc(room)
    face.tiny["3002"] = doc(room, hold=True, hold_sound="beep")
    face.files["/media/hold.wav"] = (wav_bytes(), "audio/wav")
    with Stack(tmp_path, app=face.app, settings={"app": {"dialect": "tiny"}}) as stack:
        alice_phone, alice = join(stack, "3001", "alice", room)
        bob_phone, bob = join(stack, "3002", "bob", room)
        expect_hearing(stack, room, set())  # bob held: neither hears nor is heard
        assert members(stack, room)[bob]["flags"]["hold"] is True
        wait_until(lambda: BEEP_ONE in bob_phone.heard, what="the hold sound at bob")
        base = f"/v1/conferences/{room}/members"

        answer = post(stack, f"{base}/{bob}/unhold")
        assert answer.status_code == 200, answer.text
        expect_hearing(stack, room, {(alice, bob), (bob, alice)})

        answer = post(stack, f"{base}/{bob}/hold", {"sound": {"tone": "beep:2"}})
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"] == [{"member_id": bob, "status": "ok"}]
        expect_hearing(stack, room, set())
        wait_until(lambda: BEEP_TWO in bob_phone.heard, what="the REST hold tone at bob")
        post(stack, f"{base}/{bob}/unhold")

        heard_before = len(bob_phone.heard)
        answer = post(stack, f"{base}/{bob}/hold",
                      {"sound": {"url": stack.app_url + "/media/hold.wav"}})
        assert answer.status_code == 200, answer.text
        wait_until(lambda: any(h.endswith(".wav") for h in bob_phone.heard[heard_before:]),
                   what="the hold file at bob")
        # Only bob heard them: a hold sound is the held member's alone.
        assert not any(h.endswith(".wav") or h in (BEEP_ONE, BEEP_TWO)
                       for h in alice_phone.heard)

        # Hold with no body (all members) and unhold all.
        assert post(stack, f"{base}/all/unhold").status_code == 200
        answer = post(stack, f"{base}/all/hold")
        assert answer.status_code == 200
        assert sorted(r["member_id"] for r in answer.json()["results"]) == sorted([alice, bob])
        expect_hearing(stack, room, set())


def test_hold_errors_are_clear(tmp_path):
    face = FaceApp()
    room = "holderr"
    face.tiny["3001"] = doc(room)
    with Stack(tmp_path, app=face.app, settings={"app": {"dialect": "tiny"}}) as stack:
        _, alice = join(stack, "3001", "alice", room)
        base = f"/v1/conferences/{room}/members"
        cases = [
            ({"sound": "beep:1"}, "body.sound"),
            ({"sound": {"tone": "siren"}}, "body.sound.tone"),
            ({"sound": {"url": "ftp://example.com/a.wav"}}, "body.sound.url"),
            ({"sound": {"url": "http://a/b.wav", "tone": "beep:1"}}, "body.sound"),
            ({"sound": {"volume": 3}}, "body.sound.volume"),
            ({"music": True}, "body.music"),
        ]
        for body, field in cases:
            answer = post(stack, f"{base}/{alice}/hold", body)
            assert answer.status_code == 422, (body, answer.text)
            assert answer.json()["field"] == field, (body, answer.json())
        answer = post(stack, f"{base}/9999/hold")
        assert answer.status_code == 404 and answer.json()["error"] == "member_not_found"
        assert members(stack, room)[alice]["flags"]["hold"] is False
