"""The durable webhook outbox: every request the engine decided to send, until it is done.

A delivery is written here before its first attempt and removed once the
application answered it or it finally failed; a final failure stays, marked
``failed``, for ``conference-controller outbox list|retry|drop``. On start the
controller reads back what is still ``pending`` (a previous process died with
it queued or in flight) and sends it again, lane by lane in the order it was
decided (``id`` grows with every delivery).

A delivery is the request, not how it was built: method, URL, form parameters
or raw body bytes, content type, extra headers, and the *name* of the signer
and dialect. Signatures are made at attempt time (a signature carrying a
timestamp is fresh on every retry), so neither secrets nor stale signatures
are stored.

Stores:

- ``SqliteOutbox``: the default, one SQLite file in ``[data] directory``. Writes
  are group-committed: one writer greenlet takes whatever was queued since the
  last commit and commits it in one transaction (WAL, ``synchronous=NORMAL``:
  a committed delivery survives the process being killed; an operating-system
  crash or power loss may take the last commits). sqlite3 blocks the thread
  that calls it, and under gevent that thread is the hub every call runs on,
  so only what cannot wait on the disk runs there: a WAL commit without fsync
  (~20 us measured here; a thread-pool round trip costs ~250 us per callback,
  which showed in the callback latency). What may wait on the disk runs in a
  native thread of gevent's pool: checkpoints (the only fsyncs; automatic
  checkpoints are off), reads, and any commit that finds the file locked (the
  ``outbox`` command writing at the same moment) instead of waiting in the hub.
- ``MemoryOutbox``: the same interface without durability (tests, tools).
- A shared store (Redis, for a cluster) implements ``OutboxStore`` the same way.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import operator
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite3"
PENDING, FAILED = "pending", "failed"
CHECKPOINT_EVERY = 200  # commits between two checkpoints (each one an fsync, off the hub)
# A delivered callback's row is deleted with the next write (the next callback's insert,
# most often) or at most this much later: at a few hundred callbacks a second each one
# was two commits, its insert's and its delete's; now about one. A restart in between
# sends it again, as it would one in flight: at least once, never lost.
DELETE_DELAY_S = 0.1
DEFAULT_DIALECT = "plivo"  # until requests carry the name of the face they belong to
DEFAULT_SIGNER = "default"  # the X-Conference-Signature HMAC of controller.signing


class OutboxError(OSError):
    """The outbox cannot be opened or used (path, permissions, another controller).
    An OSError: start-up reports it like any other unusable directory."""


@dataclass(eq=False)
class Delivery:
    """One HTTP request to the application, as stored in the outbox.

    ``form`` (name -> value) is sent form-encoded (POST) or in the query string
    (GET); ``body`` is sent as is with ``content_type`` (JSON webhooks). Exactly
    one of them is used; ``form`` wins when both are set.
    """

    method: str
    url: str
    lane: str
    form: dict[str, str] | None = None
    body: bytes | None = None
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    signer: str = DEFAULT_SIGNER
    dialect: str = DEFAULT_DIALECT
    recovered: bool = False  # sent for a call that ended while the controller was away
    # The name of the handler the application's reply goes to (``Webhooks.reply_handlers``;
    # e.g. BXML returned to a conference webhook runs in the room); "": the reply is dropped.
    reply: str = ""
    timeout: float | None = None  # read timeout of each attempt (None: [webhooks] read_timeout)
    # Tried with the same body when ``url`` finally fails (Bandwidth's fallback URLs).
    fallback_url: str = ""
    fallback_method: str = "POST"
    fallback_headers: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    id: int = 0  # assigned by the store
    state: str = PENDING
    attempts: int = 0
    error: str = ""
    failed_at: float | None = None
    context: dict[str, Any] = field(default_factory=dict)  # log context of the decision
    # Not stored: set once the delivery is durable (the attempt waits for it).
    stored: gevent.event.Event = field(default_factory=gevent.event.Event, repr=False)
    # Not stored: retries made by this process's attempts (a delivery worker reports them).
    retries: int = field(default=0, repr=False)

    @property
    def params(self) -> dict[str, str]:
        """The form parameters (empty for a raw body)."""
        return dict(self.form or {})

    def describe(self) -> dict[str, Any]:
        """Everything about the delivery, for logs and ``outbox list``."""
        shown: dict[str, Any] = {
            "id": self.id, "state": self.state, "lane": self.lane, "method": self.method,
            "url": self.url, "dialect": self.dialect, "signer": self.signer,
            "recovered": self.recovered, "attempts": self.attempts, "error": self.error,
            "created_at": self.created_at, "failed_at": self.failed_at,
        }
        if self.form is not None:
            shown["params"] = self.form
        else:
            shown["content_type"] = self.content_type
            shown["body"] = (self.body or b"").decode("utf-8", "replace")
        if self.headers:
            shown["headers"] = self.headers
        if self.reply:
            shown["reply"] = self.reply
        if self.timeout is not None:
            shown["timeout"] = self.timeout
        if self.fallback_url:
            shown["fallback"] = {"method": self.fallback_method, "url": self.fallback_url}
        return shown


class OutboxStore(ABC):
    """Where deliveries wait. ``add`` must make the delivery durable before
    ``delivery.stored`` is set; the sender attempts it only then."""

    @abstractmethod
    def add(self, delivery: Delivery) -> None:
        """Assign ``delivery.id`` now; store it, then set ``delivery.stored``."""

    @abstractmethod
    def remove(self, delivery: Delivery) -> None:
        """Delivered: forget it (may be written lazily: a lost removal means one
        duplicate after a restart, never a loss)."""

    @abstractmethod
    def mark_failed(self, delivery: Delivery) -> None:
        """Finally failed: keep it with its error for inspection."""

    @abstractmethod
    def load(self, state: str, ids: Iterable[int] | None = None) -> list[Delivery]:
        """Deliveries in ``state`` (all, or those of ``ids``), oldest first."""

    @abstractmethod
    def delete(self, ids: Iterable[int]) -> int:
        """Delete these failed deliveries; returns how many were deleted."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written."""
        return True

    def close(self) -> None:  # noqa: B027 - optional: stores without resources keep it
        """Write what is queued and release the store."""


class MemoryOutbox(OutboxStore):
    """Not durable: for tests and for code that sends without a data directory."""

    def __init__(self) -> None:
        self._rows: dict[int, Delivery] = {}
        self._next_id = 1

    def add(self, delivery: Delivery) -> None:
        delivery.id, self._next_id = self._next_id, self._next_id + 1
        self._rows[delivery.id] = delivery
        delivery.stored.set()

    def remove(self, delivery: Delivery) -> None:
        self._rows.pop(delivery.id, None)

    def mark_failed(self, delivery: Delivery) -> None:
        delivery.state = FAILED
        self._rows[delivery.id] = delivery

    def load(self, state: str, ids: Iterable[int] | None = None) -> list[Delivery]:
        wanted = set(ids) if ids is not None else None
        return [d for key, d in sorted(self._rows.items())
                if d.state == state and (wanted is None or key in wanted)]

    def delete(self, ids: Iterable[int]) -> int:
        gone = [i for i in set(ids) if i in self._rows and self._rows[i].state == FAILED]
        for key in gone:
            del self._rows[key]
        return len(gone)


# ---------------------------------------------------------------- SQLite

_SCHEMA_VERSION = 2
# Version 2 added the reply handler, the timeout and the fallback (JSON) of a delivery.
_V2_COLUMNS = (("reply", "TEXT NOT NULL DEFAULT ''"), ("timeout", "REAL"), ("fallback", "TEXT"))
_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    lane TEXT NOT NULL,
    state TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    form TEXT,
    body BLOB,
    content_type TEXT NOT NULL,
    headers TEXT NOT NULL,
    signer TEXT NOT NULL,
    dialect TEXT NOT NULL,
    recovered INTEGER NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    failed_at REAL,
    context TEXT NOT NULL,
    reply TEXT NOT NULL DEFAULT '',
    timeout REAL,
    fallback TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_by_state ON deliveries (state, id);
CREATE TABLE IF NOT EXISTS calls (uuid TEXT PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# ``calls`` and ``meta`` hold the call journal (controller.journal): the calls this
# controller runs, and what it last knew of FreeSWITCH. Written through the same group
# commit as the deliveries, so a callback and the journal change that goes with it land
# in one transaction.
_COLUMNS = ("id", "lane", "state", "method", "url", "form", "body", "content_type", "headers",
            "signer", "dialect", "recovered", "created_at", "attempts", "error", "failed_at",
            "context", "reply", "timeout", "fallback")
_INSERT = (f"INSERT OR REPLACE INTO deliveries ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_COLUMNS))})")


# json.dumps with ``default=`` builds a new encoder at every call; one, made once.
_encode_context = json.JSONEncoder(default=str).encode


def _row(delivery: Delivery) -> tuple[Any, ...]:
    return (
        delivery.id, delivery.lane, delivery.state, delivery.method, delivery.url,
        json.dumps(delivery.form) if delivery.form is not None else None, delivery.body,
        delivery.content_type, json.dumps(delivery.headers), delivery.signer, delivery.dialect,
        int(delivery.recovered), delivery.created_at, delivery.attempts, delivery.error,
        delivery.failed_at, _encode_context(delivery.context), delivery.reply,
        delivery.timeout, json.dumps({"url": delivery.fallback_url,
                                      "method": delivery.fallback_method,
                                      "headers": delivery.fallback_headers})
        if delivery.fallback_url else None,
    )


def _delivery(row: sqlite3.Row) -> Delivery:
    delivery = Delivery(
        method=row["method"], url=row["url"], lane=row["lane"],
        form=json.loads(row["form"]) if row["form"] is not None else None,
        body=row["body"], content_type=row["content_type"], headers=json.loads(row["headers"]),
        signer=row["signer"], dialect=row["dialect"], recovered=bool(row["recovered"]),
        created_at=row["created_at"], id=row["id"], state=row["state"],
        attempts=row["attempts"], error=row["error"], failed_at=row["failed_at"],
        context=json.loads(row["context"]), reply=row["reply"], timeout=row["timeout"],
    )
    if row["fallback"]:
        fallback = json.loads(row["fallback"])
        delivery.fallback_url = fallback["url"]
        delivery.fallback_method = fallback["method"]
        delivery.fallback_headers = fallback["headers"]
    delivery.stored.set()
    return delivery


class SqliteOutbox(OutboxStore):
    """One SQLite file; statements run in gevent's native thread pool, writes batched.

    ``owner=True`` (the controller) takes an exclusive lock on the directory so
    two controllers never resend the same deliveries; the CLI opens without it.
    """

    def __init__(self, directory: str, *, owner: bool = True) -> None:
        self.path = os.path.join(directory, OUTBOX_FILE)
        self._lock_file = None
        try:
            os.makedirs(directory, exist_ok=True)
            if owner:
                self._lock_file = open(os.path.join(directory, "outbox.lock"), "a")  # noqa: SIM115
                try:
                    fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._lock_file.close()
                    raise OutboxError(
                        f"another controller uses the data directory {directory} "
                        "(its outbox would be sent twice): give each its own "
                        "[data] directory") from None
            self._db = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                       check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # The hub's connection: never waits for a lock, never checkpoints (fsync).
            self._hub_db = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                           check_same_thread=False)
            self._hub_db.execute("PRAGMA synchronous=NORMAL")
            self._hub_db.execute("PRAGMA wal_autocheckpoint=0")
            self._db.executescript(_SCHEMA)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 1:  # a version 1 file: add the columns version 2 added
                for name, kind in _V2_COLUMNS:
                    self._db.execute(f"ALTER TABLE deliveries ADD COLUMN {name} {kind}")
                version = 0
            if version == 0:
                self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            elif version != _SCHEMA_VERSION:
                raise OutboxError(f"{self.path} has schema version {version}; this controller "
                                  f"reads version {_SCHEMA_VERSION}")
            top = self._db.execute("SELECT MAX(id) FROM deliveries").fetchone()[0]
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"cannot use the outbox {self.path}: {exc}") from None
        self._next_id = (top or 0) + 1
        self._db_lock = threading.Lock()  # one statement at a time, whichever thread runs it
        self._queued: list[tuple[str, Any]] = []
        self._deferred: list[tuple[str, Any]] = []  # deletes of delivered callbacks
        self._writer_untimed = False  # the writer waits with no deferred delete to write
        self._flush_requested = False  # flush(): the deferred deletes now
        self._wake = gevent.event.Event()
        self._idle = gevent.event.Event()
        self._idle.set()
        self._writer: gevent.Greenlet | None = None
        self._commits_since_checkpoint = 0
        self._checkpointing = False
        self.write_errors = 0
        self.commits = 0  # transactions written (how well the writes are grouped)

    # ------------------------------------------------------------ writes
    def add(self, delivery: Delivery) -> None:
        delivery.id, self._next_id = self._next_id, self._next_id + 1
        self._queue("put", delivery)

    def remove(self, delivery: Delivery) -> None:
        if not delivery.stored.is_set():  # its insert is still queued: in order after it
            self._queue("delete", delivery)
            return
        # Not urgent: written with the next change or after DELETE_DELAY_S (see there).
        # Only deletes of rows already written wait: the order of changes to one row holds.
        self._deferred.append(("delete", delivery))
        self._idle.clear()
        if self._writer is None:
            self._writer = gevent.spawn(self._write_loop)
        elif self._writer_untimed:
            self._wake.set()  # it now waits at most DELETE_DELAY_S

    def mark_failed(self, delivery: Delivery) -> None:
        delivery.state = FAILED
        self._queue("put", delivery)

    # ------------------------------------------------------------ the call journal
    def journal_put(self, uuid: str, entry: str) -> None:
        self._queue("journal_put", (uuid, entry))

    def journal_delete(self, uuid: str) -> None:
        self._queue("journal_delete", uuid)

    def meta_put(self, key: str, value: str) -> None:
        self._queue("meta_put", (key, value))

    def journal_rows(self) -> list[tuple[str, str]]:
        """Every journal entry, (uuid, entry text), once what was queued is written."""
        self.flush()
        rows = self._run("SELECT uuid, entry FROM calls ORDER BY rowid")
        assert isinstance(rows, list)
        return [(row["uuid"], row["entry"]) for row in rows]

    def meta_rows(self) -> dict[str, str]:
        self.flush()
        rows = self._run("SELECT key, value FROM meta")
        assert isinstance(rows, list)
        return {row["key"]: row["value"] for row in rows}

    def _queue(self, op: str, delivery: Any) -> None:
        self._queued.append((op, delivery))
        self._idle.clear()
        self._wake.set()
        if self._writer is None:
            self._writer = gevent.spawn(self._write_loop)

    def _write_loop(self) -> None:
        """Group commit: whatever was queued while the last commit ran goes in the next,
        after the deferred deletes (queued before it: the order of changes is kept).
        Deletes alone wait for company, at most DELETE_DELAY_S."""
        while True:
            if not self._queued and not self._flush_requested:
                if not self._deferred:
                    self._writer_untimed = True
                    self._wake.wait()
                    self._writer_untimed = False
                    self._wake.clear()
                    continue  # look again: a delete alone waits, anything else is written
                self._wake.clear()
                self._wake.wait(DELETE_DELAY_S)  # woken early by any other change
            self._wake.clear()
            self._flush_requested = False
            batch = self._deferred + self._queued
            self._deferred, self._queued = [], []
            if not batch:
                self._idle.set()
                continue
            try:
                try:
                    self._commit(self._hub_db, batch)
                except sqlite3.OperationalError:  # locked by another process: wait elsewhere
                    gevent.get_hub().threadpool.apply(self._commit_locked, (batch,))
                self.commits += 1
                self._commits_since_checkpoint += 1
                if self._commits_since_checkpoint >= CHECKPOINT_EVERY and not self._checkpointing:
                    self._checkpointing = True
                    self._commits_since_checkpoint = 0
                    gevent.spawn(self._checkpoint)
            except Exception as exc:  # a full disk must not stop the callbacks themselves
                self.write_errors += 1
                log.error("outbox: cannot write %d change(s) to %s: %s; these callbacks "
                          "are sent but would not survive a restart", len(batch), self.path, exc)
            for op, delivery in batch:
                if op == "put":
                    delivery.stored.set()
            if not self._queued and not self._deferred:
                self._idle.set()

    @staticmethod
    def _commit(db: sqlite3.Connection, batch: list[tuple[str, Any]]) -> None:
        """One transaction for the whole batch. Consecutive changes of one kind go in one
        ``executemany`` (at 1,000 callbacks/s a batch is mostly inserts then deletes: one
        statement call each instead of one per row); the order of the changes is kept."""
        db.execute("BEGIN IMMEDIATE")
        try:
            for op, group in itertools.groupby(batch, key=operator.itemgetter(0)):
                items = [item for _, item in group]
                if op == "put":
                    db.executemany(_INSERT, map(_row, items))
                elif op == "delete":
                    db.executemany("DELETE FROM deliveries WHERE id = ?",
                                   [(delivery.id,) for delivery in items])
                elif op == "journal_put":
                    db.executemany("INSERT OR REPLACE INTO calls (uuid, entry) VALUES (?, ?)",
                                   items)
                elif op == "journal_delete":
                    db.executemany("DELETE FROM calls WHERE uuid = ?",
                                   [(uuid,) for uuid in items])
                else:  # meta_put
                    db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                   items)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _commit_locked(self, batch: list[tuple[str, Any]]) -> None:
        """In a native thread, on the connection that waits for locks."""
        with self._db_lock:
            self._commit(self._db, batch)

    def _checkpoint(self) -> None:
        """Copy the WAL into the database file (fsync) off the hub."""
        def work() -> None:
            with self._db_lock:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

        try:
            gevent.get_hub().threadpool.apply(work)
        except sqlite3.Error as exc:
            log.warning("outbox: checkpoint of %s failed: %s", self.path, exc)
        finally:
            self._checkpointing = False

    def flush(self, timeout: float | None = None) -> bool:
        if self._deferred and self._writer is not None:
            self._flush_requested = True
            self._wake.set()
        return self._idle.wait(timeout)

    # ------------------------------------------------------------ reads (start-up, CLI)
    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row] | int:
        def work() -> list[sqlite3.Row] | int:
            with self._db_lock:
                cursor = self._db.execute(sql, args)
                return cursor.fetchall() if sql.startswith("SELECT") else cursor.rowcount

        return gevent.get_hub().threadpool.apply(work)

    def load(self, state: str, ids: Iterable[int] | None = None) -> list[Delivery]:
        self.flush()
        if ids is None:
            rows = self._run("SELECT * FROM deliveries WHERE state = ? ORDER BY id", (state,))
        else:
            wanted = sorted(set(ids))
            marks = ",".join("?" * len(wanted))
            rows = self._run(f"SELECT * FROM deliveries WHERE state = ? AND id IN ({marks}) "
                             "ORDER BY id", (state, *wanted))
        assert isinstance(rows, list)
        return [_delivery(row) for row in rows]

    def delete(self, ids: Iterable[int]) -> int:
        self.flush()
        count = 0
        for key in set(ids):
            done = self._run("DELETE FROM deliveries WHERE id = ? AND state = ?", (key, FAILED))
            assert isinstance(done, int)
            count += done
        return count

    def close(self) -> None:
        self.flush(timeout=5)
        if self._writer is not None:
            self._writer.kill(block=True, timeout=1)
            self._writer = None
        with self._db_lock:
            self._hub_db.close()
            self._db.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def open_outbox(directory: str, *, owner: bool = True) -> SqliteOutbox:
    """The embedded store in ``directory`` (created if missing)."""
    return SqliteOutbox(directory, owner=owner)
