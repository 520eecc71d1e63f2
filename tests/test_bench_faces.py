"""The benchmark's application in every face (bench/faces.py, bench/app.py): what it
answers must be a document its face accepts, and each face's member-join webhook must
reach it as the benchmark counts it. Otherwise `make bench --face X` would measure an
error path (an error sound, a call that never joins, callbacks nobody counts).

The app runs as the benchmark runs it (``python -m bench.app`` in its own process);
requests reach it over HTTP. No timing is asserted here.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from stack import Stack, wait_until

from bench.children import AppProcess
from bench.faces import FACES, check_face, controller_settings
from controller import dialects
from controller.conference.events import CallFacts, CallStatus
from controller.dialects.base import Purpose, RequestContext
from controller.model import ConferenceJoin, EventKind

MARKUP_FACES = ("plivo", "cxml", "bxml")


@pytest.fixture
def app_of(tmp_path):
    started: list[AppProcess] = []

    def start(face: str, controller_url: str = "") -> AppProcess:
        process = AppProcess(tmp_path, face, controller_url)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def answer_request(face: str, app: AppProcess, profile: str, room: str) -> requests.Response:
    """The answer request exactly as the controller sends it for ``face`` (the dialect's own
    request_payload: form fields or a JSON body)."""
    dialect = dialects.get(face)
    call_uuid = str(uuid.uuid4())
    call = CallFacts(call_uuid, "alice", "Alice", room, dialect=face,
                     call_id=dialect.call_id(call_uuid))
    payload = dialect.request_payload(RequestContext(Purpose.ANSWER, call, CallStatus.RINGING))
    url = f"{app.url}/answer/{profile}"
    if payload.json:
        return requests.post(url, json=dict(payload.fields), timeout=10)
    return requests.post(url, data=dict(payload.fields), timeout=10)


@pytest.mark.parametrize("profile", ["join", "latency"])
@pytest.mark.parametrize("face", MARKUP_FACES)
def test_answer_document_is_accepted_by_its_face(app_of, face, profile):
    app = app_of(face)
    reply = answer_request(face, app, profile, "room7")
    assert reply.status_code == 200, reply.text
    source = f"{app.url}/answer/{profile}"
    document = dialects.get(face).parse_document(reply.content, source, max_bytes=1 << 20,
                                                 max_depth=32)
    assert len(document.verbs) == 1
    join = document.verbs[0]
    assert isinstance(join, ConferenceJoin)
    assert join.room == "room7"
    callbacks = f"{app.url}/callbacks"
    if face == "plivo":
        assert join.callback is not None and join.callback.url == callbacks
        assert join.floor_event is (profile == "latency")
        assert bool(join.digits_match) is (profile == "latency")
    else:
        # cXML statusCallback and BXML conferenceEventUrl are the room's hooks (creator's)
        assert join.room_hooks is not None and join.room_hooks.hook.url == callbacks
        assert EventKind.MEMBER_JOINED in join.room_hooks.events


def test_unknown_profile_or_face_is_refused(app_of):
    app = app_of("cxml")
    reply = answer_request("cxml", app, "nonsense", "room7")
    assert reply.status_code == 404 and "nonsense" in reply.text
    with pytest.raises(ValueError, match="unknown face 'twiml'"):
        check_face("twiml")


def stack_settings(face: str, app_url: str) -> dict[str, dict[str, str]]:
    """The benchmark's CC_* variables for ``face`` as the stack's settings sections."""
    sections: dict[str, dict[str, str]] = {
        "app": {"answer_url": "/answer/join", "hangup_url": "/hangup"}}
    for variable, value in controller_settings(face, app_url).items():
        section, name = variable.removeprefix("CC_").lower().split("_", 1)
        sections.setdefault(section, {})[name] = value
    return sections


def room_members(stack: Stack, room: str) -> set[str]:
    import json

    for conference in json.loads(stack.api("conference json_list") or "[]"):
        if conference["conference_name"].endswith(room):
            return {m["uuid"] for m in conference["members"] if m.get("type") == "caller"}
    return set()


@pytest.mark.parametrize("face", FACES)
def test_calls_join_and_each_join_webhook_is_counted(tmp_path, app_of, face, held_port):
    """Two calls through the controller speaking ``face`` reach the room the bench app
    chose, and each member's join webhook is in the app's stats as ``enter`` with its
    call's FreeSWITCH UUID (what join_overhead and callback_latency read)."""
    http_port = held_port()  # the bench app is told it first
    app = app_of(face, f"http://127.0.0.1:{http_port}")
    with Stack(tmp_path, app=app.url, simulate=True, http_port=http_port,
               settings=stack_settings(face, app.url)) as stack:
        phones = [stack.phones.call("benchroom", caller_id=f"member{i}") for i in range(2)]
        wait_until(lambda: room_members(stack, "benchroom") == {p.uuid for p in phones},
                   what=f"both {face} calls in the room")

        def entered() -> set[str]:
            return {entry[1] for entry in app.stats()["callbacks"] if entry[0] == "enter"}

        wait_until(lambda: entered() == {p.uuid for p in phones},
                   what=f"both {face} join webhooks counted")
        stats = app.stats()
        assert stats["errors"] == []
        assert stats["answers"] == 2
        for phone in phones:
            phone.hangup()
