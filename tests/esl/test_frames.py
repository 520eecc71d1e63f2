"""Parsing real FreeSWITCH frames from the captures (pure, no sockets)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from capture_file import read_capture
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.esl.frames import (
    FrameError,
    encode_command,
    parse_header_block,
    parse_json_event,
    parse_plain_event,
    percent_decode,
)


def _frames(captures_dir, name):
    return [r.data for r in read_capture(captures_dir / name) if r.direction == "received"]


def _split(frame: bytes) -> tuple[bytes, bytes]:
    head, _, body = frame.partition(b"\n\n")
    return head, body


def test_connect_reply_values_are_decoded_one_by_one(captures_dir):
    connect = _frames(captures_dir, "05a_outbound_conference_kick_then_hangup.txt")[0]
    head, body = _split(connect)
    assert body == b""
    headers = dict(parse_header_block(head, url_decoded=True))
    assert headers["Reply-Text"] == "+OK\n"  # %2BOK%0A on the wire
    assert headers["Content-Type"] == "command/reply"
    assert headers["Socket-Mode"] == "async"
    assert headers["Control"] == "full"
    assert headers["Unique-ID"] == "a6e32a59-3b57-4b26-8019-b2bb1bccda30"
    assert headers["Channel-Name"] == "sofia/internal/alice@127.0.0.1:5102"
    assert headers["Caller-Destination-Number"] == "ob-5a"
    # A value with encoded CR/LF stays one value (greenswitch splits it into lines).
    sdp = headers.get("variable_switch_r_sdp", "")
    assert sdp.startswith("v=0\r\n") and "m=audio" in sdp


def test_conference_event_from_capture(captures_dir):
    frames = _frames(captures_dir, "01_conference_lifecycle_two_members.txt")
    events = [parse_plain_event(_split(f)[1]) for f in frames if b"text/event-plain" in f]
    actions = [e.action for e in events]
    assert actions[:3] == ["conference-create", "add-member", "floor-change"]
    create = events[0]
    assert create.name == "CUSTOM"
    assert create.subclass == "conference::maintenance"
    assert create.key == "conference::maintenance"
    assert create["Conference-Domain"] == "cluecon.com"
    floor = events[2]
    # floor-change repeats the Conference-* block: both kept in pairs, first in headers.
    assert len(floor.get_all("Conference-Name")) == 2
    assert floor["Old-ID"] == "none"
    assert floor["New-ID"] == events[1]["Member-ID"]


def test_background_job_body_stays_a_body(captures_dir):
    frames = _frames(captures_dir, "02b_conference_bgapi_live_room.txt")
    jobs = [
        parse_plain_event(_split(f)[1])
        for f in frames
        if b"text/event-plain" in f and b"BACKGROUND_JOB" in f
    ]
    assert jobs, "capture 02b has BACKGROUND_JOB events"
    for job in jobs:
        assert job.name == "BACKGROUND_JOB"
        assert job["Job-Command"] == "conference"
        assert job.body  # the api output
        assert job.body.endswith("\n") or job.body.isdigit()
        assert "Job-UUID" in job


def test_header_block_errors_and_cr_tolerance():
    assert parse_header_block(b"A: 1\r\nB: x%20y", url_decoded=True) == [("A", "1"), ("B", "x y")]
    assert parse_header_block(b"A: x%20y", url_decoded=False) == [("A", "x%20y")]
    with pytest.raises(FrameError, match="without ':'"):
        parse_header_block(b"garbage line", url_decoded=False)


def test_json_event_keeps_duplicates_and_body():
    event = parse_json_event(
        b'{"Event-Name":"BACKGROUND_JOB","Job-UUID":"j1","Unique-ID":"a","Unique-ID":"b",'
        b'"Content-Length":"3","_body":"+OK"}'
    )
    assert event.name == "BACKGROUND_JOB"
    assert event.body == "+OK"
    assert event.get_all("Unique-ID") == ["a", "b"]
    assert event["Unique-ID"] == "a"
    with pytest.raises(FrameError):
        parse_json_event(b"[1, 2]")
    with pytest.raises(FrameError):
        parse_json_event(b"{not json")


def test_encode_command_refuses_newlines_and_puts_long_args_in_body():
    assert encode_command("api status") == b"api status\n\n"
    raw = encode_command("sendmsg", [("call-command", "execute")], body="a\nb")
    assert raw == b"sendmsg\ncall-command: execute\nContent-Length: 3\n\na\nb"
    with pytest.raises(ValueError):
        encode_command("api a\nb")
    with pytest.raises(ValueError):
        encode_command("sendmsg", [("execute-app-arg", "x\ny")])


@settings(max_examples=2000, derandomize=True)
@given(st.text(alphabet=st.sampled_from(list("%0123456789ABCDEFabcdefgZ\\ :/+é€\x00")),
               max_size=16))
def test_percent_decode_matches_unquote(text):
    assert percent_decode(text) == unquote(text, errors="replace")


def test_percent_decode_examples():
    assert percent_decode("tone_stream%3A//%25(300,0,1000)") == "tone_stream://%(300,0,1000)"
    assert percent_decode("caf%C3%A9 %E2%82%AC") == "café €"
    assert percent_decode("100%") == "100%"  # a stray % falls back to unquote
