"""A call whose controller died is watched by the controller that took over its journal;
when the dialplan's second ``socket`` hands the call to yet another controller, that one
runs it and reports its end, and the taker stops watching it: each callback is sent once
(controller.cluster.journal: ``journal-owner:<uuid>``; controller.recovery.taken_elsewhere).

One (simulated) node whose dialplan sockets go to controller A; controller B only watches
the node's events. A is SIGKILLed with a member in a room, B takes its journal over and
watches the call, then A is started again (same node id, same ports) and the member is
kicked: the call comes back to A through the second socket."""

from __future__ import annotations

import gevent
import pytest
import redis
import requests
from appkit import wait_until
from processes import HeaderRecorder, controller_process, controller_ready, kill
from stack import API_TOKEN, Stack

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
ROOM = '<Response><Conference callbackUrl="/cb" action="/act">resumed</Conference></Response>'


@pytest.fixture
def controllers(tmp_path, redis_url, held_port):
    recorder = HeaderRecorder()
    recorder.documents["/answer"] = ROOM
    recorder.documents["/act"] = "<Response><Hangup/></Response>"
    with Stack(tmp_path, app=recorder.app, start_controller=False) as stack:
        base = stack.settings_overrides()
        b_http = held_port()

        def settings(node_id: str) -> dict:
            return {**base, "cluster": {"redis_url": redis_url, "node_id": node_id,
                                        "lease_seconds": "2"},
                    "data": {"directory": str(tmp_path / f"data-{node_id}")}}

        a = settings("ctl-a")
        b = settings("ctl-b")
        b["http"] = {**base["http"], "listen_port": str(b_http),
                     "public_base_url": f"http://127.0.0.1:{b_http}"}
        b["outbound"] = {**base["outbound"], "listen_port": str(held_port())}
        processes = [controller_process(a, tmp_path / "a.log"),
                     controller_process(b, tmp_path / "b.log")]

        def restart_a() -> None:
            processes[0] = controller_process(a, tmp_path / "a2.log")
            wait_until(lambda: controller_ready(stack.http_port), timeout=30,
                       what="controller A started again")

        try:
            for port in (stack.http_port, b_http):
                wait_until(lambda port=port: controller_ready(port), timeout=30,
                           what=f"the controller on HTTP port {port}")
            yield stack, recorder, processes, restart_a, f"http://127.0.0.1:{b_http}"
        finally:
            stack.phones.close()
            for process in processes:
                kill(process)


def test_a_call_resumed_by_another_controller_is_reported_once(controllers, redis_url):
    stack, recorder, processes, restart_a, b_url = controllers
    phone = stack.phones.call("1000", caller_id="+15550101")
    member = recorder.wait_for("/cb", ConferenceAction="enter",
                               CallUUID=phone.uuid)[0]["ConferenceMemberID"]

    kill(processes[0])
    b_log = stack.tmp_path / "b.log"
    wait_until(lambda: "is still up in room resumed" in b_log.read_text(), timeout=15,
               what="controller B watching the call it took over from A")
    store = redis.Redis.from_url(redis_url)
    assert store.get(f"cc:journal-owner:{phone.uuid}") == b"ctl-b"
    restart_a()

    # Kicked: the member leaves the room and the dialplan's second socket hands the call
    # to A again, which reports the exit, requests the action and runs its <Hangup/>.
    reply = requests.post(f"{b_url}/v1/conferences/resumed/members/{member}/kick",
                          headers=AUTH, json={}, timeout=10)
    assert reply.status_code == 200, reply.text
    recorder.wait_for("/cb", ConferenceAction="exit", CallUUID=phone.uuid)
    recorder.wait_for("/act", CallUUID=phone.uuid)
    recorder.wait_for("/hangup", CallUUID=phone.uuid)
    assert phone.wait_hangup(timeout=10)
    wait_until(lambda: "run by another controller now" in b_log.read_text(), timeout=10,
               what="controller B letting the call go")
    gevent.sleep(0.5)  # a copy from B would arrive now
    assert (len(recorder.at("/cb", ConferenceAction="exit", CallUUID=phone.uuid)),
            len(recorder.at("/act", CallUUID=phone.uuid)),
            len(recorder.at("/hangup", CallUUID=phone.uuid))) == (1, 1, 1)
    # Sent by A's session, not recovered by B.
    assert [r["recovered_header"] for r in recorder.at("/hangup")] == [""]
    assert store.hlen("cc:journal:ctl-b") == 0
    assert store.hlen("cc:journal:ctl-a") == 0


def test_a_take_over_leaves_out_calls_another_controller_claimed(redis_url):
    """The journal's take-over script: an entry the dead controller still owned (or with
    no owner yet, a leg being dialled) moves to the taker; one claimed by another
    controller since stays that one's."""
    from controller.cluster.journal import RedisJournal
    from controller.cluster.shared import Shared
    from controller.conference.events import CallFacts
    from controller.config import load_settings
    from controller.journal import JournalEntry

    def journal(node_id: str) -> RedisJournal:
        settings = load_settings(environ={"CC_CLUSTER_REDIS_URL": redis_url,
                                          "CC_CLUSTER_NODE_ID": node_id,
                                          "CC_CLUSTER_LEASE_SECONDS": "2"})
        shared = Shared(settings.cluster, node_id)
        shared.join()
        return RedisJournal(shared)

    dead, taker, other = journal("dead"), journal("taker"), journal("other")
    for uuid in ("kept", "unclaimed", "resumed"):
        dead.put(JournalEntry(uuid, "plivo", CallFacts(uuid, "+1", "", "1000"), None))
    dead.claim("kept")
    dead.claim("resumed")
    other.claim("resumed")  # handed to another controller by the dialplan's second socket
    dead.shared.redis.delete(dead.shared.node_key)  # its liveness key expired

    assert taker.take_over(["dead"]) == 2
    assert sorted(e.uuid for e in taker.entries()) == ["kept", "unclaimed"]
    assert dead.entries() == []
    assert (taker.claimed_elsewhere("kept"), taker.claimed_elsewhere("unclaimed"),
            taker.claimed_elsewhere("resumed")) == (False, False, True)
    assert other.claimed_elsewhere("resumed") is False
    for shared in (dead.shared, taker.shared, other.shared):
        shared.close()
