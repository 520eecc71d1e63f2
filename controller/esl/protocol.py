"""greenswitch 0.0.19, with its reader, frame handler and send replaced.

We keep greenswitch's connection objects: ``InboundESL`` (socket connect and
``auth``), ``OutboundSession`` (wrapping an accepted socket), the handler
registry and its ``process_events`` dispatch greenlet. We replace the three
places where 0.0.19 breaks (DESIGN §5):

* ``receive_events`` decoded whole header blocks and died on a frame without
  Content-Type, leaving ``connected=True`` and every later ``send()`` hanging;
  a truncated body followed by EOF made ``_read_socket`` spin forever without
  yielding. Ours reads frames byte-exactly, treats EOF and garbage as the end
  of the connection, and fails every waiting command.
* ``handle_event`` merged event bodies into headers and could not parse JSON;
  ``process_events`` read every header of every event to route it, polled its
  queue once a second, and cost a second greenlet per connection: our reader
  routes each event to the handlers itself (they only enqueue).
* ``send()`` had no timeout, ignored partial writes and let two greenlets
  interleave their bytes. Ours holds a lock around the queue slot and a full
  ``sendall``, and takes a timeout.

At EOF the reader hands the handlers a synthetic ``closed`` notice after the
last real frames (a disconnect notice, CHANNEL_HANGUP_COMPLETE), so waiting
commands and executions learn that nothing more will come.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
import gevent.lock
from gevent.event import AsyncResult
from greenswitch import esl as gs

from controller.esl.errors import EslConnectionLost, EslNotConnected, EslTimeout
from controller.esl.frames import (
    Event,
    FrameError,
    _normalise,
    parse_header_block,
    parse_json_event,
    parse_plain_event,
)

log = logging.getLogger(__name__)

MAX_HEADER_BLOCK = 1 << 20  # a connect reply is ~6 KB; anything near 1 MiB is garbage
MAX_BODY = 64 << 20  # FreeSWITCH itself refuses > 16 MiB from clients
CLOSED = "closed"  # Content-Disposition of the synthetic notice queued at EOF


def no_delay(sock: Any) -> None:
    """Small request/reply frames must not wait for Nagle + delayed ACK (~40 ms each);
    FreeSWITCH sets TCP_NODELAY on its side too (mod_event_socket.c)."""
    import socket

    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def closed_notice(reason: str) -> Event:
    return Event(
        [("Content-Type", "text/disconnect-notice"), ("Content-Disposition", CLOSED),
         ("Reason", reason)]
    )


_EVENT_PLAIN_HEAD = b"Content-Length: "
_EVENT_PLAIN_TAIL = b"\nContent-Type: text/event-plain\n"
_REPLY_HEAD = b"Content-Type: command/reply\nReply-Text: "
_API_HEAD = b"Content-Type: api/response\nContent-Length: "
_CR = 0x0D  # `in` a bytes object: an int is looked for as a byte, with no fallback
_COLON = 0x3A


def has_line_without_colon(head: bytes) -> bool:
    """Whether a frame head (ending with its last line's newline) has a line without a
    ':' (the empty line included): one the generic parse rejects (frames.
    parse_header_block, strict: every line must be ``name: value``). Line by line with
    the colon as an int: the regex ``^[^:\n]*$`` (MULTILINE) took ~75 us on a 6 KB
    connect reply, ~1 M instructions, 17 % of a join (issue 16, callgrind); this ~10 us."""
    return any(_COLON not in line for line in head[:-1].split(b"\n"))


class SafeProtocolMixin:
    """Frame reading and command sending for any greenswitch ESLProtocol subclass."""

    # Attributes provided by greenswitch's ESLProtocol.
    sock: Any
    sock_file: Any
    connected: bool
    _run: bool
    _commands_sent: list
    _esl_event_queue: Any
    _auth_request_event: Any
    _lingering: bool

    def _init_safe(self) -> None:
        self._send_lock = gevent.lock.Semaphore()
        self.last_frame_at = time.monotonic()
        self.close_reason = ""
        self.frames_read = 0

    # ------------------------------------------------------------ reading
    def receive_events(self) -> None:  # replaces ESLProtocol.receive_events
        reason = "connection closed by FreeSWITCH"
        try:
            while self._run:
                head = self._read_head()
                if head is None:
                    break
                self._handle_frame(head)
        except FrameError as exc:
            reason = f"protocol error: {exc}"
            log.error("esl protocol error, closing connection: %s", exc)
        except (OSError, ValueError) as exc:
            # ValueError: the file object was closed under us by close().
            reason = f"socket error: {exc}"
        except gevent.GreenletExit:
            reason = "closed locally"
            raise
        finally:
            self._on_reader_exit(reason)

    def _read_head(self) -> bytes | None:
        """The next header block (without its blank line), or None at EOF."""
        lines: list[bytes] = []
        size = 0
        # Whole lines straight from the read buffer: a frame head is usually there in
        # full, and a connect reply (~170 lines) no longer costs a readline per line
        # (~8% of the controller's CPU per call setup, cProfile). Whatever this path does
        # not handle (end of stream, CR, blank lines before the block) is left to the
        # line loop below, which continues from the same state.
        file = self.sock_file
        while True:
            data = file.peek(1)  # the buffered bytes; one socket read if there are none
            # CR as an int: `b"\r" in data` first tries its operand as an integer and
            # formats the TypeError it catches, ~2k instructions a test (callgrind)
            if not data or _CR in data:
                break
            if data[0] == 0x0A:  # a blank line: before the block the line loop skips it
                if not lines:
                    break
                file.read(1)  # the block ended at the end of the previous chunk
                return b"".join(lines)
            end = data.find(b"\n\n")
            if end >= 0:  # the rest of the block, and its blank line, in one read
                size += end + 1
                if size >= MAX_HEADER_BLOCK:
                    raise FrameError("header block too large")
                chunk = file.read(end + 2)[:-1]
                if not lines:
                    return chunk
                lines.append(chunk)
                return b"".join(lines)
            last = data.rfind(b"\n")  # the last whole line's LF
            if last >= 0:
                chunk = file.read(last + 1)
            else:
                # Only part of a line is buffered (a block larger than the buffer, e.g. a
                # connect reply): that one line by readline, as the line loop would read
                # it, then on with whole buffers.
                chunk = file.readline(MAX_HEADER_BLOCK)
                if not chunk.endswith(b"\n"):
                    raise FrameError("header block too large")
            size += len(chunk)
            if size >= MAX_HEADER_BLOCK:
                raise FrameError("header block too large")
            lines.append(chunk)
        while True:
            line = self.sock_file.readline(MAX_HEADER_BLOCK)
            if not line:
                if lines:
                    raise FrameError("connection closed in the middle of a header block")
                return None
            if line == b"\n" or line == b"\r\n":
                if lines:
                    return b"".join(lines)
                continue  # blank lines between frames are skipped, as FreeSWITCH does
            size += len(line)
            if size >= MAX_HEADER_BLOCK or not line.endswith(b"\n"):
                raise FrameError("header block too large")
            lines.append(line)

    def _read_body(self, length_text: str | None) -> bytes:
        if length_text is None:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise FrameError(f"bad Content-Length {length_text!r}") from None
        if not 0 <= length <= MAX_BODY:
            raise FrameError(f"Content-Length {length} out of range")
        body = self.sock_file.read(length) if length else b""
        if len(body) != length:
            # greenswitch 0.0.19 spins here forever without yielding.
            raise FrameError(f"connection closed after {len(body)} of {length} body bytes")
        return body

    def _handle_frame(self, head: bytes) -> None:
        self.last_frame_at = now = time.monotonic()
        self.frames_read += 1
        # The three frames that make nearly all the traffic, in the exact shape FreeSWITCH
        # writes them (captures 05a, 02a: headers in this order, LF only), skip the
        # generic header parse (~20 us a frame, 27 frames a join); anything else takes it.
        # The connect reply is told first: counting its ~170 lines was 0.7 % of a join.
        if head.startswith(b"Event-Name: "):
            if self._connect_reply(head, now):
                return
        elif head.count(b"\n") == 2:
            if head.startswith(_EVENT_PLAIN_HEAD) and head.endswith(_EVENT_PLAIN_TAIL):
                body = self._read_body(head[16:-len(_EVENT_PLAIN_TAIL)].decode("latin-1"))
                self._deliver(parse_plain_event(body, now), "text/event-plain")
                return
            if head.startswith(_REPLY_HEAD) and _CR not in head:
                text = head[len(_REPLY_HEAD):-1].decode("utf-8", "replace")
                self._resolve_command(Event.from_headers(
                    {"Content-Type": "command/reply", "Reply-Text": text}, "", now))
                return
            if head.startswith(_API_HEAD) and _CR not in head:
                length = head[len(_API_HEAD):-1].decode("latin-1")
                body = self._read_body(length)
                self._resolve_command(Event.from_headers(
                    {"Content-Type": "api/response", "Content-Length": length},
                    body.decode("utf-8", "replace"), now))
                return
        self._handle_any_frame(head, now)

    def _connect_reply(self, head: bytes, now: float) -> bool:
        """The outbound ``connect`` reply (once a call, ~170 lines): the channel's event
        headers, then Content-Type: command/reply (capture 05a, mod_event_socket.c
        parse_command: the event serialized, then the reply's own headers) and no body.
        The generic path parses every line into pairs only to find Content-Type and
        Event-Name and then drops them (the event is parsed lazily); here the same
        checks are made on the bytes, and whatever fails one goes the generic way."""
        # The generic parse: a name is what precedes a line's first ':', one space may
        # follow it, and of repeated names the last one counts (dict of the pairs).
        if _CR in head or head.find(b"\nContent-Length:") >= 0:
            return False
        at = head.rfind(b"\nContent-Type:") + 14
        if at < 14 or not (head.startswith(b" command/reply\n", at)
                           or head.startswith(b"command/reply\n", at)):
            return False
        if has_line_without_colon(head):
            return False  # the generic parse rejects it: let it say why
        self._resolve_command(Event.from_block(_normalise(head), True, "", now))
        return True

    def _handle_any_frame(self, head: bytes, now: float) -> None:
        """Every frame shape, through the generic header parse."""
        pairs = parse_header_block(head, url_decoded=False)
        outer = dict(pairs)
        content_type = outer.get("Content-Type")
        if content_type is None:
            raise FrameError("frame without Content-Type")
        body = self._read_body(outer.get("Content-Length"))

        if content_type == "text/event-plain":
            self._deliver(parse_plain_event(body, now), content_type)
        elif content_type == "text/event-json":
            self._deliver(parse_json_event(body, now), content_type)
        elif content_type == "api/response":
            self._resolve_command(Event(pairs, body.decode("utf-8", "replace"), now))
        elif content_type == "command/reply":
            if "Event-Name" in outer:
                # The outbound `connect` reply is a serialized event (encoded values, ~170
                # headers): parsed lazily like any event, a call keeps only what it reads.
                self._resolve_command(Event.from_block(_normalise(head), True, "", now))
            else:
                self._resolve_command(Event(pairs, "", now))
        elif content_type == "auth/request":
            self._auth_request_event.set()
        elif content_type == "text/disconnect-notice":
            if outer.get("Content-Disposition") == "linger":
                self._lingering = True
            self._deliver(Event(pairs, body.decode("utf-8", "replace"), now))
        elif content_type == "text/rude-rejection":
            self.connected = False
            self.close_reason = "FreeSWITCH rejected the connection (ACL)"
            self._auth_request_event.set()
        elif content_type == "log/data":
            self._deliver(Event(pairs, body.decode("utf-8", "replace"), now))
        else:
            log.warning("esl: ignoring frame of type %s", content_type)

    def _resolve_command(self, reply: Event) -> None:
        if not self._commands_sent:
            log.warning("esl: reply with no command waiting: %r", reply.get("Reply-Text"))
            return
        self._commands_sent.pop(0).set(reply)

    def _on_reader_exit(self, reason: str) -> None:
        self.close_reason = self.close_reason or reason
        self.connected = False
        self._auth_request_event.set()  # a connect() waiting for the greeting wakes up
        pending, self._commands_sent[:] = list(self._commands_sent), []
        for waiting in pending:
            waiting.set_exception(EslConnectionLost(self.close_reason))
        self._deliver(closed_notice(self.close_reason))
        try:
            self.sock.close()
        except OSError:
            pass

    # ------------------------------------------------------------ dispatching
    def start_event_handlers(self) -> None:  # replaces ESLProtocol.start_event_handlers
        """Only the reader greenlet: it hands each event to the handlers itself.

        greenswitch queues events to a second greenlet so that handlers cannot stall
        the reader; ours only enqueue (DESIGN §5), so that greenlet, its queue and a
        switch per event are pure cost, paid per call by thousands of calls."""
        self._receive_events_greenlet = gevent.spawn(self.receive_events)
        self._process_events_greenlet = None

    def _deliver(self, event: Event, content_type: str | None = None) -> None:
        """greenswitch's routing (handlers by Event-Name, by subclass for CUSTOM, DISCONNECT
        for notices, ``log``, then ``*``), reading only the headers it routes on (its own
        version touches ``event.headers``, which would defeat lazy parsing).

        ``content_type``: the frame's, for events (text/event-plain, -json). Routing goes
        by the frame's type; an event's own headers rarely hold a Content-Type (and then
        it is the type of the event's payload, never a frame's), so looking for one
        scanned all ~6 KB of every event for nothing. Notices and log lines are their
        frame: their Content-Type is read from them."""
        handlers_of = self.event_handlers
        if content_type is None:
            content_type = event.get("Content-Type")
        if content_type == "text/disconnect-notice":
            handlers = handlers_of.get("DISCONNECT")
        else:
            name = event.get("Event-Name")
            key = event.get("Event-Subclass") if name == "CUSTOM" else name
            handlers = handlers_of.get(key)
            if not handlers and content_type == "log/data":
                handlers = handlers_of.get("log")
            if not handlers:
                handlers = handlers_of.get("*")
        for handler in handlers or ():
            self._safe_exec_handler(handler, event)

    # ------------------------------------------------------------ writing
    def send(self, data: str, timeout: float | None = None) -> Event:  # replaces ESLProtocol.send
        """Send one command (text without the final blank line) and wait for its reply."""
        return self.send_raw((data + "\n\n").encode("utf-8"), timeout)

    def send_raw(self, raw: bytes, timeout: float | None) -> Event:
        return self.send_many([raw], timeout)[0]

    def send_many(self, raws: list[bytes], timeout: float | None) -> list[Event]:
        """Pipeline commands: one write, then the replies in order (FreeSWITCH answers
        each command in turn). Saves a round trip per command."""
        if not self.connected:
            raise EslNotConnected(self.close_reason or "not connected")
        waiting: list[AsyncResult] = [AsyncResult() for _ in raws]
        with self._send_lock:
            self._commands_sent.extend(waiting)
            try:
                self.sock.sendall(b"".join(raws))
            except BaseException as exc:
                # A partial write leaves the stream unusable: close it.
                for result in waiting:
                    if result in self._commands_sent:
                        self._commands_sent.remove(result)
                self.abort(f"write failed: {exc!r}")
                if isinstance(exc, OSError):
                    raise EslConnectionLost(str(exc)) from None
                raise
        try:
            with gevent.Timeout(timeout):
                # FreeSWITCH answers in order, and a lost connection fails them all: once
                # the last reply is in so are the others. Waiting for each in turn woke
                # this greenlet once per reply read in a separate socket read (the 16
                # replies of a call's event set-up come in 16 writes).
                waiting[-1].get()
                return [result.get() for result in waiting]
        except gevent.Timeout:
            raise EslTimeout(f"no reply within {timeout} s") from None

    def abort(self, reason: str) -> None:
        """Drop the connection now; the reader notices and cleans up."""
        self.close_reason = self.close_reason or reason
        self.connected = False
        try:
            self.sock.shutdown(2)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def shutdown(self, say_exit: bool = True, timeout: float = 1.0) -> None:
        """Leave politely if we can, then stop both greenlets and close the socket."""
        if say_exit and self.connected:
            try:
                self.send("exit", timeout=timeout)
            except Exception:  # noqa: BLE001 - we are leaving whatever happened
                pass
        self._run = False
        self.abort("closed locally")
        for name in ("_receive_events_greenlet", "_process_events_greenlet"):
            greenlet = getattr(self, name, None)
            if greenlet is not None and not greenlet.dead:
                greenlet.join(timeout=timeout)
                if not greenlet.dead:
                    greenlet.kill(block=False)
        try:
            self.sock_file.close()
        except (OSError, AttributeError):
            pass


class SafeInboundESL(SafeProtocolMixin, gs.InboundESL):
    """greenswitch's InboundESL with the safe reader; one object per connection attempt."""

    def __init__(self, host: str, port: int, password: str, timeout: float = 5):
        gs.InboundESL.__init__(self, host, port, password, timeout=timeout)
        self._init_safe()

    def start_event_handlers(self) -> None:  # the socket exists now: set it up first
        no_delay(self.sock)
        super().start_event_handlers()

    def authenticate(self) -> None:  # greenswitch raises ValueError; say what happened
        from controller.esl.errors import EslAuthError

        reply = self.send(f"auth {self.password}", timeout=self.timeout)
        if reply.get("Reply-Text") != "+OK accepted":
            raise EslAuthError(
                f"FreeSWITCH refused the Event Socket password: {reply.get('Reply-Text')}"
            )


class SafeOutboundSession(SafeProtocolMixin, gs.OutboundSession):
    """greenswitch's OutboundSession (one accepted socket) with the safe reader."""

    def __init__(self, client_address: Any, sock: Any):
        no_delay(sock)
        gs.OutboundSession.__init__(self, client_address, sock)
        # greenswitch's makefile() has an 8 KB buffer per call; events of one channel are
        # 2-6 KB and a controller holds thousands of calls.
        self.sock_file = sock.makefile("rb", buffering=4096)
        self._init_safe()
        # greenswitch's own handlers serve its call_command()/connect(), which we do
        # not use; its on_hangup even raises when connect() was not its own.
        self.event_handlers.clear()
