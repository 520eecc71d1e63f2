"""The cluster tests' redis-server (controller.testing.redis_server): skipped, saying why,
where none is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.testing import redis_server


def RedisServer(directory: Path) -> redis_server.RedisServer:  # noqa: N802 - the class it was
    try:
        return redis_server.RedisServer(directory)
    except redis_server.RedisUnavailable as exc:
        pytest.skip(f"{exc}: the cluster tests need a real Redis")
