"""The `socket` application: the simulator dials a controller's outbound port."""

from __future__ import annotations

import gevent
import pytest
from eslwire import OutboundController, login

from controller.sim import SimConfig, Simulator

SCALE = 0.05


@pytest.fixture
def controller():
    server = OutboundController()
    yield server
    server.stop()


def make_sim(controller: OutboundController, tmp_path, mode: str = "async full") -> Simulator:
    target = f"127.0.0.1:{controller.port} {mode}".strip()
    return Simulator(
        SimConfig(esl_port=0, time_scale=SCALE, recordings_dir=str(tmp_path)),
        dialplan=lambda number: [("socket", target)],
    ).start()


@pytest.fixture
def sim(controller, tmp_path):
    simulator = make_sim(controller, tmp_path)
    yield simulator
    simulator.stop()


def test_connect_reply_describes_the_channel(sim, controller):
    phone = sim.phones.call("1000", caller_id="alice", caller_name="Alice")
    peer = controller.accept()
    reply = peer.command("connect")
    assert reply.headers["Content-Type"] == "command/reply"
    assert reply.headers["Reply-Text"] == "%2BOK%0A"
    assert (reply.headers["Socket-Mode"], reply.headers["Control"]) == ("async", "full")
    assert reply.headers["Unique-ID"] == phone.uuid
    assert reply.headers["Caller-Caller-ID-Name"] == "Alice"
    assert reply.headers["Channel-Destination-Number"] == "1000"
    assert reply.headers["variable_socket_host"] == "127.0.0.1"
    assert not phone.answered  # the controller decides when to answer
    assert peer.command("getvar destination_number").reply_text == "1000"
    peer.close()


def test_static_mode_is_single_channel_and_refuses_api(controller, tmp_path):
    sim = make_sim(controller, tmp_path, mode="")
    try:
        sim.phones.call("1000")
        peer = controller.accept()
        reply = peer.command("connect")
        assert (reply.headers["Socket-Mode"], reply.headers["Control"]) == (
            "static",
            "single-channel",
        )
        assert peer.command("api status").reply_text == "-ERR command not found"
        assert peer.command("myevents").reply_text == "+OK Events Enabled"
        peer.close()
    finally:
        sim.stop()


def test_myevents_execute_answer_and_the_app_events(sim, controller):
    phone = sim.phones.call("1000", caller_id="alice")
    peer = controller.accept()
    peer.command("connect")
    assert peer.command("myevents").reply_text == "+OK Events Enabled"
    reply = peer.command(
        "sendmsg\ncall-command: execute\nexecute-app-name: answer\nevent-uuid: ans-1"
    )
    assert reply.reply_text == "+OK"
    done = peer.wait_event(
        lambda e: e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application") == "answer"
    )
    assert done.get("Application-UUID") == "ans-1"
    assert done.get("Application-Response") == "_none_"
    phone.wait_answered()
    kinds = [e.name for e in peer.events()]
    assert (
        kinds.index("CHANNEL_EXECUTE")
        < kinds.index("CHANNEL_ANSWER")
        < kinds.index("CHANNEL_EXECUTE_COMPLETE")
    )
    peer.close()


def test_event_lock_runs_applications_in_order_and_loops_repeat(sim, controller):
    sim.phones.call("1000")
    peer = controller.accept()
    peer.command("connect")
    peer.command("myevents")
    for name, arg, extra in (
        ("answer", "", ""),
        ("playback", "silence_stream://600", "event-lock: true\nloops: 2\n"),
        # switch_ivr_parse_event stops looping an app that returned within 500 ms
        ("playback", "silence_stream://200", "event-lock: true\nloops: 3\n"),
        ("set", "after=1", "event-lock: true\n"),
    ):
        body = f"content-type: text/plain\ncontent-length: {len(arg)}\n\n{arg}" if arg else "\n"
        peer.send(
            f"sendmsg\ncall-command: execute\nexecute-app-name: {name}\n{extra}{body}".encode()
            + (b"" if arg else b"\n")
        )
        assert peer.reply().reply_text == "+OK"
    peer.wait_event(
        lambda e: e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application") == "set"
    )
    done = [e.get("Application") for e in peer.events() if e.name == "CHANNEL_EXECUTE_COMPLETE"]
    assert done == ["answer", "playback", "playback", "playback", "set"]
    played = [
        e
        for e in peer.events()
        if e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application") == "playback"
    ]
    assert played[0].get("Application-Response") == "FILE PLAYED"
    peer.close()


def test_playback_of_a_missing_file(sim, controller):
    sim.phones.call("1000")
    peer = controller.accept()
    peer.command("connect")
    peer.command("myevents")
    arg = "/nonexistent/file.wav"
    peer.command(
        f"sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
        f"content-type: text/plain\ncontent-length: {len(arg)}\n\n{arg}"
    )
    done = peer.wait_event(lambda e: e.name == "CHANNEL_EXECUTE_COMPLETE")
    assert done.get("Application-Response") == "FILE NOT FOUND"
    peer.close()


def test_linger_with_a_timeout_sends_the_notice_then_closes(sim, controller):
    phone = sim.phones.call("1000")
    peer = controller.accept()
    peer.command("connect")
    peer.command("myevents")
    assert peer.command("linger 2").reply_text == "+OK will linger 2 seconds"
    peer.command("sendmsg\ncall-command: execute\nexecute-app-name: answer")
    phone.wait_answered()
    phone.hangup()
    peer.wait_closed(timeout=5)
    notices = [f for f in peer.frames if f.content_type == "text/disconnect-notice"]
    assert [n.headers.get("Content-Disposition") for n in notices] == ["linger", "disconnect"]
    assert notices[0].headers["Linger-Time"] == "2"
    names = [e.name for e in peer.events()]
    assert names.index("CHANNEL_HANGUP_COMPLETE") < peer.frames.index(notices[0])


def test_exit_ends_the_socket_and_the_dialplan_hangs_up(sim, controller):
    phone = sim.phones.call("1000")
    peer = controller.accept()
    peer.command("connect")
    peer.command("sendmsg\ncall-command: execute\nexecute-app-name: answer")
    phone.wait_answered()
    assert peer.command("exit").reply_text == "+OK bye"
    peer.wait_closed()
    assert phone.wait_hangup() == "NORMAL_CLEARING"


def test_an_unreachable_controller_ends_the_call(tmp_path):
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed_port = probe.getsockname()[1]
    probe.close()
    sim = Simulator(SimConfig(esl_port=0, outbound_port=closed_port, time_scale=SCALE)).start()
    try:
        esl = login(sim.esl_port)
        esl.command("log 3")
        phone = sim.phones.call("1000")
        phone.wait_hangup(timeout=5)
        gevent.sleep(0.05)
        logs = b"".join(f.body for f in esl.frames if f.content_type == "log/data")
        assert b"Socket Error" in logs
        esl.close()
    finally:
        sim.stop()


def test_many_concurrent_outbound_sessions(sim, controller):
    phones = [sim.phones.call("1000", caller_id=f"u{n}") for n in range(30)]
    peers = [controller.accept() for _ in phones]
    uuids = set()
    for peer in peers:
        reply = peer.command("connect")
        uuids.add(reply.headers["Unique-ID"])
    assert uuids == {p.uuid for p in phones}
    for peer in peers:
        peer.command("sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING")
    assert all(p.wait_hangup(timeout=5) == "NORMAL_CLEARING" for p in phones)
    for peer in peers:
        peer.close()
