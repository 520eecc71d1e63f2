"""The phone API and the conference model, observed over a raw inbound ESL socket."""

from __future__ import annotations

import time
import wave

import gevent
import pytest
from eslwire import login

from controller.sim import PhoneError, SimConfig, Simulator
from controller.sim.dialplan import capture_extension

SCALE = 0.05  # media and floor timers run 20x faster; replies and events are unchanged


def dialplan(number: str) -> list:
    if number == "slow":  # rings for a (simulated) second before answering
        return [("sleep", "1000"), ("answer", None), ("park", None)]
    if number == "park":
        return [("answer", None), ("park", None)]
    return capture_extension(number, "/tmp") or [("answer", None), ("park", None)]


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(
        SimConfig(esl_port=0, time_scale=SCALE, recordings_dir=str(tmp_path)), dialplan=dialplan
    ).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def esl(sim):
    peer = login(sim.esl_port)
    peer.command("event plain ALL")
    yield peer
    peer.close()


def actions(peer, room: str | None = None) -> list[str]:
    return [
        e.action
        for e in peer.events()
        if e.name == "CUSTOM" and e.action and (room is None or e.get("Conference-Name") == room)
    ]


def wait_action(peer, action: str, timeout: float = 5.0, **headers: str):
    return peer.wait_event(
        lambda e: (
            e.action == action and all(e.get(k.replace("_", "-")) == v for k, v in headers.items())
        ),
        timeout,
    )


# ------------------------------------------------------------ phones
def test_call_answer_hangup_and_the_channel_events(sim, esl):
    phone = sim.phones.call("park", caller_id="alice", caller_name="Alice")
    assert len(phone.uuid) == 36 and phone.call_id.endswith("@127.0.0.1")
    phone.wait_answered(timeout=5)
    assert phone.is_up
    assert esl.api(f"uuid_exists {phone.uuid}") == "true"
    assert esl.api(f"uuid_getvar {phone.uuid} caller_id_name") == "Alice"
    phone.hangup()
    assert phone.wait_hangup(timeout=5) == "NORMAL_CLEARING"
    assert not phone.is_up
    esl.wait_event(lambda e: e.name == "CHANNEL_DESTROY")
    names = [e.name for e in esl.events() if e.get("Unique-ID") == phone.uuid]
    for expected in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_PARK", "CHANNEL_HANGUP",
                     "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"):  # fmt: skip
        assert expected in names
    assert (
        names.index("CHANNEL_CREATE")
        < names.index("CHANNEL_ANSWER")
        < names.index("CHANNEL_HANGUP")
        < names.index("CHANNEL_DESTROY")
    )
    complete = next(e for e in esl.events() if e.name == "CHANNEL_HANGUP_COMPLETE")
    assert complete.get("variable_sip_hangup_disposition") == "recv_bye"
    with pytest.raises(PhoneError, match="call is down"):
        phone.start_talking()
    phone.hangup()  # a second hangup does nothing


def test_hanging_up_before_the_answer_cancels(sim, esl):
    phone = sim.phones.call("slow", caller_id="carol")
    with pytest.raises(TimeoutError, match="not answered"):
        phone.wait_answered(timeout=0.01)
    phone.hangup()
    assert phone.wait_hangup() == "ORIGINATOR_CANCEL"
    event = esl.wait_event(lambda e: e.name == "CHANNEL_HANGUP_COMPLETE")
    assert event.get("variable_sip_hangup_disposition") == "recv_cancel"
    assert event.get("Hangup-Cause") == "ORIGINATOR_CANCEL"


def test_uuid_kill_and_a_bad_uuid(sim, esl):
    phone = sim.phones.call("park")
    phone.wait_answered()
    assert esl.api(f"uuid_kill {phone.uuid} USER_BUSY") == "+OK\n"
    assert phone.wait_hangup() == "USER_BUSY"
    assert esl.api(f"uuid_kill {phone.uuid}") == "-ERR No such channel!\n"
    assert esl.api("uuid_getvar nosuch x") == "-ERR No such channel!\n"


def test_bad_phone_input_is_refused_with_the_reason(sim):
    with pytest.raises(ValueError, match="number"):
        sim.phones.call("has space")
    with pytest.raises(ValueError, match="caller_id"):
        sim.phones.call("1000", caller_id="a@b")
    phone = sim.phones.call("park")
    phone.wait_answered()
    with pytest.raises(ValueError, match="DTMF digits"):
        phone.send_dtmf("12x")


def test_uuid_transfer_moves_a_parked_call_into_a_room(sim, esl):
    phone = sim.phones.call("park", caller_id="alice")
    phone.wait_answered()
    assert esl.api(f"uuid_transfer {phone.uuid} direct-moved") == "+OK\n"
    wait_action(esl, "add-member", Conference_Name="moved")
    state = sim.conference_state("moved")
    assert [m["uuid"] for m in state["members"]] == [phone.uuid]


def test_sched_api_runs_later_and_sched_del_cancels(sim, esl):
    first = sim.phones.call("park")
    second = sim.phones.call("park")
    first.wait_answered()
    second.wait_answered()
    # +20 simulated seconds = 1 s here
    assert esl.api(f"sched_api +20 killers uuid_kill {first.uuid}") == "+OK Added: 1\n"
    assert esl.api(f"sched_api +20 keepers uuid_kill {second.uuid}") == "+OK Added: 2\n"
    listing = esl.api("show tasks")
    assert listing.startswith(
        "task_id,task_desc,task_group,task_runtime,task_sql_manager,hostname\n"
    )
    assert listing.endswith("\n\n2 total.\n") and ",killers," in listing
    assert esl.api("sched_del keepers") == "+OK Deleted: 1\n"
    assert esl.api("sched_del 99") == "+OK Deleted: 0\n"
    assert first.wait_hangup(timeout=5) == "NORMAL_CLEARING"
    gevent.sleep(0.1)
    assert second.is_up
    assert esl.api("show tasks") == "\n0 total.\n"


def test_show_channels_as_json_lists_live_channels(sim, esl):
    import json

    phone = sim.phones.call("park", caller_id="alice")
    phone.wait_answered()
    rows = json.loads(esl.api("show channels as json"))
    assert rows["row_count"] == 1
    row = rows["rows"][0]
    assert (row["uuid"], row["cid_num"], row["dest"], row["callstate"]) == (
        phone.uuid, "alice", "park", "ACTIVE",
    )  # fmt: skip
    phone.hangup()
    phone.wait_gone()
    assert esl.api("show channels as json") == '{"row_count": 0}\n'
    assert esl.api("show channels count") == "\n0 total.\n"


# ------------------------------------------------------------ conference model
def test_room_lifecycle_talking_floor_and_state(sim, esl):
    alice = sim.phones.call("direct-r1", caller_id="alice")
    wait_action(esl, "floor-change", Caller_Caller_ID_Name="alice")  # the first member's
    bob = sim.phones.call("direct-r1", caller_id="bob")
    bob.wait_answered()
    wait_action(esl, "add-member", Caller_Caller_ID_Name="bob")
    state = sim.conference_state("r1")
    assert state["count"] == 2 and state["profile"] == "default"
    ids = {m["caller_id"]: m["id"] for m in state["members"]}
    assert state["floor_holder"] == ids["alice"]

    bob.start_talking()
    wait_action(esl, "start-talking", Member_ID=str(ids["bob"]))
    floor = wait_action(esl, "floor-change", New_ID=str(ids["bob"]))
    assert floor.get("Old-ID") == str(ids["alice"])
    talking = {m["caller_id"]: m["talking"] for m in sim.conference_state("r1")["members"]}
    assert talking == {"alice": False, "bob": True}
    bob.stop_talking()
    wait_action(esl, "stop-talking", Member_ID=str(ids["bob"]))

    assert esl.api(f"conference r1 mute {ids['bob']}") == f"+OK mute {ids['bob']}\n"
    bob_state = next(m for m in sim.conference_state("r1")["members"] if m["caller_id"] == "bob")
    assert bob_state["muted"] is True
    before = actions(esl).count("start-talking")
    bob.start_talking()  # a muted member never starts talking
    gevent.sleep(20 * 0.02 * SCALE + 0.05)
    assert actions(esl).count("start-talking") == before

    alice.hangup()
    bob.hangup()
    wait_action(esl, "conference-destroy", Conference_Name="r1")
    assert sim.conference_state("r1") is None
    assert sim.rooms() == []


def test_member_selectors_and_reply_texts(sim, esl):
    for name in ("a1", "a2", "a3"):
        sim.phones.call("direct-sel", caller_id=name)
        wait_action(esl, "add-member", Caller_Caller_ID_Name=name)
    ids = {m["caller_id"]: m["id"] for m in sim.conference_state("sel")["members"]}
    a1, a2, a3 = ids["a1"], ids["a2"], ids["a3"]
    # atoi(): "1,2" selects only the first id, like FreeSWITCH
    assert esl.api(f"conference sel mute {a1},{a2}") == f"+OK mute {a1}\n"
    # "all" walks the member list newest first; "last" is the newest member
    assert (
        esl.api("conference sel unmute all")
        == f"+OK unmute {a3}\n+OK unmute {a2}\n+OK unmute {a1}\n"
    )
    assert esl.api("conference sel deaf last") == f"+OK deaf {a3}\n"
    assert esl.api("conference sel kick caller_id_number=a2") == f"+OK kicked {a2}\n"
    assert esl.api("conference sel mute 999") == "-ERR Non-Existant ID 999\n"
    wait_action(esl, "del-member", Member_ID=str(a2))  # the kicked member leaves on its own thread
    assert esl.api("conference sel count") == "2"
    assert esl.api("conference sel bogus") == "-ERR Conference command 'bogus' not found.\n"


def test_dtmf_caller_controls_and_binding_realms(sim, esl):
    phone = sim.phones.call("ctl-keys", caller_id="alice")  # caller controls group capctl
    phone.wait_answered()
    wait_action(esl, "add-member")
    phone.send_dtmf("0")
    wait_action(esl, "mute-member")
    digit = esl.wait_event(lambda e: e.name == "DTMF")
    assert (digit.get("DTMF-Digit"), digit.get("DTMF-Source")) == ("0", "RTP")
    assert not any(k.startswith("variable_") for k, _ in digit.pairs)

    bound = sim.phones.call("dtmfbind-keys", caller_id="bob")
    bound.wait_answered()
    wait_action(esl, "add-member", Caller_Caller_ID_Name="bob")
    bound.send_dtmf("1")
    match = wait_action(esl, "digits-match")
    assert (match.get("Digits"), match.get("Unique-ID")) == ("1", bound.uuid)
    bound.send_dtmf("*")  # api:conference keys kick last
    wait_action(esl, "kick-member", Caller_Caller_ID_Name="bob")


def test_play_to_room_and_member_is_heard_and_timed(sim, esl):
    alice = sim.phones.call("direct-snd", caller_id="alice")
    alice.wait_answered()
    wait_action(esl, "add-member")
    member = sim.conference_state("snd")["members"][0]["id"]
    tone = "tone_stream://%(1000,0,440)"
    assert esl.api(f"conference snd play {tone}") == f"+OK (play) Playing file {tone}\n"
    started = time.monotonic()
    wait_action(esl, "play-file-done", File=tone)
    assert time.monotonic() - started >= 1.0 * SCALE * 0.9
    assert esl.api(f"conference snd play silence_stream://100 {member}") == (
        f"+OK (play) Playing file silence_stream://100 to member {member}\n"
    )
    wait_action(esl, "play-file-member-done")
    assert alice.heard == [tone, "silence_stream://100"]
    assert esl.api("conference snd play /nonexistent.wav") == (
        "-ERR (play) File: /nonexistent.wav not found.\n"
    )


def test_recordings_are_real_audio_files(sim, esl, tmp_path):
    alice = sim.phones.call("direct-rec", caller_id="alice")
    alice.wait_answered()
    wait_action(esl, "add-member")
    wav_path, mp3_path = tmp_path / "room.wav", tmp_path / "room.mp3"
    assert esl.api(f"conference rec record {wav_path}") == f"+OK Record file {wav_path}\n"
    esl.api(f"conference rec record {mp3_path}")
    wait_action(esl, "start-recording", Path=str(wav_path))
    alice.start_talking()
    gevent.sleep(40 * 0.02 * SCALE)
    alice.stop_talking()
    gevent.sleep(60 * 0.02 * SCALE)
    # the count comes from the recorder threads that already ended: none yet
    assert esl.api(f"conference rec norecord {wav_path}") == (
        f"Stopped recording file {wav_path}\n+OK Stopped recording 0 files\n"
    )
    stop = wait_action(esl, "stop-recording", Path=str(wav_path))
    assert int(stop.get("Milliseconds-Elapsed")) > 1000
    assert esl.api("conference rec norecord all").startswith("Stopped recording file")
    wait_action(esl, "stop-recording", Path=str(mp3_path))
    with wave.open(str(wav_path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        seconds = wav.getnframes() / 8000
    assert seconds == pytest.approx(int(stop.get("Milliseconds-Elapsed")) / 1000, abs=0.1)
    mp3 = mp3_path.read_bytes()
    assert mp3[:3] == b"ID3" and b"\xff\xe3" in mp3


def test_churn_talking_produces_talking_events_through_the_normal_path(sim, esl):
    phones = [sim.phones.call("direct-churn", caller_id=f"p{n}") for n in range(3)]
    for phone in phones:
        phone.wait_answered()
    wait_action(esl, "add-member", Caller_Caller_ID_Name="p2")
    toggles = sim.churn_talking("churn", cycles=2, interval=60 * 0.02 * SCALE)
    assert toggles == 6
    gevent.sleep(60 * 0.02 * SCALE)
    seen = actions(esl, "churn")
    assert seen.count("start-talking") == 3 and seen.count("stop-talking") == 3
    with pytest.raises(ValueError, match="no conference"):
        sim.churn_talking("nosuchroom", 1)


def test_stop_closes_every_socket(tmp_path):
    sim = Simulator(SimConfig(esl_port=0, time_scale=SCALE), dialplan=dialplan).start()
    peer = login(sim.esl_port)
    phone = sim.phones.call("park")
    phone.wait_answered()
    sim.stop()
    peer.wait_closed()
    assert not phone.is_up
    with pytest.raises(RuntimeError, match="stopped"):
        sim.phones.call("park")
