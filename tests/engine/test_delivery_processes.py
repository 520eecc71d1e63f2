"""Callbacks sent by worker processes ([webhooks] delivery_processes): real processes, a real
SQLite outbox, real HTTP to a real app. The controller keeps the order of each lane, the
outbox, the retry and failure accounting and the reply handlers; a worker killed in the
middle of an attempt loses nothing and is started again."""

from __future__ import annotations

import os
import signal

import gevent
import gevent.event
import pytest
from flask import Flask, request
from httpapp import serve
from prometheus_client import REGISTRY
from test_outbox import rows

from controller.config import load_settings
from controller.delivery_processes import DeliveryProcesses
from controller.model import Webhook
from controller.outbox import Delivery, SqliteOutbox
from controller.signing import SIGNATURE_HEADER, verify_signature
from controller.webhooks import HttpResult, Webhooks

SECRET = "s3cret"


def full_settings(**webhooks: str):
    values = {"retries": "2", "backoff": "0.01", "connect_timeout": "1", "read_timeout": "5",
              "signing_secret": SECRET}
    values.update(webhooks)
    return load_settings(environ={}, overrides={"webhooks": values})


def wait_until(predicate, what: str, timeout: float = 20.0) -> None:
    with gevent.Timeout(timeout, AssertionError(f"timed out waiting for {what}")):
        while not predicate():
            gevent.sleep(0.02)


def ready(processes: DeliveryProcesses) -> bool:
    return all(worker is not None and worker.ready for worker in processes.workers)


@pytest.fixture
def webhooks(tmp_path):
    settings = full_settings()
    hooks = Webhooks(settings.webhooks, outbox=SqliteOutbox(str(tmp_path)))
    hooks.processes = DeliveryProcesses(settings, 2, "WARNING")
    hooks.processes.start()
    wait_until(lambda: ready(hooks.processes), "two ready workers")
    yield hooks
    hooks.close()


def recorder(statuses: dict[str, list[int]] | None = None) -> Flask:
    app = Flask("peer")
    app.seen = []
    app.hold = {}  # lane -> Event: the request waits until it is set
    statuses = statuses or {}

    @app.post("/hook")
    def hook():
        form = request.form.to_dict()
        app.seen.append({"form": form, "headers": dict(request.headers),
                         "peer_port": request.environ.get("REMOTE_PORT")})
        held = app.hold.get(form.get("lane", ""))
        if held is not None:
            held.wait(30)
        queue = statuses.get(form.get("lane", ""), [])
        return f"reply to {form.get('n')}", queue.pop(0) if queue else 200

    return app


def sample(name: str, dialect: str = "plivo") -> float:
    return REGISTRY.get_sample_value(name, {"dialect": dialect}) or 0.0


def test_callbacks_are_sent_by_the_workers_signed_in_lane_order(webhooks, tmp_path):
    app = recorder()
    sent_before = sample("cc_callbacks_sent_total")
    latency_before = sample("cc_callback_latency_seconds_count")
    with serve(app) as base:
        for n in range(20):
            for lane in ("call:a", "call:b", "call:c"):
                webhooks.send(Webhook(f"{base}/hook"), {"lane": lane, "n": str(n)}, key=lane)
        assert webhooks.flush(timeout=20)
    for lane in ("call:a", "call:b", "call:c"):
        order = [s["form"]["n"] for s in app.seen if s["form"]["lane"] == lane]
        assert order == [str(n) for n in range(20)]
    assert webhooks.delivered == 60 and rows(tmp_path) == []
    # Counted here, where /metrics is served.
    assert sample("cc_callbacks_sent_total") - sent_before == 60
    assert sample("cc_callback_latency_seconds_count") - latency_before == 60
    # Signed by the worker as the controller would have (the secret came with the settings).
    for seen in app.seen:
        signature = seen["headers"][SIGNATURE_HEADER]
        assert verify_signature(SECRET, f"{base}/hook", seen["form"], signature)
    # Nobody in this process opened a connection to the app: the workers did.
    assert webhooks.http._clients == {}


def test_retries_and_final_failures_are_accounted_here(webhooks, tmp_path, caplog):
    app = recorder({"call:flaky": [503, 500], "call:refused": [404]})
    retried_before = sample("cc_callbacks_retried_total")
    failed_before = sample("cc_callbacks_failed_total")
    with serve(app) as base:
        flaky = webhooks.send(Webhook(f"{base}/hook"), {"lane": "call:flaky", "n": "1"},
                              key="call:flaky")
        refused = webhooks.send(Webhook(f"{base}/hook"), {"lane": "call:refused", "n": "2"},
                                key="call:refused")
        assert webhooks.flush(timeout=20)
    assert flaky.attempts == 3 and webhooks.retried == 2
    assert sample("cc_callbacks_retried_total") - retried_before == 2
    assert sample("cc_callbacks_failed_total") - failed_before == 1
    assert refused.attempts == 1 and refused.error == "HTTP 404"
    (row,) = rows(tmp_path)
    assert row["state"] == "failed" and row["error"] == "HTTP 404" and row["attempts"] == 1
    assert list(webhooks.failed) == [refused]
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "HTTP 404" in record.getMessage() and record.callback["lane"] == "call:refused"


def test_the_applications_reply_reaches_the_named_handler(webhooks):
    app = recorder()
    replies: list[tuple[int, HttpResult]] = []
    webhooks.reply_handlers["test"] = lambda delivery, result: replies.append(
        (delivery.id, result))
    with serve(app) as base:
        delivery = webhooks.enqueue(Delivery("POST", f"{base}/hook", "room:r", form={"n": "7"},
                                             reply="test"))
        assert webhooks.flush(timeout=20)
    ((delivered_id, result),) = replies
    assert delivered_id == delivery.id
    assert (result.status, result.body, result.url) == (200, b"reply to 7", f"{base}/hook")
    assert result.content_type.startswith("text/html")


def test_a_worker_killed_in_the_middle_loses_nothing_and_comes_back(webhooks, tmp_path):
    app = recorder()
    app.hold["call:held"] = gevent.event.Event()
    processes = webhooks.processes
    old_pids = set(processes.pids)
    with serve(app) as base:
        webhooks.send(Webhook(f"{base}/hook"), {"lane": "call:held", "n": "1"}, key="call:held")
        wait_until(lambda: len(app.seen) == 1, "the held request at the app")
        (holder,) = [w for w in processes.workers if w is not None and w.load == 1]
        os.kill(holder.pid, signal.SIGKILL)
        app.hold["call:held"].set()  # the attempt made again here is answered at once
        assert webhooks.flush(timeout=20)
        # At least once: the application saw it twice (the first answer died with the worker).
        assert [s["form"]["n"] for s in app.seen] == ["1", "1"]
        assert rows(tmp_path) == [] and webhooks.delivered == 1
        wait_until(lambda: ready(processes) and processes.restarts == 1, "the worker restarted")
        assert holder.pid not in processes.pids and len(set(processes.pids) - old_pids) == 1
        webhooks.send(Webhook(f"{base}/hook"), {"lane": "call:after", "n": "2"}, key="call:after")
        assert webhooks.flush(timeout=20)
    again, after = app.seen[1], app.seen[2]
    assert after["form"] == {"lane": "call:after", "n": "2"}
    # Sent by a worker again: not on the kept-alive connection this process used.
    assert after["peer_port"] != again["peer_port"]


def test_a_signer_the_workers_do_not_have_signs_here(webhooks):
    app = recorder()
    webhooks.signers["local-only"] = lambda method, url, form, body: {"X-Local": "yes"}
    with serve(app) as base:
        webhooks.enqueue(Delivery("POST", f"{base}/hook", "call:x", form={"n": "1"},
                                  signer="local-only"))
        webhooks.send(Webhook(f"{base}/hook"), {"n": "2"}, key="call:y")
        assert webhooks.flush(timeout=20)
    by_n = {s["form"]["n"]: s for s in app.seen}
    assert by_n["1"]["headers"]["X-Local"] == "yes"
    assert SIGNATURE_HEADER in by_n["2"]["headers"]
    assert by_n["1"]["peer_port"] != by_n["2"]["peer_port"]
    assert len(webhooks.http._clients) == 1  # the one this process used for "local-only"


ORPHAN_CHECK = """
from gevent import monkey; monkey.patch_all()
import sys, gevent
from controller.config import load_settings
from controller.delivery_processes import DeliveryProcesses
processes = DeliveryProcesses(load_settings(environ={}), 2, "WARNING")
processes.start()
while not all(w is not None and w.ready for w in processes.workers):
    gevent.sleep(0.02)
print(*processes.pids, flush=True)
gevent.sleep(60)
"""


def test_workers_end_with_their_controller_even_when_it_is_killed():
    import subprocess
    import sys

    controller = subprocess.Popen([sys.executable, "-c", ORPHAN_CHECK], stdout=subprocess.PIPE,
                                  text=True)
    try:
        pids = [int(pid) for pid in controller.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        # A service manager's SIGTERM to the group does not end them before their controller.
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        gevent.sleep(0.5)
        assert all(alive(pid) for pid in pids)
        controller.kill()
        controller.wait(10)
        wait_until(lambda: not any(alive(pid) for pid in pids), "the workers to exit")
    finally:
        controller.kill()


def alive(pid: int) -> bool:
    """A live process (not a zombie: the killed controller's children are reparented)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
