"""Idempotency-Key: the same key and request run once and answer the same; kept in memory.

A key is remembered ``ttl`` seconds from its first use, in this process only:
a controller restart forgets every key (documented in the OpenAPI document).
The request is identified by a fingerprint (method, path, body); reusing a key
for a different request is refused. A second request arriving while the first
is still running waits for its answer instead of running the command again.
Answers that say nothing ran or that we cannot know (500, 503, 504) are not
kept, so a retry with the same key runs the command.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent.event

from controller.api.errors import ApiError

NOT_KEPT = frozenset({500, 503, 504})


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Same request = same method, path and body; JSON bodies compare by content."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


@dataclass
class _Entry:
    fingerprint: str
    created: float
    response: StoredResponse | None = None  # None while the first request runs
    done: gevent.event.Event = field(default_factory=gevent.event.Event)


class IdempotencyStore:
    def __init__(self, ttl: float, *, max_entries: int = 10_000, wait_timeout: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_entries = max_entries
        self.wait_timeout = wait_timeout
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self) -> None:
        cutoff = self.clock() - self.ttl
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.created > cutoff or entry.response is None:
                break
            del self._entries[key]

    def begin(self, key: str, print_: str) -> StoredResponse | None:
        """The stored answer to replay, or None: the caller runs the request, then calls
        ``finish`` (always, also on failure)."""
        self._expire()
        entry = self._entries.get(key)
        if entry is not None and entry.response is None and entry.fingerprint == print_:
            entry.done.wait(self.wait_timeout)
            entry = self._entries.get(key)
            if entry is not None and entry.response is None:
                raise ApiError("idempotency_key_in_use",
                               "a request with this Idempotency-Key is still running; retry later")
        if entry is not None and entry.fingerprint != print_:
            raise ApiError(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request (method, path "
                "or body); use a new key for a new request",
                field="header.Idempotency-Key",
            )
        if entry is not None and entry.response is not None:
            return entry.response
        while len(self._entries) >= self.max_entries:
            _, evicted = self._entries.popitem(last=False)  # the oldest key goes first
            evicted.done.set()
        self._entries[key] = _Entry(print_, self.clock())
        return None

    def finish(self, key: str, response: StoredResponse | None) -> None:
        """Keep ``response`` for the key, or forget the key (None, or a status in NOT_KEPT)."""
        entry = self._entries.get(key)
        if entry is None:
            return
        if response is None or response.status in NOT_KEPT:
            del self._entries[key]
        else:
            entry.response = response
        entry.done.set()


def store_for(service: Any, scope: str) -> Any:
    """The store of one API (``scope``): this process's memory, or in a cluster
    (``[cluster] redis_url``) Redis, shared by every controller
    (controller.cluster.idempotency; same ``begin``/``finish``)."""
    cluster = getattr(service, "cluster", None)
    if cluster is not None:
        return cluster.idempotency_store(scope)
    return IdempotencyStore(service.settings.api.idempotency_ttl)
