"""FreeSWITCH events: ordered headers, FreeSWITCH's serialisations, and the bus.

An ``Event`` keeps duplicate header names (FreeSWITCH does) and never stores
empty values (``switch_event_base_add_header`` drops them). The bus stamps the
standard headers in ``switch_event_prep_for_delivery`` order and hands each
event to every listener; serialisations are cached per format because one
event usually goes to several sockets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from controller.sim import cjson, wire
from controller.sim.clock import SimClock, date_gmt, date_local
from controller.sim.fsutil import url_encode

# switch_event.c EVENT_NAMES, in switch_event_types_t order (ALL is last).
EVENT_NAMES = (
    "CUSTOM", "CLONE", "CHANNEL_CREATE", "CHANNEL_DESTROY", "CHANNEL_STATE",
    "CHANNEL_CALLSTATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HOLD", "CHANNEL_UNHOLD",
    "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_OUTGOING", "CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_APPLICATION",
    "CHANNEL_ORIGINATE", "CHANNEL_UUID", "API", "LOG", "INBOUND_CHAN", "OUTBOUND_CHAN",
    "STARTUP", "SHUTDOWN", "PUBLISH", "UNPUBLISH", "TALK", "NOTALK", "SESSION_CRASH",
    "MODULE_LOAD", "MODULE_UNLOAD", "DTMF", "MESSAGE", "PRESENCE_IN", "NOTIFY_IN",
    "PRESENCE_OUT", "PRESENCE_PROBE", "MESSAGE_WAITING", "MESSAGE_QUERY", "ROSTER",
    "CODEC", "BACKGROUND_JOB", "DETECTED_SPEECH", "DETECTED_TONE", "PRIVATE_COMMAND",
    "HEARTBEAT", "TRAP", "ADD_SCHEDULE", "DEL_SCHEDULE", "EXE_SCHEDULE", "RE_SCHEDULE",
    "RELOADXML", "NOTIFY", "PHONE_FEATURE", "PHONE_FEATURE_SUBSCRIBE", "SEND_MESSAGE",
    "RECV_MESSAGE", "REQUEST_PARAMS", "CHANNEL_DATA", "GENERAL", "COMMAND",
    "SESSION_HEARTBEAT", "CLIENT_DISCONNECTED", "SERVER_DISCONNECTED", "SEND_INFO",
    "RECV_INFO", "RECV_RTCP_MESSAGE", "SEND_RTCP_MESSAGE", "CALL_SECURE", "NAT",
    "RECORD_START", "RECORD_STOP", "PLAYBACK_START", "PLAYBACK_STOP", "CALL_UPDATE",
    "FAILURE", "SOCKET_DATA", "MEDIA_BUG_START", "MEDIA_BUG_STOP",
    "CONFERENCE_DATA_QUERY", "CONFERENCE_DATA", "CALL_SETUP_REQ", "CALL_SETUP_RESULT",
    "CALL_DETAIL", "DEVICE_STATE", "TEXT", "SHUTDOWN_REQUESTED", "CERT_RELOAD", "ALL",
)  # fmt: skip
_BY_UPPER = {name: name for name in EVENT_NAMES}


def event_type(word: str) -> str | None:
    """switch_name_event: case-insensitive, optional ``SWITCH_EVENT_`` prefix."""
    upper = word.upper()
    if upper.startswith("SWITCH_EVENT_"):
        upper = upper[len("SWITCH_EVENT_") :]
    return _BY_UPPER.get(upper)


@dataclass(frozen=True)
class Identity:
    """The values FreeSWITCH stamps on every event."""

    core_uuid: str
    hostname: str
    switchname: str
    ipv4: str
    ipv6: str


class Event:
    __slots__ = ("name", "subclass", "headers", "body", "_index", "_indexed", "_cache", "_blocks")

    def __init__(self, name: str, subclass: str | None = None) -> None:
        self.name = name
        self.subclass = subclass
        self.headers: list[tuple[str, str]] = []
        self.body: str | None = None
        # get()'s index (see _make_index), for the headers list it was made of
        self._index: list[dict[str, str] | Block] | None = None
        self._indexed: list[tuple[str, str]] | None = None
        self._cache: dict[str, bytes] = {}
        # (start, end, block) of header runs added by add_block, with the
        # headers list they index (a replaced list makes them void)
        self._blocks: tuple[list, list[tuple[int, int, Block]]] | None = None

    def add(self, name: str, value: object) -> Event:
        """Append a header; empty values are dropped as in FreeSWITCH."""
        text = value if type(value) is str else ("" if value is None else str(value))
        if text:
            self.headers.append((name, text))
            self._index = None
            if self._cache:
                self._cache.clear()
        return self

    def extend(self, pairs: list[tuple[str, str]]) -> Event:
        """add() for many string headers at once (the hot path: channel data on every
        event); None and empty values are dropped."""
        self.headers += [pair for pair in pairs if pair[1]]
        self._index = None
        if self._cache:
            self._cache.clear()
        return self

    def add_block(self, block: Block) -> Event:
        """Append a Block's headers: their plain lines and their index are the block's,
        made once for every event that repeats them. Headers may only be appended
        after a block (an insert before it would move it)."""
        headers = self.headers
        start = len(headers)
        headers += block.pairs
        if self._blocks is None or self._blocks[0] is not headers:
            self._blocks = (headers, [])
        self._blocks[1].append((start, len(headers), block))
        self._index = None
        if self._cache:
            self._cache.clear()
        return self

    def remove(self, name: str) -> None:
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        self._blocks = None
        self._index = None
        self._cache.clear()

    def get(self, name: str) -> str | None:
        """First value of a header, name matched without regard to case."""
        parts = self._index
        if parts is None or self._indexed is not self.headers:
            parts = self._make_index()
        folded = _FOLDED.get(name)
        if folded is None:
            folded = name.lower()
        for part in parts:  # in header order: the first part that has it wins
            value = part.get(folded) if type(part) is dict else part.lookup(folded)
            if value is not None:
                return value
        return None

    def _make_index(self) -> list[dict[str, str] | Block]:
        """The headers as parts in order: each block, and a first-wins dict of folded
        name -> value for each run of headers between blocks."""
        headers = self._indexed = self.headers
        blocks = self._blocks
        if blocks is None or blocks[0] is not headers:
            parts: list[dict[str, str] | Block] = [_fold(headers)]
        else:
            parts = []
            pos = 0
            for start, end, block in blocks[1]:
                if start > pos:
                    parts.append(_fold(headers[pos:start]))
                parts.append(block)
                pos = end
            if pos < len(headers):
                parts.append(_fold(headers[pos:]))
        self._index = parts
        return parts

    def _wire_headers(self) -> list[tuple[str, str]]:
        # Listeners get a switch_event_dup copy, which puts Event-Subclass first.
        headers = self.headers
        if not self.subclass:
            return headers
        first = ("Event-Subclass", self.subclass)
        try:
            at = headers.index(first)
        except ValueError:
            return [first, *[(k, v) for k, v in headers if k != "Event-Subclass"]]
        return [first, *headers[:at], *headers[at + 1 :]]

    def serialize(self, fmt: str) -> bytes:
        cached = self._cache.get(fmt)
        if cached is None:
            if fmt == "plain":
                cached = self._plain()
            elif fmt == "json":
                cached = self._json()
            else:
                cached = self._xml()
            self._cache[fmt] = cached
        return cached

    def frame(self, fmt: str) -> bytes:
        """The event as a listener writes it (wire.event_frame), made once for all
        the listeners that take it in ``fmt``."""
        key = _FRAME_KEYS[fmt]
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = wire.event_frame(self.serialize(fmt), fmt)
        return cached

    def _plain(self) -> bytes:
        parts = self._plain_blocks()
        if parts is None:
            parts = plain_lines(self._wire_headers())
        text = "".join(parts)
        if self.body:
            body = self.body.encode("utf-8", "surrogateescape")
            return (text + f"Content-Length: {len(body)}\n\n").encode() + body
        return (text + "\n").encode()

    def _plain_blocks(self) -> list[str] | None:
        """The lines using the known texts of add_block runs (None: no usable blocks)."""
        headers = self.headers
        if self._blocks is None or self._blocks[0] is not headers:
            return None
        blocks = self._blocks[1]
        parts: list[str] = []
        pos = 0
        if self.subclass:
            # the wire copy puts Event-Subclass first; it sits among the
            # standard headers, before any block
            first = ("Event-Subclass", self.subclass)
            try:
                at = headers.index(first, 0, blocks[0][0])
            except ValueError:
                return None
            parts += plain_lines([first, *headers[:at]])
            pos = at + 1
        for start, end, block in blocks:
            parts += plain_lines(headers[pos:start])
            parts.append(block.text)
            pos = end
        parts += plain_lines(headers[pos:])
        return parts

    def _json(self) -> bytes:
        obj = cjson.JObject(self._wire_headers())
        if self.body is not None:
            obj.add("Content-Length", str(len(self.body.encode())))
            obj.add("_body", self.body)
        return cjson.dumps(obj, formatted=False).encode("utf-8", "surrogateescape")

    def _xml(self) -> bytes:
        lines = ["<event>", "  <headers>"]
        for key, value in self._wire_headers():
            lines.append(f"    <{key}>{_xml_text(url_encode(value))}</{key}>")
        lines.append("  </headers>")
        if self.body:
            lines.append(f"  <Content-Length>{len(self.body.encode())}</Content-Length>")
            lines.append(f"  <body>{_xml_text(self.body)}</body>")
        lines.append("</event>")
        return "\n".join(lines).encode("utf-8", "surrogateescape")


_FRAME_KEYS = {"plain": "frame plain", "json": "frame json", "xml": "frame xml"}

# serialised "Name: value\n" per header: most pairs recur from event to event
_LINES: dict[tuple[str, str], str] = {}


class _FoldedNames(dict):
    """Header name -> its lower-case form: header names recur from event to event, so
    Event.get's index folds each name once per process, not once per event."""

    def __missing__(self, name: str) -> str:
        if len(self) > 100_000:  # names from sendevent peers are unbounded
            self.clear()
        folded = self[name] = name.lower()
        return folded


_FOLDED = _FoldedNames()


def _fold(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Folded name -> value; pairs taken last to first so that the first of
    duplicated headers is the one left in the dict."""
    folded_names = _FOLDED
    return {folded_names[k]: v for k, v in reversed(pairs)}


class Block:
    """Headers (non-empty string values) that many events repeat unchanged: a channel's
    basic data, its variables, a conference's data. Their event-plain text and their
    get() index are made once for all those events, when first needed.

    ``prefix``: every header name starts with it (``variable_``), so a lookup of a
    name without it skips the block's index. ``previous``: the block this one
    replaces, whose lines are reused for the pairs the two have in common.
    """

    __slots__ = ("pairs", "_prefix", "_text", "_lines", "_index", "_previous")

    def __init__(
        self, pairs: list[tuple[str, str]], prefix: str = "", previous: Block | None = None
    ) -> None:
        self.pairs = pairs
        self._prefix = prefix.lower()
        self._text: str | None = None
        self._lines: list[str] | None = None
        self._index: dict[str, str] | None = None
        if previous is not None and previous._lines is None:
            previous = previous._previous  # one hop back at most: no chains
        self._previous = previous

    @property
    def text(self) -> str:
        if self._text is None:
            previous = self._previous
            if previous is not None and previous._lines is not None:
                known = dict(zip(previous.pairs, previous._lines, strict=True))
                lines = list(map(known.get, self.pairs))
                if None in lines:
                    for at, line in enumerate(lines):
                        if line is None:
                            lines[at] = _plain_line(self.pairs[at])
            else:
                lines = plain_lines(self.pairs)
            self._previous = None
            self._lines = lines
            self._text = "".join(lines)
        return self._text

    def lookup(self, folded: str) -> str | None:
        """The first value of the header whose folded name is ``folded``."""
        if not folded.startswith(self._prefix):
            return None
        index = self._index
        if index is None:
            index = self._index = _fold(self.pairs)
        return index.get(folded)


_UNIQUE = frozenset({"Event-Date-Timestamp", "Event-Sequence", "Event-UUID", "Job-UUID"})


def plain_lines(pairs: list[tuple[str, str]]) -> list[str]:
    """``Name: url-encoded value\n`` for each pair (event-plain serialisation)."""
    parts = list(map(_LINES.get, pairs))
    if None in parts:  # misses (timestamp, sequence, a new value): one pass over them
        for at, part in enumerate(parts):
            if part is None:
                parts[at] = _plain_line(pairs[at])
    return parts


def _plain_line(pair: tuple[str, str]) -> str:
    name, value = pair
    line = f"{name}: {url_encode(str(value)) or '_undef_'}\n"
    if name not in _UNIQUE:
        if len(_LINES) > 200_000:
            _LINES.clear()
        _LINES[pair] = line
    return line


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class EventBus:
    """Numbers events (Event-Sequence) and delivers each one to every consumer.

    Consumers are called synchronously and must not block: ESL listeners only
    queue the event and wake their writer greenlet.
    """

    def __init__(self, clock: SimClock, identity: Identity) -> None:
        self.clock = clock
        self.identity = identity
        self.sequence = 0
        # Consumers in subscription order (dict keys: unsubscribe is O(1) with
        # thousands of outbound listeners); fire() walks a tuple snapshot of them,
        # made again after a change (None: to be made).
        self._consumers: dict[Callable[[Event], None], None] = {}
        self._broad: tuple[Callable[[Event], None], ...] | None = ()
        # consumers that only take one channel's events (see narrow), and the
        # uuid each such consumer was narrowed to
        self._by_uuid: dict[str, tuple[Callable[[Event], None], ...]] = {}
        self._narrowed: dict[Callable[[Event], None], str] = {}
        self._fixed = (
            ("Core-UUID", identity.core_uuid),
            ("FreeSWITCH-Hostname", identity.hostname),
            ("FreeSWITCH-Switchname", identity.switchname),
            ("FreeSWITCH-IPv4", identity.ipv4),
            ("FreeSWITCH-IPv6", identity.ipv6),
        )

    def subscribe(self, consumer: Callable[[Event], None]) -> None:
        self._consumers[consumer] = None
        self._broad = None

    def unsubscribe(self, consumer: Callable[[Event], None]) -> None:
        if self._consumers.pop(consumer, self) is not self:
            self._broad = None
        uuid = self._narrowed.pop(consumer, None)
        if uuid is not None:
            rest = tuple(c for c in self._by_uuid[uuid] if c != consumer)
            if rest:
                self._by_uuid[uuid] = rest
            else:
                del self._by_uuid[uuid]

    def narrow(self, consumer: Callable[[Event], None], uuid: str) -> None:
        """From now on offer ``consumer`` only the events whose Unique-ID or Job-Owner-UUID
        is ``uuid``: a ``myevents`` session listener drops every other event anyway, and
        with thousands of calls offering each event to every listener cost O(calls)."""
        self.unsubscribe(consumer)
        self._by_uuid[uuid] = (*self._by_uuid.get(uuid, ()), consumer)
        self._narrowed[consumer] = uuid

    def create(self, name: str, origin: tuple[str, str, int], subclass: str | None = None) -> Event:
        """switch_event_create_subclass: the standard headers, then Event-Subclass."""
        self.sequence += 1
        us = self.clock.now_us()
        event = Event(name, subclass)
        file, func, line = origin
        event.headers = [
            ("Event-Name", name),
            *self._fixed,
            ("Event-Date-Local", date_local(us)),
            ("Event-Date-GMT", date_gmt(us)),
            ("Event-Date-Timestamp", str(us)),
            ("Event-Calling-File", file),
            ("Event-Calling-Function", func),
            ("Event-Calling-Line-Number", str(line)),
            ("Event-Sequence", str(self.sequence)),
        ]
        if subclass:
            event.headers.append(("Event-Subclass", subclass))
        return event

    def fire(self, event: Event) -> None:
        # snapshots (tuples are replaced, never changed): a consumer (un)subscribed
        # while this event is delivered sees the change from the next event on
        broad = self._broad
        if broad is None:
            broad = self._broad = tuple(self._consumers)
        for consumer in broad:
            consumer(event)
        if self._by_uuid:
            uuid = event.get("Unique-ID")
            owner = event.get("Job-Owner-UUID")
            for key in (uuid, owner) if owner and owner != uuid else (uuid,):
                for consumer in self._by_uuid.get(key or "", ()):
                    consumer(event)
