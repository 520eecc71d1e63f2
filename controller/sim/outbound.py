"""The ``socket`` application: dial the controller's outbound Event Socket.

``socket host[:port][/path][|host2…] [async] [full]`` (mod_event_socket.c
socket_function): try each host in turn (default port 8084); in async mode
wait for ``connect`` and park, running queued sendmsgs until the channel
goes down or the socket closes; otherwise the listener runs the session.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

import gevent
import gevent.monkey
import gevent.socket

from controller.sim.listener import Listener
from controller.sim.session import park, process_private, register_app

if TYPE_CHECKING:
    from controller.sim.channel import Channel

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0  # real seconds: a TCP connect is not simulated time
# The standard library's socket class, even in a monkey-patched process.
_native_socket = gevent.monkey.get_original("socket", "socket")


def _connect(host: str, port: int) -> Any:
    """A TCP connection to the controller, made the way FreeSWITCH's socket_function
    makes it: from the session's own thread, blocking (mod_event_socket.c:
    switch_sockaddr_info_get, then switch_socket_connect). To a loopback address the
    kernel completes the handshake inside connect(), so the simulator does the same
    there; through gevent the session waited for the event loop to notice the socket
    writable, 1.6 ms at the median and 6 ms at p90 at 20 calls/s, which the join
    benchmark counted as the controller's own share. Any other address goes through
    gevent (a network round trip must not stop every simulated call)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name: resolve it
        return gevent.socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    family = gevent.socket.AF_INET6 if address.version == 6 else gevent.socket.AF_INET
    if not address.is_loopback:
        return gevent.socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    blocking = _native_socket(family, gevent.socket.SOCK_STREAM)
    try:
        blocking.settimeout(CONNECT_TIMEOUT)
        blocking.connect((host, port))
    except BaseException:
        blocking.close()
        raise
    return gevent.socket.socket(family, gevent.socket.SOCK_STREAM, fileno=blocking.detach())


def _parse_host(spec: str) -> tuple[str, int, str | None]:
    host, port, path = spec, 8084, None
    if ":" in spec:
        host, _, rest = spec.rpartition(":")
        port_text, _, path = rest.partition("/")
        port = int(port_text) if port_text.isdigit() else 0
        path = path or None
    elif "/" in spec:
        host, _, path = spec.partition("/")
    return host, port, path


@register_app("socket", nomedia=True)
def socket_app(channel: Channel, arg: str) -> None:
    core = channel.core
    argv = arg.split()
    if not argv:
        core.log(3, "mod_event_socket.c", "socket_function", 438, "Parse Error!", channel.uuid)
        return
    sock = None
    for spec in argv[0].split("|"):
        if not spec:
            continue
        core.log(
            5, "mod_event_socket.c", "socket_function", 449, f"Trying host: {spec}", channel.uuid
        )
        host, port, path = _parse_host(spec)
        if path:
            channel.set_var("socket_path", path)
        channel.set_var("socket_host", host)
        try:
            sock = _connect(host, port)
            sock.settimeout(None)
            sock.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
            break
        except OSError as exc:
            core.log(
                3,
                "mod_event_socket.c",
                "socket_function",
                486,
                f"Socket Error: {exc}",
                channel.uuid,
            )
            sock = None
    if sock is None:
        core.log(3, "mod_event_socket.c", "socket_function", 490, "Socket Error!", channel.uuid)
        return
    flags = {word.lower() for word in argv[1:]}
    listener = Listener(
        core, sock, session=channel, async_mode="async" in flags, full="full" in flags
    )
    listener.start()
    if listener.async_mode:
        while channel.ready and not listener.finished.is_set() and not listener.connected:
            channel.wait_input(None)
        listener.finished.rawlink(lambda _event: _release(channel))
        if listener.finished.is_set():
            return
        channel.next_frame()  # switch_cond_next polling: the park starts a frame later
        if listener.finished.is_set() or not channel.ready:
            return
        park(channel)
        process_private(channel)
        return
    # Static mode: the listener is the session thread; sendmsgs run inline in it.
    while not listener.finished.is_set() and not core.stopping:
        listener.finished.wait(1.0)
        gevent.sleep(0)


def _release(channel: Channel) -> None:
    """The socket closed: CF_CONTROLLED is cleared and the park loop ends."""
    channel.controlled = False
    channel.poke()
