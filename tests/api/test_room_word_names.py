"""Rooms named after the conference API's global words (list, count, help...).

Capture 07g (tests/data/captures/07g/) is the ground truth: FreeSWITCH looks up a
room by the first word, case-sensitively, and only when none exists runs
``list``/``count``/``json_list``/``xml_list``/``help``/``commands`` as global
commands, ignoring the rest of the line. First the simulator is held to that
capture (its replies, replayed command by command); then the product is run end to
end with rooms called ``list``, ``count`` and ``help``: the REST API answers 404 for
such a room while it does not exist (not every room's listing, not "ended"), and
join, list, kick and end work once it does.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from flask import Flask, Response, request
from stack import Stack, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from replay import Replay, Scenario, Step, reply_text  # noqa: E402

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures" / "07g"
CAPTURE = "07g_conference_words_as_room_names.txt"
# The capture's callers (its annotations and add-member times, in capture seconds).
CALLERS = [(0.10, "alice", "room7g"), (0.73, "lisa", "list"), (0.87, "carl", "count"),
           (0.99, "hank", "help"), (1.13, "jon", "json_list"), (1.26, "xena", "xml_list"),
           (1.38, "cora", "commands")]
_ROOM_BLOCK = re.compile(r"^\+OK Conference .*\n(?:[^+].*\n)*", re.M)


def global_list_blocks(text: str) -> str:
    """A global ``conference list`` lists rooms in mod_conference's hash order, which is
    not the order they were made in and not modelled by the simulator: compare the
    rooms' blocks as a set."""
    blocks = _ROOM_BLOCK.findall(text)
    if not blocks or "".join(blocks) != text:
        return text
    return "".join(sorted(blocks))


def test_the_simulator_answers_the_07g_commands_as_freeswitch_did(tmp_path):
    scenario = Scenario(CAPTURE, steps=[Step(at, who, "call", f"direct-{room}")
                                        for at, who, room in CALLERS])
    replay = Replay(scenario, CAPTURES, tmp_path)
    capture, simulator, _, _ = replay.run()
    sent = [r.data for r in replay.records if r.direction == "sent"]
    want, got = capture.replies(), simulator.replies()
    assert len(got) == len(want)
    compared = 0
    for n, (c, s) in enumerate(zip(want, got, strict=True)):
        command = sent[n]
        if not command.startswith(b"api conference"):
            continue
        expected = global_list_blocks(reply_text(c, command))
        actual = global_list_blocks(reply_text(s, command))
        assert actual == expected, f"reply to {command.strip()!r} differs"
        compared += 1
    assert compared == 35  # every `api conference ...` of the capture


# ----------------------------------------------------------------------- end to end
def plivo_app() -> Flask:
    app = Flask("words-app")

    @app.route("/<path:path>", methods=["GET", "POST"])
    def serve(path: str) -> Response:
        if path == "answer":
            room = request.values["To"].split("-", 1)[1]
            return Response(f'<Response><Conference callbackUrl="/cb" action="/act">{room}'
                            "</Conference></Response>", mimetype="application/xml")
        return Response(status=204)

    return app


@pytest.fixture
def stack(tmp_path):
    with Stack(tmp_path, app=plivo_app()) as running:
        yield running


@pytest.mark.parametrize("word", ["list", "count", "help"])
def test_a_missing_room_named_after_a_word_is_404(stack, word):
    other = stack.phones.call("room-ordinary", caller_id="alice")  # some other room exists
    stack.requests.wait_for("/cb", ConferenceAction="enter", CallUUID=other.uuid)
    answer = stack.rest("GET", f"/v1/conferences/{word}")
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"] == "conference_not_found"
    assert "ordinary" not in answer.text  # not the other rooms' listing
    for action in ("end", "lock", "record_stop"):
        answer = stack.rest("POST", f"/v1/conferences/{word}/{action}")
        assert answer.status_code == 404, (action, answer.text)
        assert answer.json()["error"] == "conference_not_found"
    answer = stack.rest("POST", f"/v1/conferences/{word}/members/all/mute")
    assert answer.status_code == 404
    # Nothing happened to the room that exists.
    detail = stack.rest("GET", "/v1/conferences/ordinary").json()
    assert detail["member_count"] == 1 and detail["locked"] is False
    assert detail["members"][0]["muted"] is False


def test_rooms_named_list_count_and_help_work_end_to_end(stack):
    phones = {}
    for word in ("list", "count", "help"):
        for caller in ("alice", "bob"):
            phone = stack.phones.call(f"room-{word}", caller_id=f"{caller}-{word}")
            stack.requests.wait_for("/cb", ConferenceAction="enter", CallUUID=phone.uuid)
            phones[(word, caller)] = phone
    listed = {c["name"]: c for c in stack.rest("GET", "/v1/conferences").json()["conferences"]}
    assert {name: c["member_count"] for name, c in listed.items()} == \
        {"list": 2, "count": 2, "help": 2}
    for word in ("list", "count", "help"):
        detail = stack.rest("GET", f"/v1/conferences/{word}")
        assert detail.status_code == 200, detail.text
        body = detail.json()
        assert body["name"] == word
        callers = {m["caller_id_number"]: m["member_id"] for m in body["members"]}
        assert set(callers) == {f"alice-{word}", f"bob-{word}"}
        # Kick one member of this room only.
        kicked = stack.rest("POST", f"/v1/conferences/{word}/members/"
                                    f"{callers[f'alice-{word}']}/kick")
        assert kicked.status_code == 200, kicked.text
        stack.requests.wait_for("/act", CallUUID=phones[(word, "alice")].uuid)
        wait_until(lambda w=word: stack.rest("GET", f"/v1/conferences/{w}").json()
                   ["member_count"] == 1, what=f"alice left {word}")
        done = ("list", "count", "help")[:("list", "count", "help").index(word) + 1]
        counts = {c["name"]: c["member_count"]
                  for c in stack.rest("GET", "/v1/conferences").json()["conferences"]}
        assert counts == {w: 1 if w in done else 2 for w in ("list", "count", "help")}
    for word in ("list", "count", "help"):
        ended = stack.rest("POST", f"/v1/conferences/{word}/end")
        assert ended.status_code == 200, ended.text
        assert [m["status"] for m in ended.json()["members"]] == ["ok"]
        stack.requests.wait_for("/act", CallUUID=phones[(word, "bob")].uuid)
        wait_until(lambda w=word: stack.rest("GET", f"/v1/conferences/{w}").status_code == 404,
                   what=f"room {word} gone")
    assert stack.rest("GET", "/v1/conferences").json()["conferences"] == []
