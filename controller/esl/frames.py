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
from collections.abc import Iterable
from urllib.parse import unquote


class FrameError(ValueError):
    """Bytes that are not a valid Event Socket frame."""


def _decode(raw: bytes) -> str:
    # FreeSWITCH encodes non-ASCII bytes in event values, but api bodies and
    # caller names in listings can carry raw bytes in any encoding: never fail.
    return raw.decode("utf-8", errors="replace")


# One header line: name up to the first ':', one optional space, the value.
_HEADER_LINE = re.compile(r"([^:\n]*):[ ]?([^\n]*)")


def _split_lines(text: str) -> list[str]:
    """``name, value, name, value...`` of a header block, or [] if one line is not
    ``name: value`` (then the slower, strict path decides)."""
    # Encoded values cannot contain ": " (both characters are encoded), so one
    # replace + split gives the flat list at C speed.
    flat = text.replace("\n", ": ").split(": ")
    return flat if len(flat) == 2 * (text.count("\n") + 1) else []


def _normalise(block: bytes) -> str:
    text = _decode(block)
    if "\r" in text:
        text = text.replace("\r\n", "\n").rstrip("\r")
    return text.strip("\n")


def _strict_pairs(text: str) -> list[tuple[str, str]]:
    pairs = _HEADER_LINE.findall(text)
    if len(pairs) != text.count("\n") + 1:
        bad = next((line for line in text.split("\n") if ":" not in line), text[:80])
        raise FrameError(f"header line without ':': {bad[:80]!r}")
    return pairs


def _flat_header_block(text: str, encoded: bool, strict: bool) -> list[str]:
    """``name, value, name, value...`` of a normalised header block, values decoded.
    ``strict``: a line that is not ``name: value`` is a FrameError (frames we read);
    otherwise such lines are skipped (event bodies parsed later, lazily, whose frame
    the reader already checked)."""
    if not text:
        return []
    flat = _split_lines(text) if encoded else []
    if not flat:
        pairs = _strict_pairs(text) if strict else _HEADER_LINE.findall(text)
        flat = [part for pair in pairs for part in pair]
    if encoded and "%" in text:
        _unquote_values(flat)
    return flat


def parse_header_block(block: bytes, url_decoded: bool) -> list[tuple[str, str]]:
    """Split a header block into (name, value) pairs, in wire order.

    ``url_decoded`` is True for blocks whose values FreeSWITCH URL-encodes
    (plain events, the outbound ``connect`` reply). Outer frame headers are
    not encoded, except that the ``connect`` reply *is* an encoded event.
    This runs for every event (~80 headers each): it is the hot path of the
    whole controller, hence C-level string operations only.
    """
    flat = _flat_header_block(_normalise(block), url_decoded, strict=True)
    return list(zip(flat[0::2], flat[1::2], strict=True))


def percent_decode(text: str) -> str:
    """``urllib.parse.unquote`` at C speed for what FreeSWITCH writes.

    FreeSWITCH's encoder leaves every ``%`` followed by two hex digits (a bare
    ``%`` becomes ``%25``) and every other byte printable ASCII, so ``%XX`` can
    be turned into ``\\xXX`` and run through the ``unicode_escape`` codec, then
    re-read as UTF-8. Anything else (a stray ``%``, non-ASCII input) takes
    ``unquote``, which gives the same result, slowly.
    """
    try:
        escaped = text.replace("\\", "\\\\").replace("%", "\\x").encode("ascii")
        return escaped.decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")
    except (UnicodeError, ValueError):
        return unquote(text, errors="replace")


def _unquote_values(flat: list[str]) -> None:
    """URL-decode the values of a flat header list in place, in one ``unquote`` call.

    The encoded values are joined with NUL, decoded together and split again;
    a value that decodes to a NUL of its own (``%00``) makes the counts differ,
    and then each value is decoded alone.
    """
    encoded = [i for i in range(1, len(flat), 2) if "%" in flat[i]]
    decoded = percent_decode("\0".join([flat[i] for i in encoded])).split("\0")
    if len(decoded) != len(encoded):
        decoded = [unquote(flat[i], errors="replace") for i in encoded]
    for i, value in zip(encoded, decoded, strict=True):
        flat[i] = value


_UNSEEN = object()  # Event._looked_up: a name not looked for yet (None: looked, absent)


class Event:
    """One FreeSWITCH event (or frame): headers in order, plus an optional body.

    ``headers`` maps each name to its *first* value; FreeSWITCH repeats some
    names (``floor-change`` repeats the Conference-* block, ``Unique-ID`` can
    appear twice) and ``pairs`` keeps every line for whoever needs them.

    Parsed lazily: an event has ~80 headers, consumers read a handful, and the
    controller receives every event of every room. ``get``/``[]``/``in`` find a
    header in the raw block (C-speed ``str.find``) until someone asks for the
    whole ``headers`` dict or ``pairs``, which are then built once.
    """

    __slots__ = ("_text", "_encoded", "_headers", "_flat", "_looked_up", "body", "received_at")

    def __init__(self, pairs: list[tuple[str, str]], body: str = "", received_at: float = 0.0):
        self._text = None
        self._encoded = False
        self._flat = [part for pair in pairs for part in pair]
        self._headers = dict(reversed(pairs))  # first occurrence wins
        self._looked_up = None
        self.body = body
        self.received_at = received_at

    @classmethod
    def from_block(cls, text: str, encoded: bool, body: str = "",
                   received_at: float = 0.0) -> Event:
        """An event over a normalised header block (LF lines, no blank lines)."""
        event = cls.__new__(cls)
        event._text = text
        event._encoded = encoded
        event._headers = None
        event._flat = None
        # Headers found so far: an event passes several consumers that ask for the same
        # few names (Event-Name five times), each find a scan of ~6 KB.
        event._looked_up = {}
        event.body = body
        event.received_at = received_at
        return event

    @classmethod
    def from_headers(cls, headers: dict[str, str], body: str = "",
                     received_at: float = 0.0) -> Event:
        """An event over headers whose names are all different (a reply frame's own):
        the dict is kept as it is, the ordered list is made only if someone asks."""
        event = cls.__new__(cls)
        event._text = None
        event._encoded = False
        event._headers = headers
        event._flat = None
        event._looked_up = None
        event.body = body
        event.received_at = received_at
        return event

    # ------------------------------------------------------------ full parse
    def _parse(self) -> list[str]:
        if self._flat is None:
            if self._text is None:  # from_headers
                self._flat = [part for item in self._headers.items() for part in item]
            else:
                self._flat = _flat_header_block(self._text, self._encoded, strict=False)
        return self._flat

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            flat = self._parse()
            # Walking backwards, earlier duplicates overwrite later ones: first wins.
            self._headers = dict(zip(flat[-2::-2], flat[::-2], strict=True))
        return self._headers

    @property
    def pairs(self) -> list[tuple[str, str]]:
        flat = self._parse()
        return list(zip(flat[0::2], flat[1::2], strict=True))

    # ------------------------------------------------------------ lookups
    def _find(self, name: str) -> str | None:
        text = self._text
        prefix = name + ": "
        if text.startswith(prefix):
            start = len(prefix)
        else:
            at = text.find("\n" + prefix)
            if at < 0:
                return None
            start = at + len(prefix) + 1
        return self._value_at(start)

    def _value_at(self, start: int) -> str:
        """The value that starts at ``start`` of the header block, up to its line end."""
        text = self._text
        end = text.find("\n", start)
        value = text[start:] if end < 0 else text[start:end]
        return percent_decode(value) if self._encoded and "%" in value else value

    def get(self, name: str, default: str | None = None) -> str | None:
        if self._headers is not None:
            return self._headers.get(name, default)
        looked_up = self._looked_up
        value = looked_up.get(name, _UNSEEN)  # not try/except: a first lookup raised KeyError
        if value is _UNSEEN:
            value = looked_up[name] = self._find(name)
        return default if value is None else value

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def get_all(self, name: str) -> list[str]:
        flat = self._parse()
        return [flat[i + 1] for i in range(0, len(flat), 2) if flat[i] == name]

    def get_last(self, name: str, default: str | None = None) -> str | None:
        """The value of the *last* ``name`` header (``get`` gives the first): the same for a
        header that occurs once, and found from the end of the block, so one that
        FreeSWITCH appends after the channel's ~6 KB of headers costs no scan of them."""
        text = self._text
        if text is None:  # built from pairs or headers
            flat = self._parse()
            for at in range(len(flat) - 2, -1, -2):
                if flat[at] == name:
                    return flat[at + 1]
            return default
        prefix = name + ": "
        at = text.rfind("\n" + prefix)
        if at >= 0:
            start = at + len(prefix) + 1
        elif text.startswith(prefix):
            start = len(prefix)
        else:
            return default
        return self._value_at(start)

    @property
    def name(self) -> str:
        return self.get("Event-Name", "")

    @property
    def subclass(self) -> str:
        return self.get("Event-Subclass", "")

    @property
    def key(self) -> str:
        """What subscriptions match on: the subclass of CUSTOM events, else the name."""
        name = self.name
        return self.subclass if name == "CUSTOM" else name

    @property
    def action(self) -> str:
        """The conference::maintenance Action (or empty)."""
        return self.get("Action", "")

    @property
    def unique_id(self) -> str:
        return self.get("Unique-ID", "")

    @property
    def timestamp_us(self) -> int:
        try:
            return int(self.get("Event-Date-Timestamp", "0"))
        except ValueError:
            return 0

    def __repr__(self) -> str:
        label = self.key or self.get("Content-Type", "?")
        if self.action:
            label += f"/{self.action}"
        return f"<Event {label}, body {len(self.body)}>"


def parse_plain_event(body: bytes, received_at: float = 0.0) -> Event:
    """A ``text/event-plain`` body: encoded headers, then an optional inner body."""
    head, _, rest = body.partition(b"\n\n")
    event = Event.from_block(_normalise(head), True, "", received_at)
    if rest:
        length = event.get("Content-Length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                raise FrameError(f"bad inner Content-Length {length!r}") from None
            event.body = _decode(rest[:size])
    return event


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
    # ~20 commands a join: the lines are joined first and checked for CR/LF once (a line
    # or header with a newline in it makes more LFs than lines); only then, to name the
    # culprit, one by one.
    if not isinstance(headers, (list, tuple)):
        headers = tuple(headers)  # read twice when one has a newline
    out = [line, *[f"{name}: {value}" for name, value in headers]]
    text = "\n".join(out)
    if "\r" in text or text.count("\n") != len(out) - 1:
        _refuse_newlines(line, headers)
    if body:
        encoded_body = body.encode()
        return f"{text}\nContent-Length: {len(encoded_body)}\n\n".encode() + encoded_body
    return (text + "\n\n").encode()


def _refuse_newlines(line: str, headers: Iterable[tuple[str, str]]) -> None:
    if "\n" in line or "\r" in line:
        raise ValueError(f"command line contains a newline: {line!r}")
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            raise ValueError(f"header {name!r} contains a newline")
