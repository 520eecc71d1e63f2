"""What a face remembers about its conferences, shared by every controller in Redis.

The Telnyx face keeps a record per conference it created (name, creator's webhook and
client_state, beep, who waits on hold for the start, why it ended...), which its REST
API reads and updates. On one controller an ordered dict holds them; in a cluster a
conference created through one controller is used through any other (a join of a call
the other controller runs, a retrieve, a list), so the records live in Redis:

    <p>:confrec:<face>:<id>     the record as JSON, expiring ``ttl`` seconds after its
                                last write (Telnyx conferences last at most 4 hours)
    <p>:confrec:<face>          sorted set of ids by creation time (the order a list shows)

``SharedRecords`` is the mapping the face uses in place of its dict (the operations
``ConferenceFace`` needs: ``in``, ``[]``, ``values()``, ``len``, ``popitem``); the
face writes a record back (``records[id] = record``) after each change. Two
controllers changing one conference at the same instant: the last write wins.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

from controller.cluster.shared import Shared
from controller.model import HttpMethod, Webhook


def to_json(record: Any) -> str:
    """A record dataclass of plain fields, sets and Webhooks as JSON."""
    fields = {}
    for spec in dataclasses.fields(record):
        value = getattr(record, spec.name)
        if isinstance(value, Webhook):
            value = {"webhook": dataclasses.asdict(value)}
        elif isinstance(value, (set, frozenset)):
            value = {"set": sorted(value)}
        fields[spec.name] = value
    return json.dumps(fields, separators=(",", ":"))


def from_json(kind: Callable[..., Any], text: str | bytes) -> Any:
    fields = json.loads(text)
    for name, value in list(fields.items()):
        if isinstance(value, dict) and "webhook" in value:
            hook = dict(value["webhook"])
            for method in ("method", "fallback_method"):
                hook[method] = HttpMethod(hook[method])
            fields[name] = Webhook(**hook)
        elif isinstance(value, dict) and "set" in value:
            fields[name] = set(value["set"])
    return kind(**fields)


class SharedRecords:
    def __init__(self, shared: Shared, face: str, kind: Callable[..., Any], ttl: int):
        self.shared = shared
        self.kind = kind  # the record's dataclass
        self.ttl = ttl
        self.index = shared.key("confrec", face)

    def _key(self, record_id: str) -> str:
        return f"{self.index}:{record_id}"

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and bool(
            self.shared.redis.exists(self._key(record_id)))

    def __getitem__(self, record_id: str) -> Any:
        text = self.shared.redis.get(self._key(record_id))
        if text is None:
            raise KeyError(record_id)
        return from_json(self.kind, text)

    def __setitem__(self, record_id: str, record: Any) -> None:
        created = float(getattr(record, "created_us", 0))
        pipe = self.shared.redis.pipeline(transaction=True)
        pipe.set(self._key(record_id), to_json(record), ex=self.ttl)
        pipe.zadd(self.index, {record_id: created}, nx=True)
        pipe.execute()

    def values(self) -> list[Any]:
        """Every record still kept, oldest first (expired ones leave the index here)."""
        ids = [i.decode() for i in self.shared.redis.zrange(self.index, 0, -1)]
        if not ids:
            return []
        texts = self.shared.redis.mget([self._key(i) for i in ids])
        gone = [i for i, text in zip(ids, texts, strict=True) if text is None]
        if gone:
            self.shared.redis.zrem(self.index, *gone)
        return [from_json(self.kind, text) for text in texts if text is not None]

    def __iter__(self) -> Iterator[str]:
        return iter([record.id for record in self.values()])

    def __len__(self) -> int:
        return int(self.shared.redis.zcard(self.index))

    def popitem(self, last: bool = True) -> tuple[str, Any]:
        """Forget the newest (or, ``last=False``, the oldest) record."""
        popped = (self.shared.redis.zpopmax if last else self.shared.redis.zpopmin)(self.index)
        if not popped:
            raise KeyError("no conference records")
        record_id = popped[0][0].decode()
        text = self.shared.redis.getdel(self._key(record_id))
        return record_id, from_json(self.kind, text) if text is not None else None
