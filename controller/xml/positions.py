"""Where things are in the raw text of a document: line and column of tags.

lxml reports only an element's line, so problems are located by scanning the
decoded text for start tags, in document order, next to lxml's elements. The
scanner also finds a DOCTYPE and the first element nested too deep when lxml
itself gave up. It is only used once something is wrong, never on the fast path.

It runs on hostile input too, so it is strictly linear: every closing delimiter
is looked up with `str.find` from the current position, and a missing one ends
the scan (nothing after it can be well-formed anyway).
"""

from __future__ import annotations

import bisect
import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass

_ENCODING_DECL = re.compile(
    rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._\-]{1,40})["']"""
)
_NAME_END = re.compile(r"[\s/>]")
_TAG_BODY = re.compile(r"[^>\"']*")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _signature_encoding(body: bytes) -> str | None:
    """The encoding the first bytes prove (BOM, or UTF-16 without one), if any."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    if body.startswith(b"<\x00"):
        return "utf-16-le"
    if body.startswith(b"\x00<"):
        return "utf-16-be"
    return None


def sniff_encoding(body: bytes) -> str:
    """The encoding a parser would use: BOM, then the XML declaration, then UTF-8."""
    signature = _signature_encoding(body)
    if signature:
        return signature
    match = _ENCODING_DECL.match(body)
    if match:
        return match.group(1).decode("ascii")
    return "utf-8"


def decode(body: bytes, encoding: str | None = None) -> str:
    """The text of a document as the parser saw it, never failing.

    `encoding` is what the parser reported; the byte signature wins over it
    (lxml reports UTF-8 for a UTF-16 document that has no declaration).
    """
    name = _signature_encoding(body) or encoding or sniff_encoding(body)
    if name.lower().replace("_", "-") in ("utf-8", "utf8"):
        name = "utf-8-sig"
    try:
        text = body.decode(name, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    # Lines are counted at "\n" only, as libxml2 counts them in its own errors.
    return text.lstrip("\ufeff")


@dataclass(frozen=True)
class Tag:
    kind: str  # "start", "end", "doctype"
    offset: int
    name: str = ""
    empty: bool = False  # <x/>


def scan(text: str) -> Iterator[Tag]:
    """Start tags, end tags and DOCTYPEs in order; comments, CDATA and PIs skipped."""
    pos = 0
    find = text.find
    while True:
        lt = find("<", pos)
        if lt < 0:
            return
        if text.startswith("<!--", lt):
            end = find("-->", lt + 4)
            if end < 0:
                return
            pos = end + 3
        elif text.startswith("<![CDATA[", lt):
            end = find("]]>", lt + 9)
            if end < 0:
                return
            pos = end + 3
        elif text.startswith("<?", lt):
            end = find("?>", lt + 2)
            if end < 0:
                return
            pos = end + 2
        elif text.startswith("<!DOCTYPE", lt):
            yield Tag("doctype", lt)
            return  # its internal subset is not ours to tokenise; the document is rejected
        elif text.startswith("</", lt):
            end = find(">", lt + 2)
            if end < 0:
                return
            yield Tag("end", lt, text[lt + 2 : end].strip())
            pos = end + 1
        else:
            name_end = _NAME_END.search(text, lt + 1)
            if name_end is None:
                return
            name = text[lt + 1 : name_end.start()]
            end = _tag_end(text, name_end.start())
            if end < 0:
                return
            yield Tag("start", lt, name, text[end - 1] == "/")
            pos = end + 1


def _tag_end(text: str, pos: int) -> int:
    """Index of the `>` closing a start tag; quoted attribute values may hold `>`."""
    while True:
        pos = _TAG_BODY.match(text, pos).end()
        if pos >= len(text):
            return -1
        ch = text[pos]
        if ch == ">":
            return pos
        close = text.find(ch, pos + 1)  # the matching quote
        if close < 0:
            return -1
        pos = close + 1


class LineIndex:
    """Maps character offsets to 1-based (line, column) in O(log lines) each."""

    def __init__(self, text: str):
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1


def start_tags(text: str, limit: int | None = None) -> list[tuple[str, int, int]]:
    """(name, line, column) of the first `limit` start tags (all if None), in order.

    Lines are counted as the scan goes, so stopping early costs nothing more.
    """
    found: list[tuple[str, int, int]] = []
    line, line_start, counted_to = 1, 0, 0
    for tag in scan(text):
        if tag.kind != "start":
            continue
        if limit is not None and len(found) >= limit:
            break
        newlines = text.count("\n", counted_to, tag.offset)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted_to, tag.offset) + 1
        counted_to = tag.offset
        found.append((tag.name, line, tag.offset - line_start + 1))
    return found


def start_tag_positions(text: str) -> list[tuple[int, int]]:
    """(line, column) of every start tag, in document order."""
    return [(line, column) for _, line, column in start_tags(text)]


def find_doctype(text: str) -> tuple[int, int] | None:
    for tag in scan(text):
        if tag.kind == "doctype":
            return LineIndex(text).at(tag.offset)
        if tag.kind == "start":
            return None  # a DOCTYPE can only come before the root element
    return None


def find_too_deep(text: str, max_depth: int) -> tuple[str, int, int] | None:
    """The first element nested deeper than `max_depth`: (name, line, column)."""
    depth = 0
    for tag in scan(text):
        if tag.kind == "start":
            if depth + 1 > max_depth:
                return (tag.name, *LineIndex(text).at(tag.offset))
            if not tag.empty:
                depth += 1
        elif tag.kind == "end":
            depth -= 1
    return None
