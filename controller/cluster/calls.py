"""Which controller runs each call, so the REST API of any controller reaches any call.

A call's commands (redirect, hangup, play...) can only run where its session runs: on
the controller holding the call's outbound socket. ``SharedCallRegistry`` is the
engine's ``CallRegistry`` that also writes ``<p>:call:<uuid>`` (and the face's call id)
-> ``<node_id> <public HTTP base URL>`` while the call runs. A controller asked about a
call it does not run forwards the request there (``forward``), once: the forwarded
request carries ``X-Conference-Forwarded`` and is never forwarded again. A call whose
controller is dead (its liveness key gone) is answered 404 by the asker; the
controller that takes it over watches it (``controller.recovery``) but cannot command
it until the dialplan hands it back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis
import requests

from controller.calls import CallRegistry
from controller.cluster.shared import Shared

log = logging.getLogger(__name__)

FORWARDED_HEADER = "X-Conference-Forwarded"
FORWARD_TIMEOUT = 10.0
CALL_KEY_SECONDS = 86400  # a stale entry (controller killed) expires by itself
_PASSED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key")


class SharedCallRegistry(CallRegistry):
    def __init__(self, shared: Shared, public_base_url: str):
        super().__init__()
        self.shared = shared
        self.owner_value = f"{shared.node_id} {public_base_url.rstrip('/')}"

    def __bool__(self) -> bool:
        return True  # an empty registry is still one (Engine: ``calls or CallRegistry()``)

    def _keys(self, call: Any) -> list[str]:
        names = {call.uuid, call.call_id} - {"", None}
        return [self.shared.key("call", name) for name in names]

    def add(self, call: Any) -> None:
        super().add(call)
        try:
            pipe = self.shared.redis.pipeline(transaction=False)
            for key in self._keys(call):
                pipe.set(key, self.owner_value, ex=CALL_KEY_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("cluster: call %s not in the shared registry (%s): only this "
                        "controller's REST API reaches it", call.uuid, exc)

    def remove(self, call: Any) -> None:
        super().remove(call)
        try:
            self.shared.redis.delete(*self._keys(call))
        except redis.RedisError as exc:
            log.warning("cluster: call %s stays in the shared registry (%s)", call.uuid, exc)

    def find(self, call_id: str) -> Any:
        """Here, or RunsElsewhere (controller.cluster.forward) when a live controller
        runs it; None when nobody does (or the request was forwarded already)."""
        from controller.cluster.forward import RunsElsewhere, may_forward

        call = self.get(call_id)
        if call is not None or not call_id or not may_forward():
            return call
        url = self.owner(call_id)
        if url is not None:
            raise RunsElsewhere(f"call {call_id}", url)
        return None

    def owner(self, call_id: str) -> str | None:
        """The HTTP base URL of the live controller running this call, if another."""
        try:
            value = self.shared.redis.get(self.shared.key("call", call_id))
            if value is None:
                return None
            node_id, _, url = value.decode().partition(" ")
            if node_id == self.shared.node_id or not url:
                return None
            if not self.shared.redis.exists(self.shared.key("node", node_id)):
                return None  # its controller died: nobody can command the call now
            return url
        except redis.RedisError as exc:
            log.warning("cluster: cannot look up call %s (%s)", call_id, exc)
            return None


def forward(base_url: str, method: str, path: str, headers: Mapping[str, str],
            body: bytes) -> tuple[int, bytes, str] | None:
    """The same request to the controller running the call: (status, body, content
    type), or None when that controller cannot be reached."""
    passed = {name: headers[name] for name in _PASSED_HEADERS if name in headers}
    passed[FORWARDED_HEADER] = "1"
    try:
        reply = requests.request(method, base_url + path, headers=passed, data=body,
                                 timeout=FORWARD_TIMEOUT)
    except requests.RequestException as exc:
        log.warning("cluster: controller %s unreachable for %s %s: %s", base_url, method,
                    path, exc)
        return None
    return reply.status_code, reply.content, reply.headers.get("Content-Type",
                                                               "application/json")
