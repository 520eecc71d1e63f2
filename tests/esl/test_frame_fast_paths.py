"""The reader's fast paths for the frame shapes FreeSWITCH sends most (event-plain,
command/reply, api/response, the outbound connect reply) give exactly what the generic
frame parse gives, and any other shape still goes the generic way."""

from __future__ import annotations

import io

import pytest
from esl.fakefs import api_response, command_reply, plain_event

from controller.esl.protocol import SafeProtocolMixin, has_line_without_colon


class Reader(SafeProtocolMixin):
    """Only what _handle_frame touches: the body stream and the two hand-offs."""

    def __init__(self, rest: bytes) -> None:
        self.sock_file = io.BufferedReader(io.BytesIO(rest))
        self.frames_read = 0
        self.got: list[tuple[str, list, str]] = []

    def _deliver(self, event, content_type=None) -> None:
        self.got.append(("event", event.pairs, event.body, content_type))

    def _resolve_command(self, reply) -> None:
        self.got.append(("reply", reply.pairs, reply.body))


def _both(frame: bytes):
    head, _, rest = frame.partition(b"\n\n")
    head += b"\n"  # the reader hands the head with its last LF, without the blank line
    fast, generic = Reader(rest), Reader(rest)
    fast._handle_frame(head)
    generic._handle_any_frame(head, 0.0)
    return fast.got, generic.got


FRAMES = [
    command_reply("+OK"),
    command_reply("+OK Events Enabled"),
    command_reply("-ERR invalid uuid: a b"),
    command_reply(""),
    api_response("+OK Member 3 muted\n"),
    api_response("-ERR Conference x not found\n"),
    api_response(""),
    api_response("línea con acentos\nsecond line\n"),
    plain_event([("Event-Name", "CUSTOM"), ("Event-Subclass", "conference::maintenance"),
                 ("Action", "digits-match"), ("Caller-Caller-ID-Name", "Zoë O'Brien 100%")]),
    plain_event([("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "j-1")], body="+OK done\n\nx"),
]


@pytest.mark.parametrize("frame", FRAMES, ids=range(len(FRAMES)))
def test_fast_paths_give_what_the_generic_parse_gives(frame):
    fast, generic = _both(frame)
    assert fast == generic and fast  # something was handed over, and the same thing


def test_frames_of_other_shapes_take_the_generic_path():
    odd = [
        command_reply("+OK", extra="Job-UUID: 7\n"),  # a third header line
        b"Content-Type: text/event-plain\nContent-Length: 15\n\nEvent-Name: X\n\n",  # order
        b"Content-Type: command/reply\r\nReply-Text: +OK\r\n\r\n",  # CRLF
    ]
    for frame in odd:
        fast, generic = _both(frame)
        assert fast == generic and fast


def test_a_bad_length_is_a_frame_error_on_both_paths():
    from controller.esl.frames import FrameError

    head = b"Content-Length: 1x\nContent-Type: text/event-plain\n"
    for call in (lambda r: r._handle_frame(head), lambda r: r._handle_any_frame(head, 0.0)):
        with pytest.raises(FrameError, match="Content-Length"):
            call(Reader(b""))


# ------------------------------------------------------------ the outbound connect reply
def _connect_reply() -> bytes:
    """FreeSWITCH's reply to ``connect`` (capture 05a): the channel's headers, then the
    reply's own, as one header block."""
    from pathlib import Path

    from capture_file import read_capture

    captures = Path(__file__).parent.parent / "data/captures"
    path = captures / "05a_outbound_conference_kick_then_hangup.txt"
    received = [r.data for r in read_capture(path) if r.direction == "received"]
    assert received[0].startswith(b"Event-Name: CHANNEL_DATA\n")
    return received[0]


class NoGenericReader(Reader):
    def _handle_any_frame(self, head, now):
        raise AssertionError("took the generic path")


def test_the_connect_reply_skips_the_generic_parse_and_gives_what_it_gives():
    frame = _connect_reply()
    fast, generic = _both(frame)
    assert fast == generic
    (kind, pairs, body), = fast
    assert kind == "reply" and body == "" and len(pairs) > 150
    assert dict(pairs)["Unique-ID"] == "a6e32a59-3b57-4b26-8019-b2bb1bccda30"
    assert dict(pairs)["Reply-Text"] == "+OK\n"  # the reply's own headers are encoded too
    head = frame.partition(b"\n\n")[0] + b"\n"
    NoGenericReader(b"")._handle_frame(head)  # the fast path took it


def _both_or_errors(frame: bytes):
    from controller.esl.frames import FrameError

    head, _, rest = frame.partition(b"\n\n")
    head += b"\n"
    results = []
    for call in (lambda r: r._handle_frame(head), lambda r: r._handle_any_frame(head, 0.0)):
        reader = Reader(rest)
        try:
            call(reader)
            results.append(reader.got)
        except FrameError as exc:
            results.append(("error", str(exc)))
    return results


def _edited(old: bytes, new: bytes) -> bytes:
    frame = _connect_reply()
    assert old in frame
    return frame.replace(old, new, 1)


@pytest.mark.parametrize("frame", [
    # no space after the colon: still the reply's Content-Type for the generic parse
    lambda: _edited(b"Content-Type: command/reply\n", b"Content-Type:command/reply\n"),
    # a later Content-Type wins in the generic parse: not a reply then (ignored)
    lambda: _edited(b"Control: full\n", b"Control: full\nContent-Type: text/odd\n"),
    # an earlier one does not count
    lambda: _edited(b"Channel-State: CS_EXECUTE\n", b"Content-Type: text/odd\n"),
    # a line without ':' is a protocol error either way
    lambda: _edited(b"Channel-State: CS_EXECUTE\n", b"Channel-State CS_EXECUTE\n"),
    lambda: _edited(b"Control: full\n", b"Control: full\nno colon here\n"),
    # a Content-Length in the block: the generic path reads the body
    lambda: _edited(b"Control: full\n", b"Control: full\nContent-Length: 0\n"),
    lambda: _edited(b"Control: full\n", b"Control: full\nContent-Length:0\n"),
], ids=["no-space", "later-type", "earlier-type", "no-colon", "no-colon-last",
        "length", "length-no-space"])
def test_connect_replies_of_other_shapes_give_what_the_generic_parse_gives(frame):
    fast, generic = _both_or_errors(frame())
    assert fast == generic



@pytest.mark.parametrize(("head", "expected"), [
    (b"Event-Name: CHANNEL_DATA\nContent-Type: command/reply\n", False),
    (b"Event-Name CHANNEL_DATA\nContent-Type: command/reply\n", True),  # the first line
    (b"Event-Name: CHANNEL_DATA\nContent-Type command/reply\n", True),  # the last line
    (b"A: 1\nB 2\nC: 3\n", True),  # one in the middle
    (b"A: 1\n\nC: 3\n", True),  # an empty line
    (b"A:\n:\nB:C:D\n", False),  # a colon anywhere will do
    (b"Name: a%3Ab\n", False),
])
def test_a_line_without_colon_is_seen_wherever_it_is(head, expected):
    assert has_line_without_colon(head) is expected
