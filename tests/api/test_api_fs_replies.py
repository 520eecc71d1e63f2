"""FreeSWITCH reply texts -> outcomes, checked on the real replies of captures 02a/02c."""

from __future__ import annotations

from api.support import api_replies, reply_to

from controller.freeswitch import replies as fs_replies
from controller.freeswitch.replies import FAILED, NOT_FOUND, OK, MemberOutcome

LIVE = "02a_conference_api_live_room.txt"
NO_ROOM = "02c_conference_api_no_such_room.txt"


def test_every_command_on_a_missing_room_is_room_missing():
    room_commands = [(c, r) for c, r in api_replies(NO_ROOM) if c.startswith("conference nosuch")]
    assert len(room_commands) >= 15
    for command, reply in room_commands:
        assert fs_replies.room_missing(reply), command
    # ...and nothing a live room answers looks like a missing room.
    for command, reply in api_replies(LIVE):
        assert not fs_replies.room_missing(reply), command


def test_one_member_outcomes_from_real_replies():
    for command, member in [("conference roomB mute 5", 5), ("conference roomB unmute 5", 5),
                            ("conference roomB deaf 5", 5), ("conference roomB hold 5", 5),
                            ("conference roomB unhold 5", 5), ("conference roomB kick 5", 5),
                            ("conference roomB dtmf 5 123", 5),
                            ("conference roomB play /usr/local/freeswitch/sounds/test.wav 6", 6)]:
        assert fs_replies.member_outcome(member, reply_to(LIVE, command)) == \
            MemberOutcome(member, OK), command
    missing = fs_replies.member_outcome(9999, reply_to(LIVE, "conference roomB mute 9999"))
    assert missing.status == NOT_FOUND


def test_member_not_found_forms_from_the_source():
    # conference_api.c prints a pointer for the id of a missing play member; uuid_kill
    # (mod_commands.c) says "No such channel".
    assert fs_replies.member_outcome(8, "-ERR Member: 94823472 not found.\n").status == NOT_FOUND
    assert fs_replies.member_outcome(8, "-ERR No such channel!\n").status == NOT_FOUND
    assert fs_replies.member_outcome(8, "+OK\n").status == OK


def test_other_failures_keep_freeswitch_text():
    file_missing = reply_to(LIVE, "conference roomB play /usr/local/freeswitch/sounds/"
                                  "nonexistent.wav")
    outcome = fs_replies.member_outcome(6, file_missing)
    assert outcome.status == FAILED
    assert outcome.message == file_missing.strip()
    usage = reply_to(LIVE, "conference roomB mute")
    assert fs_replies.member_outcome(6, usage).status == FAILED
    assert fs_replies.member_outcome(6, "").message == "FreeSWITCH gave no reply"


def test_all_outcomes_name_every_member_newest_first():
    assert fs_replies.all_member_outcomes(reply_to(LIVE, "conference roomB mute all")) == [
        MemberOutcome(7, OK), MemberOutcome(6, OK), MemberOutcome(5, OK)]
    assert [o.member_id for o in fs_replies.all_member_outcomes(
        reply_to(LIVE, "conference roomB kick all"))] == [7]
    assert fs_replies.all_member_outcomes("-ERR no reply\n") == []


def test_recording_and_playback_replies():
    stopped = reply_to(LIVE, "conference roomB norecord all")
    assert fs_replies.stopped_recordings(stopped) == ["/usr/local/freeswitch/recordings/x.wav"]
    assert fs_replies.stopped_recordings("+OK Stopped recording 0 files\n") == []
    stop_replies = [r for c, r in api_replies(LIVE) if c == "conference roomB stop"]
    assert [fs_replies.stopped_files(r) for r in stop_replies] == [1, 0]
    assert fs_replies.stopped_files("-ERR whatever") is None
    assert fs_replies.ok(reply_to(LIVE, "conference roomB lock"))
