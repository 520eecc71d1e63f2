"""Telnyx ``command_id``s in Redis: a command repeated on another controller answers the
first answer instead of running again (the same ``get``/``keep`` as the face's in-process
``controller.dialects.telnyx.rest.CommandIds``).

``<p>:command:<resource>:<command_id>`` holds ``[status, body]`` (JSON) for
``[api] idempotency_ttl`` seconds; the first answer kept wins (SET NX).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from controller.cluster.shared import Shared

log = logging.getLogger(__name__)


class RedisCommandIds:
    def __init__(self, shared: Shared, ttl: float):
        self.shared = shared
        self.ttl_ms = int(ttl * 1000)

    def _key(self, key: tuple[str, str]) -> str:
        return self.shared.key("command", *key)

    def get(self, key: tuple[str, str]) -> tuple[int, Any] | None:
        try:
            text = self.shared.redis.get(self._key(key))
        except redis.RedisError as exc:
            log.warning("cluster: command_id %s not checked (Redis: %s); the command runs",
                        key[1], exc)
            return None
        if text is None:
            return None
        status, body = json.loads(text)
        return int(status), body

    def keep(self, key: tuple[str, str], answer: tuple[int, Any]) -> None:
        try:
            self.shared.redis.set(self._key(key), json.dumps(list(answer)), nx=True,
                                  px=self.ttl_ms)
        except redis.RedisError as exc:
            log.warning("cluster: command_id %s not kept (Redis: %s)", key[1], exc)
