"""A TCP proxy that can go silent: connections stay open (no FIN, no RST) but nothing
more is forwarded either way, as with a hung FreeSWITCH or a peer gone without a trace."""

from __future__ import annotations

import gevent
import gevent.event
from gevent.server import StreamServer
from gevent.socket import create_connection


class FreezableProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.flowing = gevent.event.Event()
        self.flowing.set()
        self.server = StreamServer(("127.0.0.1", 0), self._handle)
        self.sockets: list = []

    @property
    def port(self) -> int:
        return self.server.address[1]

    def start(self) -> FreezableProxy:
        self.server.start()
        return self

    def freeze(self) -> None:
        """From now on nothing passes; every socket stays open."""
        self.flowing.clear()

    def stop(self) -> None:
        self.server.stop(timeout=1)
        for sock in self.sockets:
            sock.close()

    def _handle(self, client, address) -> None:  # noqa: ANN001 - gevent's signature
        upstream = create_connection(self.target)
        self.sockets += [client, upstream]
        pumps = [gevent.spawn(self._pump, client, upstream),
                 gevent.spawn(self._pump, upstream, client)]
        gevent.joinall(pumps)

    def _pump(self, source, sink) -> None:  # noqa: ANN001
        while True:
            if not self.flowing.is_set():
                gevent.sleep(3600)  # silent: read nothing, write nothing, close nothing
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if not self.flowing.is_set():
                gevent.sleep(3600)  # the bytes read while freezing are swallowed
            try:
                sink.sendall(data)
            except OSError:
                return
