"""play_and_get_digits on the simulator, over a real inbound Event Socket: the argument
line as FreeSWITCH splits it, prompt and collection, terminators, digits pattern,
retries with the invalid sound, the variables and events (controller/sim/read.py cites
the FreeSWITCH 1.11.1 source lines of each behaviour)."""

from __future__ import annotations

import itertools

import gevent
import pytest
from eslwire import login

from controller.freeswitch import apps
from controller.sim import SimConfig, Simulator

PARK = [("answer", None), ("park", None)]
PROMPT = "tone_stream://%(1000,0,440)"  # one second
INVALID = "tone_stream://%(300,0,300)"
_ids = itertools.count(1)


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(
        SimConfig(esl_port=0, time_scale=0.05, recordings_dir=str(tmp_path)),
        dialplan=lambda number: PARK,
    ).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def call(sim):
    phone = sim.phones.call("1000", caller_id="alice")
    phone.wait_answered()
    peer = login(sim.esl_port)
    peer.command("event plain ALL")
    yield phone, peer
    peer.close()


def start(peer, phone, arg: str) -> str:
    """sendmsg execute play_and_get_digits; the Application-UUID to wait for."""
    app_id = f"pagd-{next(_ids)}"
    reply = peer.command(
        f"sendmsg {phone.uuid}\ncall-command: execute\nexecute-app-name: play_and_get_digits\n"
        f"event-uuid: {app_id}\ncontent-type: text/plain\ncontent-length: {len(arg)}\n\n{arg}"
    )
    assert reply.reply_text == "+OK"
    return app_id


def completed(peer, app_id: str, timeout: float = 10.0):
    return peer.wait_event(
        lambda e: e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application-UUID") == app_id,
        timeout,
    )


def playback_started(peer, phone, path: str, after: int = 0):
    def match(e):
        return (e.name == "PLAYBACK_START" and e.get("Unique-ID") == phone.uuid
                and e.get("Playback-File-Path") == path)

    peer.wait_event(match)
    return [e for e in peer.events() if match(e)]


def events_named(peer, phone, name: str) -> list:
    return [e for e in peer.events() if e.name == name and e.get("Unique-ID") == phone.uuid]


def pagd(**given) -> str:
    """The argument line, built by the controller's own command builder."""
    args = {"min_digits": 1, "max_digits": 4, "tries": 1, "timeout_ms": 3000,
            "terminators": "#", "prompts": [PROMPT], "invalid_sound": "", "variable": "pin",
            "regex": "", "digit_timeout_ms": 2000}
    args.update(given)
    return apps.play_and_get_digits(**args).arg


def test_digits_after_the_prompt_end_on_the_terminator(call):
    phone, peer = call
    app_id = start(peer, phone, pagd())
    playback_started(peer, phone, PROMPT)
    peer.wait_event(lambda e: e.name == "PLAYBACK_STOP" and e.get("Unique-ID") == phone.uuid)
    phone.send_dtmf("12#")
    done = completed(peer, app_id)
    assert done.get("variable_pin") == "12"
    assert done.get("variable_read_result") == "success"
    assert done.get("variable_read_terminator_used") == "#"
    assert done.get("Application-Response") == "_none_"
    # Each digit was taken off the queue, where the DTMF event fires.
    assert [e.get("DTMF-Digit") for e in events_named(peer, phone, "DTMF")] == ["1", "2", "#"]
    stop = events_named(peer, phone, "PLAYBACK_STOP")[0]
    assert stop.get("Playback-Status") == "done"


def test_a_digit_during_the_prompt_stops_it_and_is_the_first_digit(call):
    phone, peer = call
    app_id = start(peer, phone, pagd(prompts=["tone_stream://%(20000,0,440)"]))
    playback_started(peer, phone, "tone_stream://%(20000,0,440)")
    phone.send_dtmf("7")
    peer.wait_event(lambda e: e.name == "PLAYBACK_STOP" and e.get("Unique-ID") == phone.uuid)
    assert events_named(peer, phone, "PLAYBACK_STOP")[0].get("Playback-Status") == "break"
    phone.send_dtmf("89")
    done = completed(peer, app_id)  # max_digits 4 not reached: ends on the digit timeout
    assert done.get("variable_pin") == "789"
    assert done.get("variable_read_result") == "timeout"
    assert done.get("variable_read_terminator_used") is None


def test_max_digits_ends_the_input_without_a_terminator(call):
    phone, peer = call
    app_id = start(peer, phone, pagd(max_digits=3, prompts=[]))
    gevent.sleep(0.01)
    phone.send_dtmf("4567")
    done = completed(peer, app_id)
    assert done.get("variable_pin") == "456"
    assert done.get("variable_read_result") == "success"
    # No prompt: "silence" is skipped, nothing is played.
    assert done.get("Application-Data").split()[5] == "silence"
    assert events_named(peer, phone, "PLAYBACK_START") == []


def test_terminators_none_takes_the_hash_as_a_digit(call):
    phone, peer = call
    app_id = start(peer, phone, pagd(terminators="", max_digits=3, prompts=[]))
    phone.send_dtmf("1#2")
    done = completed(peer, app_id)
    assert done.get("variable_pin") == "1#2"
    assert done.get("Application-Data").split()[4] == "none"


def test_a_pattern_failure_plays_the_invalid_sound_and_tries_again(call):
    phone, peer = call
    app_id = start(peer, phone, pagd(tries=2, regex="^1234$", invalid_sound=INVALID,
                                     prompts=[]))
    phone.send_dtmf("99#")
    playback_started(peer, phone, INVALID)
    gevent.sleep(0.05)
    phone.send_dtmf("1234")
    done = completed(peer, app_id)
    assert done.get("variable_pin") == "1234"
    assert done.get("variable_pin_invalid") == "99"  # the first try's digits


def test_no_input_on_every_try_leaves_no_digits(call):
    phone, peer = call
    app_id = start(peer, phone, pagd(tries=3, invalid_sound=INVALID, timeout_ms=1000))
    done = completed(peer, app_id)
    assert done.get("variable_pin") is None
    assert done.get("variable_read_result") == "failure"  # too few digits: none
    started = [e.get("Playback-File-Path") for e in events_named(peer, phone, "PLAYBACK_START")]
    # prompt and invalid sound for each try: the invalid sound follows the last try too
    assert started == [PROMPT, INVALID] * 3


def test_digits_pressed_during_the_invalid_sound_wait_for_the_next_try(call):
    phone, peer = call
    app_id = start(peer, phone, pagd(tries=2, regex="^5", prompts=["tone_stream://%(20000,0,440)"],
                                     invalid_sound="tone_stream://%(20000,0,300)"))
    playback_started(peer, phone, "tone_stream://%(20000,0,440)")
    phone.send_dtmf("1#")  # breaks the prompt; fails the pattern
    playback_started(peer, phone, "tone_stream://%(20000,0,300)")
    phone.send_dtmf("5")  # queued: the invalid sound has no input arguments
    phone.send_dtmf("55#")
    done = completed(peer, app_id)
    # The second try's prompt took the queued digit as its first one.
    assert done.get("variable_pin") == "555"
    # The invalid sound played to its end: the digit was dequeued (its DTMF event) only
    # after it stopped, by the next prompt.
    mine = [e for e in peer.events() if e.get("Unique-ID") == phone.uuid]
    stop_invalid = next(i for i, e in enumerate(mine) if e.name == "PLAYBACK_STOP"
                        and e.get("Playback-File-Path") == "tone_stream://%(20000,0,300)")
    first_five = next(i for i, e in enumerate(mine) if e.name == "DTMF"
                      and e.get("DTMF-Digit") == "5")
    assert mine[stop_invalid].get("Playback-Status") == "done"
    assert first_five > stop_invalid


def test_quoted_prompts_with_spaces_reach_the_phone_whole(call):
    phone, peer = call
    speech = "tts://flite|kal|Enter your conference PIN, then press pound"
    arg = pagd(prompts=[speech, "silence_stream://500"])
    assert f"'file_string://{speech}!silence_stream://500'" in arg
    app_id = start(peer, phone, arg)
    playback_started(peer, phone, f"file_string://{speech}!silence_stream://500")
    phone.send_dtmf("42#")
    done = completed(peer, app_id)
    assert done.get("variable_pin") == "42"
    assert f"file_string://{speech}!silence_stream://500" in phone.heard


def test_a_single_key_read_of_the_terminator_reads_nothing(call):
    phone, peer = call
    app_id = start(peer, phone, pagd(max_digits=1, prompts=["tone_stream://%(20000,0,440)"],
                                     timeout_ms=1000))
    playback_started(peer, phone, "tone_stream://%(20000,0,440)")
    phone.send_dtmf("#")  # breaks the prompt as the first "digit"; then cleared
    done = completed(peer, app_id)
    assert done.get("variable_pin") is None


def test_uuid_break_cuts_the_prompt_but_not_the_collection(call):
    phone, peer = call
    app_id = start(peer, phone, pagd(prompts=["tone_stream://%(20000,0,440)"],
                                     timeout_ms=20000))
    playback_started(peer, phone, "tone_stream://%(20000,0,440)")
    assert peer.api(f"uuid_break {phone.uuid}").startswith("+OK")
    peer.wait_event(lambda e: e.name == "PLAYBACK_STOP" and e.get("Unique-ID") == phone.uuid)
    # Still collecting: a second break changes nothing, digits are still read.
    peer.api(f"uuid_break {phone.uuid}")
    phone.send_dtmf("31#")
    done = completed(peer, app_id)
    assert done.get("variable_pin") == "31"


def test_defaults_of_a_short_argument_line(call):
    phone, peer = call
    # "<min> <max>": tries 0 -> no try at all (switch_play_and_get_digits loops while
    # max_tries), so nothing is played or read.
    app_id = start(peer, phone, "1 2")
    done = completed(peer, app_id)
    assert done.get("variable_read_result") is None
    assert events_named(peer, phone, "PLAYBACK_START") == []
