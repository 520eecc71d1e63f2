"""Live control of calls over the native REST API, on the simulator through the real wire.

Every command goes to the call's own greenlet (CallSession.submit): a redirect
interrupts a playing Speak, and a call in a room leaves it (exit callback, no action
request) before the new document runs; hang up works in and out of rooms; play and
speak in a room reach that member only; DTMF reaches the call's phone.
"""

from __future__ import annotations

import pytest
from flask import Flask, Response, request
from stack import Stack, wait_until

from controller.media import BEEP_TWO

ENDLESS_SPEAK = '<Response><Speak loop="0">please hold the line</Speak></Response>'


def plivo_app(documents: dict[str, str]) -> Flask:
    """``documents[path]`` answers ``path``; ``/answer`` by dialed number (``/answer/<To>``)."""
    app = Flask("calls-app")

    @app.route("/<path:path>", methods=["GET", "POST"])
    def serve(path: str) -> Response:
        key = "/" + path
        if key == "/answer":
            key = f"/answer/{request.values.get('To', '')}"
        document = documents.get(key)
        if document is None:
            return Response(status=204)
        return Response(document, mimetype="application/xml")

    return app


def room_doc(room: str) -> str:
    return (f'<Response><Conference callbackUrl="/cb" action="/act">{room}</Conference>'
            "</Response>")


@pytest.fixture
def documents() -> dict[str, str]:
    return {
        "/answer/1000": room_doc("callsroom"),
        "/answer/2000": ENDLESS_SPEAK,
        "/next": "<Response><Speak>the new document</Speak><Wait length=\"30\"/></Response>",
    }


@pytest.fixture
def stack(tmp_path, documents):
    with Stack(tmp_path, app=plivo_app(documents)) as running:
        yield running


def in_room(stack, caller: str):
    phone = stack.phones.call("1000", caller_id=caller)
    phone.wait_answered(timeout=10)
    stack.requests.wait_for("/cb", ConferenceAction="enter", CallUUID=phone.uuid)
    return phone


def speaking(stack, caller: str):
    phone = stack.phones.call("2000", caller_id=caller)
    phone.wait_answered(timeout=10)
    wait_until(lambda: any("please hold the line" in h for h in phone.heard), what="the Speak")
    return phone


def command(stack, call_id: str, action: str, body: dict | None = None):
    return stack.rest("POST", f"/v1/calls/{call_id}/{action}", json=body)


def test_list_and_get_live_calls(stack):
    alice = in_room(stack, "alice")
    bob = speaking(stack, "bob")
    listed = stack.rest("GET", "/v1/calls")
    assert listed.status_code == 200
    calls = {c["uuid"]: c for c in listed.json()["calls"]}
    assert set(calls) == {alice.uuid, bob.uuid}
    [enter] = stack.requests.at("/cb", ConferenceAction="enter", CallUUID=alice.uuid)
    assert calls[alice.uuid] == {
        "uuid": alice.uuid, "call_id": alice.uuid, "dialect": "plivo", "from": "alice",
        "caller_name": alice.caller_name, "to": "1000", "direction": "inbound",
        "room": "callsroom", "member_id": int(enter.params["ConferenceMemberID"]),
    }
    assert calls[bob.uuid]["room"] is None and calls[bob.uuid]["member_id"] is None
    assert stack.rest("GET", f"/v1/calls/{bob.uuid}").json() == calls[bob.uuid]
    missing = stack.rest("GET", "/v1/calls/no-such-call")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    bad = stack.rest("GET", "/v1/calls/a%20b")
    assert bad.status_code == 422 and bad.json()["field"] == "path.call_id"
    bob.hangup()
    wait_until(lambda: [c["uuid"] for c in stack.rest("GET", "/v1/calls").json()["calls"]]
               == [alice.uuid], what="bob gone from the list")


def test_redirect_interrupts_a_playing_speak(stack):
    bob = speaking(stack, "bob")
    answer = command(stack, bob.uuid, "redirect", {"url": stack.app_url + "/next"})
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"call_id": bob.uuid, "uuid": bob.uuid, "action": "redirect",
                             "status": "accepted"}
    [fetched] = stack.requests.wait_for("/next", CallUUID=bob.uuid)
    assert fetched.method == "POST"
    wait_until(lambda: any("the new document" in h for h in bob.heard), what="the new document")
    assert bob.is_up


def test_redirect_takes_a_call_out_of_its_room_without_the_action(stack, documents):
    alice = in_room(stack, "alice")
    carol = in_room(stack, "carol")
    answer = command(stack, alice.uuid, "redirect",
                     {"url": stack.app_url + "/next", "method": "GET"})
    assert answer.status_code == 202, answer.text
    stack.requests.wait_for("/cb", ConferenceAction="exit", CallUUID=alice.uuid)
    [fetched] = stack.requests.wait_for("/next", CallUUID=alice.uuid)
    assert fetched.method == "GET"
    wait_until(lambda: any("the new document" in h for h in alice.heard),
               what="the new document")
    assert not stack.requests.at("/act", CallUUID=alice.uuid)  # replaced, not continued
    # The exit came before the new document was asked for.
    order = [r.path for r in stack.requests.at() if r.get("CallUUID") == alice.uuid]
    assert order.index("/next") > order.index("/cb") and order[-1] == "/next"
    view = stack.rest("GET", f"/v1/calls/{alice.uuid}").json()
    assert view["room"] is None and alice.is_up
    assert stack.rest("GET", f"/v1/calls/{carol.uuid}").json()["room"] == "callsroom"


def test_hangup_in_and_out_of_a_room(stack):
    alice = in_room(stack, "alice")
    bob = speaking(stack, "bob")
    assert command(stack, alice.uuid, "hangup").status_code == 202
    alice.wait_hangup(timeout=10)
    stack.requests.wait_for("/cb", ConferenceAction="exit", CallUUID=alice.uuid)
    stack.requests.wait_for("/hangup", CallUUID=alice.uuid)
    assert not stack.requests.at("/act", CallUUID=alice.uuid)
    assert command(stack, bob.uuid, "hangup").status_code == 202
    assert bob.wait_hangup(timeout=10) == "NORMAL_CLEARING"
    stack.requests.wait_for("/hangup", CallUUID=bob.uuid)
    gone = command(stack, bob.uuid, "hangup")
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"


def test_play_and_speak_in_a_room_reach_that_member_only(stack):
    alice = in_room(stack, "alice")
    bob = in_room(stack, "bob")
    answer = command(stack, alice.uuid, "speak", {"text": "for alice alone"})
    assert answer.status_code == 202, answer.text
    wait_until(lambda: any("for alice alone" in h for h in alice.heard), what="speak at alice")
    answer = command(stack, alice.uuid, "play", {"tone": "beep:2"})
    assert answer.status_code == 202, answer.text
    wait_until(lambda: BEEP_TWO in alice.heard, what="the tone at alice")
    assert not any("for alice alone" in h or h == BEEP_TWO for h in bob.heard)
    assert stack.rest("GET", f"/v1/calls/{alice.uuid}").json()["room"] == "callsroom"


def test_speak_to_a_call_out_of_a_room_follows_what_is_playing(stack, documents):
    documents["/answer/2000"] = ('<Response><Speak>first words</Speak>'
                                 '<Wait length="30"/></Response>')
    phone = stack.phones.call("2000", caller_id="dave")
    phone.wait_answered(timeout=10)
    wait_until(lambda: any("first words" in h for h in phone.heard), what="first words")
    assert command(stack, phone.uuid, "speak", {"text": "live words"}).status_code == 202
    wait_until(lambda: any("live words" in h for h in phone.heard), what="live words")


def test_dtmf_reaches_the_call_in_and_out_of_a_room(stack):
    alice = in_room(stack, "alice")
    bob = speaking(stack, "bob")
    assert command(stack, alice.uuid, "dtmf", {"digits": "12#"}).status_code == 202
    assert command(stack, bob.uuid, "dtmf", {"digits": "9*"}).status_code == 202
    wait_until(lambda: "".join(alice.received_dtmf) == "12#", what="digits at alice")
    # Sent while the Speak plays: digits need not wait for the verb to end.
    wait_until(lambda: "".join(bob.received_dtmf) == "9*", what="digits at bob")
    assert bob.is_up and any("please hold the line" in h for h in bob.heard)


def test_bad_commands_are_clear(stack):
    bob = speaking(stack, "bob")
    cases = [
        ("redirect", {}, "body.url"),
        ("redirect", {"url": "ftp://x/y"}, "body.url"),
        ("redirect", {"url": "http://x/y", "method": "PUT"}, "body.method"),
        ("dtmf", {"digits": "12x"}, "body.digits"),
        ("speak", {"text": ""}, "body.text"),
        ("play", {"url": "http://x/a.wav", "tone": "beep:1"}, "body"),
        ("hangup", {"cause": "BUSY"}, "body.cause"),
    ]
    for action, body, field in cases:
        answer = command(stack, bob.uuid, action, body)
        assert answer.status_code == 422, (action, body, answer.text)
        assert answer.json()["field"] == field, (action, body, answer.json())
    unknown = command(stack, bob.uuid, "transfer", {})
    assert unknown.status_code == 422 and "redirect" in unknown.json()["allowed"]
    missing = command(stack, "no-such-call", "hangup")
    assert missing.status_code == 404
    assert bob.is_up
