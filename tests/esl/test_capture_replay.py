"""Our inbound client against FreeSWITCH's own bytes, replayed from the captures.

The replay peer answers each command with the frames FreeSWITCH sent after the
same command in the capture (rewriting Job-UUIDs to the ones our client
chose). The client must return the recorded api bodies and bgapi results
exactly and deliver the recorded events, in order, to its consumers.
"""

from __future__ import annotations

import re

import gevent
import pytest
from capture_file import Record, read_capture
from esl.fakefs import FakeInbound, command_reply

from controller.esl import InboundClient
from controller.esl.frames import parse_plain_event

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _segments(records: list[Record]) -> tuple[list[bytes], list[tuple[bytes, list[bytes]]]]:
    """(greeting frames, [(sent command, frames received until the next command)])."""
    greeting: list[bytes] = []
    segments: list[tuple[bytes, list[bytes]]] = []
    for record in records:
        if record.direction == "sent":
            segments.append((record.data, []))
        elif record.direction == "received":
            (segments[-1][1] if segments else greeting).append(record.data)
    return greeting, segments


def _body(frame: bytes) -> bytes:
    return frame.partition(b"\n\n")[2]


def _recorded_job_uuid(command: bytes, frames: list[bytes]) -> bytes | None:
    match = re.search(rb"Job-UUID: (\S+)", command) or re.search(rb"Job-UUID: (\S+)", frames[0])
    return match.group(1) if match else None


def _serve(fake: FakeInbound, greeting, segments) -> None:
    peer = fake.next_peer()
    for frame in greeting:
        peer.send(frame)
    rewrites: list[tuple[bytes, bytes]] = []
    for recorded, frames in segments:
        command = peer.read_command(timeout=10)
        while command is not None and command.line.startswith("filter ") and \
                not recorded.startswith(b"filter "):
            # The client's event filters, which these captures predate: answered as
            # FreeSWITCH does (capture 06b: "+OK filter added. [<header>]=[<value>]").
            header, _, value = command.line[len("filter "):].partition(" ")
            peer.send(command_reply(f"+OK filter added. [{header}]=[{value}]"))
            command = peer.read_command(timeout=10)
        if command is None:
            return
        ours = command.headers.get("job-uuid")
        if ours:
            theirs = _recorded_job_uuid(recorded, frames)
            assert theirs is not None and len(theirs) == len(ours)
            rewrites.append((theirs, ours.encode()))
        for frame in frames:
            for theirs, mine in rewrites:
                frame = frame.replace(theirs, mine)
            peer.send(frame)


@pytest.mark.parametrize(
    "capture",
    [
        "02a_conference_api_live_room.txt",
        "02b_conference_bgapi_live_room.txt",
        "02c_conference_api_no_such_room.txt",
    ],
)
def test_inbound_client_against_recorded_freeswitch(captures_dir, capture):
    greeting, segments = _segments(read_capture(captures_dir / capture))
    assert segments[0][0].startswith(b"auth ") and segments[1][0].startswith(b"event ")
    fake = FakeInbound()
    server = gevent.spawn(_serve, fake, greeting, segments)
    client = InboundClient("127.0.0.1", fake.port, "ClueCon", command_timeout=10)
    consumer = client.subscribe("test", ["conference::maintenance", "CHANNEL_HANGUP_COMPLETE"])
    client.start()
    try:
        assert client.wait_connected(10)
        for recorded, frames in segments[2:]:
            line = recorded.split(b"\n", 1)[0].decode()
            if line.startswith("api "):
                expected = next(_body(f) for f in frames if b"api/response" in f.split(b"\n\n")[0])
                assert client.api(line[4:]) == expected.decode(), line
            elif line.startswith("bgapi "):
                job = next(
                    parse_plain_event(_body(f))
                    for f in frames
                    if b"text/event-plain" in f and b"BACKGROUND_JOB" in f
                )
                assert client.bgapi(line[6:]) == job.body, line
            else:
                pytest.fail(f"unexpected command in capture: {line}")

        recorded_events = [
            parse_plain_event(_body(f))
            for _, frames in segments
            for f in frames
            if b"text/event-plain" in f
        ]
        wanted = [
            (e.name, e.action)
            for e in recorded_events
            if e.key in ("conference::maintenance", "CHANNEL_HANGUP_COMPLETE")
        ]
        got = []
        while len(got) < len(wanted):
            event = consumer.get(timeout=5)
            assert event is not None, f"only {len(got)} of {len(wanted)} events arrived"
            got.append((event.name, event.action))
        assert got == wanted
        assert consumer.get(timeout=0.1) is None
    finally:
        client.stop()
        server.kill()
        fake.stop()
