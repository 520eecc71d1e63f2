"""Event Socket frames and events: pure parsing, no I/O.

FreeSWITCH frames are a header block (``Name: value`` lines, LF only, ended
by an empty line) and an optional body of exactly ``Content-Length`` bytes.
Event bodies in ``plain`` format are themselves a header block whose values
are URL-encoded one by one (FREESWITCH-REFERENCE §1.5), optionally followed by
``Content-Length`` and a body of their own (BACKGROUND_JOB). The ``connect``
reply of an outbound socket is one URL-encoded header block with no body.

greenswitch decodes a whole block before splitting it into lines, which
splits values that contain an encoded newline and merges event bodies into
the headers; here every value is decoded on its own, and bodies stay bodies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote


class FrameError(ValueError):
    """Bytes that are not a valid Event Socket frame."""


def _decode(raw: bytes) -> str:
    # FreeSWITCH encodes non-ASCII bytes in event values, but api bodies and
    # caller names in listings can carry raw bytes in any encoding: never fail.
    return raw.decode("utf-8", errors="replace")


# One header line: name up to the first ':', one optional space, the value.
_HEADER_LINE = re.compile(r"([^:\n]*):[ ]?([^\n]*)")


def parse_header_block(block: bytes, url_decoded: bool) -> list[tuple[str, str]]:
    """Split a header block into (name, value) pairs, in wire order.

    ``url_decoded`` is True for blocks whose values FreeSWITCH URL-encodes
    (plain events, the outbound ``connect`` reply). Outer frame headers are
    not encoded, except that the ``connect`` reply *is* an encoded event.
    One decode and one regex pass: an event has ~80 headers and this runs for
    every event, so it is the hot path of the whole controller.
    """
    text = _decode(block)
    if "\r" in text:
        text = text.replace("\r\n", "\n").rstrip("\r")
    text = text.strip("\n")
    if not text:
        return []
    lines = text.count("\n") + 1
    if url_decoded:
        # Encoded values cannot contain ": " (both characters are encoded), so one
        # replace + split gives name, value, name, value... at C speed.
        flat = text.replace("\n", ": ").split(": ")
        if len(flat) == 2 * lines:
            pairs = list(zip(flat[0::2], flat[1::2], strict=True))
            return _unquote_values(pairs) if "%" in text else pairs
    pairs = _HEADER_LINE.findall(text)
    if len(pairs) != lines:
        bad = next((line for line in text.split("\n") if ":" not in line), text[:80])
        raise FrameError(f"header line without ':': {bad[:80]!r}")
    if url_decoded and "%" in text:
        return _unquote_values(pairs)
    return pairs


def _unquote_values(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """URL-decode every value, in one ``unquote`` call for the whole block.

    The encoded values are joined with NUL, decoded together and split again;
    a value that decodes to a NUL of its own (``%00``) makes the counts differ,
    and then each value is decoded alone.
    """
    encoded = [i for i, (_, value) in enumerate(pairs) if "%" in value]
    decoded = unquote("\0".join(pairs[i][1] for i in encoded), errors="replace").split("\0")
    if len(decoded) != len(encoded):
        decoded = [unquote(pairs[i][1], errors="replace") for i in encoded]
    result = list(pairs)
    for i, value in zip(encoded, decoded, strict=True):
        result[i] = (pairs[i][0], value)
    return result


class Event:
    """One FreeSWITCH event (or frame): headers in order, plus an optional body.

    ``headers`` maps each name to its *first* value; FreeSWITCH repeats some
    names (``floor-change`` repeats the Conference-* block, ``Unique-ID`` can
    appear twice) and ``pairs`` keeps every line for whoever needs them.
    """

    __slots__ = ("headers", "pairs", "body", "received_at")

    def __init__(self, pairs: list[tuple[str, str]], body: str = "", received_at: float = 0.0):
        self.pairs = pairs
        # First occurrence wins (reversed, so earlier pairs overwrite later ones).
        self.headers = dict(reversed(pairs))
        self.body = body
        self.received_at = received_at

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def __getitem__(self, name: str) -> str:
        return self.headers[name]

    def __contains__(self, name: str) -> bool:
        return name in self.headers

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    @property
    def name(self) -> str:
        return self.headers.get("Event-Name", "")

    @property
    def subclass(self) -> str:
        return self.headers.get("Event-Subclass", "")

    @property
    def key(self) -> str:
        """What subscriptions match on: the subclass of CUSTOM events, else the name."""
        return self.subclass if self.name == "CUSTOM" else self.name

    @property
    def action(self) -> str:
        """The conference::maintenance Action (or empty)."""
        return self.headers.get("Action", "")

    @property
    def unique_id(self) -> str:
        return self.headers.get("Unique-ID", "")

    @property
    def timestamp_us(self) -> int:
        try:
            return int(self.headers.get("Event-Date-Timestamp", "0"))
        except ValueError:
            return 0

    def __repr__(self) -> str:
        label = self.key or self.headers.get("Content-Type", "?")
        if self.action:
            label += f"/{self.action}"
        return f"<Event {label} {len(self.pairs)} headers, body {len(self.body)}>"


def parse_plain_event(body: bytes, received_at: float = 0.0) -> Event:
    """A ``text/event-plain`` body: encoded headers, then an optional inner body."""
    head, sep, rest = body.partition(b"\n\n")
    pairs = parse_header_block(head, url_decoded=True)
    inner = ""
    if sep:
        length = next((v for k, v in pairs if k == "Content-Length"), None)
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                raise FrameError(f"bad inner Content-Length {length!r}") from None
            inner = _decode(rest[:size])
    return Event(pairs, inner, received_at)


class _Pairs(list):
    """A JSON object as its (key, value) list, so duplicate keys survive."""


def parse_json_event(body: bytes, received_at: float = 0.0) -> Event:
    """A ``text/event-json`` body: a flat object; duplicate keys are kept as pairs."""
    try:
        pairs = json.loads(_decode(body), object_pairs_hook=_Pairs)
    except ValueError as exc:
        raise FrameError(f"event-json body is not JSON: {exc}") from None
    if not isinstance(pairs, _Pairs):
        raise FrameError("event-json body is not an object")
    inner = ""
    fields: list[tuple[str, str]] = []
    for name, value in pairs:
        if name == "_body":
            inner = str(value)
        else:
            fields.append((name, value if isinstance(value, str) else json.dumps(value)))
    return Event(fields, inner, received_at)


def encode_command(line: str, headers: Iterable[tuple[str, str]] = (), body: str = "") -> bytes:
    """Serialize a command for FreeSWITCH: first line, headers, blank line, optional body.

    Header values must be single-line: FreeSWITCH takes them verbatim (it does
    not URL-decode command headers), so a newline would start a new header.
    """
    if "\n" in line or "\r" in line:
        raise ValueError(f"command line contains a newline: {line!r}")
    out = [line]
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name:
            raise ValueError(f"header {name!r} contains a newline")
        out.append(f"{name}: {value}")
    encoded_body = body.encode("utf-8")
    if encoded_body:
        out.append(f"Content-Length: {len(encoded_body)}")
    return ("\n".join(out) + "\n\n").encode("utf-8") + encoded_body


def iter_lines(block: str) -> Iterator[str]:
    """Non-empty lines of an api body (FreeSWITCH ends most of them with LF)."""
    return (line for line in block.split("\n") if line)
