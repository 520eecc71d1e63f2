"""Callback delivery in worker processes: the HTTP side of callbacks on other cores.

With ``[webhooks] delivery_processes = N`` (N > 0) the controller starts N worker
processes (``python -m controller.delivery_worker``) and hands them the attempts
of callbacks: signing, form encoding, the HTTP exchange, retries with backoff and
the fallback URL. Everything else stays in the controller, as without workers:
the outbox (written before the attempt, removed or marked failed after it), the
per-lane order (a lane's next callback is handed over only once the previous one
came back), ``wait_lane``, metrics, final-failure logging and reply handlers.
Documents (answer/action/redirect URLs) are never sent from a worker: a call
waits for them, and the round trip would only add to its wait.

Why processes: one gevent hub is one core; at ~1,000 callbacks/s the HTTP
client's work was a quarter of the controller's CPU per callback.

Faults: a worker that dies takes nothing with it. Every attempt it had in hand
is attempted again in the controller (a callback is sent at least once: the
application may see it twice, as after a controller restart), and the worker is
started again. A worker whose controller dies sees its socket close and exits.
Until a worker says it is ready, and for a signer it does not know (a face
registered in this process only), attempts run in the controller.

Wire: one Unix socketpair per worker; each message is a 4-byte big-endian length
and a pickle (both ends are this package, started by us: nothing untrusted).
"""

from __future__ import annotations

import copyreg
import itertools
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.event

log = logging.getLogger(__name__)

SOCKET_FD_ENV = "CC_DELIVERY_SOCKET_FD"
RESTART_DELAY = 1.0  # seconds before a dead worker is started again...
MAX_RESTART_DELAY = 60.0  # ...doubled while workers die before they are ready (up to this)
_LENGTH = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024  # a reply body is bounded by the HTTP client; this is a sanity cap

# The settings travel to a worker pickled; their mappings are read-only proxies,
# which pickle does not know: they go as the dict they show.
def _read_only(mapping: dict[str, Any]) -> types.MappingProxyType:
    return types.MappingProxyType(mapping)


copyreg.pickle(types.MappingProxyType, lambda proxy: (_read_only, (dict(proxy),)))

# What of a Delivery a worker needs to attempt it (the rest stays with the outbox).
DELIVERY_FIELDS = ("method", "url", "lane", "form", "body", "content_type", "headers",
                   "signer", "dialect", "recovered", "reply", "timeout", "fallback_url",
                   "fallback_method", "fallback_headers", "id", "attempts", "context")


class WorkerLost(Exception):
    """The worker holding an attempt died before answering (attempt it elsewhere)."""


@dataclass(frozen=True)
class Outcome:
    """A worker's answer about one attempt: a result (status, final URL, content type,
    body: empty unless the delivery has a reply handler) or an error (reason, HTTP
    status), the attempts it made and how many of them were retries."""

    attempts: int
    retries: int
    result: tuple[int, str, str, bytes] | None = None
    error: tuple[str, int | None] | None = None
    bug: bool = False  # the error was an exception of ours, not the application's answer


def frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


class MessageWriter:
    """Messages to the other end, written by one greenlet: whatever was queued since its
    last write goes in one ``sendall`` (a send per message was a third of a worker's
    CPU at 1,000 callbacks/s: each one wakes the other process). A write that fails
    shuts the socket down, so the other end and our reader both see it end."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.failed = ""
        self._queued: list[bytes] = []
        self._wake = gevent.event.Event()
        self._greenlet = gevent.spawn(self._run)

    def put(self, message: Any) -> None:
        if self.failed:
            raise OSError(self.failed)
        self._queued.append(frame(message))
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            batch, self._queued = self._queued, []
            if not batch:
                continue
            try:
                self.sock.sendall(b"".join(batch))
            except OSError as exc:
                self.failed = f"write failed: {exc}"
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return

    def close(self) -> None:
        self._greenlet.kill(block=False)


def messages(sock: socket.socket) -> Iterator[Any]:
    """The messages arriving on ``sock``, until the other end closes it."""
    reader = sock.makefile("rb")
    try:
        while (message := read_message(reader)) is not None:
            yield message
    finally:
        reader.close()


def read_message(reader: Any) -> Any:
    """One message from a buffered reader of the socket; None at end of stream."""
    head = reader.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    if length > MAX_MESSAGE:
        raise ValueError(f"delivery message of {length} bytes (at most {MAX_MESSAGE})")
    data = reader.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)


class _Worker:
    """One worker process and its socket; answers come back through ``_read_loop``."""

    def __init__(self, index: int, settings: Any, log_level: str,
                 on_exit: Callable[[_Worker], None]):
        self.index = index
        self.ready = False
        self.was_ready = False
        self.signers: frozenset[str] = frozenset()
        self.waiting: dict[int, gevent.event.AsyncResult] = {}
        self._on_exit = on_exit
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ, **{SOCKET_FD_ENV: str(theirs.fileno())})
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controller.delivery_worker"],
                pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
                close_fds=True)
        finally:
            theirs.close()
        self.sock = ours
        self.pid = self.process.pid
        try:
            ours.sendall(frame(("settings", settings, log_level)))
        except BaseException:
            ours.close()  # end of stream: the worker exits
            self.process.wait()
            raise
        self.writer = MessageWriter(ours)
        self._reader = gevent.spawn(self._read_loop)

    @property
    def load(self) -> int:
        return len(self.waiting)

    def send(self, request_id: int, fields: dict[str, Any]) -> gevent.event.AsyncResult:
        waiter = gevent.event.AsyncResult()
        self.waiting[request_id] = waiter
        try:
            self.writer.put(("send", request_id, fields))
        except OSError as exc:
            self.waiting.pop(request_id, None)
            raise WorkerLost(f"delivery worker {self.index}: {exc}") from None
        return waiter

    def _read_loop(self) -> None:
        reason = "its socket closed"
        try:
            for message in messages(self.sock):
                kind = message[0]
                if kind == "done":
                    _, request_id, outcome = message
                    waiter = self.waiting.pop(request_id, None)
                    if waiter is not None:
                        waiter.set(outcome)
                elif kind == "ready":
                    self.signers = frozenset(message[1])
                    self.ready = self.was_ready = True
                    log.info("delivery worker %d (pid %d) ready", self.index, self.pid)
        except (OSError, ValueError, pickle.UnpicklingError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready = False
            lost, self.waiting = self.waiting, {}
            for waiter in lost.values():
                waiter.set_exception(WorkerLost(
                    f"delivery worker {self.index} (pid {self.pid}) ended: {reason}"))
            self._on_exit(self)

    def stop(self, timeout: float) -> None:
        self.ready = False
        self.writer.close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # EOF: the worker finishes and exits
        except OSError:
            pass
        self.sock.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


class DeliveryProcesses:
    """N worker processes attempting callbacks; ``attempt`` picks the least loaded ready one."""

    def __init__(self, settings: Any, count: int, log_level: str = "INFO"):
        self.settings = settings
        self.count = count
        self.log_level = log_level
        self.workers: list[_Worker | None] = [None] * count
        self.restarts = 0
        self._delay = [RESTART_DELAY] * count
        self._ids = itertools.count(1)
        self._running = False

    def start(self) -> None:
        self._running = True
        for index in range(self.count):
            self._start_worker(index)

    def _start_worker(self, index: int) -> None:
        if not self._running:
            return
        try:
            self.workers[index] = _Worker(index, self.settings, self.log_level, self._exited)
        except OSError as exc:
            log.error("delivery worker %d could not start (%s): callbacks are attempted in "
                      "the controller until it does; retrying in %.0f s", index, exc,
                      RESTART_DELAY)
            gevent.spawn_later(RESTART_DELAY, self._start_worker, index)
        except Exception:  # noqa: BLE001 - a bug of ours: say so, keep sending from here
            log.exception("delivery worker %d could not be given its settings: callbacks "
                          "are attempted in the controller", index)

    def _exited(self, worker: _Worker) -> None:
        if self.workers[worker.index] is not worker or not self._running:
            return
        self.workers[worker.index] = None
        code = worker.process.poll()
        # One that never got ready (cannot import, bad settings) would die again at once.
        delay = self._delay[worker.index]
        self._delay[worker.index] = (RESTART_DELAY if worker.was_ready
                                     else min(MAX_RESTART_DELAY, delay * 2))
        log.error("delivery worker %d (pid %d) ended (exit status %s): the callbacks it "
                  "held are attempted again in the controller; starting it again in %.0f s",
                  worker.index, worker.pid, code, delay)
        self.restarts += 1
        gevent.spawn_later(delay, self._start_worker, worker.index)

    def pick(self, signer: str) -> _Worker | None:
        """The ready worker with the fewest attempts in hand that knows ``signer``."""
        best = None
        for worker in self.workers:
            if worker is not None and worker.ready and signer in worker.signers and (
                    best is None or worker.load < best.load):
                best = worker
        return best

    def attempt(self, worker: _Worker, delivery: Any) -> Outcome:
        """Hand one delivery to ``worker`` and wait for its outcome (raises WorkerLost)."""
        fields = {name: getattr(delivery, name) for name in DELIVERY_FIELDS}
        return worker.send(next(self._ids), fields).get()

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self.workers if worker is not None]

    def close(self, timeout: float = 5.0) -> None:
        self._running = False
        workers = [worker for worker in self.workers if worker is not None]
        self.workers = [None] * self.count
        for worker in workers:
            worker.stop(timeout)
