"""The controller process: inbound ESL, outbound server, rooms, HTTP, all in one gevent hub."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket

import gevent
import gevent.event
from flask import Blueprint
from gevent.pywsgi import WSGIServer

from controller import dialects
from controller.call import Engine
from controller.conference.rooms import RoomManager
from controller.config import Settings
from controller.dialer import Dialer, connect_address
from controller.esl import InboundClient, OutboundServer
from controller.esl.protocol import no_delay
from controller.journal import journal_for
from controller.media_cache import MediaCache
from controller.notify import Notifier, dialect_signers
from controller.outbox import open_outbox
from controller.recovery import Recovery
from controller.transcription import TranscriptionError, load_transcriber
from controller.webhooks import Webhooks

log = logging.getLogger(__name__)

GC_THRESHOLDS = (10_000, 20, 100)  # gc.set_threshold of a running controller (see run_forever)


def _absolute(path: str) -> str:
    return path if os.path.isabs(path) else os.path.abspath(path)


class _NoDelayWSGIServer(WSGIServer):
    """API replies are small: without TCP_NODELAY each one waits ~40 ms for an ACK."""

    def handle(self, sock, address):  # noqa: ANN001, ANN201 - gevent's signature
        no_delay(sock)
        return super().handle(sock, address)


class ControllerService:
    def __init__(self, settings: Settings, *, outbound_listener: socket.socket | None = None,
                 http_listener: socket.socket | None = None):
        """``outbound_listener``/``http_listener``: sockets already bound and listening, used
        instead of binding ``[outbound]``/``[http]`` listen_host:listen_port (a test stack
        binds port 0 first, to learn the ports it then configures); closed by ``stop``."""
        self.settings = settings
        self._http_listener = http_listener
        fs = settings.freeswitch
        clients = {
            f"{host}:{port}": InboundClient(
                host, port, password,
                command_timeout=fs.command_timeout, heartbeat_timeout=fs.heartbeat_timeout,
                probe_interval=fs.probe_interval, probe_timeout=fs.probe_timeout,
            ) for host, port, password in fs.node_list()
        }
        self.cluster = None  # [cluster] redis_url: the stores shared with other controllers
        self.esl = next(iter(clients.values()))
        if len(clients) > 1:  # [freeswitch] nodes: one connection per node, routed
            from controller.esl.nodes import NodeSet

            self.esl = NodeSet(clients, home_of=self._room_home)
        if settings.cluster.redis_url:
            from controller.cluster.takeover import Cluster

            self.cluster = Cluster(settings, next(iter(clients)))
            self.cluster.core_of = getattr(self.esl, "node_of_core", None)
        self.webhooks = Webhooks(settings.webhooks, signers=dialect_signers(settings))
        self.media = MediaCache(
            self.webhooks, _absolute(settings.media.directory),
            _absolute(settings.media_local_directory), settings.media.max_bytes,
            settings.media.cache_seconds,
        )
        self.notifier = Notifier(self.webhooks)
        self.rooms = RoomManager(
            self.esl, self.notifier, room_prefix=fs.room_prefix,
            recordings_fs_dir=_absolute(settings.recordings.directory),
            recordings_local_dir=_absolute(settings.recordings_local_directory),
            public_base_url=settings.http.public_base_url,
            transcriber=load_transcriber(settings.transcription.engine),
        )
        self.rooms.cluster = self.cluster
        self.engine = Engine(settings, self.webhooks, self.media, self.rooms, self.notifier,
                             calls=self.cluster.calls if self.cluster is not None else None)
        self.outbound = OutboundServer(
            settings.outbound.listen_host, settings.outbound.listen_port,
            self.engine.handle_call, command_timeout=fs.command_timeout,
            listener=outbound_listener,
        )
        self.dialer = Dialer(self.esl, settings,
                             lambda: connect_address(settings.outbound, self.outbound.address))
        self.engine.dialer = self.dialer
        self.http: WSGIServer | None = None
        self.recovery: Recovery | None = None
        self.stopped = gevent.event.Event()
        for name in dialects.names():  # faces that handle webhook replies register here
            dialects.get(name).attach(self)

    def _room_home(self, fs_room: str) -> str | None:
        """The node hosting a room, from the cluster's room directory (None: unknown)."""
        if self.cluster is None:
            return None
        import redis

        try:
            return self.cluster.directory.home(fs_room)
        except redis.RedisError as exc:
            log.warning("cluster: room directory unreachable (%s): room %s routed by the "
                        "node it was last seen on", exc, fs_room)
            return None

    def api_blueprint(self) -> Blueprint | None:  # the REST API, when present
        try:
            from controller.api import create_blueprint
        except ImportError:
            return None
        return create_blueprint(self)

    def start(self) -> None:
        from controller.http import create_app

        for what, path in (("recordings", self.settings.recordings_local_directory),
                           ("media", self.settings.media_local_directory)):
            try:
                os.makedirs(_absolute(path), exist_ok=True)
            except OSError as exc:
                raise OSError(exc.errno, f"cannot use the {what} directory {path}: "
                                         f"{exc.strerror}") from None
        if self.settings.webhooks.delivery_processes:  # callbacks' HTTP on other cores
            from controller.delivery_processes import DeliveryProcesses

            self.webhooks.processes = DeliveryProcesses(
                self.settings, self.settings.webhooks.delivery_processes,
                self.settings.log.level)
            self.webhooks.processes.start()
        # Durable callbacks: resend what a previous run left, before any new one.
        if self.cluster is not None:  # shared in Redis, taken over when a controller dies
            self.cluster.join()
            self.webhooks.use_outbox(self.cluster.outbox)
            self.engine.journal = self.cluster.journal
        else:
            outbox = open_outbox(_absolute(self.settings.data.directory))
            self.webhooks.use_outbox(outbox)
            # Calls that ended unseen (this controller or FreeSWITCH restarted) are
            # reported at each connect, behind the resent callbacks (controller.recovery).
            self.engine.journal = journal_for(outbox)
        self.recovery = Recovery(self.engine, self.esl, self.engine.journal,
                                 lost_call_wait=self.settings.freeswitch.lost_call_wait)
        self.engine.recovery = self.recovery
        self.recovery.start()
        if self.cluster is not None:
            self.cluster.start(self.webhooks, self.recovery,
                               getattr(self.esl, "clients", None) or {self.cluster.node: self.esl},
                               self.esl)
        self.rooms.start()
        self.esl.start()
        self.outbound.start()
        app = create_app(self)
        http_at = self._http_listener if self._http_listener is not None else (
            self.settings.http.listen_host, self.settings.http.listen_port)
        self._http_listener = None  # the server owns it now
        self.http = _NoDelayWSGIServer(
            http_at, app, log=None, error_log=logging.getLogger("http"),
        )
        self.http.start()
        log.info("controller listening: outbound ESL %s:%d, HTTP %s:%d, FreeSWITCH %s:%d",
                 *self.outbound.address, *self.http.address[:2],
                 self.settings.freeswitch.esl_host, self.settings.freeswitch.esl_port)

    @property
    def http_port(self) -> int:
        return self.http.address[1] if self.http else 0

    @property
    def outbound_port(self) -> int:
        return self.outbound.address[1]

    def stop(self) -> None:
        if self.recovery is not None:
            self.recovery.stop()  # a stopping controller reports no call as ended
        self.outbound.stop(timeout=2)
        if self.http is not None:
            self.http.stop(timeout=2)
        elif self._http_listener is not None:  # never started: nobody else closes it
            self._http_listener.close()
            self._http_listener = None
        self.rooms.stop()
        self.esl.stop()
        self.webhooks.flush(timeout=5)
        self.webhooks.close()
        if self.cluster is not None:
            self.cluster.stop()
        self.stopped.set()


def run_forever(settings: Settings) -> int:
    try:
        service = ControllerService(settings)
    except TranscriptionError as exc:
        log.error("cannot start: %s", exc)
        return 2
    try:
        service.start()
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    # Everything alive now lives as long as the process: keep it out of the cyclic
    # collector's full passes, which otherwise scan it again and again (~50 ms pauses
    # with hundreds of calls, measured by bench/callback_latency).
    gc.collect()
    gc.freeze()
    # Collect young objects every 10,000 allocations instead of 700, and the old ones
    # more rarely: each call makes short-lived events and frames by the thousand, and
    # with the defaults the collector was ~19 % of the controller's CPU while 2,000
    # members joined (bench capacity; 3.9 of 20 s, 8 full collections), ~6 % with these
    # (1.0 of 17 s, 3 full ones), CPU per setup 5.4 -> 4.8 ms, RSS per member unchanged.
    gc.set_threshold(*GC_THRESHOLDS)
    # Greenlets need not record who spawned them: each spawn walked ten frames for the
    # spawning stack (a lane greenlet per callback, several per call) and every greenlet
    # kept them; only gevent's debugging dumps read them. Callgrind, 60 joins and 300
    # digit callbacks: -1.6 % instructions per join, -1.9 % per callback, -8.7 % per
    # hang-up (issue 16).
    gevent.config.track_greenlet_tree = False
    gevent.signal_handler(signal.SIGTERM, service.stop)
    gevent.signal_handler(signal.SIGINT, service.stop)
    service.stopped.wait()
    return 0
