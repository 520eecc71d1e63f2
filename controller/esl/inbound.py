"""The shared inbound Event Socket connection: reconnecting, time-limited, fanned out.

One supervisor greenlet owns the connection. It builds a fresh greenswitch
object for every attempt (a used one hangs in ``connect()``), backs off with
jitter between attempts, resubscribes, then runs the reconnect hooks so
consumers can resync their state (e.g. rooms from ``conference json_list``).
It watches the reader greenlet and the time since the last frame: FreeSWITCH
sends HEARTBEAT every 20 s, so a silent socket is a dead socket. A HEARTBEAT
every 20 s is too slow to notice a FreeSWITCH that stopped answering (hung,
or a peer that vanished without FIN), so a probe greenlet also sends
``api status`` every ``probe_interval`` seconds: no reply within
``probe_timeout`` and the connection is dropped. From then on, until the next
connect, every command fails at once with EslNotConnected instead of waiting
for its own timeout.

Events are fanned out to per-consumer queues. The dispatch handler only
enqueues, so a slow consumer delays nobody but itself.

A consumer of conference::maintenance may say which of its Actions it needs
(``subscribe(..., actions=...)``, later ``EventQueue.want_actions``): the noisy ones
no consumer wants (``filters.NOISY_ACTIONS``: digits-match, start/stop-talking) are
then dropped by FreeSWITCH itself with event filters, changed at run time and sent
again after every reconnect with the subscription (``controller.esl.filters`` says
why and cites mod_event_socket.c).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable

import gevent
import gevent.event
import gevent.lock
import gevent.queue
from greenswitch import esl as gs

from controller.esl.errors import (
    EslAuthError,
    EslCommandError,
    EslConnectionLost,
    EslError,
    EslNotConnected,
    EslTimeout,
)
from controller.esl.filters import (
    MAINTENANCE,
    Filter,
    dropped_actions,
    filter_changes,
    wanted_filters,
)
from controller.esl.frames import Event, encode_command
from controller.esl.protocol import SafeInboundESL
from controller.freeswitch import core as fscore
from controller.metrics import ESL_COMMAND_LATENCY, ESL_RECONNECTS

log = logging.getLogger(__name__)

ALL = "ALL"
# Always subscribed: liveness and bgapi results.
_BASE_EVENTS = ("HEARTBEAT", "BACKGROUND_JOB")


class EventQueue:
    """One consumer's events, in arrival order. Unbounded: nothing is dropped.

    ``actions``: the conference::maintenance Actions the consumer needs (None: every
    one). It matters for the noisy ones only (``filters.NOISY_ACTIONS``): those are
    dropped while every consumer of conference::maintenance said and none wants them."""

    def __init__(self, name: str, keys: frozenset[str],
                 actions: Iterable[str] | None = None):
        self.name = name
        self.keys = keys
        self.actions: frozenset[str] | None = None if actions is None else frozenset(actions)
        self._watchers: list[Callable[[frozenset[str] | None], None]] = []
        self._queue: gevent.queue.Queue = gevent.queue.Queue()

    def want_actions(self, actions: Iterable[str] | None) -> None:
        """From now on the consumer needs these conference::maintenance Actions (None:
        every one). Takes effect in FreeSWITCH a command's round trip later."""
        wanted = None if actions is None else frozenset(actions)
        if wanted == self.actions:
            return
        self.actions = wanted
        for watcher in list(self._watchers):
            watcher(wanted)

    def on_want_change(self, watcher: Callable[[frozenset[str] | None], None]) -> None:
        """Call ``watcher`` with the new set whenever ``want_actions`` changes it."""
        self._watchers.append(watcher)

    def put(self, event: Event) -> None:
        self._queue.put_nowait(event)

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except gevent.queue.Empty:
            return None

    def __len__(self) -> int:
        return self._queue.qsize()

    def handle_forever(self, handler: Callable[[Event], object], failure: str) -> None:
        """Hand every event to ``handler``, in order, for ever (spawn it: it never returns).
        One that raises is logged as ``failure`` and the next goes on: one bad event must
        not end the listener."""
        while True:
            event = self._queue.get()
            try:
                handler(event)
            except Exception:
                log.exception("%s: %r", failure, event)


def subscription_command(keys: Iterable[str], event_format: str = "plain") -> str:
    """``event plain A B CUSTOM x::y``: every word after CUSTOM is a subclass, so plain first."""
    plain, custom = [], []
    for key in sorted(set(keys)):
        (custom if "::" in key else plain).append(key)
    words = ["event", event_format, *plain]
    if custom:
        words += ["CUSTOM", *custom]
    return " ".join(words)


class _Wire:
    """What one connection has been told: the keys of its ``event`` commands (FreeSWITCH
    adds them up) and its filters."""

    def __init__(self, conn: SafeInboundESL):
        self.conn = conn
        self.keys: set[str] = set()
        self.filters: list[Filter] = []


class InboundClient:
    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        command_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        heartbeat_timeout: float = 60.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        event_format: str = "plain",
        probe_interval: float = 2.0,
        probe_timeout: float = 5.0,
    ):
        self.host, self.port, self.password = host, port, password
        self.command_timeout = command_timeout
        self.connect_timeout = connect_timeout
        self.heartbeat_timeout = heartbeat_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.event_format = event_format
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout

        self._conn: SafeInboundESL | None = None
        self._connected = gevent.event.Event()
        self._running = False
        self._supervisor: gevent.Greenlet | None = None
        self._consumers: list[EventQueue] = []
        self._by_key: dict[str, list[EventQueue]] = {}
        self._catch_all: list[EventQueue] = []
        self._jobs: dict[str, gevent.event.AsyncResult] = {}
        self._hooks: list[Callable[[], None]] = []
        self._wire: _Wire | None = None
        self._sync_lock = gevent.lock.Semaphore()
        self.connections_made = 0
        self.last_error = ""

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._supervisor is None:
            self._running = True
            self._supervisor = gevent.spawn(self._supervise)

    def stop(self) -> None:
        self._running = False
        conn = self._conn
        if conn is not None:
            conn.shutdown(say_exit=True, timeout=1.0)
        if self._supervisor is not None:
            self._supervisor.kill(block=True, timeout=5)
            self._supervisor = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    def on_connect(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` (in its own greenlet) after every connect and resubscribe."""
        self._hooks.append(hook)
        if self.connected:
            gevent.spawn(self._run_hook, hook)

    # ------------------------------------------------------------ events
    def subscribe(self, name: str, events: Iterable[str],
                  actions: Iterable[str] | None = None) -> EventQueue:
        """A queue receiving the named events (``CHANNEL_HANGUP``, ``conference::maintenance``,
        or ``ALL``). Subscribing while connected extends FreeSWITCH's subscription at once.
        ``actions``: the conference::maintenance Actions this consumer needs (None: every
        one); ``EventQueue.want_actions`` changes them later."""
        keys = frozenset(events)
        consumer = EventQueue(name, keys, actions)
        consumer.on_want_change(self._wants_changed)
        self._consumers.append(consumer)
        if ALL in keys:
            self._catch_all.append(consumer)
        for key in keys - {ALL}:
            self._by_key.setdefault(key, []).append(consumer)
        self._request_sync()
        return consumer

    def unsubscribe(self, consumer: EventQueue) -> None:
        if consumer in self._consumers:
            self._consumers.remove(consumer)
        if consumer in self._catch_all:
            self._catch_all.remove(consumer)
        for queues in self._by_key.values():
            if consumer in queues:
                queues.remove(consumer)
        self._request_sync()

    def _wanted_keys(self) -> set[str]:
        if self._catch_all:
            return {ALL}
        return {*_BASE_EVENTS, *(k for k, qs in self._by_key.items() if qs)}

    def _wanted_filters(self) -> list[Filter]:
        dropped = dropped_actions(c.actions for c in self._by_key.get(MAINTENANCE, ()))
        return wanted_filters(self._wanted_keys(), bool(self._catch_all), dropped)

    def _wants_changed(self, actions: frozenset[str] | None) -> None:
        self._request_sync()

    def _request_sync(self) -> None:
        """Tell FreeSWITCH what changed, in a greenlet of its own (never block a caller).
        Not connected: the next connect sends everything."""
        conn = self._conn
        if conn is not None and self.connected and self._running:
            gevent.spawn(self._sync, conn)

    def _dispatch(self, event: Event) -> None:
        """greenswitch handler: route only, never block."""
        if event.name == "BACKGROUND_JOB":
            job = self._jobs.get(event.get("Job-UUID", ""))
            if job is not None:
                job.set(event.body)
        for consumer in self._by_key.get(event.key, ()):
            consumer.put(event)
        for consumer in self._catch_all:
            consumer.put(event)

    # ------------------------------------------------------------ commands
    def _live(self) -> SafeInboundESL:
        conn = self._conn
        if conn is None or not conn.connected:
            raise EslNotConnected(self.last_error or "FreeSWITCH is not connected")
        return conn

    def command(self, line: str, timeout: float | None = None) -> str:
        """A plain command; returns its Reply-Text."""
        _single_line(line)
        conn = self._live()
        started = time.monotonic()
        reply = conn.send(line, timeout=timeout or self.command_timeout)
        ESL_COMMAND_LATENCY.observe(time.monotonic() - started)
        return reply.get("Reply-Text", "")

    def api(self, command: str, timeout: float | None = None) -> str:
        """``api <command>``: the body FreeSWITCH returns (errors are text, as in FreeSWITCH)."""
        _single_line(command)
        conn = self._live()
        started = time.monotonic()
        reply = conn.send(f"api {command}", timeout=timeout or self.command_timeout)
        ESL_COMMAND_LATENCY.observe(time.monotonic() - started)
        return reply.body

    def bgapi(self, command: str, timeout: float | None = None) -> str:
        """``bgapi <command>``: waits for the BACKGROUND_JOB with our Job-UUID; returns its body."""
        _single_line(command)
        job_uuid = str(uuid.uuid4())
        result: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self._jobs[job_uuid] = result
        try:
            reply = self._live().send(
                f"bgapi {command}\nJob-UUID: {job_uuid}", timeout=self.command_timeout
            )
            text = reply.get("Reply-Text", "")
            if not text.startswith("+OK"):
                raise EslCommandError(f"bgapi {command}", text)
            try:
                return result.get(timeout=timeout or self.command_timeout)
            except gevent.Timeout:
                raise EslTimeout(f"bgapi {command!r}: no BACKGROUND_JOB within timeout") from None
        finally:
            self._jobs.pop(job_uuid, None)

    # ------------------------------------------------------------ supervisor
    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_max, self.backoff_initial * (2 ** min(attempt, 16)))
        return delay * random.uniform(0.5, 1.5)

    def _sync(self, conn: SafeInboundESL) -> None:
        """Bring this connection's filters and subscription to what the consumers want now,
        in one write. The filters first: a subscribed event must never lack its positive
        filter (``controller.esl.filters``). One sync at a time, each from the state the
        one before left; a failure drops the connection (the reconnect sends it all)."""
        with self._sync_lock:
            wire = self._wire
            if wire is None or wire.conn is not conn or not conn.connected:
                return
            keys = self._wanted_keys()
            filters = self._wanted_filters()
            lines = filter_changes(wire.filters, filters)
            if not keys <= wire.keys:
                lines.append(subscription_command(keys, self.event_format))
            if not lines:
                return
            try:
                replies = conn.send_many([encode_command(line) for line in lines],
                                         self.command_timeout)
            except EslError as exc:
                if not conn.connected or not self._running:
                    # The connection went (FreeSWITCH stopped, or we are stopping): its
                    # loss is reported once by the supervisor, and a reconnect sends the
                    # whole subscription again.
                    log.debug("esl: subscription not sent, the connection closed: %s", exc)
                    return
                log.warning("esl: subscription failed: %s", exc)
                conn.abort(f"subscription failed: {exc}")
                return
            for line, reply in zip(lines, replies, strict=True):
                text = reply.get("Reply-Text", "")
                if not text.startswith("+OK"):
                    log.error("esl: FreeSWITCH refused %r: %s", line, text)
            wire.keys |= keys
            wire.filters = filters

    def _run_hook(self, hook: Callable[[], None]) -> None:
        try:
            hook()
        except Exception:
            log.exception("esl: reconnect hook %s failed", getattr(hook, "__name__", hook))

    def _connect_once(self) -> SafeInboundESL:
        conn = SafeInboundESL(self.host, self.port, self.password, timeout=self.connect_timeout)
        try:
            no_greeting = EslTimeout("no greeting from FreeSWITCH")
            with gevent.Timeout(self.connect_timeout * 2, no_greeting):
                conn.connect()
            if not conn.connected:
                raise EslConnectionLost(conn.close_reason or "closed during connect")
        except BaseException:
            conn.shutdown(say_exit=False, timeout=0.5)
            raise
        conn.register_handle("*", self._dispatch)
        return conn

    def _supervise(self) -> None:
        attempt = 0
        while self._running:
            conn = None
            try:
                conn = self._connect_once()
                self._wire = _Wire(conn)  # a new connection has no filters, no events
                self._sync(conn)
                if not conn.connected:
                    raise EslConnectionLost(conn.close_reason)
                self._conn = conn
                self.connections_made += 1
                if self.connections_made > 1:
                    ESL_RECONNECTS.inc()
                self.last_error = ""
                attempt = 0
                self._connected.set()
                self._request_sync()  # what consumers changed during the first sync
                log.info("esl: connected to FreeSWITCH %s:%s", self.host, self.port)
                for hook in list(self._hooks):
                    gevent.spawn(self._run_hook, hook)
                probe = gevent.spawn(self._probe, conn)
                try:
                    self._watch(conn)
                finally:
                    probe.kill(block=False)
                self.last_error = conn.close_reason or "connection lost"
                if self._running:
                    log.warning("esl: connection to FreeSWITCH lost: %s", self.last_error)
            except EslAuthError as exc:
                self.last_error = str(exc)
                log.error("esl: %s (check freeswitch.esl_password)", exc)
            except (OSError, EslError, gs.NotConnectedError, gevent.Timeout) as exc:
                self.last_error = f"cannot connect to {self.host}:{self.port}: {exc}"
                log.warning("esl: %s", self.last_error)
            finally:
                self._connected.clear()
                self._conn = None
                if conn is not None:
                    conn.shutdown(say_exit=False, timeout=0.5)
                for job in list(self._jobs.values()):
                    if not job.ready():
                        job.set_exception(EslConnectionLost(self.last_error))
            if self._running:
                gevent.sleep(self._backoff(attempt))
                attempt += 1

    def _watch(self, conn: SafeInboundESL) -> None:
        """Return when the connection is dead: reader gone, closed, or silent too long."""
        reader = conn._receive_events_greenlet
        while self._running:
            if reader is None or reader.dead or not conn.connected:
                return
            silent = time.monotonic() - conn.last_frame_at
            if silent > self.heartbeat_timeout:
                conn.abort(f"no frame from FreeSWITCH for {silent:.0f} s (HEARTBEAT missing)")
                return
            reader.join(timeout=min(1.0, self.heartbeat_timeout / 4))


    def _probe(self, conn: SafeInboundESL) -> None:
        """Ask FreeSWITCH something every ``probe_interval`` seconds; no answer within
        ``probe_timeout`` means it is gone, even if TCP still says otherwise."""
        while self._running and conn.connected:
            gevent.sleep(self.probe_interval)
            if not conn.connected:
                return
            started = time.monotonic()
            try:
                conn.send(fscore.status(), timeout=self.probe_timeout)
            except EslTimeout:
                log.error("esl: FreeSWITCH did not answer the liveness probe within %g s: "
                          "dropping the connection", self.probe_timeout)
                conn.abort(f"no reply to the liveness probe within {self.probe_timeout:g} s")
                return
            except EslError:
                return  # the connection ended; the supervisor sees it
            ESL_COMMAND_LATENCY.observe(time.monotonic() - started)


def _single_line(text: str) -> None:
    if "\n" in text or "\r" in text:
        raise ValueError(f"an Event Socket command must be one line: {text!r}")
