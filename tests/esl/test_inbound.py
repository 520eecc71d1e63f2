"""InboundClient: reconnects, timeouts, silent sockets, bgapi matching, subscriptions."""

from __future__ import annotations

import gevent
import pytest
from esl.fakefs import FakeInbound, api_response, command_reply, plain_event

from controller.esl import EslAuthError, EslNotConnected, EslTimeout, InboundClient
from controller.esl.inbound import subscription_command

GUARD = 10


@pytest.fixture
def fake():
    server = FakeInbound()
    yield server
    server.stop()


def _login(fake, expect_subscription=None):
    peer = fake.next_peer(timeout=GUARD)
    assert peer.serve_login()
    command = peer.read_subscription()
    if expect_subscription is not None:
        assert command.line == expect_subscription
    peer.send(command_reply("+OK event listener enabled plain"))
    return peer


def test_subscription_lists_plain_events_before_custom_subclasses():
    line = subscription_command(["conference::maintenance", "HEARTBEAT", "BACKGROUND_JOB"])
    assert line == "event plain BACKGROUND_JOB HEARTBEAT CUSTOM conference::maintenance"
    assert subscription_command(["ALL"], "json") == "event json ALL"


def test_api_before_connect_says_not_connected():
    client = InboundClient("127.0.0.1", 1, "ClueCon")
    with pytest.raises(EslNotConnected):
        client.api("status")


def test_reconnects_resubscribes_and_runs_hooks_after_freeswitch_restarts(fake):
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", backoff_initial=0.01)
    rooms = client.subscribe("rooms", ["conference::maintenance"])
    resyncs = []
    client.on_connect(lambda: resyncs.append(client.api("conference json_list")))
    client.start()
    expected = "event plain BACKGROUND_JOB HEARTBEAT CUSTOM conference::maintenance"
    try:
        for round_ in range(3):
            peer = _login(fake, expected)
            command = peer.read_command()
            assert command.line == "api conference json_list"
            peer.send(api_response(f"[{round_}]"))
            peer.send(plain_event([("Event-Name", "CUSTOM"),
                                   ("Event-Subclass", "conference::maintenance"),
                                   ("Action", f"round-{round_}")]))
            event = rooms.get(timeout=GUARD)
            assert event.action == f"round-{round_}"
            peer.close()  # FreeSWITCH restarts
        gevent.sleep(0.05)
        assert resyncs == ["[0]", "[1]", "[2]"]
        assert client.connections_made == 3
    finally:
        client.stop()


def test_backoff_grows_with_jitter_and_is_capped():
    client = InboundClient("127.0.0.1", 1, "x", backoff_initial=0.5, backoff_max=30)
    first = [client._backoff(0) for _ in range(200)]
    assert 0.25 <= min(first) and max(first) <= 0.75
    assert len({round(d, 6) for d in first}) > 100  # jitter, not a constant
    late = [client._backoff(40) for _ in range(200)]
    assert max(late) <= 45 and min(late) >= 15


def test_retries_while_freeswitch_is_down_then_connects(fake):
    port = fake.port
    fake.stop()  # nothing listens: connection refused
    client = InboundClient("127.0.0.1", port, "ClueCon", backoff_initial=0.01, backoff_max=0.05)
    client.start()
    try:
        gevent.sleep(0.3)
        assert not client.connected
        assert "cannot connect" in client.last_error
        revived = FakeInbound(port)
        _login(revived)
        assert client.wait_connected(GUARD)
        revived.stop()
    finally:
        client.stop()


def test_wrong_password_is_reported_and_retried(fake):
    client = InboundClient("127.0.0.1", fake.port, "wrong", backoff_initial=0.01)
    client.start()
    try:
        for _ in range(2):
            peer = fake.next_peer(timeout=GUARD)
            assert not peer.serve_login("ClueCon")
        gevent.sleep(0.05)
        assert "refused the Event Socket password" in client.last_error
        assert not client.connected
    finally:
        client.stop()
    with pytest.raises(EslAuthError):
        raise EslAuthError("type is public")


def test_silent_connection_is_dropped_after_the_heartbeat_timeout(fake):
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", heartbeat_timeout=0.3,
                           backoff_initial=0.01)
    client.start()
    try:
        first = _login(fake)
        assert client.wait_connected(GUARD)
        # HEARTBEATs keep it alive...
        for _ in range(4):
            first.send(plain_event([("Event-Name", "HEARTBEAT")]))
            gevent.sleep(0.1)
        assert client.connections_made == 1
        # ...silence does not.
        second = _login(fake)
        assert "HEARTBEAT missing" in client.last_error
        assert second is not first
    finally:
        client.stop()


def test_command_timeout_keeps_later_replies_matched(fake):
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", command_timeout=0.2)
    client.start()
    try:
        peer = _login(fake)
        assert client.wait_connected(GUARD)
        with pytest.raises(EslTimeout):
            client.api("slow")
        assert peer.read_command().line == "api slow"
        # The late reply to the first command must not be taken as the second's.
        asking = gevent.spawn(client.api, "fast", timeout=GUARD)
        assert peer.read_command().line == "api fast"
        peer.send(api_response("late answer to slow\n"))
        peer.send(api_response("answer to fast\n"))
        assert asking.get(timeout=GUARD) == "answer to fast\n"
    finally:
        client.stop()


def test_bgapi_results_are_matched_by_job_uuid_not_order(fake):
    client = InboundClient("127.0.0.1", fake.port, "ClueCon")
    client.start()
    try:
        peer = _login(fake)
        assert client.wait_connected(GUARD)
        first = gevent.spawn(client.bgapi, "conference r1 list")
        second = gevent.spawn(client.bgapi, "conference r2 list")
        jobs = {}
        for _ in range(2):
            command = peer.read_command()
            job_uuid = command.headers["job-uuid"]
            jobs[command.line] = job_uuid
            peer.send(command_reply(f"+OK Job-UUID: {job_uuid}", f"Job-UUID: {job_uuid}\n"))
        for line in ("bgapi conference r2 list", "bgapi conference r1 list"):
            peer.send(plain_event(
                [("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", jobs[line]),
                 ("Job-Command", "conference"), ("Job-Command-Arg", line[17:])],
                body=f"result of {line[6:]}\n",
            ))
        assert first.get(timeout=GUARD) == "result of conference r1 list\n"
        assert second.get(timeout=GUARD) == "result of conference r2 list\n"
    finally:
        client.stop()


def test_commands_from_many_greenlets_never_interleave_on_the_wire(fake):
    client = InboundClient("127.0.0.1", fake.port, "ClueCon")
    client.start()
    try:
        peer = _login(fake)
        assert client.wait_connected(GUARD)
        long_arg = "x" * 200_000  # larger than a socket buffer: partial writes happen
        askers = [gevent.spawn(client.api, f"echo {i}-{long_arg}", timeout=GUARD)
                  for i in range(5)]
        for _ in range(5):
            command = peer.read_command()
            index, _, rest = command.line[len("api echo "):].partition("-")
            assert rest == long_arg
            peer.send(api_response(index))
        assert sorted(a.get(timeout=GUARD) for a in askers) == ["0", "1", "2", "3", "4"]
    finally:
        client.stop()


def test_subscribing_late_extends_the_live_subscription(fake):
    client = InboundClient("127.0.0.1", fake.port, "ClueCon")
    client.start()
    try:
        peer = _login(fake, "event plain BACKGROUND_JOB HEARTBEAT")
        assert client.wait_connected(GUARD)
        client.subscribe("late", ["CHANNEL_HANGUP_COMPLETE"])
        # Its positive filter first: once a listener has filters, an event no filter
        # lets through is not sent (controller.esl.filters).
        command = peer.read_command()
        assert command.line == "filter Event-Name CHANNEL_HANGUP_COMPLETE"
        command = peer.read_command()
        assert command.line == "event plain BACKGROUND_JOB CHANNEL_HANGUP_COMPLETE HEARTBEAT"
    finally:
        client.stop()
