"""The call journal: every call this controller runs, with what its end must tell.

A call is written when the controller takes it (its facts, dialect, the hooks
its end is reported to), again when it joins a room (room, member id, the
member's callback and action) and when it leaves it, and removed once its
hangup request is queued. A restarted controller (or one whose FreeSWITCH
restarted) reads it back: an entry whose call no longer exists in FreeSWITCH
is a call that ended unseen, and its exit, action and hangup requests are sent
from here (``controller.recovery``).

Stores: ``SqliteJournal`` keeps it in the outbox's SQLite file (tables
``calls`` and ``meta``, written by the outbox's group commit, so it never
stalls a call); ``MemoryJournal`` for tests and tools. A cluster's shared
store (Redis) implements ``CallJournal`` the same way.
"""

from __future__ import annotations

import functools
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from controller.conference.events import CallFacts
from controller.model import HttpMethod, Webhook
from controller.outbox import SqliteOutbox

log = logging.getLogger(__name__)

VERSION = 1


@dataclass(frozen=True)
class RoomStay:
    """A member's stay in a room, as its exit and action requests need it."""

    room: str  # the application's room name
    fs_room: str
    conference_uuid: str
    member_id: str
    callback: Webhook | None
    action: Webhook | None
    redirect: bool = True


@dataclass(frozen=True)
class JournalEntry:
    uuid: str
    dialect: str
    facts: CallFacts
    hangup: Webhook | None  # where the end of the call is reported
    call_hook: Webhook | None = None  # the face's call-level events (call ended)
    tag: str | None = None
    stay: RoomStay | None = None
    # The face's own short strings about the call (Dialect.call_state), given back to it
    # (Dialect.restore_call_state) when a restarted controller takes the call over: what
    # its later webhooks carry, e.g. Telnyx's client_state and webhook_url.
    face_state: Mapping[str, str] = field(default_factory=dict)

    def with_stay(self, stay: RoomStay | None, tag: str | None = None) -> JournalEntry:
        return replace(self, stay=stay, tag=tag if tag is not None else self.tag)


# Field names, read once. Webhook and CallFacts hold scalars only, so a flat copy is what
# dataclasses.asdict gave, without its recursive deep copy: ~45 us per Webhook, and an
# entry is encoded at least twice per call (taken, joined; ~135 us each before).
_WEBHOOK_FIELDS = tuple(item.name for item in fields(Webhook))
_FACTS_FIELDS = tuple(item.name for item in fields(CallFacts))
# One compact encoder, made once (json.dumps with separators makes a new one per call).
_json = json.JSONEncoder(separators=(",", ":")).encode


def _hook(hook: Webhook | None) -> dict[str, Any] | None:
    if hook is None:
        return None
    data = {name: getattr(hook, name) for name in _WEBHOOK_FIELDS}
    data["method"] = hook.method.value
    data["fallback_method"] = hook.fallback_method.value
    return data


@functools.lru_cache(maxsize=1024)
def _hook_json(hook: Webhook) -> str:
    """A webhook's JSON object. The same few hooks (a room's callback and action, an
    application's hangup URL) come back in every call's entries: each is encoded once
    (Webhook is frozen, so hashable and never changed)."""
    return _json(_hook(hook))


def _unhook(data: dict[str, Any] | None) -> Webhook | None:
    if not data:
        return None
    values = dict(data)
    values["method"] = HttpMethod(values.get("method", "POST"))
    values["fallback_method"] = HttpMethod(values.get("fallback_method", "POST"))
    return Webhook(**values)


def encode_entry(entry: JournalEntry) -> str:
    """The entry as one compact JSON object: exactly ``json.dumps`` of the dict that
    ``decode_entry`` reads (keys in this order), assembled from encoded parts so that
    the webhooks' parts are cached (~180K instructions an entry before, two a join)."""
    hook = _hook_json
    stay = entry.stay
    facts = entry.facts
    stay_json = "null" if stay is None else (
        f'{{"room":{_json(stay.room)},"fs_room":{_json(stay.fs_room)},'
        f'"conference_uuid":{_json(stay.conference_uuid)},'
        f'"member_id":{_json(stay.member_id)},'
        f'"callback":{"null" if stay.callback is None else hook(stay.callback)},'
        f'"action":{"null" if stay.action is None else hook(stay.action)},'
        f'"redirect":{_json(stay.redirect)}}}')
    text = (
        f'{{"v":{VERSION},"uuid":{_json(entry.uuid)},"dialect":{_json(entry.dialect)},'
        f'"facts":{_json({name: getattr(facts, name) for name in _FACTS_FIELDS})},'
        f'"hangup":{"null" if entry.hangup is None else hook(entry.hangup)},'
        f'"call_hook":{"null" if entry.call_hook is None else hook(entry.call_hook)},'
        f'"tag":{_json(entry.tag)},"stay":{stay_json}')
    if entry.face_state:
        text += f',"face":{_json(dict(entry.face_state))}'
    return text + "}"


def decode_entry(text: str) -> JournalEntry:
    """Raises ValueError when the text is not an entry this version wrote."""
    try:
        data = json.loads(text)
        if data.get("v") != VERSION:
            raise ValueError(f"unknown journal entry version {data.get('v')!r}")
        stay = data.get("stay")
        return JournalEntry(
            uuid=data["uuid"], dialect=data["dialect"], facts=CallFacts(**data["facts"]),
            hangup=_unhook(data.get("hangup")), call_hook=_unhook(data.get("call_hook")),
            tag=data.get("tag"),
            stay=None if not stay else RoomStay(
                stay["room"], stay["fs_room"], stay["conference_uuid"], stay["member_id"],
                _unhook(stay.get("callback")), _unhook(stay.get("action")),
                bool(stay.get("redirect", True))),
            face_state={str(k): str(v) for k, v in (data.get("face") or {}).items()},
        )
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a journal entry: {exc}") from None


class CallJournal(ABC):
    """Where the journal lives. Writes may be asynchronous (never stall a call); reads
    see every write made before them."""

    @abstractmethod
    def put(self, entry: JournalEntry) -> None: ...

    @abstractmethod
    def remove(self, uuid: str) -> None: ...

    @abstractmethod
    def entries(self) -> list[JournalEntry]: ...

    @abstractmethod
    def get_meta(self) -> dict[str, str]:
        """What the controller last knew of FreeSWITCH (``core_uuid``, ``started_at``)."""

    @abstractmethod
    def put_meta(self, key: str, value: str) -> None: ...

    def claim(self, uuid: str) -> None:
        """A session of this controller runs the call (again). A journal shared by several
        controllers (controller.cluster.journal) notes it, so that one that took the call
        over stops watching it; a journal of one controller has nothing to note."""
        return None

    def claimed_elsewhere(self, uuid: str) -> bool:
        """Whether another controller runs or took the call since it was journalled here
        (then that one reports its end)."""
        return False


class MemoryJournal(CallJournal):
    def __init__(self) -> None:
        self._entries: dict[str, JournalEntry] = {}
        self._meta: dict[str, str] = {}

    def put(self, entry: JournalEntry) -> None:
        self._entries.pop(entry.uuid, None)
        self._entries[entry.uuid] = entry

    def remove(self, uuid: str) -> None:
        self._entries.pop(uuid, None)

    def entries(self) -> list[JournalEntry]:
        return list(self._entries.values())

    def get_meta(self) -> dict[str, str]:
        return dict(self._meta)

    def put_meta(self, key: str, value: str) -> None:
        self._meta[key] = value


class SqliteJournal(CallJournal):
    """The journal in the outbox's SQLite file, written by its group commit."""

    def __init__(self, outbox: SqliteOutbox) -> None:
        self.outbox = outbox

    def put(self, entry: JournalEntry) -> None:
        self.outbox.journal_put(entry.uuid, encode_entry(entry))

    def remove(self, uuid: str) -> None:
        self.outbox.journal_delete(uuid)

    def entries(self) -> list[JournalEntry]:
        found = []
        for uuid, text in self.outbox.journal_rows():
            try:
                found.append(decode_entry(text))
            except ValueError as exc:
                log.error("journal: entry of call %s unreadable (%s); its end cannot be "
                          "reported", uuid, exc)
        return found

    def get_meta(self) -> dict[str, str]:
        return self.outbox.meta_rows()

    def put_meta(self, key: str, value: str) -> None:
        self.outbox.meta_put(key, value)


def journal_for(outbox: object) -> CallJournal:
    """The journal that goes with the outbox store in use."""
    return SqliteJournal(outbox) if isinstance(outbox, SqliteOutbox) else MemoryJournal()
