"""OutboundServer/OutboundSession against FreeSWITCH's recorded outbound sockets (05a-05c),
plus execution matching, hangup detection and cleanup."""

from __future__ import annotations

import re

import gevent
import gevent.event
import pytest
from capture_file import read_capture
from esl.fakefs import command_reply, connect_out, plain_event

from controller.esl import CallerGone, OutboundServer
from controller.esl.frames import parse_plain_event

GUARD = 10
APP_UUID = re.compile(rb"Application-UUID: ([0-9a-f-]{36})")


def _replay(peer, records) -> list[str]:
    """Play FreeSWITCH's side of a capture to whatever our session sends.

    Application-UUIDs are rewritten to the event-uuid our session chose for the
    same app (FreeSWITCH makes one up when none is sent; same length either way).
    Returns the command lines our session sent.
    """
    segments: list[tuple[bytes, list[bytes]]] = []
    for record in records:
        if record.direction == "sent":
            segments.append((record.data, []))
        elif record.direction == "received" and segments:
            segments[-1][1].append(record.data)
    sent_lines = []
    rewrites: list[tuple[bytes, bytes]] = []
    for index, (_recorded, frames) in enumerate(segments):
        command = peer.read_command(timeout=GUARD)
        if command is None:
            break
        sent_lines.append(command.line)
        ours = command.headers.get("event-uuid")
        if ours:
            # The first not yet claimed execution of this app, here or later.
            app = command.headers["execute-app-name"].encode()
            claimed = {theirs for theirs, _ in rewrites}
            later = (f for _, fs in segments[index:] for f in fs)
            for frame in later:
                if b"CHANNEL_EXECUTE\n" in frame and b"\nApplication: " + app + b"\n" in frame:
                    theirs = APP_UUID.search(frame).group(1)
                    if theirs not in claimed:
                        rewrites.append((theirs, ours.encode()))
                        break
        for frame in frames:
            for theirs, mine in rewrites:
                frame = frame.replace(theirs, mine)
            peer.send(frame)
    peer.close()
    return sent_lines


def _run_capture(captures_dir, name, controller):
    records = read_capture(captures_dir / name)
    outcome = gevent.event.AsyncResult()

    def handler(session):
        try:
            outcome.set(controller(session))
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.set_exception(exc)
            raise

    server = OutboundServer("127.0.0.1", 0, handler)
    server.start()
    peer = connect_out(server.address[1])
    replaying = gevent.spawn(_replay, peer, records)
    try:
        result = outcome.get(timeout=GUARD * 2)
        sent = replaying.get(timeout=GUARD)
        gevent.sleep(0.05)
        assert server.sessions == set(), "session not cleaned up"
        return result, sent
    finally:
        replaying.kill()
        server.stop()


def _drain(session):
    events = []
    while not session.events.empty():
        events.append(session.events.get())
    return events


def test_05a_conference_kicked_then_we_hang_up(captures_dir):
    def controller(session):
        channel = session.connect()
        session.myevents()
        session.linger()
        session.execute("answer", timeout=GUARD)
        # Queued back to back, as the recording controller did.
        sets = [session.start("set", "hangup_after_conference=false"),
                session.start("set", "conference_max_members=5")]
        conference = session.start("conference", "roomB@default+flags{mute}", event_lock=True)
        complete = conference.wait(GUARD)
        assert all(s.done for s in sets)
        session.hangup()
        assert session.ended.wait(GUARD)
        return channel, complete, _drain(session)

    (channel, complete, events), sent = _run_capture(
        captures_dir, "05a_outbound_conference_kick_then_hangup.txt", controller
    )
    assert channel["Unique-ID"] == "a6e32a59-3b57-4b26-8019-b2bb1bccda30"
    assert channel["Caller-Caller-ID-Number"] == "alice"
    assert channel["Reply-Text"] == "+OK\n"
    assert complete["Application"] == "conference"
    assert complete["Application-Response"] == "_none_"
    assert complete["Application-Data"] == "roomB@default+flags{mute}"
    names = [e.name or e.headers.get("Content-Disposition") for e in events]
    # 05a: after our hangup, in this order, then the linger notice.
    tail = names[names.index("CHANNEL_HANGUP"):]
    assert tail == ["CHANNEL_HANGUP", "CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE",
                    "CHANNEL_STATE", "CHANNEL_STATE", "CHANNEL_HANGUP_COMPLETE", "linger"]
    assert sent == ["connect", "myevents", "linger", "sendmsg", "sendmsg", "sendmsg", "sendmsg",
                    "sendmsg", "exit"]


def test_05b_caller_hangs_up_in_conference_with_linger(captures_dir):
    def controller(session):
        session.connect()
        session.myevents()
        session.linger(3)
        answer = session.start("answer")  # not awaited, as the recording controller did
        complete = session.start("conference", "roomC@default").wait(GUARD)
        assert answer.done
        assert session.ended.wait(GUARD)
        gone = None
        try:
            session.execute("playback", "tone_stream://%(100,0,400)")
        except CallerGone as exc:
            gone = exc
        return complete, gone

    (complete, gone), _ = _run_capture(
        captures_dir, "05b_outbound_caller_hangs_up_in_conference_linger.txt", controller
    )
    # With linger the conference completion still arrives after the caller's BYE.
    assert complete["Application"] == "conference"
    assert isinstance(gone, CallerGone)


def test_05c_without_linger_the_conference_never_completes(captures_dir):
    def controller(session):
        session.connect()
        session.myevents()
        session.start("answer")
        conference = session.start("conference", "roomC@default")
        with pytest.raises(CallerGone):
            conference.wait(GUARD)
        return session.hangup_cause

    cause, _ = _run_capture(
        captures_dir, "05c_outbound_caller_hangs_up_in_conference_no_linger.txt", controller
    )
    assert cause == "NORMAL_CLEARING"


def _scripted_session(handler):
    server = OutboundServer("127.0.0.1", 0, handler)
    server.start()
    peer = connect_out(server.address[1])
    assert peer.read_command().line == "connect"
    peer.send(command_reply("%2BOK%0A", "Event-Name: CHANNEL_DATA\nUnique-ID: u1\n"))
    return server, peer


def _complete(app, app_uuid, response="_none_"):
    return plain_event([("Event-Name", "CHANNEL_EXECUTE_COMPLETE"), ("Unique-ID", "u1"),
                        ("Application", app), ("Application-Response", response),
                        ("Application-UUID", app_uuid)])


def test_completions_are_matched_by_application_uuid_even_out_of_order():
    results = gevent.event.AsyncResult()

    def handler(session):
        session.connect()
        first = session.start("playback", "a.wav")
        second = session.start("playback", "b.wav")
        results.set((second.wait(GUARD)["Application-Response"],
                     first.wait(GUARD)["Application-Response"]))

    server, peer = _scripted_session(handler)
    uuids = []
    for expected_arg in ("a.wav", "b.wav"):
        command = peer.read_command()
        assert command.headers["execute-app-arg"] == expected_arg
        assert "event-lock" not in command.headers
        uuids.append(command.headers["event-uuid"])
        peer.send(command_reply("+OK"))
    peer.send(_complete("playback", uuids[1], "second") + _complete("playback", uuids[0], "first"))
    assert results.get(timeout=GUARD) == ("second", "first")
    peer.close()
    server.stop()


def test_event_lock_and_long_arguments_travel_as_freeswitch_expects():
    done = gevent.event.Event()

    def handler(session):
        session.connect()
        session.start("conference", "room@default", event_lock=True)
        session.start("set", "multi=line\nvalue")
        done.set()
        gevent.sleep(1)

    server, peer = _scripted_session(handler)
    command = peer.read_command()
    assert command.headers["event-lock"] == "true"
    assert command.headers["execute-app-arg"] == "room@default"
    peer.send(command_reply("+OK"))
    command = peer.read_command()
    assert "execute-app-arg" not in command.headers
    assert command.headers["content-type"] == "text/plain"
    assert command.body == b"multi=line\nvalue"
    peer.send(command_reply("+OK"))
    assert done.wait(GUARD)
    peer.close()
    server.stop()


def test_handler_failure_still_closes_the_session_and_socket():
    def handler(session):
        session.connect()
        raise RuntimeError("bug in call logic")

    server, peer = _scripted_session(handler)
    # Our session says goodbye and closes the socket.
    command = peer.read_command()
    assert command.line == "exit"
    peer.send(command_reply("+OK bye"))
    assert peer.read_command(timeout=GUARD) is None  # EOF
    gevent.sleep(0.05)
    assert server.sessions == set()
    server.stop()


def test_sendmsg_refused_is_an_error_not_a_hang():
    outcome = gevent.event.AsyncResult()

    def handler(session):
        session.connect()
        try:
            session.start("answer")
        except Exception as exc:  # noqa: BLE001
            outcome.set(exc)

    server, peer = _scripted_session(handler)
    peer.read_command()
    peer.send(command_reply("-ERR invalid session id [u1]"))
    error = outcome.get(timeout=GUARD)
    assert "invalid session id" in str(error)
    peer.close()
    server.stop()


def test_custom_conference_events_reach_the_call(captures_dir):
    """04c's digits-match event (custom headers first, Event-Name after Event-Sequence)."""
    frames = [r.data for r in read_capture(captures_dir / "04c_dtmf_bind_digit_action_realm.txt")
              if r.direction == "received" and b"\nAction: digits-match\n" in r.data]
    assert frames
    event = parse_plain_event(frames[0].partition(b"\n\n")[2])
    got = gevent.event.AsyncResult()

    def handler(session):
        session.connect()
        while True:
            event = session.events.get(timeout=GUARD)
            if event.action == "digits-match":
                got.set(event)
                return

    server, peer = _scripted_session(handler)
    peer.send(frames[0])
    received = got.get(timeout=GUARD)
    assert received.headers == event.headers
    assert received["Digits"] == "1"
    assert received.get_all("Unique-ID")[0] == received.get_all("Unique-ID")[1]
    peer.close()
    server.stop()
