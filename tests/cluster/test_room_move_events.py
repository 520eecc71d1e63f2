"""Room-level events of a caller moved to its room's home node name the caller's own
call, never the far leg that carries it there (controller.conference.rooms._call_uuid:
the far leg's ``call_uuid``, set by its controller, is in every member event as
Channel-Call-UUID). A cXML room's statusCallback, checked with the twilio SDK's
RequestValidator; two simulated nodes, two controllers, a real redis-server."""

from __future__ import annotations

import sys
from pathlib import Path

import gevent
import pytest
import requests
from appkit import wait_until
from stack import API_TOKEN
from test_room_move import _far_leg, two_node_cluster
from twilio.twiml.voice_response import Dial, VoiceResponse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dialects" / "cxml"))
from cxml_testapp import ACCOUNT_SID, AUTH_TOKEN, CxmlApp  # noqa: E402

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def _call_sid(uuid: str) -> str:
    return "CA" + uuid.replace("-", "")


def _room_document() -> str:
    response = VoiceResponse()
    dial = Dial()
    dial.conference("lobby", status_callback="/status",
                    status_callback_event="start end join leave mute")
    response.append(dial)
    return str(response)


@pytest.fixture
def cxml_nodes(tmp_path, redis_url):
    app = CxmlApp()
    app.documents["/answer"] = _room_document()
    settings = {"app": {"dialect": "cxml"},
                "cxml": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}}
    with two_node_cluster(tmp_path, redis_url, app.app, settings) as nodes:
        yield nodes, app


def test_a_moved_callers_status_callbacks_name_its_own_call_sid(cxml_nodes):
    nodes, app = cxml_nodes
    stack, node2 = nodes.stack, nodes.node2
    first = stack.phones.call("1000", caller_id="+15550001")
    app.wait_for("/status", StatusCallbackEvent="participant-join",
                 CallSid=_call_sid(first.uuid))
    moved = node2.phones.call("1000", caller_id="+15550002")
    moved_sid = _call_sid(moved.uuid)
    app.wait_for("/status", StatusCallbackEvent="participant-join", CallSid=moved_sid)
    far = _far_leg(stack.sim, moved.uuid)
    assert far is not None, "the caller on node 2 was not moved to node 1"
    members = stack.sim.conference_state("lobby")["members"]
    assert sorted(m["uuid"] for m in members) == sorted([first.uuid, far.uuid])

    far_member = next(m["id"] for m in members if m["uuid"] == far.uuid)
    reply = requests.post(f"{nodes.b_url}/v1/conferences/lobby/members/{far_member}/mute",
                          headers=AUTH, json={}, timeout=10)
    assert reply.status_code == 200, reply.text
    app.wait_for("/status", StatusCallbackEvent="participant-mute", CallSid=moved_sid)

    moved.hangup()
    wait_until(lambda: far.down, timeout=5, what="the far leg ending with the caller")
    app.wait_for("/status", StatusCallbackEvent="participant-leave", CallSid=moved_sid)
    first.hangup()
    app.wait_for("/status", StatusCallbackEvent="conference-end")
    gevent.sleep(0.5)  # a second controller's copy would arrive now

    statuses = app.at("/status")
    assert all(r["valid"] for r in statuses), [r for r in statuses if not r["valid"]]
    about_moved = sorted(r["StatusCallbackEvent"] for r in statuses
                         if r.get("CallSid") == moved_sid)
    assert about_moved == ["participant-join", "participant-leave", "participant-mute"]
    assert {r["AccountSid"] for r in statuses} == {ACCOUNT_SID}
    assert not [r for r in app.requests if far.uuid.replace("-", "") in str(r)
                or far.uuid in str(r)], "a request named the far leg"
    assert sorted(r["StatusCallbackEvent"] for r in statuses) == [
        "conference-end", "conference-start", "participant-join", "participant-join",
        "participant-leave", "participant-leave", "participant-mute"]
