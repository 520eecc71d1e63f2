"""Webhooks over real HTTP: retries, ordering per key, signatures, failures kept."""

from __future__ import annotations

import socket

import gevent
import pytest
from flask import Flask, request
from httpapp import serve

from controller.config import load_settings
from controller.model import HttpMethod, Webhook
from controller.signing import SIGNATURE_HEADER, sign, verify_signature
from controller.webhooks import WebhookError, Webhooks


def settings(**overrides):
    values = {"retries": "2", "backoff": "0.01", "connect_timeout": "1", "read_timeout": "2"}
    values.update(overrides)
    return load_settings(environ={}, overrides={"webhooks": values}).webhooks


def recording_app(statuses=None, delay_for=None):
    app = Flask("peer")
    app.seen = []
    statuses = list(statuses or [])

    @app.route("/hook", methods=["GET", "POST"])
    def hook():
        params = request.form.to_dict() if request.method == "POST" else request.args.to_dict()
        app.seen.append((request.method, params, dict(request.headers), request.url))
        if delay_for and params.get("n") == delay_for:
            gevent.sleep(0.3)
        status = statuses.pop(0) if statuses else 200
        return "<Response/>", status

    return app


def test_retries_5xx_then_succeeds():
    app = recording_app(statuses=[503, 500, 200])
    with serve(app) as base:
        hooks = Webhooks(settings())
        result = hooks.request(Webhook(f"{base}/hook"), {"a": "1"})
        assert result.status == 200 and result.body == b"<Response/>"
        assert len(app.seen) == 3
        assert hooks.retried == 2


def test_4xx_is_not_retried_and_names_the_status():
    app = recording_app(statuses=[404])
    with serve(app) as base:
        hooks = Webhooks(settings())
        with pytest.raises(WebhookError) as error:
            hooks.request(Webhook(f"{base}/hook"), {})
        assert error.value.status == 404 and "HTTP 404" in str(error.value)
        assert len(app.seen) == 1


def test_connection_refused_is_retried_then_reported():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    hooks = Webhooks(settings(retries="1"))
    with pytest.raises(WebhookError, match="after 2 attempts"):
        hooks.request(Webhook(f"http://127.0.0.1:{port}/x"), {})


def test_callbacks_with_one_key_arrive_in_order_even_when_one_is_slow():
    app = recording_app(delay_for="0")
    with serve(app) as base:
        hooks = Webhooks(settings())
        for n in range(5):
            hooks.send(Webhook(f"{base}/hook"), {"n": str(n)}, key="member-1")
        hooks.send(Webhook(f"{base}/hook"), {"n": "other"}, key="member-2")
        assert hooks.flush(timeout=10)
        order = [params["n"] for _, params, _, _ in app.seen]
        member1 = [n for n in order if n != "other"]
        assert member1 == ["0", "1", "2", "3", "4"]
        # The other member's callback did not wait behind the slow one.
        assert order.index("other") < order.index("1")
        assert hooks.delivered == 6 and not hooks.failed


def test_failed_callback_is_kept_with_its_parameters():
    app = recording_app(statuses=[500, 500, 500])
    with serve(app) as base:
        hooks = Webhooks(settings())
        hooks.send(Webhook(f"{base}/hook"), {"ConferenceAction": "enter"}, key="k")
        assert hooks.flush(timeout=10)
        assert len(hooks.failed) == 1
        failed = hooks.failed[0]
        assert failed.params == {"ConferenceAction": "enter"}
        assert "HTTP 500" in failed.error


def test_signature_covers_url_and_sorted_form_params():
    app = recording_app()
    with serve(app) as base:
        hooks = Webhooks(settings(signing_secret="s3cret"))
        hooks.request(Webhook(f"{base}/hook"), {"b": "2", "a": "1"})
        hooks.request(Webhook(f"{base}/hook?x=y", HttpMethod.GET), {"c": "3"})
        (m1, p1, h1, url1), (m2, p2, h2, url2) = app.seen
        assert m1 == "POST" and verify_signature("s3cret", url1, p1, h1[SIGNATURE_HEADER])
        assert m2 == "GET" and p2 == {"x": "y", "c": "3"}
        assert verify_signature("s3cret", url2, {}, h2[SIGNATURE_HEADER])
        assert not verify_signature("other", url1, p1, h1[SIGNATURE_HEADER])
        assert not verify_signature("s3cret", url1, {**p1, "a": "9"}, h1[SIGNATURE_HEADER])
        assert h1[SIGNATURE_HEADER] == sign("s3cret", url1, {"a": "1", "b": "2"})


def test_redirects_are_followed_and_url_credentials_become_basic_auth():
    app = recording_app()

    @app.post("/moved")
    def moved():
        return "", 307, {"Location": "/hook"}

    with serve(app) as base:
        hooks = Webhooks(settings())
        body, final = hooks.fetch_document(
            Webhook(base.replace("http://", "http://ops:s%40cret@") + "/moved"), {"a": "1"},
            max_bytes=1000)
        assert body == b"<Response/>" and final == f"{base}/hook"
        method, params, headers, _ = app.seen[0]
        assert method == "POST" and params == {"a": "1"}
        assert headers["Authorization"] == "Basic b3BzOnNAY3JldA=="  # ops:s@cret


def test_document_size_limit_is_enforced_while_reading():
    app = Flask("big")

    @app.post("/big")
    def big():
        return "x" * 5000

    with serve(app) as base:
        hooks = Webhooks(settings())
        with pytest.raises(WebhookError, match="larger than 1024 bytes"):
            hooks.fetch_document(Webhook(f"{base}/big"), {}, max_bytes=1024)
