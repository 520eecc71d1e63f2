"""docker/compose.yaml holds together for the example application and the host (no Docker
engine here: the file is parsed, its ${VAR:-default}s filled, and checked against the code
that reads it). FreeSWITCH's and the controller's variables: tests/integration/
test_freeswitch_conf.py."""

from __future__ import annotations

import inspect
import re
import urllib.parse
from pathlib import Path

import pytest
import yaml

from controller import demo_app

DOCKER = Path(__file__).parent.parent / "docker"
SECRETS = {"FS_ESL_PASSWORD": "e", "FS_SIP_PASSWORD": "s", "CC_API_TOKEN": "t"}


def compose(env: dict[str, str]) -> dict:
    def fill(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"compose requires {name}")
        return arg or ""

    text = (DOCKER / "compose.yaml").read_text()
    return yaml.safe_load(re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", fill, text))


@pytest.fixture
def services() -> dict:
    return compose(SECRETS)["services"]


def published(service: dict, container_port: int) -> tuple[str, int]:
    for spec in service.get("ports", []):
        host, host_port, target = spec.rsplit("/", 1)[0].rsplit(":", 2)
        if int(target) == container_port:
            return host, int(host_port)
    raise AssertionError(f"port {container_port} is not published")


def test_every_variable_the_example_app_gets_is_one_it_reads(services):
    source = inspect.getsource(demo_app)
    read = set(re.findall(r"os\.environ\.get\(\"([A-Z_]+)\"", source))
    given = set(services["example-app"]["environment"])
    assert given <= read, f"set but never read: {given - read}"


def test_the_controller_calls_routes_the_example_app_serves(services):
    env = services["controller"]["environment"]
    app_port = int(services["example-app"]["environment"]["PORT"])
    routes = {rule.rule for rule in demo_app.create_app(time_limit=5).url_map.iter_rules()}
    for name in ("CC_APP_ANSWER_URL", "CC_APP_HANGUP_URL"):
        url = urllib.parse.urlsplit(env[name])
        assert (url.hostname, url.port) == ("example-app", app_port), name
        assert url.path in routes, f"{name} {env[name]}: the app has no such route"


def test_record_urls_open_from_the_docker_host(services):
    controller = services["controller"]
    base = urllib.parse.urlsplit(controller["environment"]["CC_HTTP_PUBLIC_BASE_URL"])
    host, port = published(controller, int(controller["environment"]["CC_HTTP_LISTEN_PORT"]))
    assert base.hostname in ("127.0.0.1", "localhost") and host == "127.0.0.1"
    assert base.port == port


def test_the_example_app_image_runs_the_packaged_app():
    dockerfile = (DOCKER / "example-app" / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "controller.demo_app"]' in dockerfile
    assert "examples/" not in dockerfile  # nothing outside the package is copied
    assert callable(demo_app.main)
