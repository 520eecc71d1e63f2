"""A controller's part in the cluster: staying alive in Redis, taking over the dead.

``Cluster`` bundles the shared stores of one controller (outbox, journal, room
directory, idempotency keys) and runs one greenlet that, every third of
``[cluster] lease_seconds``, renews this controller's liveness key and looks for
controllers whose key expired. For each dead one it moves the pending callbacks
(``RedisOutbox.claim_orphans``) and the journalled calls
(``RedisJournal.take_over``) to this controller, sends those callbacks in their
lanes' order (``Webhooks.resend_pending``) and checks those calls with FreeSWITCH
(``Recovery.reconcile``: ended ones get their recovered exit/action/hangup
callbacks). The scripts doing the moves check the dead node's key again inside
Redis, so two live controllers never take the same thing.

It also answers the room manager (``controller.conference.rooms.RoomCluster``):
every controller connected to a node sees that node's conference events, so a
room-level callback is reported by the one controller whose ``SET NX`` on the
event's key (FreeSWITCH's Core-UUID + Event-Sequence, unique per event: switch_event.c
numbers every event it fires) wins; rooms enter the room directory when
mod_conference creates them and leave it when it destroys them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import redis

from controller.cluster.calls import SharedCallRegistry
from controller.cluster.commands import RedisCommandIds
from controller.cluster.directory import RoomDirectory
from controller.cluster.idempotency import RedisIdempotencyStore
from controller.cluster.journal import RedisJournal
from controller.cluster.moves import RoomMover
from controller.cluster.outbox import RedisOutbox
from controller.cluster.shared import Shared, default_node_id
from controller.config import Settings
from controller.esl import Event

log = logging.getLogger(__name__)

EVENT_KEY_SECONDS = 3600  # how long "this event was reported" is remembered


class Cluster:
    def __init__(self, settings: Settings, node: str):
        """``node``: the FreeSWITCH node (host:port) this controller's rooms are seen on."""
        cluster = settings.cluster
        self.node = node
        self.shared = Shared(cluster, cluster.node_id or default_node_id(
            settings.http.listen_port))
        self.outbox = RedisOutbox(self.shared)
        self.journal = RedisJournal(self.shared)
        self.directory = RoomDirectory(self.shared)
        self.idempotency_ttl = settings.api.idempotency_ttl
        self.calls = SharedCallRegistry(self.shared, settings.http.public_base_url)
        # [cluster] node_sip_addresses: callers on another node are moved to their room's
        # home node before they join (controller.cluster.moves).
        self.mover: RoomMover | None = None
        if settings.cluster.node_sip_addresses:
            self.mover = RoomMover(settings, self.shared, self.directory, node)
        self.takeovers = 0  # dead controllers taken over by this one
        self._greenlet: gevent.Greenlet | None = None
        self._webhooks: Any = None
        self._recovery: Any = None
        self._nodes: dict[str, Any] = {}
        self._esl: Any = None  # the service's Event Socket (a NodeSet with several nodes)
        self._down_since: dict[str, float] = {}  # node -> when its connection was first seen down
        self._released: set[str] = set()  # nodes whose rooms were released in this outage
        # Several nodes: Core-UUID -> node name (controller.esl.nodes.NodeSet.node_of_core).
        self.core_of: Callable[[str], str | None] | None = None

    @property
    def node_id(self) -> str:
        return self.shared.node_id

    def join(self) -> None:
        """Before the outbox is used: take this node id (ClusterError if impossible)."""
        self.shared.join()

    def start(self, webhooks: Any, recovery: Any, nodes: dict[str, Any] | None = None,
              esl: Any = None) -> None:
        """``nodes``: node name -> its inbound client (``connected``), watched so that a
        node down for a whole lease releases its rooms from the directory."""
        self._webhooks, self._recovery = webhooks, recovery
        self._nodes = dict(nodes or {})
        self._esl = esl
        if self.mover is not None:
            self.mover.esl = esl
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """After the webhooks were flushed: what is left is taken by others at once."""
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=2)
            self._greenlet = None
        self.shared.leave()
        self.shared.close()

    def idempotency_store(self, scope: str) -> RedisIdempotencyStore:
        return RedisIdempotencyStore(self.shared, scope, self.idempotency_ttl)

    def command_ids(self) -> RedisCommandIds:
        """The Telnyx face's command_id answers, shared by every controller."""
        return RedisCommandIds(self.shared, self.idempotency_ttl)

    # ------------------------------------------------------------ the loop
    def _run(self) -> None:
        interval = self.shared.settings.lease_seconds / 3
        while True:
            gevent.sleep(interval)
            try:
                if not self.shared.refresh():
                    log.error("cluster: this controller's liveness key %s had expired (was "
                              "the process stalled?); others may have sent some of its "
                              "callbacks too", self.shared.node_key)
                self.take_over_dead()
                self.release_dead_nodes()
            except redis.RedisError as exc:
                log.error("cluster: Redis unreachable (%s); retrying in %.1f s", exc, interval)

    def take_over_dead(self) -> list[str]:
        """Take what dead controllers left; returns their node ids."""
        dead = self.shared.dead_nodes()
        if not dead:
            return []
        self.outbox.claim_orphans(dead)
        self.journal.take_over(dead)
        for node_id in dead:
            self.shared.forget_node(node_id)
        self.takeovers += len(dead)
        if self._webhooks is not None:
            self._webhooks.resend_pending()
        recovery = self._recovery
        if recovery is not None and recovery.esl.connected:
            recovery.reconcile()
        return dead

    def release_dead_nodes(self, now: float | None = None) -> list[str]:
        """A FreeSWITCH node unreachable for a whole lease took its rooms with it: they
        leave the directory, so the next caller's node becomes the room's home. Every
        controller does this; the release is idempotent. Returns the nodes released."""
        now = time.monotonic() if now is None else now
        released = []
        for name, client in self._nodes.items():
            if client.connected:
                self._down_since.pop(name, None)
                self._released.discard(name)
                continue
            since = self._down_since.setdefault(name, now)
            if name in self._released or now - since < self.shared.settings.lease_seconds:
                continue
            count = self.directory.release_node(name)
            self._released.add(name)
            released.append(name)
            log.error("cluster: FreeSWITCH node %s unreachable for %.0f s: its %d room(s) "
                      "left the room directory", name, now - since, count)
            self.report_calls_on(name)
        return released

    def report_calls_on(self, node: str) -> int:
        """A dead node took its calls with it: report the end of this controller's calls
        that were on it (exit, action, hangup, marked recovered; cause SYSTEM_SHUTDOWN as
        for a FreeSWITCH that restarted). Only with several nodes: a controller's single
        FreeSWITCH coming back is the recovery's own case. A call is known to be on the
        node from its events (``NodeSet.node_of_channel``); one never seen in an event
        (not in a room yet) waits for the node to come back."""
        node_of_channel = getattr(self._esl, "node_of_channel", None)
        recovery = self._recovery
        if node_of_channel is None or recovery is None:
            return 0
        from controller.recovery import CAUSE_FREESWITCH_RESTARTED

        reported = 0
        for entry in self.journal.entries():
            if node_of_channel(entry.uuid) != node:
                continue
            if recovery.engine.calls.get(entry.uuid) is not None:
                continue  # its session still runs (it will see its socket end)
            if recovery.taken_elsewhere(entry.uuid):
                continue  # another controller's session runs it and reports its end
            recovery.unwatch(entry.uuid)
            recovery.report_end(entry, CAUSE_FREESWITCH_RESTARTED)
            reported += 1
        if reported:
            log.error("cluster: reported the end of %d call(s) lost with node %s", reported,
                      node)
        return reported

    # ------------------------------------------------------------ RoomCluster
    def once(self, key: str) -> bool:
        try:
            return bool(self.shared.redis.set(self.shared.key("reported", key), self.node_id,
                                              nx=True, ex=EVENT_KEY_SECONDS))
        except redis.RedisError as exc:
            log.warning("cluster: cannot check who reports %s (%s): reporting it (it may "
                        "arrive twice)", key, exc)
            return True

    def node_of(self, event: Event) -> str:
        """The node (host:port) that fired a FreeSWITCH event: by its Core-UUID when the
        controller watches several nodes (controller.esl.nodes), else the one node."""
        found = self.core_of(event.get("Core-UUID", "")) if self.core_of else None
        return found or self.node

    def room_created(self, fs_room: str, event: Event) -> None:
        node = self.node_of(event)
        try:
            home = self.directory.claim(fs_room, node)
        except redis.RedisError as exc:
            log.error("cluster: room %s not in the directory (%s)", fs_room, exc)
            return
        if home != node:
            # A caller is moved to the home node before it joins (controller.cluster.moves)
            # unless no SIP address is configured or the move failed.
            log.error("cluster: room %s was created on %s but its home is %s: it now spans "
                      "two nodes", fs_room, node, home)

    def room_ended(self, fs_room: str, event: Event) -> None:
        try:
            self.directory.release(fs_room, self.node_of(event))
        except redis.RedisError as exc:
            log.error("cluster: room %s stays in the directory (%s)", fs_room, exc)
