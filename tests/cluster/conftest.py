"""Cluster tests: a real redis-server (skipped with the reason when it is not installed),
controllers and simulators on real sockets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import redis

_TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_TESTS / "integration"))  # appkit
sys.path.insert(0, str(_TESTS / "faults"))  # processes: controllers that can be SIGKILLed
sys.path.insert(0, str(_TESTS / "dialects" / "telnyx"))  # telnyx_app: the Telnyx receiver
from redis_server import RedisServer  # noqa: E402


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """A clean database for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url


@pytest.fixture(autouse=True)
def simulator_only():
    from stack import real_freeswitch

    if real_freeswitch():
        pytest.skip("cluster tests kill controllers and run two nodes: simulator only")
