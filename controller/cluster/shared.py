"""The Redis connection of a cluster, its key names, and this controller's liveness.

Every controller holds ``<prefix>:node:<node_id>`` (a random token, expiring after
``[cluster] lease_seconds``) and refreshes it at a third of that. A controller whose
key expired is dead: what it owned in the outbox and journal may be taken by any
live controller (``controller.cluster.takeover``). Two processes never run with the
same node id: the second waits for the key to expire and then refuses to start.

The scripts below build key names inside Lua from the prefix, which a single Redis
(or one with Sentinel failover) allows; Redis Cluster (sharded) does not and is not
supported.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

import redis

from controller.config import ClusterSettings

log = logging.getLogger(__name__)


REDIS_CONNECTIONS = 100  # per controller; a greenlet waits (10 s at most) for a free one


class ClusterError(OSError):
    """Redis cannot be used (unreachable, or another controller has this node id).
    An OSError: start-up reports it like an unusable directory."""


def default_node_id(http_port: int) -> str:
    """Host name and HTTP port: unique per controller unless configured otherwise."""
    host = socket.gethostname().split(".")[0] or "controller"
    return f"{host}-{http_port}-{os.getpid()}" if http_port == 0 else f"{host}-{http_port}"


class Shared:
    """One Redis client (thread/greenlet safe connection pool) and the key layout."""

    def __init__(self, settings: ClusterSettings, node_id: str):
        self.settings = settings
        self.node_id = node_id
        self.prefix = settings.key_prefix
        self.lease_ms = int(settings.lease_seconds * 1000)
        self.token = uuid.uuid4().hex
        try:
            # Every call's greenlet may use Redis at the same moment; redis-py's default
            # pool raises "Too many connections" past 100 (bench.cluster_capacity lost
            # journal and outbox writes at 1,000 calls): a blocking pool waits for one.
            pool = redis.BlockingConnectionPool.from_url(
                settings.redis_url, socket_connect_timeout=3, socket_timeout=10,
                health_check_interval=30, max_connections=REDIS_CONNECTIONS, timeout=10)
        except ValueError as exc:
            raise ClusterError(f"cluster.redis_url: {exc}") from None
        self.redis = redis.Redis(connection_pool=pool)
        self.redis.auto_close_connection_pool = True  # close() closes the pool too

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    @property
    def node_key(self) -> str:
        return self.key("node", self.node_id)

    def join(self) -> None:
        """Take this node id (waits up to one lease for a previous holder's key to expire)."""
        deadline = time.monotonic() + self.settings.lease_seconds + 1
        try:
            while not self.redis.set(self.node_key, self.token, nx=True, px=self.lease_ms):
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"another live controller uses the cluster node id {self.node_id!r} "
                        f"(Redis key {self.node_key}); give each controller its own "
                        "[cluster] node_id")
                time.sleep(0.2)
            self.redis.sadd(self.key("nodes"), self.node_id)
        except redis.RedisError as exc:
            raise ClusterError(f"cannot use Redis at {self.settings.redis_url}: {exc}") from None
        log.info("cluster: joined as %s (Redis %s)", self.node_id, self.settings.redis_url)

    _REFRESH = """
    local held = redis.call('GET', KEYS[1])
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    redis.call('SADD', KEYS[2], ARGV[3])
    if held == ARGV[1] then return 1 end
    return 0
    """

    def refresh(self) -> bool:
        """Renew the liveness key; False when it had expired (others may have taken over
        what this controller owned: some callbacks may then be sent twice)."""
        kept = self.redis.eval(self._REFRESH, 2, self.node_key, self.key("nodes"),
                               self.token, self.lease_ms, self.node_id)
        return bool(kept)

    _LEAVE = """
    if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
    return 1
    """

    def leave(self) -> None:
        """A stopping controller lets the others take what it leaves at once."""
        try:
            self.redis.eval(self._LEAVE, 1, self.node_key, self.token)
        except redis.RedisError as exc:
            log.warning("cluster: cannot release the node key %s: %s", self.node_key, exc)

    def dead_nodes(self) -> list[str]:
        """Node ids registered in the cluster whose liveness key is gone."""
        names = sorted(n.decode() for n in self.redis.smembers(self.key("nodes")))
        others = [n for n in names if n != self.node_id]
        if not others:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for name in others:
            pipe.exists(self.key("node", name))
        return [name for name, up in zip(others, pipe.execute(), strict=True) if not up]

    def forget_node(self, node_id: str) -> None:
        """A dead node whose outbox and journal were taken over leaves the registry."""
        self.redis.srem(self.key("nodes"), node_id)

    def close(self) -> None:
        self.redis.close()
