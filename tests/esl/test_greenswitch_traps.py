"""Each greenswitch 0.0.19 trap of DESIGN §5: shown on raw greenswitch, survived by our layer.

Every test has two halves against the same scripted FreeSWITCH: first plain
greenswitch falls into the trap (so the test documents a real behaviour of
the pinned version), then our layer gets through it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import gevent
import gevent.event
import pytest
from esl.fakefs import FakeInbound, api_response, command_reply, connect_out, plain_event
from greenswitch import esl as gs

from controller.esl import EslConnectionLost, InboundClient, OutboundServer

GUARD = 10  # seconds after which a hang counts as a hang


def _login_greenswitch(fake: FakeInbound) -> tuple[gs.InboundESL, object]:
    conn = gs.InboundESL("127.0.0.1", fake.port, "ClueCon")
    connecting = gevent.spawn(conn.connect)
    peer = fake.next_peer()
    assert peer.serve_login()
    connecting.get(timeout=GUARD)
    return conn, peer


def _serve_client_login(fake: FakeInbound):
    """Greeting, auth and the subscription our InboundClient sends first."""
    peer = fake.next_peer(timeout=GUARD)
    assert peer.serve_login()
    command = peer.read_subscription()
    assert command.line.startswith("event plain ")
    peer.send(command_reply("+OK event listener enabled plain"))
    return peer


def _answer_api(peer, body: str):
    command = peer.read_command()
    assert command is not None and command.line.startswith("api ")
    peer.send(api_response(body))


# --------------------------------------------------------------------------- 1
def test_slow_handler_delays_every_later_event_but_not_our_consumers():
    conference = [("Event-Name", "CUSTOM"), ("Event-Subclass", "conference::maintenance"),
                  ("Action", "add-member")]
    hangup = [("Event-Name", "CHANNEL_HANGUP_COMPLETE"), ("Unique-ID", "u1")]

    # greenswitch: one greenlet runs every handler, so a blocked handler holds the rest.
    fake = FakeInbound()
    conn, peer = _login_greenswitch(fake)
    gate = gevent.event.Event()
    seen = []
    conn.register_handle("conference::maintenance", lambda e: gate.wait())
    conn.register_handle("CHANNEL_HANGUP_COMPLETE", lambda e: seen.append("hangup"))
    peer.send(plain_event(conference) + plain_event(hangup))
    gevent.sleep(0.3)
    assert seen == [], "greenswitch delivered a later event while a handler was blocked"
    gate.set()
    gevent.sleep(0.1)
    assert seen == ["hangup"]
    conn._run = False
    fake.stop()

    # ours: handlers only enqueue; a consumer that never reads blocks nobody.
    fake = FakeInbound()
    client = InboundClient("127.0.0.1", fake.port, "ClueCon")
    stuck = client.subscribe("stuck", ["conference::maintenance"])
    lively = client.subscribe("lively", ["CHANNEL_HANGUP_COMPLETE"])
    client.start()
    peer = _serve_client_login(fake)
    peer.send(plain_event(conference) + plain_event(hangup))
    event = lively.get(timeout=GUARD)
    assert event is not None and event.name == "CHANNEL_HANGUP_COMPLETE"
    assert len(stuck) == 1  # still waiting for its slow reader, not lost
    client.stop()
    fake.stop()


# --------------------------------------------------------------------------- 2
def test_send_hangs_forever_when_freeswitch_drops_the_connection():
    fake = FakeInbound()
    conn, peer = _login_greenswitch(fake)
    sending = gevent.spawn(conn.send, "api status")
    assert peer.read_command().line == "api status"
    peer.close()
    sending.join(timeout=1.0)
    assert not sending.ready(), "greenswitch send() returned although nobody will answer"
    sending.kill()
    fake.stop()

    fake = FakeInbound()
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", command_timeout=60)
    client.start()
    peer = _serve_client_login(fake)
    assert client.wait_connected(GUARD)
    asking = gevent.spawn(client.api, "status")
    assert peer.read_command().line == "api status"
    peer.close()
    with pytest.raises(EslConnectionLost):
        asking.get(timeout=GUARD)  # long before the 60 s command timeout
    client.stop()
    fake.stop()


# --------------------------------------------------------------------------- 3
def test_frame_without_content_type_kills_the_reader_but_not_us():
    fake = FakeInbound()
    conn, peer = _login_greenswitch(fake)
    peer.send(b"Foo: bar\n\n")
    gevent.sleep(0.2)
    assert conn._receive_events_greenlet.dead
    assert conn.connected is True  # the lie: every later send() hangs
    fake.stop()

    fake = FakeInbound()
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", backoff_initial=0.01)
    hooks = []
    client.on_connect(lambda: hooks.append("connected"))
    client.start()
    peer = _serve_client_login(fake)
    assert client.wait_connected(GUARD)  # connected first, then broken
    peer.send(b"Foo: bar\n\n")
    # We drop the broken connection, reconnect with a fresh object, resubscribe.
    peer2 = _serve_client_login(fake)
    assert client.wait_connected(GUARD)
    answering = gevent.spawn(_answer_api, peer2, "UP 0 years\n")
    assert client.api("status") == "UP 0 years\n"
    answering.get(timeout=GUARD)
    assert hooks == ["connected", "connected"]
    assert peer is not peer2
    client.stop()
    fake.stop()


# --------------------------------------------------------------------------- 4
def test_connect_on_a_used_object_hangs_so_we_build_a_fresh_one():
    fake = FakeInbound()
    conn, peer = _login_greenswitch(fake)
    peer.close()
    gevent.sleep(0.2)
    reconnecting = gevent.spawn(conn.connect)
    second = fake.next_peer(timeout=GUARD)
    second.send(b"Content-Type: auth/request\n\n")
    reconnecting.join(timeout=1.0)
    assert not reconnecting.ready(), "greenswitch connect() on a used object returned"
    reconnecting.kill()
    fake.stop()

    fake = FakeInbound()
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", backoff_initial=0.01)
    client.start()
    first = _serve_client_login(fake)
    assert client.wait_connected(GUARD)
    first.close()
    second = _serve_client_login(fake)
    assert client.wait_connected(GUARD)
    answering = gevent.spawn(_answer_api, second, "+OK\n")
    assert client.api("status") == "+OK\n"
    answering.get(timeout=GUARD)
    assert client.connections_made == 2
    client.stop()
    fake.stop()


# --------------------------------------------------------------------------- 5
_SPIN_SCRIPT = textwrap.dedent(
    """
    from gevent import monkey; monkey.patch_all()
    import socket, sys, gevent
    from greenswitch import esl as gs
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
    def fs():
        sock, _ = srv.accept()
        sock.sendall(b"Content-Type: auth/request\\n\\n")
        sock.recv(1000)
        sock.sendall(b"Content-Type: command/reply\\nReply-Text: +OK accepted\\n\\n")
        sock.recv(1000)
        sock.sendall(b"Content-Type: api/response\\nContent-Length: 100\\n\\nabc")
        sock.close()
    gevent.spawn(fs)
    conn = gs.InboundESL("127.0.0.1", srv.getsockname()[1], "ClueCon")
    conn.connect()
    gevent.spawn(conn.send, "api status")
    gevent.sleep(0.5)
    print("process still responsive", flush=True)
    """
)


def test_truncated_body_then_eof_freezes_greenswitch_not_us(tmp_path):
    script = tmp_path / "spin.py"
    script.write_text(_SPIN_SCRIPT)
    with pytest.raises(subprocess.TimeoutExpired) as frozen:
        # stderr is discarded: the spinning loop logs a warning per turn.
        subprocess.run(
            [sys.executable, str(script)], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, timeout=3, check=False,
        )
    assert b"process still responsive" not in (frozen.value.stdout or b"")

    fake = FakeInbound()
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", command_timeout=60)
    client.start()
    peer = _serve_client_login(fake)
    assert client.wait_connected(GUARD)
    asking = gevent.spawn(client.api, "status")
    assert peer.read_command().line == "api status"
    peer.send(b"Content-Type: api/response\nContent-Length: 100\n\nabc")
    peer.close()
    with pytest.raises(EslConnectionLost, match="3 of 100 body bytes"):
        asking.get(timeout=GUARD)
    client.stop()
    fake.stop()


# --------------------------------------------------------------------------- 6
def test_event_bodies_and_json_events():
    job = [("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "11111111-2222-3333-4444-555555555555"),
           ("Job-Command", "conference")]
    body = "+OK kicked 5\nOther: line\n"

    fake = FakeInbound()
    conn, peer = _login_greenswitch(fake)
    got = gevent.event.AsyncResult()
    conn.register_handle("BACKGROUND_JOB", got.set)
    peer.send(plain_event(job, body))
    event = got.get(timeout=GUARD)
    assert not hasattr(event, "body")
    assert event.headers.get("Other") == "line"  # the body leaked into the headers
    fake.stop()

    fake = FakeInbound()
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", event_format="json")
    jobs = client.subscribe("jobs", ["BACKGROUND_JOB"])
    client.start()
    peer = fake.next_peer(timeout=GUARD)
    assert peer.serve_login()
    command = peer.read_subscription()
    assert command.line.startswith("event json ")
    peer.send(command_reply("+OK event listener enabled json"))
    peer.send(plain_event(job, body))
    payload = (
        b'{"Event-Name":"BACKGROUND_JOB","Job-UUID":"j2","Content-Length":"3","_body":"+OK"}'
    )
    peer.send(
        f"Content-Length: {len(payload)}\nContent-Type: text/event-json\n\n".encode() + payload
    )
    plain, as_json = jobs.get(timeout=GUARD), jobs.get(timeout=GUARD)
    assert plain.body == body and "Other" not in plain
    assert as_json.name == "BACKGROUND_JOB" and as_json.body == "+OK"
    assert as_json["Job-UUID"] == "j2"
    client.stop()
    fake.stop()


# --------------------------------------------------------------------------- 7
def test_outbound_listen_exits_the_process_when_it_cannot_bind():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]

    server = gs.OutboundESLServer("127.0.0.1", port, application=object)
    with pytest.raises(SystemExit):
        server.listen()

    ours = OutboundServer("127.0.0.1", port, handler=lambda session: None)
    with pytest.raises(OSError, match=f"cannot listen for FreeSWITCH on 127.0.0.1:{port}"):
        ours.start()
    taken.close()

    # And it accepts through StreamServer: a connection is served at once.
    served = gevent.event.AsyncResult()
    ours = OutboundServer("127.0.0.1", 0, handler=lambda session: served.set(session))
    ours.start()
    peer = connect_out(ours.address[1])
    assert served.get(timeout=GUARD) is not None
    peer.close()
    ours.stop()


# --------------------------------------------------------------------------- 8
def test_execute_complete_handler_breaks_call_command_but_not_execute():
    complete = [("Event-Name", "CHANNEL_EXECUTE_COMPLETE"), ("Unique-ID", "u1"),
                ("Application", "answer"), ("variable_current_application", "answer")]

    accepted = gevent.event.AsyncResult()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    gevent.spawn(lambda: accepted.set(listener.accept()[0]))
    peer = connect_out(port)
    session = gs.OutboundSession(("127.0.0.1", port), accepted.get(timeout=GUARD))
    session.register_handle("CHANNEL_EXECUTE_COMPLETE", lambda e: None)
    calling = gevent.spawn(session.call_command, "answer", block=True)
    assert peer.read_command().line == "sendmsg"
    peer.send(command_reply("+OK") + plain_event(complete))
    calling.join(timeout=1.0)
    assert not calling.ready(), "call_command returned despite the replaced '*' handler"
    calling.kill()
    peer.close()
    listener.close()

    done = gevent.event.AsyncResult()

    def handler(session):
        session.connect()
        session.subscribe("CHANNEL_EXECUTE_COMPLETE")  # another consumer of the same event
        done.set(session.execute("answer", timeout=GUARD))

    server = OutboundServer("127.0.0.1", 0, handler)
    server.start()
    peer = connect_out(server.address[1])
    assert peer.read_command().line == "connect"
    peer.send(command_reply("+OK", "Event-Name: CHANNEL_DATA\nUnique-ID: u1\n"))
    assert peer.read_command().line == "event plain CHANNEL_EXECUTE_COMPLETE"
    peer.send(command_reply("+OK event listener enabled plain"))
    command = peer.read_command()
    app_uuid = command.headers["event-uuid"]
    peer.send(command_reply("+OK") + plain_event(complete + [("Application-UUID", app_uuid)]))
    event = done.get(timeout=GUARD)
    assert event["Application-UUID"] == app_uuid
    peer.close()
    server.stop()
