"""The durable outbox over real HTTP and a real SQLite file: written before the attempt,
removed when answered, kept when failed, sent again after a restart in lane order; the
`outbox` command; document fetches that are never sent twice."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import gevent
import pytest
from flask import Flask, request
from httpapp import serve

from controller.config import load_settings
from controller.model import HttpMethod, Webhook
from controller.outbox import OUTBOX_FILE, Delivery, OutboxError, SqliteOutbox
from controller.webhooks import RECOVERED_HEADER, WebhookError, Webhooks

ROOT = Path(__file__).resolve().parent.parent.parent


def settings(**overrides: str):
    values = {"retries": "2", "backoff": "0.01", "connect_timeout": "1", "read_timeout": "2",
              "fetch_timeout": "1"}
    values.update(overrides)
    return load_settings(environ={}, overrides={"webhooks": values}).webhooks


def rows(directory: Path) -> list[sqlite3.Row]:
    """What another process reading the file sees."""
    db = sqlite3.connect(directory / OUTBOX_FILE)
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM deliveries ORDER BY id").fetchall()
    finally:
        db.close()


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def recorder(directory: Path | None = None, statuses: list[int] | None = None,
             delay: float = 0.0) -> Flask:
    app = Flask("peer")
    app.seen = []
    statuses = list(statuses or [])

    @app.route("/hook", methods=["GET", "POST"])
    def hook():
        stored = [dict(r) for r in rows(directory)] if directory is not None else []
        app.seen.append({"form": request.form.to_dict(), "headers": dict(request.headers),
                         "body": request.get_data(), "stored": stored})
        if delay:
            gevent.sleep(delay)
        return "ok", statuses.pop(0) if statuses else 200

    return app


def test_a_callback_is_on_disk_before_it_is_sent_and_gone_once_answered(tmp_path):
    app = recorder(tmp_path)
    with serve(app) as base:
        hooks = Webhooks(settings(), outbox=SqliteOutbox(str(tmp_path)))
        hooks.send(Webhook(f"{base}/hook"), {"ConferenceAction": "enter", "n": 1}, key="call:a")
        assert hooks.flush(timeout=10)
        (seen,) = app.seen
        (row,) = seen["stored"]  # read by the application while the request was open
        assert row["state"] == "pending" and row["lane"] == "call:a"
        assert json.loads(row["form"]) == {"ConferenceAction": "enter", "n": "1"}
        assert row["url"] == f"{base}/hook" and row["method"] == "POST"
        assert rows(tmp_path) == []
        hooks.close()


def test_a_final_failure_is_kept_with_everything_and_logged(tmp_path, caplog):
    url = f"http://127.0.0.1:{closed_port()}/hook"
    hooks = Webhooks(settings(retries="1"), outbox=SqliteOutbox(str(tmp_path)))
    hooks.send(Webhook(url), {"ConferenceAction": "exit", "CallUUID": "u1"}, key="call:u1")
    assert hooks.flush(timeout=10)
    (row,) = rows(tmp_path)
    assert row["state"] == "failed" and row["attempts"] == 2
    assert "after 2 attempts" in row["error"] and row["failed_at"]
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert url in record.getMessage()
    assert record.callback["params"] == {"ConferenceAction": "exit", "CallUUID": "u1"}
    assert record.callback["url"] == url and record.callback["lane"] == "call:u1"
    hooks.close()


def test_what_a_previous_run_left_is_sent_again_in_each_lane_order(tmp_path):
    app = recorder(delay=0.01)
    with serve(app) as base:
        previous = SqliteOutbox(str(tmp_path))
        for n in range(4):
            for lane in ("call:a", "call:b"):
                previous.add(Delivery("POST", f"{base}/hook", lane,
                                      form={"lane": lane, "n": str(n)}))
        previous.flush()
        previous.close()  # as after a kill: rows still pending; the lock goes with the process
        hooks = Webhooks(settings())
        assert hooks.use_outbox(SqliteOutbox(str(tmp_path))) == 8
        assert hooks.flush(timeout=10)
    for lane in ("call:a", "call:b"):
        order = [s["form"]["n"] for s in app.seen if s["form"]["lane"] == lane]
        assert order == ["0", "1", "2", "3"]
    assert rows(tmp_path) == []
    hooks.close()


def test_two_controllers_cannot_share_a_data_directory(tmp_path):
    first = SqliteOutbox(str(tmp_path))
    with pytest.raises(OutboxError, match="another controller uses the data directory"):
        SqliteOutbox(str(tmp_path))
    SqliteOutbox(str(tmp_path), owner=False).close()  # the CLI may read it
    first.close()


def test_signatures_are_made_at_each_attempt_and_recovered_is_marked(tmp_path):
    app = recorder(statuses=[503, 200])
    stamps = iter(range(1, 100))

    def stamped(method, url, form, body):
        return {"X-Stamp": str(next(stamps)), "X-Body": body.decode()}

    with serve(app) as base:
        hooks = Webhooks(settings(), outbox=SqliteOutbox(str(tmp_path)),
                         signers={"stamped": stamped})
        hooks.enqueue(Delivery("POST", f"{base}/hook", "room:r", body=b'{"event":"x"}',
                               content_type="application/json", signer="stamped",
                               recovered=True, headers={"X-App": "1"}))
        assert hooks.flush(timeout=10)
        first, second = app.seen
        assert (first["headers"]["X-Stamp"], second["headers"]["X-Stamp"]) == ("1", "2")
        assert second["body"] == b'{"event":"x"}' and second["headers"]["X-Body"] == '{"event":"x"}'
        assert second["headers"]["Content-Type"] == "application/json"
        assert second["headers"][RECOVERED_HEADER] == "true" and second["headers"]["X-App"] == "1"
        hooks.close()


# ---------------------------------------------------------------- document fetches

def document_app() -> Flask:
    app = Flask("docs")
    app.hits = []

    @app.route("/<name>", methods=["GET", "POST"])
    def doc(name):
        app.hits.append(name)
        if name == "slow":
            gevent.sleep(3)
        if name == "broken":
            return "oops", 500
        if name == "loop":
            return "", 302, {"Location": "/loop"}
        return f"<Response>{name}</Response>"

    return app


@pytest.mark.parametrize("name", ["slow", "broken"])
def test_a_document_that_may_have_arrived_is_not_requested_again(name):
    app = document_app()
    with serve(app) as base:
        hooks = Webhooks(settings(retries="3"))
        with pytest.raises(WebhookError) as error:
            hooks.fetch_document(Webhook(f"{base}/{name}"), {"CallUUID": "u"}, 10000)
        assert app.hits == [name]
        assert ("not sent again" in error.value.reason) == (name == "slow")


def test_a_connect_error_is_retried_and_the_fallback_answers():
    app = document_app()
    with serve(app) as base:
        hooks = Webhooks(settings(retries="2"))
        body, url = hooks.fetch_document(
            Webhook(f"http://127.0.0.1:{closed_port()}/answer"), {"CallUUID": "u"}, 10000,
            fallback=Webhook(f"{base}/fallback", HttpMethod.GET))
        assert body == b"<Response>fallback</Response>" and url.startswith(f"{base}/fallback")
        # a 5xx primary also goes to the fallback, once each
        body, _ = hooks.fetch_document(Webhook(f"{base}/broken"), {}, 10000,
                                       fallback=Webhook(f"{base}/fallback"))
        assert body == b"<Response>fallback</Response>"
        assert app.hits == ["fallback", "broken", "fallback"]


def test_both_failures_are_named_when_the_fallback_fails_too():
    app = document_app()
    with serve(app) as base:
        hooks = Webhooks(settings())
        with pytest.raises(WebhookError) as error:
            hooks.fetch_document(Webhook(f"{base}/broken"), {}, 10000,
                                 fallback=Webhook(f"{base}/loop"))
        assert "HTTP 500" in error.value.reason and f"fallback {base}/loop" in error.value.reason
        assert "redirect loop" in error.value.reason


def test_a_redirect_loop_says_so_and_is_never_parsed():
    app = document_app()
    with serve(app) as base:
        hooks = Webhooks(settings())
        with pytest.raises(WebhookError, match="redirect loop: still redirected after 5 "
                                               "redirects"):
            hooks.fetch_document(Webhook(f"{base}/loop"), {}, 10000)
        assert app.hits == ["loop"] * 6  # the first request and 5 redirects, no retry


# ---------------------------------------------------------------- the outbox command

def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "CC_DATA_DIRECTORY": str(tmp_path),
           "CC_WEBHOOKS_RETRIES": "0"}
    return subprocess.run([sys.executable, "-m", "controller.cli", "outbox", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_outbox_command_lists_retries_and_drops_failed_deliveries(tmp_path):
    app = recorder(statuses=[500, 500])
    with serve(app) as base:
        hooks = Webhooks(settings(retries="0"), outbox=SqliteOutbox(str(tmp_path)))
        hooks.send(Webhook(f"{base}/hook"), {"ConferenceAction": "enter"}, key="call:x")
        hooks.send(Webhook(f"{base}/hook"), {"ConferenceAction": "exit"}, key="call:x")
        assert hooks.flush(timeout=10)
        hooks.close()
        first, second = (r["id"] for r in rows(tmp_path))

        listed = cli(tmp_path, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        entries = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [(e["id"], e["params"]["ConferenceAction"]) for e in entries] == \
            [(first, "enter"), (second, "exit")]
        assert entries[0]["url"] == f"{base}/hook" and "HTTP 500" in entries[0]["error"]

        retried = cli(tmp_path, "retry", str(first))
        assert retried.returncode == 0 and f"{first}: delivered (HTTP 200)" in retried.stdout
        assert app.seen[-1]["form"] == {"ConferenceAction": "enter"}

        unknown = cli(tmp_path, "drop", str(first))
        assert unknown.returncode == 2 and f"no failed delivery with id {first}" in unknown.stderr
        assert cli(tmp_path, "drop", "--all").stdout.strip() == "dropped 1 delivery"
        assert rows(tmp_path) == []


def test_outbox_command_without_an_outbox_says_where_it_looked(tmp_path):
    result = cli(tmp_path / "nothing", "list")
    assert result.returncode == 2 and "no outbox in" in result.stderr
    assert "CC_DATA_DIRECTORY" in result.stderr


def test_one_batch_keeps_the_order_of_its_changes(tmp_path):
    """Changes queued before the writer runs are committed together, grouped by kind:
    the last word on a row must still be the last change queued for it."""
    store = SqliteOutbox(str(tmp_path))
    delivered, kept = (Delivery("POST", "http://app/hook", "call:a", form={"n": str(n)})
                       for n in (1, 2))
    store.add(delivered)
    store.add(kept)
    store.journal_put("u1", "first")
    store.journal_delete("u1")
    store.journal_put("u1", "second")
    store.journal_put("u2", "gone")
    store.remove(delivered)
    store.journal_delete("u2")
    assert store.flush(timeout=10)
    assert [json.loads(row["form"]) for row in rows(tmp_path)] == [{"n": "2"}]
    assert store.journal_rows() == [("u1", "second")]
    store.close()


def _delivered_and_stored(store: SqliteOutbox, n: int) -> Delivery:
    delivery = Delivery("POST", "http://app/hook", f"call:{n}", form={"n": str(n)})
    store.add(delivery)
    assert store.flush(timeout=10) and delivery.stored.is_set()
    return delivery


def test_a_delivered_callbacks_delete_rides_with_the_next_write(tmp_path):
    """The delete of a callback already on disk waits for the next change and goes in
    its transaction: at a few hundred callbacks a second, one commit a callback, not two."""
    store = SqliteOutbox(str(tmp_path))
    first = _delivered_and_stored(store, 1)
    commits = store.commits
    store.remove(first)
    gevent.sleep(0)  # the writer looks, sees a delete alone, and waits for company
    assert [json.loads(row["form"]) for row in rows(tmp_path)] == [{"n": "1"}]
    second = Delivery("POST", "http://app/hook", "call:2", form={"n": "2"})
    store.add(second)
    assert store.flush(timeout=10)
    assert store.commits == commits + 1
    assert [json.loads(row["form"]) for row in rows(tmp_path)] == [{"n": "2"}]
    store.close()


def test_a_delete_alone_is_written_soon_and_flush_writes_it_now(tmp_path):
    """With nothing else to write, a delete still reaches the disk (DELETE_DELAY_S), and
    flush() does not wait for company."""
    store = SqliteOutbox(str(tmp_path))
    alone = _delivered_and_stored(store, 1)
    store.remove(alone)
    deadline = gevent.Timeout(10)
    with deadline:  # no flush: the writer's own delay
        while rows(tmp_path):
            gevent.sleep(0.02)
    flushed = _delivered_and_stored(store, 2)
    store.remove(flushed)
    assert store.flush(timeout=10)
    assert rows(tmp_path) == []
    store.close()


def test_a_delete_queued_before_its_insert_is_written_is_not_deferred(tmp_path):
    """A row still queued for insert is deleted in order after it (never left behind)."""
    store = SqliteOutbox(str(tmp_path))
    quick = Delivery("POST", "http://app/hook", "call:q", form={"n": "q"})
    store.add(quick)
    store.remove(quick)  # before the writer ran: the insert is not on disk yet
    assert store.flush(timeout=10)
    assert rows(tmp_path) == []
    store.close()
