"""Inbound Event Socket edge cases, over a real TCP socket with a raw byte client."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse

import gevent
import pytest
from eslwire import connect, login

from controller.sim import SimConfig, Simulator
from controller.sim.dialplan import capture_extension

STANDARD_HEADERS = [
    "Event-Name", "Core-UUID", "FreeSWITCH-Hostname", "FreeSWITCH-Switchname",
    "FreeSWITCH-IPv4", "FreeSWITCH-IPv6", "Event-Date-Local", "Event-Date-GMT",
    "Event-Date-Timestamp", "Event-Calling-File", "Event-Calling-Function",
    "Event-Calling-Line-Number", "Event-Sequence",
]  # fmt: skip

PARK = [("answer", None), ("park", None)]


def park_dialplan(number: str) -> list:
    """The capture extensions (direct-<room> ...), every other number answered and parked."""
    return capture_extension(number, "/tmp") or PARK


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(
        SimConfig(esl_port=0, time_scale=0.05, recordings_dir=str(tmp_path)),
        dialplan=park_dialplan,
    ).start()
    yield simulator
    simulator.stop()


def raw_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        gevent.sleep(0.005)


# ------------------------------------------------------------ auth and framing
def test_greeting_and_replies_are_byte_exact(sim):
    sock = raw_socket(sim.esl_port)
    try:
        greeting = b"Content-Type: auth/request\n\n"
        assert read_exactly(sock, len(greeting)) == greeting
        sock.sendall(b"auth ClueCon\n\n")
        accepted = b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
        assert read_exactly(sock, len(accepted)) == accepted
        sock.sendall(b"api echo hello world\n\n")
        expected = b"Content-Type: api/response\nContent-Length: 11\n\nhello world"
        assert read_exactly(sock, len(expected)) == expected
    finally:
        sock.close()


def test_a_command_split_across_many_writes_is_still_one_command(sim):
    peer = connect(sim.esl_port)
    peer.next_frame()
    for byte in b"auth ClueCon\r\n\r\n":
        peer.send(bytes([byte]))
        gevent.sleep(0.001)
    assert peer.reply().reply_text == "+OK accepted"
    peer.close()


def test_wrong_password_gets_invalid_then_notice_then_close(sim):
    peer = connect(sim.esl_port)
    peer.next_frame()
    assert peer.command("auth nope").reply_text == "-ERR invalid"
    notice = peer.next_frame()
    assert notice.content_type == "text/disconnect-notice"
    assert notice.body == b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    peer.wait_closed()


def test_commands_before_auth_are_refused_and_the_connection_stays(sim):
    peer = connect(sim.esl_port)
    peer.next_frame()
    assert peer.command("api status").reply_text == "-ERR command not found"
    assert peer.command("event plain ALL").reply_text == "-ERR command not found"
    assert peer.command("auth ClueCon").reply_text == "+OK accepted"
    peer.close()


def test_unknown_command_unknown_api_and_empty_output(sim):
    peer = login(sim.esl_port)
    assert peer.command("bogus").reply_text == "-ERR command not found"
    assert peer.api("nosuchapi now") == "-ERR nosuchapi Command not found!\n"
    assert peer.api("global_getvar never_set_anywhere") == "-ERR no reply\n"
    assert peer.api("conference nosuchroom list") == "-ERR Conference nosuchroom not found\n"
    peer.close()


def test_exit_says_bye_sends_the_notice_and_closes(sim):
    peer = login(sim.esl_port)
    assert peer.command("exit").reply_text == "+OK bye"
    assert peer.next_frame().content_type == "text/disconnect-notice"
    peer.wait_closed()


def test_an_impossible_content_length_drops_the_connection(sim):
    peer = login(sim.esl_port)
    peer.send(b"sendevent CUSTOM\nContent-Length: 999999999999\n\n")
    peer.wait_closed()
    # the server lives on
    login(sim.esl_port).close()


# ------------------------------------------------------------ events
def test_event_frames_put_content_length_first_and_standard_headers_in_order(sim):
    peer = login(sim.esl_port)
    assert peer.command("event plain CHANNEL_CREATE").reply_text == (
        "+OK event listener enabled plain"
    )
    phone = sim.phones.call("1000", caller_id="alice")
    event = peer.wait_event(lambda e: e.name == "CHANNEL_CREATE")
    frame = next(f for f in peer.frames if f.event() is not None)
    assert frame.raw.startswith(b"Content-Length: ")
    assert frame.raw.split(b"\n")[1] == b"Content-Type: text/event-plain"
    assert [k for k, _ in event.pairs[:13]] == STANDARD_HEADERS
    assert event.get("Unique-ID") == phone.uuid
    assert event.get("Channel-Name") == "sofia/internal/alice@127.0.0.1:5102"
    raw_body = frame.body.decode()
    assert "Channel-Name: sofia/internal/alice%40127.0.0.1%3A5102\n" in raw_body  # '/' stays
    peer.close()


def test_event_sequence_increases(sim):
    peer = login(sim.esl_port)
    peer.command("event plain ALL")
    for _ in range(5):
        peer.api("status")
    wait_for(lambda: sum(1 for e in peer.events() if e.name == "API") >= 5)
    seqs = [int(e.get("Event-Sequence")) for e in peer.events()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    peer.close()


def test_json_events(sim):
    peer = login(sim.esl_port)
    assert peer.command("event json CHANNEL_ANSWER").reply_text == (
        "+OK event listener enabled json"
    )
    phone = sim.phones.call("1000")
    phone.wait_answered()
    wait_for(lambda: any(f.content_type == "text/event-json" for f in peer.frames))
    frame = next(f for f in peer.frames if f.content_type == "text/event-json")
    body = json.loads(frame.body)
    assert body["Event-Name"] == "CHANNEL_ANSWER"
    assert body["Unique-ID"] == phone.uuid
    assert list(body)[:2] == ["Event-Name", "Core-UUID"]
    assert body["Channel-Name"].startswith("sofia/internal/")  # JSON values are not URL-encoded
    peer.close()


def test_xml_events(sim):
    peer = login(sim.esl_port)
    peer.command("event xml CHANNEL_ANSWER")
    sim.phones.call("1000").wait_answered()
    wait_for(lambda: any(f.content_type == "text/event-xml" for f in peer.frames))
    frame = next(f for f in peer.frames if f.content_type == "text/event-xml")
    assert (
        frame.body.startswith(b"<event>")
        and b"<Event-Name>CHANNEL_ANSWER</Event-Name>" in frame.body
    )
    peer.close()


def test_custom_subclass_rules(sim):
    listener = login(sim.esl_port)
    listener.command("event plain CUSTOM wanted::one")
    sender = login(sim.esl_port)
    for subclass in ("unwanted::two", "wanted::one"):
        reply = sender.command(f"sendevent CUSTOM\nEvent-Subclass: {subclass}\nX-Data: {subclass}")
        assert reply.reply_text.startswith("+OK ")
    listener.wait_event(lambda e: e.get("X-Data") == "wanted::one")
    gevent.sleep(0.05)
    got = [e.get("Event-Subclass") for e in listener.events()]
    assert got == ["wanted::one"]
    listener.close()
    sender.close()


def test_sendevent_carries_headers_body_and_a_fresh_event_uuid(sim):
    listener = login(sim.esl_port)
    listener.command("event plain CUSTOM my::thing")
    sender = login(sim.esl_port)
    body = "line one\nline two"
    reply = sender.command(
        f"sendevent CUSTOM\nEvent-Subclass: my::thing\nFoo: bar baz\n"
        f"Content-Length: {len(body)}\n\n{body}"
    )
    event = listener.wait_event(lambda e: e.get("Foo") == "bar baz")
    assert reply.reply_text == f"+OK {event.get('Event-UUID')}"
    assert event.body.decode() == body
    listener.close()
    sender.close()


def test_nixevent_and_noevents(sim):
    peer = login(sim.esl_port)
    peer.command("event plain ALL")
    assert peer.command("nixevent API").reply_text == "+OK events nixed"
    peer.api("status")
    sender = login(sim.esl_port)
    # nixing one type turns ALL into every single type, and CUSTOM then needs
    # its subclasses listed (mod_event_socket): this one no longer passes
    sender.command("sendevent CUSTOM\nEvent-Subclass: x::y\nMarker: 0")
    sender.command("sendevent MESSAGE\nMarker: 1")
    peer.wait_event(lambda e: e.get("Marker") == "1")
    assert [e.get("Marker") for e in peer.events()] == ["1"]
    assert peer.command("noevents").reply_text == "+OK no longer listening for events"
    assert peer.command("noevents").reply_text == "-ERR not listening for events"
    before = len(peer.events())
    sender.command("sendevent MESSAGE\nMarker: 2")
    gevent.sleep(0.1)
    assert len(peer.events()) == before
    assert peer.command("nixevent").reply_text == "-ERR no keywords supplied"
    peer.close()
    sender.close()


def test_filters_add_delete_exclusion_and_regex(sim):
    peer = login(sim.esl_port)
    peer.command("event plain CUSTOM t::t")
    sender = login(sim.esl_port)

    def send(who: str) -> None:
        sender.command(f"sendevent CUSTOM\nEvent-Subclass: t::t\nWho: {who}")

    def received() -> list[str]:
        gevent.sleep(0.1)
        return [e.get("Who") for e in peer.events()]

    assert peer.command("filter Who alice").reply_text == "+OK filter added. [Who]=[alice]"
    send("alice")
    send("bob")
    assert received() == ["alice"]
    assert peer.command("filter Who /^ca/").reply_text == "+OK filter added. [Who]=[/^ca/]"
    send("carol")
    send("dave")
    assert received() == ["alice", "carol"]
    assert peer.command("filter delete Who alice").reply_text == (
        "+OK filter deleted. [Who][alice]"
    )
    send("alice")
    assert received() == ["alice", "carol"]
    peer.command("filter delete all")
    # an exclusion alone: only events with the header and a different value pass nothing,
    # since nothing ever made them positive (mod_event_socket: send starts false)
    peer.command("filter Who -erin")
    peer.command("filter Event-Name CUSTOM")
    send("erin")
    send("frank")
    assert received() == ["alice", "carol", "frank"]
    assert peer.command("filter Who").reply_text == "-ERR invalid syntax"
    assert peer.command("filter").reply_text == "-ERR command not found"  # needs "filter "
    peer.close()
    sender.close()


def test_bgapi_echoes_the_client_job_uuid_and_delivers_the_output(sim):
    peer = login(sim.esl_port)
    peer.command("event plain BACKGROUND_JOB")
    reply = peer.command("bgapi echo one two\nJob-UUID: my-own-job-id")
    assert reply.reply_text == "+OK Job-UUID: my-own-job-id"
    assert reply.headers["Job-UUID"] == "my-own-job-id"
    event = peer.wait_event(lambda e: e.name == "BACKGROUND_JOB")
    assert event.get("Job-UUID") == "my-own-job-id"
    assert (event.get("Job-Command"), event.get("Job-Command-Arg")) == ("echo", "one two")
    assert event.body == b"one two"
    generated = peer.command("bgapi nosuch thing")
    job = generated.reply_text.removeprefix("+OK Job-UUID: ")
    failed = peer.wait_event(lambda e: e.get("Job-UUID") == job)
    assert failed.body == b"-ERR nosuch Command not found!\n"
    peer.close()


def test_bgapi_conference_events_come_before_the_background_job(sim):
    peer = login(sim.esl_port)
    peer.command("event plain BACKGROUND_JOB CUSTOM conference::maintenance")
    phone = sim.phones.call("direct-roomz", caller_id="alice")
    phone.wait_answered()
    peer.wait_event(lambda e: e.action == "add-member")
    peer.command("bgapi conference roomz mute all")
    job = peer.wait_event(lambda e: e.name == "BACKGROUND_JOB")
    kinds = [e.kind for e in peer.events()]
    assert kinds.index("CUSTOM/mute-member") < kinds.index("BACKGROUND_JOB")
    assert job.body.decode().startswith("+OK mute ")
    peer.close()


def test_heartbeat_events_arrive_on_the_configured_period(tmp_path):
    with Simulator(SimConfig(esl_port=0, time_scale=0.01, heartbeat_interval=5.0)) as sim:
        peer = login(sim.esl_port)
        peer.command("event plain HEARTBEAT")
        wait_for(lambda: len(peer.events()) >= 2, timeout=3)
        beat = peer.events()[0]
        assert beat.get("Event-Info") == "System Ready"
        assert (
            beat.get("FreeSWITCH-Version") == "1.11.1-release+git~20260526T204126Z~c2c59645f6~64bit"
        )
        assert int(peer.events()[1].get("Uptime-msec")) > int(beat.get("Uptime-msec"))
        peer.close()


def test_log_frames_and_nolog(sim):
    peer = login(sim.esl_port)
    assert peer.command("log 7").reply_text == "+OK log level 7 [7]"
    assert peer.command("log bogus").reply_text == "-ERR invalid log level"
    phone = sim.phones.call("1000", caller_id="alice")
    phone.wait_answered()
    phone.hangup()
    wait_for(lambda: any(f.content_type == "log/data" for f in peer.frames))
    frame = next(f for f in peer.frames if f.content_type == "log/data")
    assert {"Log-Level", "Text-Channel", "Log-File", "Log-Func", "Log-Line", "User-Data"} <= set(
        frame.headers
    )
    assert peer.command("nolog").reply_text == "+OK no longer logging"
    assert peer.command("nolog").reply_text == "-ERR not loging"
    peer.close()


def test_myevents_uuid_on_an_inbound_socket_sees_only_that_channel(sim):
    alice = sim.phones.call("1000", caller_id="alice")
    bob = sim.phones.call("1000", caller_id="bob")
    alice.wait_answered()
    bob.wait_answered()
    peer = login(sim.esl_port)
    assert peer.command(f"myevents {alice.uuid}").reply_text == "+OK Events Enabled"
    assert peer.command("myevents").reply_text == "-ERR aready enabled."
    # the socket now follows alice's session: without linger it would close at her hangup
    assert peer.command("linger").reply_text == "+OK will linger"
    other = login(sim.esl_port)
    assert other.command("myevents nosuch plain").reply_text == "-ERR invalid uuid"
    bob.hangup()
    alice.hangup()
    peer.wait_event(lambda e: e.name == "CHANNEL_HANGUP_COMPLETE")
    gevent.sleep(0.1)
    assert {e.get("Unique-ID") for e in peer.events()} == {alice.uuid}
    notice = next(f for f in peer.frames if f.content_type == "text/disconnect-notice")
    assert notice.headers["Content-Disposition"] == "linger"
    peer.close()
    other.close()


def test_myevents_uuid_without_linger_closes_when_the_channel_hangs_up(sim):
    alice = sim.phones.call("1000", caller_id="alice")
    alice.wait_answered()
    peer = login(sim.esl_port)
    peer.command(f"myevents {alice.uuid}")
    alice.hangup()
    peer.wait_closed()
    notice = peer.frames[-1]
    assert notice.content_type == "text/disconnect-notice"
    assert notice.headers["Controlled-Session-UUID"] == alice.uuid
    assert notice.headers["Content-Disposition"] == "disconnect"


def test_getvar_and_linger_need_a_session_on_inbound(sim):
    peer = login(sim.esl_port)
    assert peer.command("linger").reply_text == "-ERR not controlling a session"
    assert peer.command("nolinger").reply_text == "-ERR not controlling a session"
    assert peer.command("divert_events on").reply_text == "-ERR not controlling a session."
    peer.close()


def test_sendmsg_to_an_unknown_uuid(sim):
    peer = login(sim.esl_port)
    reply = peer.command("sendmsg 00000000-0000-0000-0000-000000000000\ncall-command: hangup")
    assert reply.reply_text == "-ERR invalid session id [00000000-0000-0000-0000-000000000000]"
    peer.close()


def test_sendmsg_execute_with_event_uuid_and_body_arguments(sim):
    phone = sim.phones.call("1000", caller_id="alice")
    phone.wait_answered()
    peer = login(sim.esl_port)
    peer.command(f"myevents {phone.uuid}")
    arg = "greeting=hello world"
    reply = peer.command(
        f"sendmsg {phone.uuid}\ncall-command: execute\nexecute-app-name: set\n"
        f"event-uuid: my-app-id\ncontent-type: text/plain\ncontent-length: {len(arg)}\n\n{arg}"
    )
    assert reply.reply_text == "+OK"
    done = peer.wait_event(lambda e: e.name == "CHANNEL_EXECUTE_COMPLETE")
    assert done.get("Application") == "set"
    assert done.get("Application-Data") == arg
    assert done.get("Application-UUID") == "my-app-id"
    assert peer.api(f"uuid_getvar {phone.uuid} greeting") == "hello world"
    peer.command(f"sendmsg {phone.uuid}\ncall-command: hangup\nhangup-cause: USER_BUSY")
    assert phone.wait_hangup() == "USER_BUSY"
    peer.close()


def test_url_encoding_of_header_values_round_trips(sim):
    listener = login(sim.esl_port)
    listener.command("event plain CUSTOM enc::test")
    sender = login(sim.esl_port)
    value = "a b+c%d/é:;"
    sender.command(f"sendevent CUSTOM\nEvent-Subclass: enc::test\nOdd: {value}")
    event = listener.wait_event(lambda e: e.get("Odd") is not None)
    frame = next(f for f in listener.frames if f.event() is not None and b"Odd" in f.body)
    assert b"Odd: a%20b%2Bc%25d/%C3%A9%3A%3B\n" in frame.body
    assert event.get("Odd") == value
    assert urllib.parse.unquote("a%20b%2Bc%25d/%C3%A9%3A%3B") == value
    listener.close()
    sender.close()
