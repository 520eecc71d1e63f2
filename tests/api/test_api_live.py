"""The REST API against the simulator over real HTTP: every action checked by its effect.

Each test starts room1 with alice, bob and carol (the ``room`` fixture): their
calls fetch the answer app's ``<Conference>room1</Conference><Speak>after</Speak>``.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import gevent
import requests
from api.live import LiveRoom, live_room, wait_for

from controller.media import BEEP_ONE, BEEP_TWO


def heard(phone, text: str) -> bool:
    return any(text in str(media) for media in phone.heard)


def by_name(room: LiveRoom) -> dict[str, int]:
    return {m["caller_id_name"]: m["id"] for m in room.fs_members().values()}


# ------------------------------------------------------------------ reading
def test_list_and_detail_show_what_freeswitch_has(room: LiveRoom):
    fs = room.fs_listing()
    listed = room.get("/v1/conferences")
    assert listed.status_code == 200
    [summary] = listed.json()["conferences"]
    assert summary["name"] == "room1"
    assert summary["conference_uuid"] == fs["conference_uuid"]
    assert summary["member_count"] == 3
    assert summary["running_time"] >= 0 and summary["locked"] is False
    assert summary["recording"] is False and summary["recordings"] == []
    datetime.fromisoformat(summary["started_at"].replace("Z", "+00:00"))

    detail = room.get("/v1/conferences/room1").json()
    members = detail.pop("members")
    assert {k: v for k, v in detail.items() if k not in ("running_time", "started_at")} == \
        {k: v for k, v in summary.items() if k not in ("running_time", "started_at")}
    alice, bob, carol = room.phones
    assert [(m["caller_id_name"], m["call_uuid"]) for m in members] == [
        ("alice", alice.uuid), ("bob", bob.uuid), ("carol", carol.uuid)]
    assert [m["member_id"] for m in members] == sorted(room.fs_members())
    for member in members:
        assert member["caller_id_number"] == member["caller_id_name"]
        assert not (member["muted"] or member["deaf"] or member["on_hold"])
        # Plivo's startConferenceOnEnter=true default makes every member a moderator.
        assert member["moderator"] is True
        joined = datetime.fromisoformat(member["joined_at"].replace("Z", "+00:00"))
        assert joined <= datetime.now(timezone.utc)

    one = room.get(f"/v1/conferences/room1/members/{members[1]['member_id']}")
    assert one.status_code == 200
    stable = ("member_id", "call_uuid", "caller_id_name", "muted", "deaf", "joined_at")
    assert {k: one.json()[k] for k in stable} == {k: members[1][k] for k in stable}


def test_unknown_room_and_member_are_404(room: LiveRoom):
    missing = room.get("/v1/conferences/nosuchroom")
    assert missing.status_code == 404
    assert missing.json()["error"] == "conference_not_found"
    assert "nosuchroom" in missing.json()["message"]
    for action in ("mute", "kick", "hangup", "play"):
        body = {"tone": "beep:1"} if action == "play" else None
        response = room.post(f"/v1/conferences/nosuchroom/members/1/{action}", body)
        assert response.status_code == 404, action
        assert response.json()["error"] == "conference_not_found"
    for action in ("lock", "end", "record_start", "stop_playback"):
        response = room.post(f"/v1/conferences/nosuchroom/{action}")
        assert response.status_code == 404, action
    gone = room.get("/v1/conferences/room1/members/9999")
    assert gone.status_code == 404 and gone.json()["error"] == "member_not_found"


# ------------------------------------------------------------------ member flags
def test_mute_and_unmute_one_member(room: LiveRoom):
    ids = by_name(room)
    response = room.member_action(ids["bob"], "mute")
    assert response.status_code == 200
    assert response.json() == {"conference": "room1", "action": "mute",
                               "results": [{"member_id": ids["bob"], "status": "ok"}]}
    flags = {mid: m["flags"] for mid, m in room.fs_members().items()}
    assert flags[ids["bob"]]["can_speak"] is False
    assert flags[ids["alice"]]["can_speak"] is True and flags[ids["carol"]]["can_speak"] is True
    members = {m["member_id"]: m for m in room.get("/v1/conferences/room1").json()["members"]}
    assert members[ids["bob"]]["muted"] is True and members[ids["alice"]]["muted"] is False

    assert room.member_action(ids["bob"], "unmute").status_code == 200
    assert room.fs_members()[ids["bob"]]["flags"]["can_speak"] is True


def test_deaf_and_hold_on_a_list_of_members(room: LiveRoom):
    ids = by_name(room)
    pair = f"{ids['alice']},{ids['carol']}"
    response = room.member_action(pair, "deaf")
    assert [r["status"] for r in response.json()["results"]] == ["ok", "ok"]
    fs = room.fs_members()
    assert fs[ids["alice"]]["flags"]["can_hear"] is False
    assert fs[ids["carol"]]["flags"]["can_hear"] is False
    assert fs[ids["bob"]]["flags"]["can_hear"] is True
    room.member_action(pair, "undeaf")
    assert all(m["flags"]["can_hear"] for m in room.fs_members().values())

    assert room.member_action(ids["alice"], "hold").status_code == 200
    assert room.fs_members()[ids["alice"]]["flags"]["hold"] is True
    detail = room.get(f"/v1/conferences/room1/members/{ids['alice']}").json()
    assert detail["on_hold"] is True
    room.member_action(ids["alice"], "unhold")
    assert room.fs_members()[ids["alice"]]["flags"]["hold"] is False


def test_all_selects_every_member(room: LiveRoom):
    response = room.member_action("all", "mute")
    assert response.status_code == 200
    assert sorted(r["member_id"] for r in response.json()["results"]) == sorted(room.fs_members())
    assert all(r["status"] == "ok" for r in response.json()["results"])
    assert not any(m["flags"]["can_speak"] for m in room.fs_members().values())


def test_partly_unknown_members_answer_per_member(room: LiveRoom):
    ids = by_name(room)
    response = room.member_action(f"{ids['bob']},9999", "mute")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"member_id": ids["bob"], "status": "ok"},
        {"member_id": 9999, "status": "not_found", "message": "no member 9999 in the room"},
    ]
    none_there = room.member_action("9998,9999", "mute")
    assert none_there.status_code == 404
    assert none_there.json()["error"] == "member_not_found"
    assert [r["status"] for r in none_there.json()["results"]] == ["not_found", "not_found"]


# ------------------------------------------------------------------ leaving
def test_kick_takes_the_member_out_and_the_call_goes_on(room: LiveRoom):
    alice, bob, carol = room.phones
    ids = by_name(room)
    response = room.member_action(ids["bob"], "kick")
    assert response.json()["results"] == [{"member_id": ids["bob"], "status": "ok"}]
    wait_for(lambda: ids["bob"] not in room.fs_members(), what="bob out of the room")
    # The document's next verb runs: bob hears <Speak>after</Speak>, then the call ends.
    wait_for(lambda: heard(bob, "after"), what="bob's next verb")
    bob.wait_hangup()
    assert sorted(room.fs_members()) == sorted([ids["alice"], ids["carol"]])
    assert not heard(alice, "after") and not heard(carol, "after")


def test_hangup_ends_the_call_without_its_next_verb(room: LiveRoom):
    alice, bob, carol = room.phones
    ids = by_name(room)
    response = room.member_action(ids["carol"], "hangup")
    assert response.json()["results"] == [{"member_id": ids["carol"], "status": "ok"}]
    carol.wait_hangup()
    wait_for(lambda: ids["carol"] not in room.fs_members(), what="carol gone")
    assert not heard(carol, "after")
    assert sorted(room.fs_members()) == sorted([ids["alice"], ids["bob"]])
    again = room.member_action(ids["carol"], "hangup")
    assert again.status_code == 404 and again.json()["error"] == "member_not_found"


# ------------------------------------------------------------------ media to members
def test_play_and_speak_reach_only_the_chosen_member(room: LiveRoom):
    alice, bob, carol = room.phones
    ids = by_name(room)
    assert room.member_action(ids["alice"], "play", {"tone": "beep:2"}).status_code == 200
    wait_for(lambda: heard(alice, BEEP_TWO), what="alice hearing the tone")
    url = room.stack.app_url + "/media/hello.wav"
    played = room.member_action(ids["bob"], "play", {"url": url})
    assert played.json()["results"] == [{"member_id": ids["bob"], "status": "ok"}]
    wait_for(lambda: any(str(m).endswith(".wav") for m in bob.heard), what="bob hearing the file")
    spoken = room.member_action(ids["carol"], "speak",
                                {"text": "Hello 'carol' ${uuid}", "voice": "MAN"})
    assert spoken.status_code == 200
    wait_for(lambda: heard(carol, "Hello carol $ uuid"), what="carol hearing the text")
    assert heard(carol, "rms")  # the MAN voice of settings.media
    assert not heard(bob, BEEP_TWO) and not heard(carol, BEEP_TWO)
    assert not heard(alice, "Hello") and not heard(bob, "Hello")


def test_play_to_all_and_a_bad_url(room: LiveRoom):
    response = room.member_action("all", "play", {"tone": "beep:1"})
    assert len(response.json()["results"]) == 3
    for phone in room.phones:
        wait_for(lambda phone=phone: heard(phone, BEEP_ONE), what="everyone hearing the tone")
    bad = room.member_action("all", "play", {"url": room.stack.app_url + "/missing.wav"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "body.url"
    assert "cannot download" in bad.json()["message"]


def test_dtmf_goes_to_the_member(room: LiveRoom):
    ids = by_name(room)
    events = room.stack.controller.esl.subscribe("test-dtmf", ["conference::maintenance"])
    try:
        response = room.member_action(ids["alice"], "dtmf", {"digits": "12#"})
        assert response.json()["results"] == [{"member_id": ids["alice"], "status": "ok"}]
        event = wait_for(lambda: _next_action(events, "dtmf-member"), what="dtmf-member")
        assert (event.get("Member-ID"), event.get("Digits")) == (str(ids["alice"]), "12#")
    finally:
        room.stack.controller.esl.unsubscribe(events)


def _next_action(events, action: str):
    while (event := events.get(timeout=0.05)) is not None:
        if event.action == action:
            return event
    return None


# ------------------------------------------------------------------ room actions
def test_lock_and_unlock(room: LiveRoom):
    assert room.room_action("lock").json() == {"conference": "room1", "action": "lock",
                                               "locked": True}
    assert room.fs_listing()["locked"] is True
    assert room.get("/v1/conferences/room1").json()["locked"] is True
    assert room.room_action("unlock").json()["locked"] is False
    assert room.fs_listing()["locked"] is False


def test_play_speak_and_stop_in_the_room(room: LiveRoom):
    assert room.room_action("play", {"tone": "beep:1"}).json()["status"] == "playing"
    for phone in room.phones:
        wait_for(lambda phone=phone: heard(phone, BEEP_ONE), what="the room hearing the tone")
    assert room.room_action("speak", {"text": "welcome all"}).status_code == 200
    for phone in room.phones:
        wait_for(lambda phone=phone: heard(phone, "welcome all"), what="the room hearing TTS")
    long_file = room.stack.app_url + "/media/long.wav"
    assert room.room_action("play", {"url": long_file}).status_code == 200
    stopped = room.room_action("stop_playback")
    assert stopped.status_code == 200
    assert stopped.json()["stopped_files"] >= 1
    # FreeSWITCH drops one stopped node per 20 ms tick; until then `stop` counts it again.
    wait_for(lambda: room.room_action("stop_playback").json()["stopped_files"] == 0,
             what="the play queue to empty")


def test_recording_lifecycle(room: LiveRoom):
    started = room.room_action("record_start", {"format": "wav"})
    assert started.status_code == 201
    recording = started.json()["recording"]
    recording_id = recording["recording_id"]
    assert recording["format"] == "wav" and recording["paused"] is False
    assert recording["url"].endswith(f"/v1/recordings/{recording_id}.wav")
    nodes = _recording_nodes(room)
    assert [os.path.basename(n["record_path"]) for n in nodes] == [f"{recording_id}.wav"]

    again = room.room_action("record_start", {"format": "mp3"})
    assert again.status_code == 409 and again.json()["error"] == "already_recording"
    assert again.json()["recordings"][0]["recording_id"] == recording_id

    paused = room.room_action("record_pause")
    assert paused.json()["recordings"][0]["paused"] is True
    detail = room.get("/v1/conferences/room1").json()
    assert detail["recording"] is True and detail["recordings"][0]["paused"] is True
    assert room.room_action("record_resume").json()["recordings"][0]["paused"] is False

    stopped = room.room_action("record_stop")
    assert stopped.status_code == 200
    assert [r["recording_id"] for r in stopped.json()["recordings"]] == [recording_id]
    local = room.stack.tmp_path / "recordings" / f"{recording_id}.wav"
    wait_for(local.exists, what="the recording file")
    served = requests.get(recording["url"].replace(
        room.stack.controller.settings.http.public_base_url, room.stack.api_base),
        headers=room.stack.auth_headers, timeout=5)
    assert served.status_code == 200 and served.content == local.read_bytes()
    # Stopping is asynchronous in mod_conference: the recorder leaves the room when it has
    # closed the file; until then `norecord` would name it again.
    wait_for(lambda: not _recording_nodes(room), what="the recorder gone")
    assert room.room_action("record_stop").json()["error"] == "not_recording"
    assert room.room_action("record_pause").status_code == 409


def _recording_nodes(room: LiveRoom) -> list[dict]:
    return [m for m in (room.fs_listing() or {}).get("members", [])
            if m["type"] == "recording_node"]


def test_end_takes_everyone_out_and_their_calls_go_on(room: LiveRoom):
    ids = sorted(by_name(room).values())
    events = room.stack.controller.esl.subscribe("test-end", ["conference::maintenance"])
    try:
        response = room.room_action("end")
        assert response.status_code == 200
        body = response.json()
        assert body["ended"] is True
        assert sorted(m["member_id"] for m in body["members"]) == ids
        # kick (the members leave, as Bandwidth's completed), not hup.
        kicked = [wait_for(lambda: _next_action(events, "kick-member"), what="a kick-member")
                  for _ in ids]
        assert sorted(int(e.get("Member-ID")) for e in kicked) == ids
    finally:
        room.stack.controller.esl.unsubscribe(events)
    for phone in room.phones:
        wait_for(lambda phone=phone: heard(phone, "after"), what="every call's next verb")
    wait_for(lambda: room.fs_listing() is None, what="the room destroyed")
    assert room.get("/v1/conferences/room1").status_code == 404
    assert room.get("/v1/conferences").json() == {"conferences": []}


# ------------------------------------------------------------------ idempotency
def test_idempotency_key_runs_once_and_replays(room: LiveRoom):
    ids = by_name(room)
    events = room.stack.controller.esl.subscribe("test-idem", ["conference::maintenance"])
    try:
        key = {"Idempotency-Key": "mute-bob-1"}
        first = room.member_action(ids["bob"], "mute", headers=key)
        second = room.member_action(ids["bob"], "mute", headers=key)
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert second.headers["Idempotency-Replayed"] == "true"
        assert "Idempotency-Replayed" not in first.headers
        wait_for(lambda: _next_action(events, "mute-member"), what="the first mute")
        room.fs_listing()  # a round trip: any second mute-member would be queued by now
        assert _next_action(events, "mute-member") is None  # mod_conference fires per mute

        other = room.member_action(ids["alice"], "mute", headers=key)
        assert other.status_code == 422
        assert other.json()["error"] == "idempotency_key_reused"
        assert room.fs_members()[ids["alice"]]["flags"]["can_speak"] is True
    finally:
        room.stack.controller.esl.unsubscribe(events)


def test_a_replayed_kick_does_not_kick_again(room: LiveRoom):
    ids = by_name(room)
    key = {"Idempotency-Key": "kick-alice"}
    first = room.member_action(ids["alice"], "kick", headers=key)
    wait_for(lambda: ids["alice"] not in room.fs_members(), what="alice out")
    replay = room.member_action(ids["alice"], "kick", headers=key)
    assert replay.status_code == 200 and replay.json() == first.json()
    fresh = room.member_action(ids["alice"], "kick", headers={"Idempotency-Key": "kick-2"})
    assert fresh.status_code == 404  # run again, the member is gone


def test_concurrent_requests_with_one_key_run_once(room: LiveRoom):
    ids = by_name(room)
    events = room.stack.controller.esl.subscribe("test-race", ["conference::maintenance"])
    try:
        key = {"Idempotency-Key": "kick-carol-race"}
        racers = [gevent.spawn(room.member_action, ids["carol"], "kick", headers=key)
                  for _ in range(3)]
        answers = [racer.get(timeout=10) for racer in racers]
        assert {a.status_code for a in answers} == {200}
        assert len({a.text for a in answers}) == 1
        assert sum(a.headers.get("Idempotency-Replayed") == "true" for a in answers) == 2
        wait_for(lambda: _next_action(events, "kick-member"), what="the kick")
        room.fs_listing()
        assert _next_action(events, "kick-member") is None
    finally:
        room.stack.controller.esl.unsubscribe(events)


def test_room_prefix_scopes_the_api_to_this_tenant(tmp_path):
    stack, room = live_room(tmp_path, callers=("alice", "bob"),
                            settings={"freeswitch": {"room_prefix": "t1_"}})
    try:
        assert room.fs_listing()["member_count"] == 2  # FreeSWITCH's room is t1_room1
        other = stack.phones.call("plain-room1", caller_id="eve", caller_name="eve")
        other.wait_answered()  # another tenant's room1, joined without the controller
        wait_for(lambda: stack.api("conference room1 count") == "1", what="the other room")

        [listed] = room.get("/v1/conferences").json()["conferences"]
        assert (listed["name"], listed["member_count"]) == ("room1", 2)
        detail = room.get("/v1/conferences/room1").json()
        assert sorted(m["caller_id_name"] for m in detail["members"]) == ["alice", "bob"]
        assert room.member_action("all", "mute").status_code == 200
        assert not any(m["flags"]["can_speak"] for m in room.fs_members().values())
        assert '"can_speak":true' in stack.api("conference room1 json_list compact")
        assert room.room_action("end").status_code == 200
        wait_for(lambda: room.fs_listing() is None, what="t1_room1 ended")
        assert stack.api("conference room1 count") == "1"  # the other tenant's room is intact
    finally:
        stack.__exit__(None, None, None)


def test_an_unexpected_failure_is_a_logged_json_500(room: LiveRoom, caplog):
    # Corrupt the controller's own state under it: a server fault, not a client error.
    rooms = room.stack.controller.rooms
    directory, rooms.recordings_local_dir = rooms.recordings_local_dir, None
    try:
        key = {"Idempotency-Key": "record-on-broken-disk"}
        for _ in range(2):  # a 500 is not kept: the retry runs again (and fails again)
            response = room.room_action("record_start", {"format": "wav"}, headers=key)
            assert response.status_code == 500
            assert "Idempotency-Replayed" not in response.headers
            assert response.json() == {
                "error": "internal_error",
                "message": "unexpected TypeError; the controller logged the details"}
        logged = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
        assert len(logged) == 2 and logged[0].exc_info is not None
        assert room.get("/v1/conferences/room1").status_code == 200  # still serving
    finally:
        rooms.recordings_local_dir = directory
