"""<Conference> end to end: phone -> FreeSWITCH -> controller -> the application's HTTP.

Every scenario asserts the exact parameters the application receives and what
FreeSWITCH (``conference json_list``) or, on the simulator, the phones saw.
These run on the simulator by default and against a real FreeSWITCH with sipp
phones when FS_ESL_HOST is set (see README).
"""

from __future__ import annotations

import re

import gevent
import pytest
import requests
from appkit import conferences, member_of, wait_until

from controller.media import BEEP_ONE, BEEP_TWO

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def conference(room: str, after: str = "", **attrs: str) -> str:
    attributes = " ".join(f'{name}="{value}"' for name, value in attrs.items())
    return f"<Response><Conference {attributes}>{room}</Conference>{after}</Response>"


def join(stack, recorder, caller: str, number: str = "1000"):
    """Place a call and wait until it is a member (its enter callback arrived)."""
    phone = stack.phones.call(number, caller_id=caller, caller_name=caller.title())
    phone.wait_answered(timeout=10)
    recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=phone.uuid)
    return phone


# ----------------------------------------------------------------------- callbacks
def test_enter_exit_action_and_hangup_carry_the_plivo_parameters(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(room1, callbackUrl="/cb", action="/act")
    recorder.documents["/act"] = "<Response/>"
    alice = join(stack, recorder, "alice")
    bob = join(stack, recorder, "bob")

    room = conferences(stack)[room1]
    enters = recorder.at("/cb", ConferenceAction="enter")
    for phone, enter in zip((alice, bob), enters, strict=True):
        member = member_of(stack, room1, phone.uuid)
        assert int(enter["EventTimestamp"]) > 0
        ignored = ("at", "path", "method", "EventTimestamp")
        assert {k: enter[k] for k in enter if k not in ignored} == {
            "ConferenceAction": "enter",
            "ConferenceName": room1,
            "ConferenceUUID": room["conference_uuid"],
            "ConferenceMemberID": str(member["id"]),
            "CallUUID": phone.uuid,
            "From": phone.caller_id,
            "To": "1000",
            "CallerName": phone.caller_name,
            "Direction": "inbound",
            "CallStatus": "in-progress",
        }
    assert UUID_RE.match(room["conference_uuid"])

    alice.hangup()
    exit_ = recorder.wait_for("/cb", ConferenceAction="exit", CallUUID=alice.uuid)[0]
    action = recorder.wait_for("/act", CallUUID=alice.uuid)[0]
    hangup = recorder.wait_for("/hangup", CallUUID=alice.uuid)[0]
    assert exit_["ConferenceMemberID"] == enters[0]["ConferenceMemberID"]
    assert exit_["CallStatus"] == "completed"
    assert action["ConferenceName"] == room1
    assert action["ConferenceUUID"] == room["conference_uuid"]
    assert action["ConferenceMemberID"] == enters[0]["ConferenceMemberID"]
    assert "RecordUrl" not in action
    assert hangup["HangupCause"] == "NORMAL_CLEARING"
    # One member's requests arrive in order: enter, exit, action, hangup.
    mine = [r for r in recorder.requests if r.get("CallUUID") == alice.uuid]
    assert [r.get("ConferenceAction", r["path"]) for r in mine] == [
        "/answer", "enter", "exit", "/act", "/hangup"
    ]
    assert member_of(stack, room1, bob.uuid) is not None


def test_callback_method_get_sends_query_parameters(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(room1, callbackUrl="/cb", callbackMethod="GET")
    alice = join(stack, recorder, "alice")
    enter = recorder.at("/cb", CallUUID=alice.uuid)[0]
    assert enter["method"] == "GET" and enter["ConferenceAction"] == "enter"


# ----------------------------------------------------------------------- flags
def test_muted_member_can_hear_but_not_speak(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(room1, callbackUrl="/cb", muted="true")
    alice = join(stack, recorder, "alice")
    flags = member_of(stack, room1, alice.uuid)["flags"]
    assert flags["can_speak"] is False and flags["can_hear"] is True


def test_start_conference_on_enter_false_waits_with_music_until_a_moderator(
        stack, recorder, sim_only, room):
    board = room("board")
    recorder.documents["/wait"] = "<Response><Play>/hold.wav</Play></Response>"
    recorder.files["/hold.wav"] = (_wav(), "audio/wav")
    recorder.documents["/answer"] = lambda p: conference(
        board, callbackUrl="/cb", waitSound="/wait",
        startConferenceOnEnter="true" if p["From"] == "host" else "false")
    guest = join(stack, recorder, "guest")
    assert conferences(stack)[board]["wait_mod"] is True
    assert member_of(stack, board, guest.uuid)["flags"]["is_moderator"] is False
    wait_until(lambda: any(h.endswith(".wav") for h in guest.heard), what="wait music")
    host = join(stack, recorder, "host")
    assert conferences(stack)[board]["wait_mod"] is False
    assert member_of(stack, board, host.uuid)["flags"]["is_moderator"] is True


def test_end_conference_on_exit_releases_the_others_to_their_own_xml(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = lambda p: conference(
        room1, callbackUrl="/cb", action="/act",
        endConferenceOnExit="true" if p["From"] == "host" else "false")
    recorder.documents["/act"] = "<Response><Wait length=\"1\"/></Response>"
    guest = join(stack, recorder, "guest")
    host = join(stack, recorder, "host")
    host.hangup()
    action = recorder.wait_for("/act", CallUUID=guest.uuid)[0]
    # The guest left the room with the call up: FreeSWITCH did not hang it up (03c/03d).
    assert action["CallStatus"] == "in-progress"
    assert room1 not in conferences(stack)
    assert guest.wait_hangup(timeout=10) == "NORMAL_CLEARING"
    hangup = recorder.wait_for("/hangup", CallUUID=guest.uuid)[0]
    assert hangup["HangupCause"] == "NORMAL_CLEARING"


def test_stay_alone_false_ends_the_room_when_one_is_left_but_keeps_the_call(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = lambda p: conference(
        room1, callbackUrl="/cb", action="/act",
        stayAlone="false" if p["From"] == "alice" else "true")
    recorder.documents["/act"] = "<Response><Wait length=\"1\"/></Response>"
    alice = join(stack, recorder, "alice")
    gevent.sleep(0.5)
    assert member_of(stack, room1, alice.uuid) is not None  # alone: nothing happens (03e)
    bob = join(stack, recorder, "bob")
    bob.hangup()
    action = recorder.wait_for("/act", CallUUID=alice.uuid)[0]
    assert action["CallStatus"] == "in-progress"
    assert room1 not in conferences(stack)


@pytest.mark.parametrize("limit", [2, 1])
def test_a_full_room_skips_the_conference_and_its_action(stack, recorder, limit, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(
        room1, after='<Wait length="1"/>', callbackUrl="/cb", action="/act",
        maxMembers=str(limit))
    members = [join(stack, recorder, name) for name in ("alice", "bob")[:limit]]
    late = stack.phones.call("1000", caller_id="carol", caller_name="Carol")
    # Carol goes on with the next verb (Wait) and the document ends: hung up by us.
    assert late.wait_hangup(timeout=15) == "NORMAL_CLEARING"
    assert recorder.at("/cb", CallUUID=late.uuid) == []
    assert recorder.at("/act", CallUUID=late.uuid) == []
    assert len(conferences(stack)[room1]["members"]) == limit
    assert all(p.is_up for p in members)


# ----------------------------------------------------------------------- sounds
def test_beeps_on_enter_and_exit_reach_the_other_member(stack, recorder, sim_only, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(
        room1, callbackUrl="/cb", enterSound="beep:1", exitSound="beep:2")
    alice = join(stack, recorder, "alice")
    bob = join(stack, recorder, "bob")
    wait_until(lambda: BEEP_ONE in alice.heard, what="bob's enter beep at alice")
    bob.hangup()
    wait_until(lambda: BEEP_TWO in alice.heard, what="bob's exit beeps at alice")


def test_enter_sound_url_document_becomes_the_sound(stack, recorder, sim_only, room):
    room1 = room("room1")
    recorder.files["/beep.wav"] = (_wav(), "audio/wav")
    recorder.documents["/enter"] = (
        '<Response><Play>/beep.wav</Play><Speak>hello</Speak><Wait length="1"/></Response>'
    )
    recorder.documents["/answer"] = conference(room1, callbackUrl="/cb", enterSound="/enter")
    alice = join(stack, recorder, "alice")
    join(stack, recorder, "bob")
    sound = wait_until(lambda: next((h for h in alice.heard if h.startswith("file_string://")),
                                    None), what="bob's enter sound at alice")
    parts = sound[len("file_string://"):].split("!")
    assert parts[0].endswith(".wav") and parts[1:] == ["tts://flite|slt|hello",
                                                       "silence_stream://1000"]
    assert recorder.at("/enter")[0]["method"] == "POST"


# ----------------------------------------------------------------------- digits
def test_digits_match_reports_each_pattern_and_keeps_digits_from_the_room(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(room1, callbackUrl="/cb", digitsMatch="1,22")
    alice = join(stack, recorder, "alice")
    alice.send_dtmf("1")
    first = recorder.wait_for("/cb", ConferenceAction="digits")[0]
    alice.send_dtmf("22")
    second = recorder.wait_for("/cb", count=2, ConferenceAction="digits")[1]
    alice.send_dtmf("5")
    gevent.sleep(2)
    digits = [r["ConferenceDigitsMatch"] for r in recorder.at("/cb", ConferenceAction="digits")]
    assert digits == ["1", "22"]
    assert first["ConferenceMemberID"] == second["ConferenceMemberID"]
    assert first["CallUUID"] == alice.uuid


def test_hangup_on_star_leaves_the_room_keeps_the_call_and_runs_the_action(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(
        room1, callbackUrl="/cb", action="/act", hangupOnStar="true")
    recorder.documents["/act"] = '<Response><Wait length="1"/></Response>'
    alice = join(stack, recorder, "alice")
    bob = join(stack, recorder, "bob")
    alice.send_dtmf("*")
    action = recorder.wait_for("/act", CallUUID=alice.uuid)[0]
    assert action["CallStatus"] == "in-progress"
    assert member_of(stack, room1, alice.uuid) is None
    assert member_of(stack, room1, bob.uuid) is not None
    assert alice.wait_hangup(timeout=10) == "NORMAL_CLEARING"  # after the action's Wait


@pytest.mark.parametrize("relay", [True, False])
def test_relay_dtmf_sends_unmatched_digits_to_the_others(stack, recorder, sim_only, relay, room):
    room1 = room("room1")
    recorder.documents["/answer"] = lambda p: conference(
        room1, callbackUrl="/cb", digitsMatch="9",
        relayDTMF="true" if (relay and p["From"] == "alice") else "false")
    alice = join(stack, recorder, "alice")
    bob = join(stack, recorder, "bob")
    alice.send_dtmf("5")
    alice.send_dtmf("9")
    recorder.wait_for("/cb", ConferenceAction="digits")
    gevent.sleep(1)
    assert bob.received_dtmf == (["5"] if relay else [])
    assert alice.received_dtmf == []


def test_floor_event_reports_the_member_who_gets_the_floor(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = lambda p: conference(
        room1, callbackUrl="/cb", floorEvent="true" if p["From"] == "bob" else "false")
    join(stack, recorder, "alice")  # takes the free floor
    bob = join(stack, recorder, "bob")
    assert recorder.at("/cb", ConferenceAction="floor") == []
    bob.start_talking()
    floor = recorder.wait_for("/cb", ConferenceAction="floor")[0]
    assert floor["CallUUID"] == bob.uuid
    assert floor["ConferenceMemberID"] == str(member_of(stack, room1, bob.uuid)["id"])


# ----------------------------------------------------------------------- action
def test_redirect_false_fetches_the_action_and_goes_on_with_the_document(
        stack, recorder, sim_only, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(
        room1, after="<Speak>next verb</Speak>", callbackUrl="/cb", action="/act",
        redirect="false", hangupOnStar="true")
    recorder.documents["/act"] = "<Response><Speak>from action</Speak></Response>"
    alice = join(stack, recorder, "alice")
    alice.send_dtmf("*")
    recorder.wait_for("/act", CallUUID=alice.uuid)
    alice.wait_hangup(timeout=15)
    spoken = [h for h in alice.heard if "next verb" in h or "from action" in h]
    assert len(spoken) == 1 and "next verb" in spoken[0]


# ----------------------------------------------------------------------- record
def test_record_wav_sends_a_fetchable_record_url(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(
        room1, callbackUrl="/cb", action="/act", record="true", recordFileFormat="wav")
    recorder.documents["/act"] = "<Response/>"
    alice = join(stack, recorder, "alice")
    bob = join(stack, recorder, "bob")
    assert conferences(stack)[room1]["recording"] is True
    bob.start_talking()
    gevent.sleep(1)
    bob.stop_talking()
    bob.hangup()
    action = recorder.wait_for("/act", CallUUID=bob.uuid)[0]
    alice.hangup()
    record = recorder.wait_for("/cb", ConferenceAction="record")[0]

    assert record["RecordingID"] == action["RecordingID"]
    assert UUID_RE.match(record["RecordingID"])
    assert record["RecordUrl"] == action["RecordUrl"] == (
        f"{stack.api_base}/v1/recordings/{record['RecordingID']}.wav")
    assert record["ConferenceName"] == room1
    assert int(record["RecordingDurationMs"]) > 500
    assert int(record["RecordingEndMs"]) - int(record["RecordingStartMs"]) == int(
        record["RecordingDurationMs"])
    assert record["RecordingDuration"] == str(round(int(record["RecordingDurationMs"]) / 1000))
    assert record["CallUUID"] == alice.uuid  # the member whose join started the recording

    fetched = requests.get(record["RecordUrl"], headers=stack.auth_headers, timeout=5)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "audio/wav"
    assert fetched.content[:4] == b"RIFF" and fetched.content[8:12] == b"WAVE"
    assert requests.get(record["RecordUrl"], timeout=5).status_code == 401


def test_a_recording_started_over_rest_reports_to_the_room_creators_callback(
        stack, recorder, room):
    # Issue 10: a recording started over REST never produced a `record` callback. It now
    # reports to the callbackUrl of the member who created the room (kept in FreeSWITCH
    # as the room's cc_room conference variable, so any controller finds it).
    room1 = room("room1")
    recorder.documents["/answer"] = conference(room1, callbackUrl="/cb")
    alice = join(stack, recorder, "alice")
    started = requests.post(f"{stack.api_base}/v1/conferences/{room1}/record_start",
                            json={"format": "wav"}, headers=stack.auth_headers, timeout=10)
    assert started.status_code == 201, started.text
    recording_id = started.json()["recording"]["recording_id"]
    gevent.sleep(0.5)
    stopped = requests.post(f"{stack.api_base}/v1/conferences/{room1}/record_stop",
                            headers=stack.auth_headers, timeout=10)
    assert stopped.status_code == 200, stopped.text
    [record] = recorder.wait_for("/cb", ConferenceAction="record")
    assert record["RecordingID"] == recording_id
    assert record["ConferenceName"] == room1
    assert record["RecordUrl"] == f"{stack.api_base}/v1/recordings/{recording_id}.wav"
    assert "RecordingError" not in record
    alice.hangup()


def test_transcription_without_an_engine_reports_the_error(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(
        room1, callbackUrl="/cb", record="true", transcriptionType="auto",
        transcriptionUrl="/tx")
    alice = join(stack, recorder, "alice")
    alice.hangup()
    record = recorder.wait_for("/cb", ConferenceAction="record")[0]
    transcription = recorder.wait_for("/tx")[0]
    assert transcription["TranscriptionStatus"] == "failed"
    assert "no transcription engine" in transcription["Error"]
    assert transcription["RecordingID"] == record["RecordingID"]
    assert transcription["Transcription"] == ""


# ----------------------------------------------------------------------- time limit
def test_time_limit_ends_the_room_and_members_continue(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(
        room1, callbackUrl="/cb", action="/act", timeLimit="2")
    recorder.documents["/act"] = '<Response><Wait length="1"/></Response>'
    alice = join(stack, recorder, "alice")
    bob = join(stack, recorder, "bob")
    # FreeSWITCH kicks 1-2.5 s after the limit was set: sched_api adds the seconds to the
    # whole-second epoch (mod_commands.c sched_api_function) and the task thread compares
    # whole seconds, waking at least every 0.5 s (switch_scheduler.c task_thread_loop and
    # switch_queue_pop_timeout(..., 500000)); kick -> del-member takes one 20 ms frame
    # (capture 05a, inbound kicker). Only the room's creator sets the limit (Conference-Size
    # 1 in its add-member), which is why this room must be new: see the room fixture.
    for phone in (alice, bob):
        assert recorder.wait_for("/act", CallUUID=phone.uuid, timeout=10)[0]["CallStatus"] == \
            "in-progress"
    assert room1 not in conferences(stack)


def test_time_limit_and_rooms_survive_a_controller_restart(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(room1, callbackUrl="/cb", timeLimit="4")
    alice = join(stack, recorder, "alice")
    join(stack, recorder, "bob")
    stack.stop_controller_service()
    controller = stack.start_controller_service()
    room = wait_until(lambda: controller.rooms.rooms.get(room1), what="room rebuilt")
    assert len(room.members) == 2
    assert alice.uuid in {m.call_uuid for m in room.members.values()}
    # The limit lives in FreeSWITCH (sched_api), not in the controller that set it.
    wait_until(lambda: room1 not in conferences(stack), timeout=10, what="time limit")


# ----------------------------------------------------------------------- documents
def test_invalid_xml_follows_the_error_path_and_other_calls_carry_on(
        stack, recorder, sim_only, room):
    room1 = room("room1")
    recorder.documents["/answer"] = lambda p: (
        '<Response>\n  <Conference maxMembers="abc">r</Conference>\n</Response>'
        if p["To"] == "666" else conference(room1, callbackUrl="/cb"))
    good = join(stack, recorder, "alice")
    bad = stack.phones.call("666", caller_id="mallory")
    assert bad.wait_hangup(timeout=15) == "NORMAL_CLEARING"
    hangup = recorder.wait_for("/hangup", CallUUID=bad.uuid)[0]
    assert 'answer:2:3 <Conference maxMembers="abc">: maxMembers must be an integer 1-20' in \
        hangup["Error"]
    assert any(h.startswith("tone_stream://") for h in bad.heard)  # the error sound
    assert good.is_up and member_of(stack, room1, good.uuid) is not None


def test_an_answer_url_without_a_document_is_an_error_not_silence(stack, recorder):
    # /answer is not scripted: the application answers 204 with an empty body.
    phone = stack.phones.call("1000", caller_id="alice")
    assert phone.wait_hangup(timeout=15) == "NORMAL_CLEARING"
    hangup = recorder.wait_for("/hangup", CallUUID=phone.uuid)[0]
    assert hangup["Error"].endswith("/answer returned an empty body: no instructions for the call")


def test_hangup_reason_rejects_without_answering(stack, recorder):
    recorder.documents["/answer"] = '<Response><Hangup reason="rejected"/></Response>'
    phone = stack.phones.call("1000", caller_id="alice")
    assert phone.wait_hangup(timeout=10) == "CALL_REJECTED"
    assert recorder.wait_for("/hangup")[0]["HangupCause"] == "CALL_REJECTED"


def test_redirect_replaces_the_document(stack, recorder, room):
    room2 = room("room2")
    recorder.documents["/answer"] = '<Response><Redirect>/next</Redirect><Hangup/></Response>'
    recorder.documents["/next"] = conference(room2, callbackUrl="/cb")
    alice = join(stack, recorder, "alice")
    assert member_of(stack, room2, alice.uuid) is not None
    assert recorder.at("/next")[0]["CallUUID"] == alice.uuid


def test_speak_play_and_wait_before_the_room(stack, recorder, sim_only):
    recorder.files["/hello.wav"] = (_wav(), "audio/wav")
    recorder.documents["/answer"] = (
        '<Response><Speak voice="MAN">hi there</Speak><Play>/hello.wav</Play>'
        '<Wait length="1"/></Response>'
    )
    phone = stack.phones.call("1000", caller_id="alice")
    phone.wait_hangup(timeout=15)
    assert phone.ringing  # 180 while /answer was fetched (the default [app] ringback)
    assert phone.heard[0] == "say:flite|rms|hi there" or "hi there" in phone.heard[0]
    assert phone.heard[1].endswith(".wav")


def _wav(millis: int = 300) -> bytes:
    from controller.demo_app import beep_wav

    return beep_wav(millis=millis)


def test_transcription_engine_gets_the_recording_and_its_text_is_posted(tmp_path, recorder, room):
    from stack import Stack

    room1 = room("room1")
    recorder.documents["/answer"] = conference(
        room1, callbackUrl="/cb", record="true", recordFileFormat="wav",
        transcriptionType="hybrid", transcriptionUrl="/tx", transcriptionMethod="GET")
    settings = {"transcription": {"engine": "transcriber_stub:transcribe"}}
    with Stack(tmp_path, app=recorder.app, settings=settings) as stack:
        alice = join(stack, recorder, "alice")
        gevent.sleep(0.5)
        alice.hangup()
        record = recorder.wait_for("/cb", ConferenceAction="record")[0]
        transcription = recorder.wait_for("/tx")[0]
    assert transcription["method"] == "GET"
    assert transcription["TranscriptionStatus"] == "completed"
    assert transcription["TranscriptionType"] == "hybrid"
    assert transcription["Transcription"].startswith("hybrid transcript of ")
    assert transcription["Transcription"].endswith("starting b'RIFF'")
    assert transcription["RecordingID"] == record["RecordingID"]
    assert "Error" not in transcription


def test_a_recording_freeswitch_cannot_write_is_reported_not_silent(
        tmp_path, recorder, sim_only, room):
    from stack import Stack

    room1 = room("room1")

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the recordings directory should be")
    recorder.documents["/answer"] = conference(
        room1, callbackUrl="/cb", record="true", transcriptionType="auto",
        transcriptionUrl="/tx")
    # FreeSWITCH (here the simulator) is told a path it cannot write; the controller's
    # own view of the directory is fine.
    settings = {"recordings": {"directory": str(blocked / "recordings"),
                               "local_directory": str(tmp_path / "local-recordings")}}
    with Stack(tmp_path, app=recorder.app, settings=settings) as stack:
        join(stack, recorder, "alice")
        record = recorder.wait_for("/cb", ConferenceAction="record")[0]
        transcription = recorder.wait_for("/tx")[0]
        gevent.sleep(0.5)
        assert len(recorder.at("/cb", ConferenceAction="record")) == 1  # once, not twice
    assert record["RecordingError"] == "File could not be opened for recording"
    assert record["RecordingDurationMs"] == "0"
    assert transcription["TranscriptionStatus"] == "failed"
    assert transcription["Error"].startswith("nothing to transcribe")


def test_members_outlive_a_controller_restart_and_their_action_still_runs(stack, recorder, room):
    room1 = room("room1")
    recorder.documents["/answer"] = conference(room1, callbackUrl="/cb", action="/act")
    recorder.documents["/act"] = '<Response><Wait length="1"/></Response>'
    alice = join(stack, recorder, "alice")
    bob = join(stack, recorder, "bob")
    alice_id = str(member_of(stack, room1, alice.uuid)["id"])
    room_uuid = conferences(stack)[room1]["conference_uuid"]

    stack.stop_controller_service()
    gevent.sleep(0.5)
    # The old controller reports nothing: the members are still in the room.
    assert recorder.at("/cb", ConferenceAction="exit") == []
    assert recorder.at("/hangup") == []
    assert alice.is_up and bob.is_up

    stack.start_controller_service()
    assert member_of(stack, room1, alice.uuid) is not None
    stack.api(f"conference {room1} kick {alice_id}")  # alice leaves while nobody held her socket

    exit_ = recorder.wait_for("/cb", ConferenceAction="exit", CallUUID=alice.uuid)[0]
    action = recorder.wait_for("/act", CallUUID=alice.uuid)[0]
    for request in (exit_, action):
        assert request["ConferenceMemberID"] == alice_id
        assert request["ConferenceUUID"] == room_uuid
        assert request["ConferenceName"] == room1
        assert request["CallStatus"] == "in-progress"
    assert alice.wait_hangup(timeout=15) == "NORMAL_CLEARING"  # after the action's Wait
    hangups = recorder.wait_for("/hangup", CallUUID=alice.uuid)
    gevent.sleep(0.3)
    assert len(recorder.at("/hangup", CallUUID=alice.uuid)) == 1
    assert "Error" not in hangups[0]
    assert bob.is_up and member_of(stack, room1, bob.uuid) is not None


def test_a_call_lost_outside_a_room_is_ended_with_an_error_not_restarted(stack, recorder):
    recorder.documents["/answer"] = '<Response><Wait length="4"/></Response>'
    phone = stack.phones.call("1000", caller_id="alice")
    phone.wait_answered(timeout=10)
    gevent.sleep(1)  # inside the Wait: FreeSWITCH finishes it before `socket` returns
    stack.stop_controller_service()
    stack.start_controller_service()
    assert phone.wait_hangup(timeout=15) == "NORMAL_CLEARING"
    hangup = recorder.wait_for("/hangup", CallUUID=phone.uuid)[0]
    assert "cannot be resumed" in hangup["Error"]
    assert len(recorder.at("/answer", CallUUID=phone.uuid)) == 1  # never fetched again
