"""Helpers shared by the XML tests: run the real parser and read its problems."""

from __future__ import annotations

import pytest

from controller.dialects.plivo import XmlError, parse_document
from controller.model import ConferenceJoin

ANSWER_URL = "https://app.example.com/plivo/answer.xml"


def problems(body: bytes | str, url: str = ANSWER_URL, **limits) -> list[str]:
    """Every problem line the parser reports for `body` (it must reject it)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    with pytest.raises(XmlError) as info:
        parse_document(body, url, **limits)
    lines = str(info.value).split("\n")
    assert lines == [str(p) for p in info.value.problems]
    return lines


def conference_doc(attrs: str, room: str = "room-1") -> str:
    """A document whose <Conference> starts at line 2, column 3."""
    return f"<Response>\n  <Conference {attrs}>{room}</Conference>\n</Response>"


def conference(attrs: str, room: str = "room-1", url: str = ANSWER_URL) -> ConferenceJoin:
    (verb,) = parse_document(conference_doc(attrs, room).encode(), url).verbs
    assert isinstance(verb, ConferenceJoin)
    return verb


def conference_problems(attrs: str, room: str = "room-1") -> list[str]:
    return problems(conference_doc(attrs, room))


def verb_doc(element: str) -> str:
    """A document whose only verb (given whole) starts at line 2, column 3."""
    return f"<Response>\n  {element}\n</Response>"


def verb_problems(element: str) -> list[str]:
    return problems(verb_doc(element))
