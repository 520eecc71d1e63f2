"""The OpenAPI document: valid OpenAPI 3, and exactly the routes the controller serves."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from controller.api import inputs
from controller.api.errors import ERROR_CODES
from controller.api.openapi import (
    IDEMPOTENCY_PATTERN,
    MEMBER_ID_PATTERN,
    NAME_PATTERN,
    SELECTOR_PATTERN,
    build_openapi,
)
from controller.config import load_settings
from controller.http import create_app
from controller.service import ControllerService


def served_routes(tmp_path) -> set[tuple[str, str]]:
    settings = load_settings(environ={}, overrides={
        "api": {"token": "t"},
        "recordings": {"directory": str(tmp_path / "rec")},
        "media": {"directory": str(tmp_path / "media")},
    })
    app = create_app(ControllerService(settings))  # not started: only its routes are read
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def documented_routes(spec) -> set[tuple[str, str]]:
    """Templated paths, with the per-action paths folded back into {action}."""
    routes = set()
    for path, item in spec["paths"].items():
        for method in item.keys() - {"parameters"}:
            path_ = re.sub(r"/(members/\{member\}/)?(\w+)$",
                           lambda m: "/" + (m.group(1) or "") + "{action}", path) \
                if method == "post" and path != "/v1/calls" else path  # dial: no {action}
            routes.add((method, path_))
    return routes


def test_document_is_valid_openapi_3():
    spec = build_openapi()
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_document_covers_every_route_and_action(tmp_path):
    spec = build_openapi()
    assert documented_routes(spec) == served_routes(tmp_path)
    for action in inputs.MEMBER_ACTIONS:
        assert f"/v1/conferences/{{name}}/members/{{member}}/{action}" in spec["paths"]
    for action in inputs.ROOM_ACTIONS:
        assert f"/v1/conferences/{{name}}/{action}" in spec["paths"]


def test_every_operation_is_secured_and_answers_json_errors():
    spec = build_openapi()
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {"basicAuth": {"type": "http", "scheme": "basic"},
                       "bearerAuth": {"type": "http", "scheme": "bearer"}}
    assert spec["security"] == [{"basicAuth": []}, {"bearerAuth": []}]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "security" not in operation, path  # the global requirement applies
            responses = operation["responses"]
            assert "401" in responses and "500" in responses, (method, path)
            if method == "post":
                wanted = ({"409", "413", "415", "422", "503"} if path == "/v1/calls"  # dial
                          else {"404", "409", "413", "415", "422", "502", "503", "504"})
                if path.startswith("/v1/calls/{call_id}/"):
                    # Commands to a live call go to the call's own greenlet, not FreeSWITCH.
                    wanted -= {"502", "503", "504"}
                assert wanted <= set(responses), (method, path)
                assert operation["requestBody"]["content"]["application/json"]["schema"]
                assert operation["parameters"] == [
                    {"$ref": "#/components/parameters/IdempotencyKey"}]
    assert spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"] == \
        sorted(ERROR_CODES)


def test_patterns_agree_with_the_code():
    for good in ("room1", "A.b-c_d", "x" * 100):
        assert re.match(NAME_PATTERN, good) and inputs.ROOM_NAME.match(good)
    for bad in ("", "x" * 101, "a b", "a/b"):
        assert not re.match(NAME_PATTERN, bad) and not inputs.ROOM_NAME.match(bad)
    for good in ("all", "1", "5,6,7", ",".join(["9"] * 100)):
        assert re.match(SELECTOR_PATTERN, good)
    for bad in ("0", "01", "1,", ",".join(["9"] * 101), "last"):
        assert not re.match(SELECTOR_PATTERN, bad)
    assert re.match(MEMBER_ID_PATTERN, "42") and not re.match(MEMBER_ID_PATTERN, "all")
    assert re.match(IDEMPOTENCY_PATTERN, "abc-123") and not re.match(IDEMPOTENCY_PATTERN, "a b")
    schemas = build_openapi()["components"]["schemas"]
    assert schemas["PlayRequest"]["properties"]["tone"]["enum"] == list(inputs.TONES)
    assert schemas["SpeakRequest"]["properties"]["voice"]["enum"] == list(inputs.VOICES)
    assert schemas["RecordStartRequest"]["properties"]["format"]["enum"] == ["mp3", "wav"]
