"""Several FreeSWITCH nodes behind the one inbound-client interface the engine uses.

``[freeswitch] nodes`` lists every node; the controller keeps an ``InboundClient`` to
each. ``NodeSet`` offers the same ``api``/``bgapi``/``subscribe``/``on_connect`` as one
client, so the room manager, the recovery, the dialer and the REST API need not know:

- a command for a room goes to the room's home node (the cluster's room directory,
  ``home_of``), else to the node where the room was last seen in an event;
- a command for a channel goes to the node where that channel was seen (every event
  carries Unique-ID), else to the node that answers ``uuid_exists`` true;
- ``conference json_list`` (every room) is asked of every node and the lists joined;
- anything else goes to the first node (the primary).

Events of every node reach one merged queue per subscriber; ``on_connect`` hooks run
for the primary node only (the recovery compares FreeSWITCH's core uuid with the one it
knew: one node's identity, not several). Which node an event came from is its
``Core-UUID`` header (``node_of_core``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

import gevent

from controller.esl.errors import EslError
from controller.esl.inbound import EventQueue, InboundClient
from controller.freeswitch import channel as fschannel
from controller.freeswitch import core as fscore
from controller.freeswitch.targets import target_of

log = logging.getLogger(__name__)

CACHE_LIMIT = 100_000  # channels/rooms remembered per node set


class NodeSet:
    def __init__(self, clients: dict[str, InboundClient],
                 home_of: Callable[[str], str | None] | None = None):
        if not clients:
            raise ValueError("a node set needs at least one node")
        self.clients = dict(clients)
        self.names = list(clients)
        self.primary = self.clients[self.names[0]]
        self.host, self.port = self.primary.host, self.primary.port
        self.home_of = home_of or (lambda fs_room: None)
        self._channel_node: dict[str, str] = {}
        self._room_node: dict[str, str] = {}
        self._core_node: dict[str, str] = {}
        self._forwarders: dict[int, list[gevent.Greenlet]] = {}
        self._subscriptions: dict[int, list[tuple[InboundClient, EventQueue]]] = {}
        for name, client in self.clients.items():
            client.on_connect(lambda name=name, client=client: self._learn_core(name, client))

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        for client in self.clients.values():
            client.start()

    def stop(self) -> None:
        for forwarders in self._forwarders.values():
            for greenlet in forwarders:
                greenlet.kill(block=False)
        for client in self.clients.values():
            client.stop()

    @property
    def connected(self) -> bool:
        return self.primary.connected

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Every node connected (start-up); True if at least the primary is."""
        for client in self.clients.values():
            client.wait_connected(timeout)
        return self.primary.connected

    @property
    def last_error(self) -> str:
        return self.primary.last_error

    def on_connect(self, hook: Callable[[], None]) -> None:
        self.primary.on_connect(hook)

    def _learn_core(self, name: str, client: InboundClient) -> None:
        try:
            core_uuid = client.api(fscore.core_uuid()).strip()
        except EslError as exc:
            log.warning("node %s: cannot read its core uuid (%s)", name, exc)
            return
        if core_uuid:
            self._core_node[core_uuid] = name

    def node_of_core(self, core_uuid: str) -> str | None:
        return self._core_node.get(core_uuid)

    def node_of_channel(self, uuid: str) -> str | None:
        """The node a channel was last seen on in an event (None: never seen)."""
        return self._channel_node.get(uuid)

    # ------------------------------------------------------------ events
    def subscribe(self, name: str, events: Iterable[str],
                  actions: Iterable[str] | None = None) -> EventQueue:
        keys = frozenset(events)
        merged = EventQueue(name, keys, actions)
        subscriptions = []
        forwarders = []
        for node, client in self.clients.items():
            queue = client.subscribe(f"{name}@{node}", keys, merged.actions)
            merged.on_want_change(queue.want_actions)  # each node's filters follow
            subscriptions.append((client, queue))
            forwarders.append(gevent.spawn(self._forward, node, queue, merged))
        self._subscriptions[id(merged)] = subscriptions
        self._forwarders[id(merged)] = forwarders
        return merged

    def unsubscribe(self, consumer: EventQueue) -> None:
        for greenlet in self._forwarders.pop(id(consumer), []):
            greenlet.kill(block=False)
        for client, queue in self._subscriptions.pop(id(consumer), []):
            client.unsubscribe(queue)

    def _forward(self, node: str, queue: EventQueue, merged: EventQueue) -> None:
        while True:
            event = queue.get()
            if event is None:
                continue
            channel = event.get("Unique-ID")
            if channel:
                self._remember(self._channel_node, channel, node)
            room = event.get("Conference-Name")
            if room:
                self._remember(self._room_node, room, node)
            merged.put(event)

    @staticmethod
    def _remember(cache: dict[str, str], key: str, node: str) -> None:
        if len(cache) >= CACHE_LIMIT:
            cache.pop(next(iter(cache)))
        cache[key] = node

    # ------------------------------------------------------------ commands
    def node_for(self, command: str) -> list[str]:
        """The node(s) a command goes to, in the order to try them."""
        target = target_of(command)
        if target.kind == "every_room":
            return list(self.names)
        if target.kind == "room":
            home = self.home_of(target.name) or self._room_node.get(target.name)
            return [home if home in self.clients else self.names[0]]
        if target.kind == "channel":
            known = self._channel_node.get(target.name)
            if known in self.clients:
                return [known]
            return [self._find_channel(target.name)]
        return [self.names[0]]

    def _find_channel(self, uuid: str) -> str:
        for name, client in self.clients.items():
            if not client.connected:
                continue
            try:
                if fschannel.exists(client.api(fschannel.uuid_exists(uuid))):
                    self._remember(self._channel_node, uuid, name)
                    return name
            except EslError:
                continue
        return self.names[0]

    def api(self, command: str, timeout: float | None = None) -> str:
        nodes = self.node_for(command)
        if len(nodes) == 1:
            return self.clients[nodes[0]].api(command, timeout)
        # conference json_list of every node: each answers a JSON array (capture 02a).
        rooms: list = []
        for name in nodes:
            client = self.clients[name]
            if not client.connected:
                continue
            reply = client.api(command, timeout)
            try:
                listed = json.loads(reply)
            except ValueError:
                continue  # "No active conferences." when a node has none
            if isinstance(listed, list):
                rooms.extend(listed)
        return json.dumps(rooms)

    def bgapi(self, command: str, timeout: float | None = None) -> str:
        return self.clients[self.node_for(command)[0]].bgapi(command, timeout)
