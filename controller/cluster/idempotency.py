"""Idempotency-Key answers in Redis: a retry reaching another controller replays the
first answer instead of running the command again.

Same contract as ``controller.api.idempotency.IdempotencyStore`` (``begin`` /
``finish``). ``<p>:idem:<scope>:<key>`` holds ``{"f": fingerprint, "r": answer|null}``
for ``ttl`` seconds from its first use, set with SET NX so exactly one controller
runs a key's request; a request with the same key arriving meanwhile on any
controller polls until the answer is stored (or ``wait_timeout``). A key whose
request is still running when its controller dies is freed after
``running_ttl`` seconds, so a retry can run it.
"""

from __future__ import annotations

import base64
import json
import time

import gevent
import redis

from controller.api.errors import ApiError
from controller.api.idempotency import NOT_KEPT, StoredResponse
from controller.cluster.shared import Shared

POLL_SECONDS = 0.05


class RedisIdempotencyStore:
    def __init__(self, shared: Shared, scope: str, ttl: float, *, wait_timeout: float = 30.0,
                 running_ttl: float = 120.0):
        self.shared = shared
        self.scope = scope
        self.ttl_ms = int(ttl * 1000)
        self.wait_timeout = wait_timeout
        self.running_ms = int(min(ttl, running_ttl) * 1000)

    def _key(self, key: str) -> str:
        return self.shared.key("idem", self.scope, key)

    def _unavailable(self, exc: Exception) -> ApiError:
        return ApiError("cluster_unavailable", "the cluster store (Redis) cannot be reached "
                        f"to check "
                        f"the Idempotency-Key: {exc}; retry later")

    def begin(self, key: str, print_: str) -> StoredResponse | None:
        deadline = time.monotonic() + self.wait_timeout
        running = json.dumps({"f": print_, "r": None})
        try:
            while True:
                if self.shared.redis.set(self._key(key), running, nx=True, px=self.running_ms):
                    return None  # ours to run
                text = self.shared.redis.get(self._key(key))
                if text is None:
                    continue  # expired or forgotten between the two commands: try again
                stored = json.loads(text)
                if stored["f"] != print_:
                    raise ApiError(
                        "idempotency_key_reused",
                        "this Idempotency-Key was already used for a different request "
                        "(method, path or body); use a new key for a new request",
                        field="header.Idempotency-Key")
                if stored["r"] is not None:
                    answer = stored["r"]
                    return StoredResponse(answer["status"], base64.b64decode(answer["body"]),
                                          answer["content_type"])
                if time.monotonic() > deadline:
                    raise ApiError("idempotency_key_in_use", "a request with this "
                                   "Idempotency-Key is still running; retry later")
                gevent.sleep(POLL_SECONDS)
        except redis.RedisError as exc:
            raise self._unavailable(exc) from None

    def finish(self, key: str, response: StoredResponse | None) -> None:
        try:
            if response is None or response.status in NOT_KEPT:
                self.shared.redis.delete(self._key(key))
                return
            text = self.shared.redis.get(self._key(key))
            if text is None:
                return
            stored = json.loads(text)
            stored["r"] = {"status": response.status, "content_type": response.content_type,
                           "body": base64.b64encode(response.body).decode("ascii")}
            self.shared.redis.set(self._key(key), json.dumps(stored), px=self.ttl_ms)
        except redis.RedisError:
            pass  # not kept: a retry runs the command again, as after a 503
