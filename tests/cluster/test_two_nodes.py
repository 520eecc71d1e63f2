"""Two (simulated) FreeSWITCH nodes, two controllers, one Redis: every controller keeps an
Event Socket connection to both nodes ([freeswitch] nodes), each node's dialplan sends its
calls to its own controller, and either controller's REST API controls a room on either
node: commands for a room go to its home node (the room directory), the room listing
joins every node's rooms.

A node that dies (SIGKILLed) releases its rooms from the directory and its calls'
callbacks are still sent, while the other node carries on.

Here each node's callers dial their own rooms. A caller on node 2 dialling a room homed
on node 1 is moved there before it joins ([cluster] node_sip_addresses): that is
tests/cluster/test_room_move.py, and its room-level events test_room_move_events.py."""

from __future__ import annotations

import gevent
import pytest
import redis
import requests
from appkit import wait_until
from processes import (
    HeaderRecorder,
    controller_process,
    controller_ready,
    kill,
    simulator_process,
)
from stack import API_TOKEN, Stack

from controller.sim import SimConfig, Simulator

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def _answer(params: dict) -> str:
    room = "lobby" if params["From"].endswith("1") else "huddle"
    return f'<Response><Conference callbackUrl="/cb">{room}</Conference></Response>'


@pytest.fixture
def two_nodes(tmp_path, redis_url, held_port):
    recorder = HeaderRecorder()
    recorder.documents["/answer"] = _answer
    with Stack(tmp_path, app=recorder.app, start_controller=False) as stack:
        b_outbound = held_port()
        node2 = Simulator(SimConfig(
            esl_host="127.0.0.1", esl_port=0, outbound_port=b_outbound,
            recordings_dir=str(tmp_path / "recordings"), product_dialplan=True))
        node2.start()
        node1_name = f"127.0.0.1:{stack.esl_port}"
        node2_name = f"127.0.0.1:{node2.esl_port}"
        base = stack.settings_overrides()
        b_http = held_port()

        def settings(node_id: str, nodes: str) -> dict:
            return {**base, "cluster": {"redis_url": redis_url, "node_id": node_id,
                                        "lease_seconds": "2"},
                    "freeswitch": {**base["freeswitch"], "nodes": nodes},
                    "data": {"directory": str(tmp_path / f"data-{node_id}")}}

        a = settings("ctl-a", f"{node1_name}:ClueCon,{node2_name}:ClueCon")
        # B lists node 2 first: its commands for node 1's rooms must be routed, not defaulted.
        b = settings("ctl-b", f"{node2_name}:ClueCon,{node1_name}:ClueCon")
        b["http"] = {**base["http"], "listen_port": str(b_http),
                     "public_base_url": f"http://127.0.0.1:{b_http}"}
        b["outbound"] = {**base["outbound"], "listen_port": str(b_outbound)}
        processes = [controller_process(a, tmp_path / "a.log"),
                     controller_process(b, tmp_path / "b.log")]
        try:
            for port in (stack.http_port, b_http):
                wait_until(lambda port=port: controller_ready(port), timeout=30,
                           what=f"the controller on HTTP port {port}")
            yield (stack, node2, recorder, f"http://127.0.0.1:{stack.http_port}",
                   f"http://127.0.0.1:{b_http}", node1_name, node2_name)
        finally:
            stack.phones.close()
            node2.phones.close()
            for process in processes:
                kill(process)
            node2.stop()


def test_either_controller_controls_rooms_on_either_node(two_nodes, redis_url):
    stack, node2, recorder, a_url, b_url, node1_name, node2_name = two_nodes
    on_node1 = stack.phones.call("1000", caller_id="+15550001")
    on_node2 = node2.phones.call("1000", caller_id="+15550002")
    lobby = recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=on_node1.uuid)[0]
    huddle = recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=on_node2.uuid)[0]
    assert (stack.sim.conference_state("lobby") is not None,
            node2.conference_state("huddle") is not None) == (True, True)
    store = redis.Redis.from_url(redis_url)
    wait_until(lambda: store.get("cc:room:huddle") is not None, timeout=5,
               what="huddle in the room directory")
    assert (store.get("cc:room:lobby"), store.get("cc:room:huddle")) == (
        node1_name.encode(), node2_name.encode())

    for url in (a_url, b_url):
        listed = requests.get(f"{url}/v1/conferences", headers=AUTH, timeout=10)
        assert listed.status_code == 200, listed.text
        names = sorted(room["name"] for room in listed.json()["conferences"])
        assert names == ["huddle", "lobby"], url

    # B (node 2 first in its list) mutes the member of node 1's room, A node 2's.
    for url, room, member, state in ((b_url, "lobby", lobby, stack.sim),
                                     (a_url, "huddle", huddle, node2)):
        detail = requests.get(f"{url}/v1/conferences/{room}", headers=AUTH, timeout=10)
        assert detail.status_code == 200, detail.text
        assert [str(m["member_id"]) for m in detail.json()["members"]] == \
            [member["ConferenceMemberID"]]
        muted = requests.post(
            f"{url}/v1/conferences/{room}/members/{member['ConferenceMemberID']}/mute",
            headers=AUTH, json={}, timeout=10)
        assert muted.status_code == 200, muted.text
        assert state.conference_state(room)["members"][0]["muted"] is True

    on_node1.hangup()
    on_node2.hangup()
    recorder.wait_for("/hangup", CallUUID=on_node1.uuid)
    recorder.wait_for("/hangup", CallUUID=on_node2.uuid)
    wait_until(lambda: not store.exists("cc:room:lobby", "cc:room:huddle"), timeout=10,
               what="both rooms leaving the directory")



def test_a_node_killed_releases_its_rooms_and_its_calls_get_their_callbacks(
        tmp_path, redis_url, held_port):
    """Node 2 is a simulator process SIGKILLed mid-conference (its sockets just end, no
    hangup events: capture 07f). Its room leaves the directory, its member's exit and
    hangup callbacks are sent (marked recovered, SYSTEM_SHUTDOWN), node 1 carries on."""
    recorder = HeaderRecorder()
    recorder.documents["/answer"] = _answer
    with Stack(tmp_path, app=recorder.app, start_controller=False) as stack:
        esl2, outbound2, control2 = held_port(), held_port(), held_port()
        node2 = simulator_process(esl2, outbound2, control2, tmp_path / "recordings",
                                  tmp_path / "node2.log")
        node1_name, node2_name = f"127.0.0.1:{stack.esl_port}", f"127.0.0.1:{esl2}"
        base = stack.settings_overrides()
        b_http = held_port()

        def settings(node_id: str, nodes: str) -> dict:
            return {**base, "cluster": {"redis_url": redis_url, "node_id": node_id,
                                        "lease_seconds": "2"},
                    "freeswitch": {**base["freeswitch"], "nodes": nodes},
                    "data": {"directory": str(tmp_path / f"data-{node_id}")}}

        a = settings("ctl-a", f"{node1_name}:ClueCon,{node2_name}:ClueCon")
        b = settings("ctl-b", f"{node2_name}:ClueCon,{node1_name}:ClueCon")
        b["http"] = {**base["http"], "listen_port": str(b_http),
                     "public_base_url": f"http://127.0.0.1:{b_http}"}
        b["outbound"] = {**base["outbound"], "listen_port": str(outbound2)}
        processes = [node2, controller_process(a, tmp_path / "a.log"),
                     controller_process(b, tmp_path / "b.log")]
        try:
            for port in (stack.http_port, b_http):
                wait_until(lambda port=port: controller_ready(port), timeout=30,
                           what=f"the controller on HTTP port {port}")
            on_node1 = stack.phones.call("1000", caller_id="+15550001")
            placed = requests.post(f"http://127.0.0.1:{control2}/calls",
                                   json={"number": "1000", "caller_id": "+15550002"},
                                   timeout=30)
            assert placed.status_code == 201, placed.text
            on_node2 = placed.json()["uuid"]
            recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=on_node1.uuid)
            recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=on_node2)
            store = redis.Redis.from_url(redis_url)
            wait_until(lambda: store.exists("cc:room:lobby", "cc:room:huddle") == 2,
                       timeout=5, what="both rooms in the directory")

            kill(node2)
            wait_until(lambda: store.get("cc:room:huddle") is None, timeout=15,
                       what="node 2's room leaving the directory")
            assert store.get("cc:room:lobby") == node1_name.encode()
            exits = recorder.wait_for("/cb", ConferenceAction="exit", CallUUID=on_node2)
            hangups = recorder.wait_for("/hangup", CallUUID=on_node2)
            assert [r["recovered_header"] for r in (*exits, *hangups)] == ["true", "true"]
            assert hangups[0]["HangupCause"] == "SYSTEM_SHUTDOWN"
            assert stack.sim.conference_state("lobby") is not None
            assert recorder.at("/cb", ConferenceAction="exit", CallUUID=on_node1.uuid) == []
            on_node1.hangup()
            recorder.wait_for("/hangup", CallUUID=on_node1.uuid)
            gevent.sleep(0.5)  # anything sent twice would arrive now
            assert len(recorder.at("/hangup", CallUUID=on_node2)) == 1
            assert len(recorder.at("/cb", ConferenceAction="exit", CallUUID=on_node2)) == 1
        finally:
            stack.phones.close()
            for process in processes:
                kill(process)
