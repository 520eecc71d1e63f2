"""The reader's fast paths for the three frame shapes FreeSWITCH sends most (event-plain,
command/reply, api/response) give exactly what the generic frame parse gives, and any
other shape still goes the generic way."""

from __future__ import annotations

import io

import pytest
from esl.fakefs import api_response, command_reply, plain_event

from controller.esl.protocol import SafeProtocolMixin


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
