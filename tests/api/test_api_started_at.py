"""A room's started_at: fixed for the life of the room, never after its first member joined."""

from __future__ import annotations

import gevent
from stack import Stack

from controller.api import listing

ROOM = b'<Response><Conference callbackUrl="/cb">standup</Conference></Response>'


def app(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/xml")])
    return [ROOM]


def test_started_at_prefers_what_the_controller_saw():
    conference = {"run_time": 7}
    assert listing.started_at(conference, 1000.4, 993.9, {"1": 994.0}) == 993.9
    # nothing seen (another controller's room): json_list's whole seconds
    assert listing.started_at(conference, 1000.4, None, {}) == 1000.4 - 7
    # never later than a member's join
    assert listing.started_at(conference, 1000.4, None, {"1": 992.5}) == 992.5


def test_started_at_does_not_move_between_requests(tmp_path):
    with Stack(tmp_path, app=app) as stack:
        stack.phones.call("1000", caller_id="alice")
        stack.requests.wait_for("/cb", ConferenceAction="enter")
        first = stack.rest("GET", "/v1/conferences/standup").json()
        gevent.sleep(1.2)  # FreeSWITCH's run_time counts whole seconds: let it tick
        second = stack.rest("GET", "/v1/conferences/standup").json()
        listed = stack.rest("GET", "/v1/conferences").json()
    assert second["running_time"] > first["running_time"]
    assert first["started_at"] == second["started_at"]
    [room] = [r for r in listed["conferences"] if r["name"] == "standup"]
    assert room["started_at"] == first["started_at"]
    assert first["started_at"] <= min(m["joined_at"] for m in first["members"])
