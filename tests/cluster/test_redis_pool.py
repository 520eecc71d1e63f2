"""A controller's Redis client under many greenlets at once: every call's greenlet may
journal its call or add a callback to the outbox at the same moment; none may fail for
want of a connection (redis-py's default pool raises "Too many connections" past 100)."""

from __future__ import annotations

import gevent

from controller.cluster.shared import REDIS_CONNECTIONS, Shared
from controller.config import load_settings


def test_more_greenlets_than_connections_all_get_their_answer(redis_url):
    settings = load_settings(environ={}, overrides={"cluster": {"redis_url": redis_url}})
    shared = Shared(settings.cluster, "pool-test")
    try:
        # BLPOP holds its connection for its whole timeout: 150 at once need 150
        # connections unless the pool makes the surplus wait for a free one.
        waiting = [gevent.spawn(shared.redis.blpop, [f"cc:test:empty:{n}"], timeout=0.3)
                   for n in range(REDIS_CONNECTIONS + 50)]
        gevent.joinall(waiting, timeout=30)
        failures = [g.exception for g in waiting if g.exception is not None]
        assert failures == []
        assert all(g.successful() and g.value is None for g in waiting)
    finally:
        shared.close()
