"""The webhook outbox in Redis: a dead controller's callbacks are sent by a live one.

Layout (``<p>`` = ``[cluster] key_prefix``):

- ``<p>:outbox:next``: the id counter (ids grow across the cluster, so one lane's
  deliveries sort in the order they were decided whoever decided them);
- ``<p>:outbox:d:<id>``: the delivery (JSON; raw bodies base64);
- ``<p>:outbox:owned:<node>``: sorted set (score = id) of the pending deliveries a
  controller is sending;
- ``<p>:outbox:failed``: sorted set of the finally failed ones (``outbox list|retry|drop``).

A delivery is added, with its ownership, in one script (one round trip) before its
first attempt, like the SQLite store's commit. Taking over plays the part of Redis
Streams' XAUTOCLAIM with a liveness key instead of an idle time: a lane's retries
may legitimately keep one delivery in flight for minutes, which an idle-time claim
would steal from a live controller, while a controller's liveness key
(``controller.cluster.shared``) expires only when the whole process stops renewing
it. ``claim_orphans`` moves every pending delivery of dead nodes into this node's
set atomically (one script: two live controllers never both take one), and
``load("pending")`` returns what this node owns but is not sending yet, oldest
first, which is exactly what ``Webhooks.resend_pending`` expects of a store at
start-up; the takeover greenlet calls it again whenever a node died.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from typing import Any

import redis

from controller.cluster.shared import Shared
from controller.outbox import FAILED, PENDING, Delivery, OutboxStore

log = logging.getLogger(__name__)

_STORED_FIELDS = (
    "method", "url", "lane", "form", "content_type", "headers", "signer", "dialect",
    "recovered", "reply", "timeout", "fallback_url", "fallback_method", "fallback_headers",
    "created_at", "state", "attempts", "error", "failed_at", "context",
)


def encode_delivery(delivery: Delivery) -> str:
    data: dict[str, Any] = {name: getattr(delivery, name) for name in _STORED_FIELDS}
    data["body"] = (base64.b64encode(delivery.body).decode("ascii")
                    if delivery.body is not None else None)
    return json.dumps(data, separators=(",", ":"), default=str)


def decode_delivery(delivery_id: int, text: str | bytes) -> Delivery:
    """Raises ValueError when the text is not a stored delivery."""
    try:
        data = json.loads(text)
        body = data.pop("body", None)
        delivery = Delivery(**{name: data[name] for name in _STORED_FIELDS if name in data},
                            body=base64.b64decode(body) if body is not None else None)
    except (TypeError, KeyError, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"delivery {delivery_id} unreadable: {exc}") from None
    delivery.id = delivery_id
    delivery.stored.set()
    return delivery


# KEYS: next, owned:<me>; ARGV: the delivery JSON -> the new id.
_ADD = """
local id = redis.call('INCR', KEYS[1])
redis.call('SET', ARGV[1] .. id, ARGV[2])
redis.call('ZADD', KEYS[2], id, id)
return id
"""

# KEYS: nodes, owned:<me>; ARGV: key prefix, me, dead node ids... -> the ids taken over.
# A node is taken over only if its liveness key is still missing when the script runs.
_CLAIM = """
local taken = {}
for i = 3, #ARGV do
  local node = ARGV[i]
  if node ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. ':node:' .. node) == 0 then
    local theirs = ARGV[1] .. ':outbox:owned:' .. node
    for _, id in ipairs(redis.call('ZRANGE', theirs, 0, -1)) do
      redis.call('ZADD', KEYS[2], id, id)
      table.insert(taken, id)
    end
    redis.call('DEL', theirs)
  end
end
return taken
"""


class RedisOutbox(OutboxStore):
    """``OutboxStore`` on the cluster's Redis, owned per controller node."""

    def __init__(self, shared: Shared, *, inspect: bool = False):
        """``inspect``: for ``conference-controller outbox`` (no controller of its own):
        ``load("pending")`` lists every controller's pending deliveries, taking none."""
        self.shared = shared
        self.inspect = inspect
        self._next = shared.key("outbox", "next")
        self._owned = shared.key("outbox", "owned", shared.node_id)
        self._failed = shared.key("outbox", "failed")
        self._data_prefix = shared.key("outbox", "d") + ":"
        self._add = shared.redis.register_script(_ADD)
        self._claim = shared.redis.register_script(_CLAIM)
        self._sending: set[int] = set()  # ids this process has in its lanes
        # What load("pending") hands out: everything owned at the first load (a previous
        # run's), then only what claim_orphans took. Never a delivery add() just wrote:
        # its id reaches _sending only when add's round trip returns, and a load running
        # meanwhile in another greenlet would otherwise send it a second time.
        self._first_load = True
        self._claimed: set[int] = set()
        self._local_id = 0  # ids (< 0) of deliveries Redis did not take
        self.write_errors = 0

    def _data(self, delivery_id: int) -> str:
        return f"{self._data_prefix}{delivery_id}"

    # ------------------------------------------------------------ writes
    def add(self, delivery: Delivery) -> None:
        try:
            delivery.id = int(self._add(keys=[self._next, self._owned],
                                        args=[self._data_prefix, encode_delivery(delivery)]))
            self._sending.add(delivery.id)
        except redis.RedisError as exc:
            # As the SQLite store with a full disk: a callback is better sent than held back.
            self.write_errors += 1
            self._local_id -= 1
            delivery.id = self._local_id
            log.error("outbox: Redis did not take a callback to %s (%s); it is sent but "
                      "would not survive this controller", delivery.url, exc)
        delivery.stored.set()

    def remove(self, delivery: Delivery) -> None:
        self._sending.discard(delivery.id)
        if delivery.id <= 0:
            return
        try:
            pipe = self.shared.redis.pipeline(transaction=True)
            pipe.zrem(self._owned, delivery.id)
            pipe.zrem(self._failed, delivery.id)  # a failed one delivered by `outbox retry`
            pipe.delete(self._data(delivery.id))
            pipe.execute()
        except redis.RedisError as exc:  # one duplicate after a takeover, never a loss
            self.write_errors += 1
            log.warning("outbox: cannot remove delivered callback %d: %s", delivery.id, exc)

    def mark_failed(self, delivery: Delivery) -> None:
        delivery.state = FAILED
        self._sending.discard(delivery.id)
        if delivery.id <= 0:
            return
        try:
            pipe = self.shared.redis.pipeline(transaction=True)
            pipe.set(self._data(delivery.id), encode_delivery(delivery))
            pipe.zrem(self._owned, delivery.id)
            pipe.zadd(self._failed, {str(delivery.id): delivery.id})
            pipe.execute()
        except redis.RedisError as exc:
            self.write_errors += 1
            log.error("outbox: cannot keep failed callback %d: %s", delivery.id, exc)

    # ------------------------------------------------------------ takeover
    def claim_orphans(self, dead_nodes: Iterable[str]) -> int:
        """Move the pending deliveries of these dead nodes to this node; how many."""
        dead = list(dead_nodes)
        if not dead:
            return 0
        taken = self._claim(keys=[self.shared.key("nodes"), self._owned],
                            args=[self.shared.prefix, self.shared.node_id, *dead])
        self._claimed.update(int(i) for i in taken)
        if taken:
            log.warning("outbox: took over %d callback(s) of dead controller(s) %s",
                        len(taken), ", ".join(dead))
        return len(taken)

    # ------------------------------------------------------------ reads
    def _read(self, ids: list[int]) -> list[Delivery]:
        if not ids:
            return []
        texts = self.shared.redis.mget([self._data(i) for i in ids])
        found = []
        for delivery_id, text in zip(ids, texts, strict=True):
            if text is None:
                continue  # removed meanwhile (delivered by its owner just before it died)
            try:
                found.append(decode_delivery(delivery_id, text))
            except ValueError as exc:
                log.error("outbox: %s", exc)
        return found

    def load(self, state: str, ids: Iterable[int] | None = None) -> list[Delivery]:
        """``pending``: what this node owns and does not send yet (at the first load a
        previous run's, later what ``claim_orphans`` took from dead nodes), now counted
        as being sent. ``failed``: the cluster's failed deliveries."""
        wanted = set(ids) if ids is not None else None
        if state == PENDING and self.inspect:
            nodes = sorted(n.decode() for n in self.shared.redis.smembers(self.shared.key("nodes")))
            every = sorted({int(i) for node in nodes for i in self.shared.redis.zrange(
                self.shared.key("outbox", "owned", node), 0, -1)})
            return self._read([i for i in every if wanted is None or i in wanted])
        if state == PENDING:
            owned = [int(i) for i in self.shared.redis.zrange(self._owned, 0, -1)]
            handed = None if self._first_load else self._claimed
            self._first_load, self._claimed = False, set()
            fresh = [i for i in owned if i not in self._sending
                     and (handed is None or i in handed) and (wanted is None or i in wanted)]
            found = self._read(fresh)
            self._sending.update(d.id for d in found)
            return found
        failed = [int(i) for i in self.shared.redis.zrange(self._failed, 0, -1)]
        return self._read([i for i in failed if wanted is None or i in wanted])

    def delete(self, ids: Iterable[int]) -> int:
        count = 0
        for delivery_id in set(ids):
            pipe = self.shared.redis.pipeline(transaction=True)
            pipe.zrem(self._failed, delivery_id)
            pipe.delete(self._data(delivery_id))
            removed, _ = pipe.execute()
            count += int(removed)
        return count
