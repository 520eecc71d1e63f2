"""encode_command joins a command's lines first and checks them for CR/LF once: for any
line, headers and body it must give the bytes (or the error) of the one-by-one rules
below, which are what FreeSWITCH's command parser expects (mod_event_socket.c reads a
command as LF-ended lines up to a blank line, then Content-Length bytes of body)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.esl.frames import Event, encode_command


def reference(line: str, headers: list[tuple[str, str]], body: str) -> bytes:
    """One check per part, then one line per part."""
    if "\n" in line or "\r" in line:
        raise ValueError(f"command line contains a newline: {line!r}")
    out = [line]
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            raise ValueError(f"header {name!r} contains a newline")
        out.append(f"{name}: {value}")
    encoded_body = body.encode("utf-8")
    if encoded_body:
        out.append(f"Content-Length: {len(encoded_body)}")
    return ("\n".join(out) + "\n\n").encode("utf-8") + encoded_body


def _outcome(encode, line, headers, body):
    try:
        return encode(line, headers, body)
    except ValueError as exc:
        return ("error", str(exc))


TEXT = st.text(alphabet=st.sampled_from(list("ab :-\n\r%é€")), max_size=8)


@settings(max_examples=400, derandomize=True)
@given(TEXT, st.lists(st.tuples(TEXT, TEXT), max_size=4), TEXT)
def test_same_bytes_or_same_error_as_the_rules_one_by_one(line, headers, body):
    assert _outcome(encode_command, line, headers, body) == _outcome(
        reference, line, headers, body)


def test_a_sendmsg_as_freeswitch_reads_it():
    raw = encode_command("sendmsg", [("call-command", "execute"), ("execute-app-name", "set"),
                                     ("execute-app-arg", "año=1")])
    assert raw == ("sendmsg\ncall-command: execute\nexecute-app-name: set\n"
                   "execute-app-arg: año=1\n\n").encode()
    assert encode_command("sendmsg", (), body="€") == b"sendmsg\nContent-Length: 3\n\n\xe2\x82\xac"


def test_headers_given_as_a_generator_are_checked_too():
    headers = ((name, value) for name, value in [("a", "1"), ("b", "2\nc: 3")])
    with pytest.raises(ValueError, match="header 'b' contains a newline"):
        encode_command("sendmsg", headers)
    assert encode_command("x", iter([("a", "1")])) == b"x\na: 1\n\n"


def test_an_event_over_a_reply_frame_headers():
    reply = Event.from_headers({"Content-Type": "command/reply", "Reply-Text": "+OK"}, "", 2.5)
    assert reply.get("Reply-Text") == "+OK" and reply["Content-Type"] == "command/reply"
    assert reply.get("Job-UUID", "none") == "none" and "Job-UUID" not in reply
    assert reply.pairs == [("Content-Type", "command/reply"), ("Reply-Text", "+OK")]
    assert reply.get_all("Reply-Text") == ["+OK"]
    assert reply.headers == {"Content-Type": "command/reply", "Reply-Text": "+OK"}
    assert reply.received_at == 2.5 and reply.body == ""
