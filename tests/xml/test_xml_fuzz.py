"""Fuzzing: whatever the bytes, the parser answers a Document or an XmlError, nothing else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.dialects.plivo import XmlError, parse_document, parse_sound_document
from controller.model import Document

URL = "https://app.example.com/answer.xml"
FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=400)

VALID = (
    '<?xml version="1.0"?>\n<Response>\n  <Speak voice="MAN" loop="2">Hi &amp; bye</Speak>\n'
    '  <!-- note --><Conference maxMembers="5" callbackUrl="/cb" digitsMatch="1,#2">'
    "room</Conference>\n  <Wait length=\"3\"/><Play><![CDATA[/a.mp3]]></Play>\n</Response>\n"
)
TOKENS = list("<>/!?-[]\"'= \n\r\tx") + [
    "&", ";", "#", ":", "CDATA", "DOCTYPE", "Response", "Speak", "Conference", "Wait",
    "<!--", "-->", "]]>", "&#0;", "\u00e9", "\ufeff", "\x00",
]
MARKUP = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


def outcome(parse, body: bytes) -> None:
    try:
        assert isinstance(parse(body, URL), Document)
    except XmlError as exc:
        assert exc.problems and all(p.message for p in exc.problems)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(body):
    outcome(parse_document, body)


@FUZZ
@given(MARKUP)
def test_markup_soup(text):
    for encoding in ("utf-8", "utf-16"):
        outcome(parse_document, text.encode(encoding, "surrogatepass"))


@FUZZ
@given(st.integers(0, len(VALID)), st.integers(0, 20), MARKUP)
def test_mutated_valid_document(at, cut, insert):
    body = (VALID[:at] + insert + VALID[at + cut :]).encode("utf-8")
    outcome(parse_document, body)
    outcome(parse_sound_document, body)
