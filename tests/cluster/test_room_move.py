"""A room lives on one node: a caller whose call landed on another node is moved to the
room's home node before it joins (controller.cluster.moves), invisibly to the app.

Two in-process simulators are two nodes with SIP addresses in one pretend SIP network
(controller.sim.cluster): node 2's controller bridges its caller to
``sofia/internal/cc-room-lobby@<node 1>``, which arrives on node 1 as an inbound call
through its ``cluster`` context with the call in ``X-CC-*`` headers, and node 1's
controller joins that leg to the room as the caller's call. Two controller processes,
a real redis-server."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import Callable

import gevent
import pytest
import redis
import requests
from appkit import wait_until
from processes import HeaderRecorder, controller_process, controller_ready, kill
from stack import API_TOKEN, Stack, free_port

from controller.cluster import codec
from controller.cluster.moves import RoomMover
from controller.cluster.shared import ClusterError
from controller.config import ConfigError, load_settings
from controller.model import ConferenceJoin, EventKind, HttpMethod, Sound, SoundKind, Webhook
from controller.sim import SimConfig, Simulator
from controller.sim.cluster import join_sip_network, leave_sip_network

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
ROOM = ('<Response><Conference callbackUrl="/cb" action="/after">lobby</Conference>'
        '</Response>')


@dataclasses.dataclass
class TwoNodes:
    stack: Stack  # node 1 (the stack's simulator) and the application
    node2: Simulator
    a_url: str  # controller A: node 1's dialplan sockets
    b_url: str  # controller B: node 2's
    node1_name: str
    restart_home_controller: Callable[[], None]


@contextlib.contextmanager
def two_node_cluster(tmp_path, redis_url, app, settings=None):
    """Two simulated nodes in one pretend SIP network, controller A taking node 1's calls
    and B node 2's, both connected to both nodes, on one Redis; ``app`` answers both."""
    with Stack(tmp_path, app=app, settings=settings, start_controller=False) as stack:
        b_outbound = free_port()
        node2 = Simulator(SimConfig(
            esl_host="127.0.0.1", esl_port=0, outbound_port=b_outbound,
            recordings_dir=str(tmp_path / "recordings"), product_dialplan=True))
        node2.start()
        node1_name = f"127.0.0.1:{stack.esl_port}"
        node2_name = f"127.0.0.1:{node2.esl_port}"
        sip1, sip2 = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        join_sip_network(stack.sim, sip1)
        join_sip_network(node2, sip2)
        base = stack.settings_overrides()
        b_http = free_port()

        def settings(node_id: str, nodes: str) -> dict:
            return {**base, "cluster": {
                "redis_url": redis_url, "node_id": node_id, "lease_seconds": "2",
                "node_sip_addresses": f"{node1_name}={sip1}, {node2_name}={sip2}"},
                "freeswitch": {**base["freeswitch"], "nodes": nodes},
                "data": {"directory": str(tmp_path / f"data-{node_id}")}}

        a = settings("ctl-a", f"{node1_name}:ClueCon,{node2_name}:ClueCon")
        b = settings("ctl-b", f"{node2_name}:ClueCon,{node1_name}:ClueCon")
        b["http"] = {**base["http"], "listen_port": str(b_http),
                     "public_base_url": f"http://127.0.0.1:{b_http}"}
        b["outbound"] = {**base["outbound"], "listen_port": str(b_outbound)}
        processes = [controller_process(a, tmp_path / "a.log"),
                     controller_process(b, tmp_path / "b.log")]

        def restart_home_controller() -> None:
            """SIGKILL node 1's controller (A) and start it again, same settings."""
            kill(processes[0])
            processes[0] = controller_process(a, tmp_path / "a2.log")
            wait_until(lambda: controller_ready(stack.http_port), timeout=30,
                       what="the restarted controller A")

        try:
            for port in (stack.http_port, b_http):
                wait_until(lambda port=port: controller_ready(port), timeout=30,
                           what=f"the controller on HTTP port {port}")
            yield TwoNodes(stack, node2, f"http://127.0.0.1:{stack.http_port}",
                           f"http://127.0.0.1:{b_http}", node1_name, restart_home_controller)
        finally:
            stack.phones.close()
            node2.phones.close()
            for process in processes:
                kill(process)
            node2.stop()
            leave_sip_network(sip1)
            leave_sip_network(sip2)


@pytest.fixture
def two_nodes(tmp_path, redis_url):
    recorder = HeaderRecorder()
    recorder.documents["/answer"] = lambda params: ROOM
    recorder.documents["/after"] = lambda params: "<Response><Hangup/></Response>"
    with two_node_cluster(tmp_path, redis_url, recorder.app) as nodes:
        yield (nodes.stack, nodes.node2, recorder, nodes.a_url, nodes.b_url,
               nodes.node1_name, nodes.restart_home_controller)


def _rooms(sim: Simulator) -> dict[str, list[str]]:
    """``conference json_list`` of a node: room -> its members' channel uuids."""
    found, output = sim.core.execute_api("conference", "json_list")
    assert found
    if not output.startswith("["):
        return {}  # no rooms: a sentence, not a JSON list
    return {room["conference_name"]: sorted(m["uuid"] for m in room["members"])
            for room in json.loads(output)}


def _far_leg(sim: Simulator, moved_uuid: str):
    return next((c for c in list(sim.core.channels.values())
                 if c.get_var("sip_h_X-CC-Move") == moved_uuid), None)


def _meet_in_one_room(two_nodes, redis_url):
    stack, node2, recorder, a_url, b_url, node1_name, _ = two_nodes
    first = stack.phones.call("1000", caller_id="+15550001")
    recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=first.uuid)
    store = redis.Redis.from_url(redis_url)
    wait_until(lambda: store.get("cc:room:lobby") == node1_name.encode(), timeout=5,
               what="lobby homed on node 1")
    moved = node2.phones.call("1000", caller_id="+15550002")
    entered = recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=moved.uuid)[0]
    far = _far_leg(stack.sim, moved.uuid)
    assert far is not None, "no leg on node 1 carries the moved call's X-CC-Move header"
    return first, moved, entered, far


def test_callers_on_two_nodes_meet_in_one_room_on_its_home_node(two_nodes, redis_url):
    stack, node2, recorder, a_url, b_url, *_ = two_nodes
    first, moved, entered, far = _meet_in_one_room(two_nodes, redis_url)

    # One FreeSWITCH room, on node 1, with both callers; node 2 has none.
    members = stack.sim.conference_state("lobby")["members"]
    assert sorted(m["uuid"] for m in members) == sorted([first.uuid, far.uuid])
    assert node2.conference_state("lobby") is None
    assert _rooms(stack.sim) == {"lobby": sorted([first.uuid, far.uuid])}
    assert _rooms(node2) == {}
    # The far leg came in through the cluster context with the call in its headers.
    assert (far.get_var("sip_h_X-CC-Room"), far.leg.destination) == ("lobby", "cc-room-lobby")
    assert moved.is_up and far.ready

    # The application sees the caller's own call: its uuid, once, never the far leg's.
    member_id = entered["ConferenceMemberID"]
    assert str(next(m["id"] for m in members if m["uuid"] == far.uuid)) == member_id
    assert len(recorder.at("/cb", ConferenceAction="enter", CallUUID=moved.uuid)) == 1
    assert not [r for r in recorder.requests if far.uuid in str(r)]

    # Either controller mutes the moved member (the command goes to the room's node).
    for url, verb, muted in ((b_url, "mute", True), (a_url, "unmute", False)):
        reply = requests.post(f"{url}/v1/conferences/lobby/members/{member_id}/{verb}",
                              headers=AUTH, json={}, timeout=10)
        assert reply.status_code == 200, reply.text
        state = stack.sim.conference_state("lobby")["members"]
        assert next(m["muted"] for m in state if m["uuid"] == far.uuid) is muted

    # The moved caller hangs up: both legs end, its callbacks come once, as its own.
    moved.hangup()
    wait_until(lambda: far.down, timeout=5, what="the far leg ending with the caller")
    exits = recorder.wait_for("/cb", ConferenceAction="exit", CallUUID=moved.uuid)
    hangups = recorder.wait_for("/hangup", CallUUID=moved.uuid)
    recorder.wait_for("/after", CallUUID=moved.uuid)
    wait_until(lambda: len(stack.sim.conference_state("lobby")["members"]) == 1, timeout=5,
               what="the moved member leaving the room")
    gevent.sleep(0.5)  # anything sent twice would arrive now
    assert len(recorder.at("/cb", ConferenceAction="exit", CallUUID=moved.uuid)) == 1
    assert len(recorder.at("/hangup", CallUUID=moved.uuid)) == 1
    assert len(recorder.at("/after", CallUUID=moved.uuid)) == 1
    assert exits[0]["ConferenceMemberID"] == member_id
    assert hangups[0]["HangupCause"] == "NORMAL_CLEARING"
    assert not [r for r in recorder.requests if far.uuid in str(r)]
    assert recorder.at("/cb", ConferenceAction="exit", CallUUID=first.uuid) == []
    store = redis.Redis.from_url(redis_url)
    assert store.keys("cc:move:*") == []


def test_a_moved_member_kicked_goes_on_with_its_action_on_its_own_node(two_nodes, redis_url):
    """Kicked from the room on node 1, the far leg ends and the caller, still up on node 2,
    gets the action request (with its member) and runs its document there."""
    stack, node2, recorder, a_url, b_url, *_ = two_nodes
    first, moved, entered, far = _meet_in_one_room(two_nodes, redis_url)
    member_id = entered["ConferenceMemberID"]
    reply = requests.post(f"{b_url}/v1/conferences/lobby/members/{member_id}/kick",
                          headers=AUTH, json={}, timeout=10)
    assert reply.status_code == 200, reply.text
    after = recorder.wait_for("/after", CallUUID=moved.uuid)[0]
    assert (after["ConferenceName"], after["ConferenceMemberID"]) == ("lobby", member_id)
    exit_index = next(i for i, r in enumerate(recorder.requests) if r["path"] == "/cb"
                      and r.get("ConferenceAction") == "exit" and r.get("CallUUID") == moved.uuid)
    assert exit_index < recorder.requests.index(after)
    recorder.wait_for("/hangup", CallUUID=moved.uuid)  # the action's <Hangup/>, on node 2
    assert far.down
    wait_until(lambda: not moved.is_up, timeout=5, what="the caller hung up by <Hangup/>")
    assert first.is_up and stack.sim.conference_state("lobby")["count"] == 1


def test_a_moved_call_hung_up_through_the_home_nodes_controller(two_nodes, redis_url):
    """REST on the home node's controller (A) for the moved call reaches the controller
    running it (B), which hangs the caller up: both legs end, no action document runs."""
    stack, node2, recorder, a_url, b_url, *_ = two_nodes
    first, moved, entered, far = _meet_in_one_room(two_nodes, redis_url)
    reply = requests.post(f"{a_url}/v1/calls/{moved.uuid}/hangup", headers=AUTH, json={},
                          timeout=10)
    assert reply.status_code in (200, 202), reply.text
    wait_until(lambda: not moved.is_up and far.down, timeout=5, what="both legs ending")
    recorder.wait_for("/hangup", CallUUID=moved.uuid)
    recorder.wait_for("/cb", ConferenceAction="exit", CallUUID=moved.uuid)
    gevent.sleep(0.5)
    assert len(recorder.at("/hangup", CallUUID=moved.uuid)) == 1
    assert first.is_up and stack.sim.conference_state("lobby")["count"] == 1


def test_a_moved_member_outlives_its_controller(two_nodes, redis_url):
    """Node 1's controller A, which runs the far leg, is SIGKILLed while the moved member
    is in the room and started again; kicked afterwards, the leg comes back to A through
    the cluster context's second socket (cc_resume): the exit is reported as the caller's
    (never the far leg's uuid), and the caller's controller requests the action once and
    runs its document. Controller B may meanwhile have taken over A's journal and watch
    the far leg too; it lets the leg go once A claimed it back (journal-owner), so the
    exit is reported once."""
    stack, node2, recorder, a_url, b_url, _, restart_home_controller = two_nodes
    first, moved, entered, far = _meet_in_one_room(two_nodes, redis_url)
    restart_home_controller()
    assert far.ready and moved.is_up
    member_id = entered["ConferenceMemberID"]
    reply = requests.post(f"{b_url}/v1/conferences/lobby/members/{member_id}/kick",
                          headers=AUTH, json={}, timeout=10)
    assert reply.status_code == 200, reply.text
    after = recorder.wait_for("/after", CallUUID=moved.uuid)[0]
    assert after["ConferenceMemberID"] == member_id
    recorder.wait_for("/hangup", CallUUID=moved.uuid)
    wait_until(lambda: far.down and not moved.is_up, timeout=5, what="both legs ending")
    gevent.sleep(0.5)
    exits = recorder.at("/cb", ConferenceAction="exit")
    assert [(e["CallUUID"], e["ConferenceMemberID"]) for e in exits] == [
        (moved.uuid, member_id)]
    assert len(recorder.at("/after", CallUUID=moved.uuid)) == 1
    assert len(recorder.at("/hangup", CallUUID=moved.uuid)) == 1
    assert not [r for r in recorder.requests if far.uuid in str(r)]


def test_node_sip_addresses_are_checked():
    with pytest.raises(ConfigError, match="node=sip_host:sip_port"):
        load_settings(environ={"CC_CLUSTER_NODE_SIP_ADDRESSES": "fs1:8021"})
    settings = load_settings(environ={
        "CC_FREESWITCH_NODES": "fs1:8021,fs2:8021",
        "CC_CLUSTER_NODE_SIP_ADDRESSES": "fs1:8021=10.0.0.1:5060, fs3:8021=10.0.0.3:5060"})
    with pytest.raises(ClusterError, match=r"names fs3:8021, not a node of \[freeswitch\]"):
        RoomMover(settings, None, None, "fs1:8021")
    settings = load_settings(environ={
        "CC_FREESWITCH_NODES": "fs1:8021,fs2:8021",
        "CC_CLUSTER_NODE_SIP_ADDRESSES": "fs1:8021=10.0.0.1:5060"})
    with pytest.raises(ClusterError, match="no SIP address for fs2:8021"):
        RoomMover(settings, None, None, "fs1:8021")


def test_a_conference_verb_travels_whole():
    join = ConferenceJoin(
        "lobby", muted=True, enter_sound=Sound(SoundKind.URL, "http://a/s.xml"),
        action=Webhook("http://a/after", HttpMethod.GET), digits_match=("1", "23"),
        callback_events=frozenset({EventKind.MEMBER_JOINED, EventKind.MEMBER_LEFT}),
        coach=("call-1",), max_members=7)
    assert codec.loads(codec.dumps(join)) == join
    with pytest.raises(codec.CodecError, match="unknown model type"):
        codec.loads('{"$dc": "os:system", "fields": {}}')


def test_freeswitch_conf_admits_only_cluster_nodes_to_the_cluster_context(tmp_path):
    from test_freeswitch_conf import render  # tests/integration: the pre-processor's view

    from controller.sim.cluster import cluster_extension
    from controller.sim.dialplan import PRODUCT_TAIL

    (tmp_path / "set").mkdir()
    (tmp_path / "bare").mkdir()
    conf = render(tmp_path / "set", {"FS_CLUSTER_CIDRS": "10.0.0.11/32,10.0.0.12/32",
                                     "FS_CONTROLLER_HOST": "ctl", "FS_CONTROLLER_PORT": "9"})
    sip = conf.params(conf.configuration("sofia.conf").find("profiles/profile"))
    acl_name, context_name = sip["apply-inbound-acl"].split(":")
    assert (sip["auth-calls"], sip["context"], context_name) == ("true", "phones", "cluster")
    acl = conf.configuration("acl.conf").xpath("network-lists/list[@name=$n]", n=acl_name)
    assert acl[0].get("default") == "deny"
    assert acl[0].find("node").attrib == {"type": "allow",
                                          "cidr": "10.0.0.11/32,10.0.0.12/32"}
    default = render(tmp_path / "bare", {}).configuration("acl.conf").xpath(
        "network-lists/list[@name=$n]/node/@cidr", n=acl_name)
    assert default == ["192.0.2.255/32"]  # documentation range: no node by default

    context = conf.root.xpath("section[@name='dialplan']/context[@name=$n]", n=context_name)[0]
    room, other = context.findall("extension")
    pattern = re.compile(room.find("condition").get("expression"))
    assert [bool(pattern.search(n)) for n in ("cc-room-lobby", "cc-room-t1list~", "1000",
                                              "cc-room-")] == [True, True, False, False]
    actions = [(a.get("application"), a.get("data"))
               for a in room.find("condition").findall("action")]
    phones_socket = conf.root.xpath(
        "section[@name='dialplan']/context[@name='phones']//action[@application='socket']")
    assert actions[:2] == [("socket", phones_socket[0].get("data"))] * 2
    assert [(app, data) for app, data in actions[2:] if app != "log"] == PRODUCT_TAIL
    assert [(a.get("application"), a.get("data")) for a in other.iter("action")] == [
        ("hangup", "NO_ROUTE_DESTINATION")]
    # The simulator's cluster context is this one.
    sim = Simulator(SimConfig(outbound_host="ctl", outbound_port=9))
    assert cluster_extension(sim, "cc-room-lobby") == [
        ("socket", "ctl:9 async full"), ("socket", "ctl:9 async full"), *PRODUCT_TAIL]
    assert cluster_extension(sim, "1000") == [("hangup", "NO_ROUTE_DESTINATION")]
