"""Credentials, routing errors and an unreachable FreeSWITCH, over real HTTP.

The controller runs for real, pointed at a port where no FreeSWITCH listens.
"""

from __future__ import annotations

import base64

import pytest
import requests
from api.support import ephemeral_http
from stack import free_port

from controller.config import load_settings
from controller.service import ControllerService

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def controller(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-errors")
    overrides = {
        "freeswitch": {"esl_host": "127.0.0.1", "esl_port": str(free_port()),
                       "command_timeout": "1"},
        "outbound": {"listen_host": "127.0.0.1", "listen_port": "0"},  # any: never called
        "recordings": {"directory": str(tmp / "rec")},
        "media": {"directory": str(tmp / "media")},
        "api": {"token": TOKEN, "username": "ops", "password": "pw"},
        **ephemeral_http(),
    }
    service = ControllerService(load_settings(environ={}, overrides=overrides))
    service.start()
    try:
        yield f"http://127.0.0.1:{service.http_port}"
    finally:
        service.stop()


GUARDED = [
    ("get", "/v1/openapi.json"),
    ("get", "/v1/conferences"),
    ("get", "/v1/conferences/room1"),
    ("get", "/v1/conferences/room1/members/5"),
    ("post", "/v1/conferences/room1/members/all/mute"),
    ("post", "/v1/conferences/room1/end"),
]


@pytest.mark.parametrize("method,path", GUARDED)
def test_every_endpoint_needs_credentials(controller, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": "Basic " + base64.b64encode(b"ops:nope").decode()}):
        response = requests.request(method, controller + path, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"


def test_basic_credentials_work_too(controller):
    basic = {"Authorization": "Basic " + base64.b64encode(b"ops:pw").decode()}
    response = requests.get(controller + "/v1/openapi.json", headers=basic, timeout=5)
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_unreachable_freeswitch_is_503(controller):
    for method, path in GUARDED[1:]:
        response = requests.request(method, controller + path, headers=AUTH, timeout=5)
        assert response.status_code == 503, path
        body = response.json()
        assert body["error"] == "freeswitch_unavailable"
        assert "not reachable" in body["message"]


def test_a_503_is_not_kept_for_its_idempotency_key(controller):
    headers = {**AUTH, "Idempotency-Key": "k-503"}
    url = controller + "/v1/conferences/room1/lock"
    first = requests.post(url, headers=headers, timeout=5)
    second = requests.post(url, headers=headers, timeout=5)
    assert first.status_code == second.status_code == 503
    assert "Idempotency-Replayed" not in second.headers  # it was tried again


def test_bad_input_is_422_before_freeswitch_is_asked(controller):
    cases = [
        ("post", "/v1/conferences/room%201/lock", None, "path.name"),
        ("post", "/v1/conferences/room1/explode", None, "path.action"),
        ("post", "/v1/conferences/room1/members/0/mute", None, "path.member"),
        ("post", "/v1/conferences/room1/members/all/teleport", None, "path.action"),
        ("get", "/v1/conferences/room1/members/all", None, "path.member_id"),
        ("post", "/v1/conferences/room1/members/5/dtmf", {"digits": "12x"}, "body.digits"),
        ("post", "/v1/conferences/room1/record_start", {"format": "ogg"}, "body.format"),
    ]
    for method, path, body, field in cases:
        response = requests.request(method, controller + path, headers=AUTH, json=body,
                                    timeout=5)
        assert response.status_code == 422, path
        assert response.json()["error"] == "invalid_input"
        assert response.json()["field"] == field


def test_bad_idempotency_key_names_the_header(controller):
    response = requests.post(controller + "/v1/conferences/room1/lock",
                             headers={**AUTH, "Idempotency-Key": "x" * 300}, timeout=5)
    assert response.status_code == 422
    assert response.json()["field"] == "header.Idempotency-Key"


def test_routing_errors_are_json_under_v1(controller):
    missing = requests.get(controller + "/v1/nothing/here", headers=AUTH, timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong_method = requests.delete(controller + "/v1/conferences/room1", headers=AUTH,
                                   timeout=5)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"
    # Outside /v1 Flask's own answers stay as they were.
    assert requests.get(controller + "/healthz", timeout=5).json() == {"status": "alive"}
    assert requests.get(controller + "/nothing", timeout=5).status_code == 404


def test_oversized_and_non_json_bodies(controller):
    url = controller + "/v1/conferences/room1/members/5/speak"
    big = requests.post(url, headers=AUTH, data=b"{" + b" " * (70 * 1024) + b"}",
                        timeout=5)
    assert big.status_code == 413
    assert big.json()["error"] == "body_too_large"
    form = requests.post(url, headers=AUTH, data={"text": "hi"}, timeout=5)
    assert form.status_code == 415
    assert form.json()["error"] == "unsupported_media_type"
    broken = requests.post(url, headers={**AUTH, "Content-Type": "application/json"},
                           data=b'{"text": ', timeout=5)
    assert broken.status_code == 422
    assert broken.json()["field"] == "body"
