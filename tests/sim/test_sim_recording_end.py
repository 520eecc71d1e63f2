"""What FreeSWITCH fires when the last member leaves a room that is being recorded.

From mod_conference's source (v1.11.1), which the simulator follows:

- The recorder is a member without a channel, not counted in Conference-Size
  (conference_member.c conference_member_add: count++ only without MFLAG_NOCHANNEL).
- Its thread (conference_record.c conference_record_thread_run) loops while
  ``count + count_ghosts > 0`` (line 331); when the last member's del-member leaves
  the count at 0 it leaves the loop, closes the file and fires ``stop-recording``
  (lines 427-431) through conference_event_add_data, which merges the conference's
  variables (``conference <room> setvar``) into the event (conference_event.c 752-754).
- The conference thread destroys the room only after taking the conference's write lock
  (mod_conference.c 844), which waits for the read lock the record thread holds from
  its start (conference_record.c 173) to its end (474); ``conference-destroy`` follows
  (mod_conference.c 860-863).

So: del-member (Conference-Size 0), stop-recording carrying every setvar, then
conference-destroy. Capture 03i shows this order for an auto-recording (Event-Sequence
1989 stop-recording, 1990 conference-destroy, same Event-Date-Timestamp).
"""

from __future__ import annotations

import pytest
from eslwire import login

from controller.sim import SimConfig, Simulator
from controller.sim.dialplan import capture_extension

SCALE = 0.05


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(
        SimConfig(esl_port=0, time_scale=SCALE, recordings_dir=str(tmp_path)),
        dialplan=lambda number: capture_extension(number, "/tmp"),
    ).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def esl(sim):
    peer = login(sim.esl_port)
    peer.command("event plain CUSTOM conference::maintenance")
    yield peer
    peer.close()


def _room_actions(esl, room: str) -> list:
    return [e for e in esl.events() if e.get("Conference-Name") == room and e.action]


def test_last_member_leaving_a_recorded_room_stops_the_recording_then_destroys(
        sim, esl, tmp_path):
    alice = sim.phones.call("direct-recend", caller_id="alice")
    alice.wait_answered()
    esl.wait_event(lambda e: e.action == "add-member", 5)
    path = str(tmp_path / "recend.wav")
    # What the controller does: the callback travels with the room as a variable.
    assert esl.api("conference recend setvar cc_rec_0a1b POST|1|uuid|http://app/cb") == "+OK\n"
    assert esl.api(f"conference recend record {path}") == f"+OK Record file {path}\n"
    esl.wait_event(lambda e: e.action == "start-recording", 5)

    alice.hangup()
    esl.wait_event(lambda e: e.action == "conference-destroy", 5)
    events = _room_actions(esl, "recend")
    tail = [e.action for e in events][-3:]
    assert tail == ["del-member", "stop-recording", "conference-destroy"]
    left, stop, destroy = events[-3:]
    assert left.get("Conference-Size") == "0" == stop.get("Conference-Size")
    assert stop.get("Path") == path
    assert stop.get("Other-Recordings") == "false"
    # conference_event_add_data merges the conference variables into both events.
    assert stop.get("cc_rec_0a1b") == "POST|1|uuid|http://app/cb"
    assert destroy.get("cc_rec_0a1b") == "POST|1|uuid|http://app/cb"
    assert int(stop.get("Event-Sequence")) < int(destroy.get("Event-Sequence"))


def test_record_after_the_last_member_left_is_refused_like_a_missing_room(sim, esl, tmp_path):
    # conference_find treats a room marked CFLAG_DESTRUCT as absent (mod_conference.c,
    # conference_find), so a `record` that arrives after the last del-member gets the
    # "not found" reply (capture 02c) and fires nothing: no start- or stop-recording.
    # The member's own thread flags the room right after firing its del-member
    # (mod_conference.c 2573-2574, conference_function: CFLAG_DYNAMIC and count 0 ->
    # CFLAG_DESTRUCT); a client that waits for the del-member is answered "not found".
    alice = sim.phones.call("direct-recgone", caller_id="alice")
    alice.wait_answered()
    esl.wait_event(lambda e: e.action == "add-member", 5)
    alice.hangup()
    esl.wait_event(lambda e: e.action == "del-member", 5)
    path = str(tmp_path / "recgone.wav")
    reply = esl.api(f"conference recgone record {path}")
    esl.wait_event(lambda e: e.action == "conference-destroy", 5)
    assert reply == "-ERR Conference recgone not found\n"
    assert "start-recording" not in [e.action for e in _room_actions(esl, "recgone")]
