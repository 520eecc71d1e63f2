"""Malformed, huge and deeply nested JSON on every POST endpoint of the REST API: a clear
4xx naming what was wrong, never a 500 (issue 14: a body nested 5,000 deep answered 500)."""

from __future__ import annotations

import base64
import re

import pytest
import requests
from stack import Stack

from controller.api.inputs import MAX_BODY_BYTES, MAX_JSON_DEPTH

CXML_SID, CXML_TOKEN = "AC" + "0" * 32, "cxml-token"
BXML_ACCOUNT, BXML_USER, BXML_PASSWORD = "9900000", "bxml-user", "bxml-password"
TELNYX_KEY = "KEYtelnyx"


def DATA(tmp_path) -> dict:  # noqa: N802 - reads as a constant at the call sites
    # Every face's REST API on, so each one reads the hostile bodies.
    return {"data": {"directory": str(tmp_path / "data")},
            "cxml": {"account_sid": CXML_SID, "auth_token": CXML_TOKEN},
            "bxml": {"account_id": BXML_ACCOUNT, "username": BXML_USER,
                     "password": BXML_PASSWORD},
            "telnyx": {"api_key": TELNYX_KEY}}


def credentials(path: str, native: dict[str, str]) -> dict[str, str]:
    """The Authorization each REST shape expects."""
    if path.startswith("/2010-04-01/"):
        return {"Authorization": _basic(CXML_SID, CXML_TOKEN)}
    if path.startswith("/api/v2/"):
        return {"Authorization": _basic(BXML_USER, BXML_PASSWORD)}
    if path.startswith("/v2/"):
        return {"Authorization": f"Bearer {TELNYX_KEY}"}
    return native


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post_paths(stack: Stack) -> list[str]:
    """Every POST route of the running controller's Flask app, placeholders filled in,
    so an endpoint added later is covered without touching this test."""
    app = stack.controller.http.application
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        path = re.sub(r"<(?:\w+:)?member>", "1", rule.rule)
        path = re.sub(r"<(?:\w+:)?action>", "speak", path)  # takes a body
        path = re.sub(r"<(?:\w+:)?account>", CXML_SID, path)
        path = re.sub(r"<(?:\w+:)?account_id>", BXML_ACCOUNT, path)
        paths.append(re.sub(r"<[^>]+>", "room1", path))
    return paths


BODIES = {
    "deep array": (b"[" * 5000 + b"]" * 5000, 400, "body_too_deep"),
    "deep object": (b'{"a":' * 5000 + b"1" + b"}" * 5000, 400, "body_too_deep"),
    "just over the depth": (b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1),
                            400, "body_too_deep"),
    "unclosed deep": (b"[" * 20000, 400, "body_too_deep"),
    "too large": (b'{"text": "' + b"x" * MAX_BODY_BYTES + b'"}', 413, "body_too_large"),
    "not json": (b"{nope", 422, "invalid_input"),
    "not an object": (b"[1, 2]", 422, "invalid_input"),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_every_post_endpoint_refuses_hostile_json_without_a_500(tmp_path, name):
    body, status, code = BODIES[name]
    with Stack(tmp_path, settings=DATA(tmp_path)) as stack:
        paths = post_paths(stack)
        assert len(paths) >= 2
        for path in paths:
            for extra in ({}, {"Idempotency-Key": "k-" + name.replace(" ", "-")}):
                answer = requests.post(
                    f"{stack.api_base}{path}", data=body, timeout=10,
                    headers={**credentials(path, stack.auth_headers),
                             "Content-Type": "application/json", **extra})
                if not path.startswith("/v1/"):
                    # A face's own REST shape, its cloud's error statuses (tests/dialects/*
                    # check their bodies): read and refused, never a server error.
                    assert 400 <= answer.status_code < 500 and answer.status_code != 401, \
                        (path, extra, answer.text[:200])
                    continue
                assert answer.status_code == status, (path, extra, answer.text[:200])
                assert answer.json()["error"] == code, (path, answer.text[:200])
                if code == "body_too_deep":
                    assert "nested" in answer.json()["message"]
                    assert answer.json()["field"] == "body"


def test_a_chunked_body_over_the_limit_is_refused_while_reading(tmp_path):
    def chunks():
        yield b'{"text": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b"x" * 1024
        yield b'"}'

    with Stack(tmp_path, settings=DATA(tmp_path)) as stack:
        path = post_paths(stack)[0]
        answer = requests.post(f"{stack.api_base}{path}", data=chunks(), timeout=10,
                               headers={**stack.auth_headers,
                                        "Content-Type": "application/json"})
        assert answer.status_code == 413 and answer.json()["error"] == "body_too_large"
