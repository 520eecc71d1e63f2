"""json_list -> the API's room and member objects, on the real listings of 02a and 03a."""

from __future__ import annotations

import pytest
from api.support import reply_to

from controller.api import listing
from controller.freeswitch import replies

LIVE = "02a_conference_api_live_room.txt"
FLAGS = "03a_flags_mute_and_deaf.txt"
RECORDING_ID = "5f0b8a56-25ad-4c0e-9a6b-0a4f2d3c1e77"


def url_for(recording_id: str, fmt: str) -> str:
    return f"http://ctl/v1/recordings/{recording_id}.{fmt}"


def test_parse_listing_forms():
    assert replies.parse_listing("[]") == []
    assert replies.parse_listing("-ERR no reply\n") == []
    assert len(replies.parse_listing(reply_to(LIVE, "conference json_list"))) == 1
    with pytest.raises(replies.ListingError):
        replies.parse_listing("-ERR Conference x not found\n")
    with pytest.raises(replies.ListingError):
        replies.parse_listing('{"conference_name": "x"}')


def test_conference_view_from_capture():
    [conference] = replies.parse_listing(reply_to(LIVE, "conference roomB json_list compact"))
    view = listing.conference_view(conference, "roomB", 1_000_000.0, url_for)
    assert view == {
        "name": "roomB",
        "conference_uuid": "766ed2c9-32fc-40b6-8249-cb6dca232407",
        "member_count": 3,
        "running_time": 5,
        "started_at": "1970-01-12T13:46:35.000Z",
        "locked": False,
        "recording": False,
        "recordings": [],
    }


def test_member_flags_from_capture_03a():
    # alice joined +flags{mute}, bob +flags{deaf}, carol plain; bob held the floor.
    [conference] = replies.parse_listing(reply_to(FLAGS, "conference roomMD json_list compact"))
    members = listing.members_view(conference, 100.0, {"13": 42.5})
    assert [m["member_id"] for m in members] == [12, 13, 14]  # join order
    alice, bob, carol = members
    assert (alice["caller_id_name"], alice["muted"], alice["deaf"]) == ("alice", True, False)
    assert (bob["muted"], bob["deaf"], bob["has_floor"], bob["talking"]) == \
        (False, True, True, True)
    assert (carol["muted"], carol["deaf"], carol["has_floor"]) == (False, False, False)
    assert alice["call_uuid"] == "7b20ce05-57fd-49d2-8403-6674f65cfed0"
    assert bob["joined_at"] == "1970-01-01T00:00:42.500Z"  # the controller's own time wins
    assert alice["joined_at"] == "1970-01-01T00:01:38.000Z"  # else now - join_time (2 s)
    assert not any(m["on_hold"] or m["moderator"] for m in members)


def test_recording_nodes_become_recordings_without_paths():
    conference = {
        "conference_name": "r", "member_count": 1, "run_time": 3, "recording": True,
        "members": [
            {"type": "recording_node", "record_path": f"/fs/rec/{RECORDING_ID}.wav",
             "status": "paused", "join_time": 1},
            {"type": "recording_node", "record_path": "/elsewhere/auto.wav"},
            {"type": "caller", "id": 9, "flags": {}},
        ],
    }
    view = listing.conference_view(conference, "r", 10.0, url_for)
    assert view["recording"] is True
    assert view["recordings"] == [
        {"recording_id": RECORDING_ID, "format": "wav", "paused": True,
         "url": f"http://ctl/v1/recordings/{RECORDING_ID}.wav"},
        {"recording_id": "auto", "format": "wav", "paused": False, "url": None},
    ]
    assert listing.recording_paths(conference) == [f"/fs/rec/{RECORDING_ID}.wav",
                                                   "/elsewhere/auto.wav"]
    assert [m["member_id"] for m in listing.members_view(conference, 10.0, {})] == [9]


def test_odd_values_do_not_break_the_view():
    view = listing.member_view({"id": "x", "flags": "nope", "join_time": None}, 5.0)
    assert view["member_id"] == 0 and view["muted"] is False
    assert listing.conference_view({"members": "nope"}, "n", 5.0, url_for)["recordings"] == []
