"""The shared stores on a real redis-server: what one controller leaves, another takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gevent
import pytest
import redis

from controller.api.errors import ApiError
from controller.api.idempotency import StoredResponse
from controller.cluster.directory import RoomDirectory
from controller.cluster.idempotency import RedisIdempotencyStore
from controller.cluster.journal import RedisJournal
from controller.cluster.outbox import RedisOutbox
from controller.cluster.shared import ClusterError, Shared
from controller.conference.events import CallFacts
from controller.config import load_settings
from controller.journal import JournalEntry, RoomStay
from controller.model import HttpMethod, Webhook
from controller.outbox import FAILED, PENDING, Delivery


def _shared(redis_url: str, node_id: str, lease: str = "2") -> Shared:
    settings = load_settings(environ={}, overrides={
        "cluster": {"redis_url": redis_url, "node_id": node_id, "lease_seconds": lease}})
    shared = Shared(settings.cluster, node_id)
    shared.join()
    return shared


def _die(shared: Shared) -> None:
    """What SIGKILL leaves: the liveness key expires (here: removed at once)."""
    shared.redis.delete(shared.node_key)


def _delivery(lane: str, n: int) -> Delivery:
    return Delivery("POST", f"http://app.test/cb/{n}", lane, form={"n": str(n), "é": "ü"},
                    headers={"X-Tag": "t"}, fallback_url="http://app.test/fallback",
                    context={"call": "c1"})


def test_a_dead_controllers_pending_callbacks_go_to_a_live_one_in_lane_order(redis_url):
    a, b = _shared(redis_url, "ctl-a"), _shared(redis_url, "ctl-b")
    outbox_a, outbox_b = RedisOutbox(a), RedisOutbox(b)
    sent = [_delivery("room:r1", n) for n in range(5)]
    for delivery in sent:
        outbox_a.add(delivery)
        assert delivery.stored.is_set()
    raw = Delivery("POST", "http://app.test/json", "room:r2", body=b"\x00{\"a\": 1}",
                   content_type="application/json")
    outbox_a.add(raw)
    outbox_a.remove(sent[0])  # delivered before A died
    assert outbox_b.claim_orphans(b.dead_nodes()) == 0  # A is alive: nothing to take

    _die(a)
    assert b.dead_nodes() == ["ctl-a"]
    assert outbox_b.claim_orphans(["ctl-a"]) == 5
    taken = outbox_b.load(PENDING)
    assert [d.id for d in taken] == sorted(d.id for d in [*sent[1:], raw])
    first = taken[0]
    assert (first.url, first.lane, first.form, first.headers, first.fallback_url,
            first.context) == (sent[1].url, "room:r1", {"n": "1", "é": "ü"}, {"X-Tag": "t"},
                               "http://app.test/fallback", {"call": "c1"})
    assert taken[-1].body == b"\x00{\"a\": 1}" and taken[-1].form is None
    # Taken once: a second look finds nothing new, A's set is gone.
    assert outbox_b.load(PENDING) == []
    assert outbox_b.claim_orphans(["ctl-a"]) == 0
    assert RedisOutbox(a).load(PENDING) == []


def test_a_node_id_that_is_alive_is_refused(redis_url):
    first = _shared(redis_url, "twin", lease="2")

    def keep_alive() -> None:
        while True:
            assert first.refresh()
            gevent.sleep(0.3)

    alive = gevent.spawn(keep_alive)
    try:
        with pytest.raises(ClusterError, match="another live controller uses the cluster "
                           "node id 'twin'"):
            _shared(redis_url, "twin", lease="2")
    finally:
        alive.kill()


def test_a_restarted_controller_sends_what_its_previous_run_left(redis_url):
    a = _shared(redis_url, "ctl-a")
    RedisOutbox(a).add(_delivery("l", 1))
    _die(a)  # a crash; the same node id starts again
    again = RedisOutbox(_shared(redis_url, "ctl-a"))
    assert [d.url for d in again.load(PENDING)] == ["http://app.test/cb/1"]


def test_failed_deliveries_are_kept_for_the_cluster_and_can_be_dropped(redis_url):
    a, b = _shared(redis_url, "ctl-a"), _shared(redis_url, "ctl-b")
    delivery = _delivery("l", 7)
    RedisOutbox(a).add(delivery)
    delivery.error = "HTTP 500"
    RedisOutbox(a).mark_failed(delivery)
    failed = RedisOutbox(b).load(FAILED)
    assert [(d.id, d.state, d.error) for d in failed] == [(delivery.id, FAILED, "HTTP 500")]
    _die(a)
    assert RedisOutbox(b).claim_orphans(["ctl-a"]) == 0  # failed is not pending
    assert RedisOutbox(b).delete([delivery.id, 999]) == 1
    assert RedisOutbox(b).load(FAILED) == []


def _entry(uuid: str) -> JournalEntry:
    facts = CallFacts(uuid, "+15550001", "Alice", "1000", "inbound", "plivo", "call-" + uuid)
    hook = Webhook("http://app.test/hangup", HttpMethod.POST)
    return JournalEntry(uuid, "plivo", facts, hook, stay=RoomStay(
        "lobby", "lobby", "conf-uuid", "7", Webhook("http://app.test/cb", HttpMethod.GET),
        None))


def test_a_dead_controllers_journal_moves_to_the_taker(redis_url):
    a, b = _shared(redis_url, "ctl-a"), _shared(redis_url, "ctl-b")
    journal_a, journal_b = RedisJournal(a), RedisJournal(b)
    journal_a.put(_entry("u1"))
    journal_a.put(_entry("u2"))
    journal_a.remove("u2")
    journal_a.put_meta("core_uuid", "core-1")
    journal_b.put(_entry("u3"))
    assert [e.uuid for e in journal_b.entries()] == ["u3"]  # each reads its own calls
    assert journal_b.take_over(["ctl-a"]) == 0  # alive
    _die(a)
    assert journal_b.take_over(["ctl-a"]) == 1
    taken = {e.uuid: e for e in journal_b.entries()}
    assert set(taken) == {"u1", "u3"}
    assert taken["u1"] == _entry("u1")
    assert journal_a.entries() == [] and journal_a.get_meta() == {}


def test_the_first_node_to_claim_a_room_is_its_home(redis_url):
    a, b = _shared(redis_url, "ctl-a"), _shared(redis_url, "ctl-b")
    directory_a, directory_b = RoomDirectory(a), RoomDirectory(b)
    assert directory_a.claim("lobby", "fs1:8021") == "fs1:8021"
    assert directory_b.claim("lobby", "fs2:8021") == "fs1:8021"
    assert directory_b.home("lobby") == "fs1:8021"
    assert directory_b.release("lobby", "fs2:8021") is False  # not its home
    assert directory_a.home("lobby") == "fs1:8021"
    assert directory_a.release("lobby", "fs1:8021") is True
    assert directory_b.home("lobby") is None
    assert directory_b.claim("lobby", "fs2:8021") == "fs2:8021"
    directory_a.claim("other", "fs2:8021")
    assert directory_a.release_node("fs2:8021") == 2
    assert (directory_a.home("lobby"), directory_a.home("other")) == (None, None)


def test_an_idempotency_key_used_on_one_controller_replays_on_another(redis_url):
    a, b = _shared(redis_url, "ctl-a"), _shared(redis_url, "ctl-b")
    store_a = RedisIdempotencyStore(a, "v1", 60)
    store_b = RedisIdempotencyStore(b, "v1", 60, wait_timeout=0.2)
    assert store_a.begin("k1", "print-1") is None
    with pytest.raises(ApiError) as running:
        store_b.begin("k1", "print-1")
    assert running.value.code == "idempotency_key_in_use"
    store_a.finish("k1", StoredResponse(201, b'{"ok": true}', "application/json"))
    replay = store_b.begin("k1", "print-1")
    assert replay == StoredResponse(201, b'{"ok": true}', "application/json")
    with pytest.raises(ApiError) as reused:
        store_b.begin("k1", "print-2")
    assert reused.value.code == "idempotency_key_reused"
    # An answer that says nothing ran is not kept: the retry runs.
    assert store_a.begin("k2", "p") is None
    store_a.finish("k2", StoredResponse(503, b"{}", "application/json"))
    assert store_b.begin("k2", "p") is None
    # Scopes (APIs) do not share keys.
    assert RedisIdempotencyStore(b, "calls", 60).begin("k1", "print-9") is None
    stored = json.loads(redis.Redis.from_url(redis_url).get("cc:idem:v1:k1"))
    assert stored["f"] == "print-1"


def test_redis_unreachable_is_a_clear_start_up_error(tmp_path):
    settings = load_settings(environ={}, overrides={
        "cluster": {"redis_url": "redis://127.0.0.1:1/0", "node_id": "x"}})
    with pytest.raises(ClusterError, match="cannot use Redis at redis://127.0.0.1:1/0"):
        Shared(settings.cluster, "x").join()


def test_a_telnyx_command_id_answered_on_one_controller_answers_on_another(redis_url):
    from controller.cluster.commands import RedisCommandIds

    a, b = _shared(redis_url, "ctl-a"), _shared(redis_url, "ctl-b")
    ids_a, ids_b = RedisCommandIds(a, 60), RedisCommandIds(b, 60)
    key = ("v3:abc", "cmd-1")
    assert ids_b.get(key) is None
    ids_a.keep(key, (200, {"data": {"result": "ok"}}))
    assert ids_b.get(key) == (200, {"data": {"result": "ok"}})
    ids_b.keep(key, (422, {"errors": []}))  # the first answer stays
    assert ids_a.get(key) == (200, {"data": {"result": "ok"}})
    assert ids_a.get(("conferences", "cmd-1")) is None  # per resource


def test_a_delivery_being_added_is_never_handed_out_as_left_over(redis_url):
    """load('pending') after start-up returns only what was taken from dead nodes: a
    delivery whose add() is still returning (in Redis, not yet known as being sent) is
    not sent a second time by a concurrent takeover."""
    a = _shared(redis_url, "ctl-a")
    outbox = RedisOutbox(a)
    assert outbox.load(PENDING) == []  # start-up: nothing left
    # The state in the middle of add(): in this node's set, not yet in its lanes.
    RedisOutbox(a).add(_delivery("l", 1))
    dead = _shared(redis_url, "ctl-dead")
    RedisOutbox(dead).add(_delivery("l", 2))
    _die(dead)
    assert outbox.claim_orphans(["ctl-dead"]) == 1
    assert [d.url for d in outbox.load(PENDING)] == ["http://app.test/cb/2"]
    assert outbox.load(PENDING) == []


def _outbox_command(redis_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "CC_CLUSTER_REDIS_URL": redis_url}
    return subprocess.run([sys.executable, "-m", "controller.cli", "outbox", *args],
                          env=env, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent.parent)


def test_the_outbox_command_lists_retries_and_drops_the_clusters_deliveries(redis_url):
    from gevent.pywsgi import WSGIServer

    a, b = _shared(redis_url, "ctl-a"), _shared(redis_url, "ctl-b")
    pending_a, pending_b = _delivery("l", 1), _delivery("l", 2)
    RedisOutbox(a).add(pending_a)
    RedisOutbox(b).add(pending_b)
    received = []

    def app(environ, start_response):
        received.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    failed = [Delivery("POST", f"http://127.0.0.1:{server.address[1]}/again/{n}", "l",
                       form={"n": str(n)}) for n in (3, 4)]
    for delivery in failed:
        RedisOutbox(a).add(delivery)
        delivery.error = "HTTP 500"
        RedisOutbox(a).mark_failed(delivery)
    try:
        listed = _outbox_command(redis_url, "list", "--state", "all", "--json")
        assert listed.returncode == 0, listed.stderr
        shown = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [(d["id"], d["state"]) for d in shown] == [
            (pending_a.id, "pending"), (pending_b.id, "pending"),
            (failed[0].id, "failed"), (failed[1].id, "failed")]
        # (subprocess is gevent's here: the application below answers while it waits)
        retried = _outbox_command(redis_url, "retry", str(failed[0].id))
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert received == ["/again/3"]
        dropped = _outbox_command(redis_url, "drop", str(failed[1].id))
        assert (dropped.returncode, dropped.stdout.strip()) == (0, "dropped 1 delivery")
        assert RedisOutbox(b).load(FAILED) == []
        assert redis.Redis.from_url(redis_url).zcard("cc:outbox:failed") == 0
        missing = _outbox_command(redis_url, "drop", "999")
        assert missing.returncode == 2 and "no failed delivery with id 999" in missing.stderr
    finally:
        server.stop(timeout=1)
