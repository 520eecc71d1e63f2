"""Capture 07d replayed against the simulator: ``originate`` to phones that answer, are busy,
never answer or are not there, to an outbound socket quoted and unquoted, to a closed
socket port, and with an origination_uuid already in use.

For every originate of the capture the same command is sent (the socket port rewritten to
this test's listener) with simulated phones behaving as 07d's SIPp phones did (:5090
answers, :5091 486, :5092 rings, nothing on :5093). Compared with the capture: the reply or
BACKGROUND_JOB body, the order of the leg's events (CHANNEL_CREATE, CHANNEL_ANSWER,
CHANNEL_HANGUP_COMPLETE, BACKGROUND_JOB) up to the next command, the header names of
those events (channel variables aside) with the Caller-* values that say who called whom,
and, for the answered legs, the outbound connect reply (Socket-Mode and Control: async full
only when the application was quoted; the caller id flipped to ``Outbound Call``).
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

import gevent
import pytest
from eslwire import Event, OutboundController, login

from controller.sim import SimConfig, Simulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from capture_file import read_capture  # noqa: E402

SCALE = 0.05
DIR = "07d"
INBOUND = "07d_originate_to_socket.txt"
OUTBOUND = {"unquoted": "07d_originate_to_socket_outbound_unquoted.txt",
            "quoted": "07d_originate_to_socket_outbound.txt"}
SUBSCRIBED = {"CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB"}
BEHAVIOUR = {"5090": "answer", "5091": "busy", "5092": "ring"}  # nothing on 5093 (07d)
# Who called whom: the values the controller reads to know an outbound leg.
WHO = ("Call-Direction", "Answer-State", "Hangup-Cause", "Caller-Direction",
       "Caller-Caller-ID-Name", "Caller-Caller-ID-Number", "Caller-Orig-Caller-ID-Number",
       "Caller-ANI", "Caller-Destination-Number", "Caller-Context", "Caller-Source",
       "variable_origination_uuid", "variable_originate_timeout", "variable_direction")
_ORIGINATE = re.compile(r"(bg)?api originate \{origination_uuid=([0-9a-f-]+)")


def frames_between(records, start: int) -> list[bytes]:
    """The frames received after the command at ``start`` until the next command."""
    out = []
    for record in records[start + 1:]:
        if record.direction == "sent":
            break
        if record.direction == "received":
            out.append(record.data)
    return out


def leg_events(frames: list[bytes], uuid: str, job: str | None) -> list[Event]:
    """The subscribed events about the leg ``uuid`` and the BACKGROUND_JOB of ``job``."""
    events = []
    for raw in frames:
        head, _, body = raw.partition(b"\n\n")
        if b"text/event-plain" not in head:
            continue
        event = Event.parse(body)
        if event.name == "BACKGROUND_JOB" and job and event.get("Job-UUID") == job:
            events.append(event)
        elif event.name in SUBSCRIBED and event.get("Unique-ID") == uuid:
            events.append(event)
    return events


def header_names(event: Event) -> list[str]:
    return [name for name, _ in event.pairs if not name.startswith("variable_")
            and not name.startswith(("Event-", "Core-", "FreeSWITCH-"))]


def capture_steps(captures_dir: Path) -> list[dict]:
    records = read_capture(captures_dir / DIR / INBOUND)
    steps = []
    for n, record in enumerate(records):
        if record.direction != "sent":
            continue
        text = record.data.decode().strip()
        match = _ORIGINATE.match(text)
        kill = text.startswith("api uuid_kill")
        if not match and not kill:
            continue
        frames = frames_between(records, n)
        reply_head, _, reply_body = frames[0].partition(b"\n\n")
        job = None
        if match and match.group(1):
            job = re.search(rb"Job-UUID: (\S+)", reply_head).group(1).decode()
        uuid = match.group(2) if match else text.split()[-1]
        steps.append({"command": text, "uuid": uuid, "job": job,
                      "reply": reply_body.decode() if not job else None,
                      "events": leg_events(frames[1:], uuid, job)})
    return steps


def connect_reply(captures_dir: Path, which: str) -> Event:
    records = read_capture(captures_dir / DIR / OUTBOUND[which])
    first = next(r for r in records if r.direction == "received")
    return Event.parse(first.data)


@pytest.fixture
def controller():
    server = OutboundController()
    yield server
    server.stop()


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(SimConfig(esl_port=0, time_scale=SCALE,
                                    recordings_dir=str(tmp_path))).start()
    yield simulator
    simulator.phones.close()
    simulator.stop()


def test_07d_originate_replies_events_and_connect_replies(sim, controller, captures_dir):
    steps = capture_steps(captures_dir)
    assert len(steps) == 10  # A, B, busy (bgapi, api), ring, nothing, closed socket, dup x2, kill
    esl = login(sim.esl_port)
    assert esl.command("event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE "
                       "BACKGROUND_JOB CUSTOM conference::maintenance").reply_text.startswith("+OK")
    closed_port = controller.port + 1 if controller.port < 65535 else controller.port - 1
    problems: list[str] = []
    for step in steps:
        command = step["command"].replace("127.0.0.1:8084", f"127.0.0.1:{controller.port}")
        command = command.replace("127.0.0.1:8085", f"127.0.0.1:{closed_port}")
        port = re.search(r"@127\.0\.0\.1:(\d+)", command)
        callee = None
        if port and port.group(1) in BEHAVIOUR and "uuid_kill" not in command:
            callee = sim.phones.expect(f"uas@127.0.0.1:{port.group(1)}",
                                       BEHAVIOUR[port.group(1)], ring_seconds=0.3)
        before = len(esl.events())
        job = None
        if command.startswith("bgapi"):
            reply = esl.command(command)
            job = reply.headers["Job-UUID"]
            sim_reply = None
        else:
            sim_reply = esl.api(command[4:], timeout=10)
            if step["reply"] != sim_reply:
                problems.append(f"{command[:60]}: reply {sim_reply!r}, capture {step['reply']!r}")
        want = len(step["events"])
        got = _sim_events_since(esl, before, step["uuid"], job, want)
        answered = callee is not None and callee.behaviour == "answer"
        if answered and f"&socket(127.0.0.1:{controller.port} " in command:
            which = "quoted" if "'&socket" in command else "unquoted"
            peer = controller.accept()
            problems += compare_connect(connect_reply(captures_dir, which),
                                        Event.parse(peer.command("connect").raw),
                                        which, controller.port)
            callee.wait_dialled().hangup()  # the capture's conference part is not replayed
            peer.close()
            _drain_until_hangup(esl, step["uuid"])
        problems += compare_events(step["command"][:60], step["events"], got)
    assert not problems, "\n".join(problems)


def _sim_events_since(esl, before: int, uuid: str, job: str | None, want: int) -> list[Event]:
    deadline = gevent.get_hub().loop.now() + 3.0
    while True:
        got = [e for e in esl.events()[before:]
               if (e.name == "BACKGROUND_JOB" and job and e.get("Job-UUID") == job)
               or (e.name in SUBSCRIBED - {"BACKGROUND_JOB"} and e.get("Unique-ID") == uuid)]
        if len(got) >= want or gevent.get_hub().loop.now() > deadline:
            break
        gevent.sleep(0.02)
    gevent.sleep(0.05)  # anything more the simulator would send for this step
    return [e for e in esl.events()[before:]
            if (e.name == "BACKGROUND_JOB" and job and e.get("Job-UUID") == job)
            or (e.name in SUBSCRIBED - {"BACKGROUND_JOB"} and e.get("Unique-ID") == uuid)]


def _drain_until_hangup(esl, uuid: str) -> None:
    esl.wait_event(lambda e: e.name == "CHANNEL_HANGUP_COMPLETE" and e.get("Unique-ID") == uuid)


def compare_events(what: str, capture: list[Event], sim: list[Event]) -> list[str]:
    problems = []
    cap_kinds, sim_kinds = [e.name for e in capture], [e.name for e in sim]
    if cap_kinds != sim_kinds:
        return [f"{what}: events {sim_kinds}, capture {cap_kinds}"]
    for c, s in zip(capture, sim, strict=True):
        if c.name == "BACKGROUND_JOB":
            want, got = c.body.decode(), s.body.decode()
            if want.startswith("+OK ") and got.startswith("+OK "):
                # `+OK <uuid>`: the leg's own uuid (the origination_uuid the command chose)
                want, got = want.replace(c.body.decode()[4:], ""), got.replace(
                    s.body.decode()[4:], "")
                if s.body.decode()[4:].strip() not in (s.get("Job-Command-Arg") or ""):
                    problems.append(f"{what}: +OK names {s.body!r}, not the origination_uuid")
            if want != got:
                problems.append(f"{what}: BACKGROUND_JOB body {got!r}, capture {want!r}")
            continue
        if header_names(c) != header_names(s):
            diff = difflib.unified_diff(header_names(c), header_names(s), "capture",
                                        "simulator", lineterm="", n=1)
            problems.append(f"{what}: {c.name} headers differ:\n" + "\n".join(diff))
        for name in WHO:
            if c.get(name) != s.get(name):
                problems.append(f"{what}: {c.name} {name} = {s.get(name)!r}, "
                                f"capture {c.get(name)!r}")
    return problems


def compare_connect(capture: Event, sim: Event, which: str, port: int) -> list[str]:
    problems = []
    for name in ("Socket-Mode", "Control", "Channel-Call-State", *WHO):
        want, got = capture.get(name), sim.get(name)
        if want != got:
            problems.append(f"connect ({which}): {name} = {got!r}, capture {want!r}")
    data = sim.get("variable_current_application_data")
    want = capture.get("variable_current_application_data").replace("8084", str(port))
    if data != want:
        problems.append(f"connect ({which}): application data {data!r}, capture {want!r}")
    return problems
