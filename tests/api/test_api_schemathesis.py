"""Property-based run of schemathesis against the live API (controller + simulator).

Every documented operation gets its explicit examples (which name the live
room1) plus generated requests, bounded and derandomized, so the run is the
same every time. Each response must conform to the document and no answer may
be a server error. The document is fetched from the running controller.
"""

from __future__ import annotations

import copy

import hypothesis
import requests
import schemathesis
from api.live import LiveRoom
from hypothesis import HealthCheck, Phase, strategies
from schemathesis import GenerationConfig

MAX_EXAMPLES = 20
# Destructive operations last, so the others mostly meet a live room with members.
LAST = ("member_kick", "member_hangup", "room_end")


def offline_schema(spec: dict, media_url: str) -> dict:
    """Generated play URLs would make the controller download from anywhere: point them
    at the test app's file (this machine only)."""
    spec = copy.deepcopy(spec)
    url = spec["components"]["schemas"]["PlayRequest"]["properties"]["url"]
    url.clear()
    url.update({"type": "string", "enum": [media_url]})
    return spec


def test_schemathesis_finds_no_server_error_and_no_schema_violation(room: LiveRoom):
    fetched = room.get("/v1/openapi.json")
    assert fetched.status_code == 200
    spec = offline_schema(fetched.json(), room.stack.app_url + "/media/hello.wav")
    # Our own credentials on every request (not generated ones, which would all be 401).
    schema = schemathesis.from_dict(
        spec, base_url=room.stack.api_base, validate_schema=True,
        generation_config=GenerationConfig(with_security_parameters=False))
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.definition.raw.get("operationId") in LAST)
    # every documented operation (/v1/calls has two: GET lists, POST dials)
    documented = sum(len(set(item) - {"parameters"}) for item in spec["paths"].values())
    assert len(operations) == documented
    session = requests.Session()
    calls: dict[str, int] = {}
    statuses: set[int] = set()

    def run(operation) -> None:
        strategy = operation.as_strategy()
        examples = operation.get_strategies_from_examples()
        if examples:
            strategy = strategies.one_of(strategy, *examples)

        @hypothesis.settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None,
                             deadline=None, phases=[Phase.explicit, Phase.generate],
                             suppress_health_check=list(HealthCheck))
        @hypothesis.given(case=strategy)
        def check(case) -> None:
            # schemathesis 3.39's ignored_auth check writes into case.headers; it may be None.
            case.headers = case.headers or {}
            response = case.call(session=session, headers=room.stack.auth_headers, timeout=10)
            calls[operation.verbose_name] = calls.get(operation.verbose_name, 0) + 1
            statuses.add(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path,
                                                 response.text)
            # With the credentials as sent, schemathesis' ignored_auth check can resend the
            # request without them (and with wrong ones) and expect 401.
            auth = dict(room.stack.auth_headers)
            case.validate_response(response, headers=auth,
                                   transport_kwargs={"headers": auth, "timeout": 10})

        check()

    for operation in operations:
        run(operation)

    assert len(calls) == len(operations)
    assert statuses & {200, 201}, "nothing ever succeeded: the run tested only errors"
    assert 404 in statuses and 422 in statuses
