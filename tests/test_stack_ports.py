"""The test stack's servers never lose their ports to outgoing connections.

CI once failed with "cannot listen for FreeSWITCH on 127.0.0.1:40821: Address already in
use": the stack picked a port (bind to port 0, read it, close) and the controller bound it
later; in between, a connection took it as its source port. ``port_thief`` makes that
happen every time: any loopback port a socket lets go after binding it without listening
is taken at once by a real outgoing connection from that port.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from stack import Stack, free_port

from controller.testing.stack import ReservedPort

ANSWER = "<Response><Speak>hello</Speak></Response>"


def _answering_app() -> Flask:
    app = Flask("ports-test-app")
    app.add_url_rule("/answer", "answer", lambda: ANSWER, methods=["GET", "POST"])
    app.add_url_rule("/hangup", "hangup", lambda: "", methods=["GET", "POST"])
    return app


def _let_go_port(sock: socket.socket) -> int:
    """The loopback TCP port ``sock`` holds without listening or being connected (0: none):
    the one a port picker hands out as it closes."""
    if sock.family != socket.AF_INET or sock.type != socket.SOCK_STREAM:
        return 0
    try:
        host, port = sock.getsockname()[:2]
        listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError:
        return 0
    if host != "127.0.0.1" or not port or listening:
        return 0
    try:
        sock.getpeername()
    except OSError:
        return port
    return 0  # a client: its port goes back to the kernel, nobody was told it


@pytest.fixture
def port_thief(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[socket.socket]]:
    """Steals every port let go (see ``_let_go_port``) with an outgoing connection from it;
    yields the thieves' sockets."""
    target = socket.create_server(("127.0.0.1", 0), backlog=128)
    thieves: list[socket.socket] = []
    real_close = socket.socket.close

    def close(sock: socket.socket) -> None:
        port = _let_go_port(sock)
        real_close(sock)
        if port:
            thief = socket.socket()
            try:  # no SO_REUSEADDR: like a connection whose source port the kernel chose
                thief.bind(("127.0.0.1", port))
                thief.connect(target.getsockname())
            except OSError:
                real_close(thief)
            else:
                thieves.append(thief)

    monkeypatch.setattr(socket.socket, "close", close)
    yield thieves
    monkeypatch.undo()
    for thief in thieves:
        thief.close()
    target.close()


def test_a_stack_starts_and_takes_a_call_when_every_port_let_go_is_stolen(tmp_path, port_thief):
    picked = free_port()  # the old way: the thief is at work, or this test proves nothing
    assert picked in {thief.getsockname()[1] for thief in port_thief}
    with pytest.raises(OSError):
        socket.create_server(("127.0.0.1", picked)).close()

    with Stack(tmp_path, app=_answering_app(), control_port=0) as stack:
        phone = stack.phones.call("1000", caller_id="alice")  # the dialplan's outbound port
        stack.requests.wait_for("/answer", From="alice")  # the application's port
        assert phone.wait_hangup(timeout=15)
        assert stack.rest("GET", "/v1/conferences").status_code == 200  # controller HTTP
        control = requests.get(f"http://127.0.0.1:{stack.sim.control_port}/", timeout=5)
        assert control.json()["outbound"] == f"127.0.0.1:{stack.outbound_port}"
        assert stack.controller.outbound_port == stack.outbound_port
        assert stack.controller.http_port == stack.http_port


def _hold_supported() -> bool:
    port = ReservedPort("127.0.0.1", backlog=1, what="a probe")
    try:
        return port._hold is not None
    finally:
        port.close()


def test_a_restarted_controller_gets_its_ports_back_and_meanwhile_nobody_else_does(tmp_path):
    if not _hold_supported():
        pytest.skip("this system lets no port be held while another socket listens on it")
    with Stack(tmp_path, app=_answering_app()) as stack:
        ports = (stack.http_port, stack.outbound_port)
        stack.stop_controller_service()
        for port in ports:  # what an outgoing connection's source port would need
            intruder = socket.socket()
            with pytest.raises(OSError, match="in use"):
                intruder.bind(("127.0.0.1", port))
            intruder.close()
        controller = stack.start_controller_service()
        assert (controller.http_port, controller.outbound_port) == ports
        stack.phones.call("1000", caller_id="bob")
        stack.requests.wait_for("/answer", From="bob")


def test_a_given_controller_port_is_used_and_named_when_taken(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"controller's HTTP on 127.0.0.1:{port}"):
            Stack(tmp_path, http_port=port).start()
        with pytest.raises(OSError, match=f"outbound\\) on 127.0.0.1:{port}"):
            with Stack(tmp_path, outbound_port=port):
                pass


def test_a_held_port_is_free_for_a_server_in_another_process_and_for_no_one_else(held_port):
    if not _hold_supported():
        pytest.skip("this system lets no port be held while another socket listens on it")
    port = held_port()
    intruder = socket.socket()
    with pytest.raises(OSError, match="in use"):
        intruder.bind(("127.0.0.1", port))
    intruder.close()
    server = subprocess.run(  # create_server sets SO_REUSEADDR, as gevent's servers do
        [sys.executable, "-c", "import socket, sys; "
         f"socket.create_server(('127.0.0.1', {port})).close(); print('listened')"],
        capture_output=True, text=True, timeout=30)
    assert server.stdout == "listened\n", server.stderr
