"""One Event Socket connection, inbound or outbound (mod_event_socket's listener).

The runner greenlet does what ``listener_run``/``read_packet`` do: answer one
command at a time and, only while no command is being handled, write the
queued log lines and events. So an ``api`` reply always precedes the events
its command fired, and a ``bgapi`` reply precedes its BACKGROUND_JOB.
Command handling follows ``parse_command`` line by line, including its
prefix matching (``strncasecmp``) and its quirks.
"""

from __future__ import annotations

import logging
import re
import socket
import uuid as uuidlib
from collections import deque
from typing import TYPE_CHECKING

import gevent
import gevent.event

from controller.sim import wire
from controller.sim.events import EVENT_NAMES, Event, event_type
from controller.sim.fsutil import atoi, strip_cr

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.core import Core

log = logging.getLogger(__name__)

MAX_QUEUE_LEN = 100000  # mod_event_socket MAX_QUEUE_LEN
MAX_MISSED = 500
LOG_LEVELS = {"console": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4,
              "notice": 5, "info": 6, "debug": 7}  # fmt: skip
MYEVENTS = ("CHANNEL_ANSWER", "CHANNEL_APPLICATION", "CHANNEL_BRIDGE", "CHANNEL_CREATE",
            "CHANNEL_DATA", "CHANNEL_DESTROY", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE",
            "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_ORIGINATE", "CHANNEL_UUID",
            "CHANNEL_OUTGOING", "CHANNEL_PARK", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
            "CHANNEL_STATE", "CHANNEL_UNBRIDGE", "CHANNEL_UNPARK", "DETECTED_SPEECH", "DTMF",
            "NOTALK", "TALK")  # fmt: skip


def _log_level(word: str) -> int | None:
    """switch_log_str2level: a name or a number 0-7."""
    lowered = word.lower()
    if lowered in LOG_LEVELS:
        return LOG_LEVELS[lowered]
    if lowered.isdigit() and int(lowered) <= 7:
        return int(lowered)
    return None


class Listener:
    """A connected ESL peer. ``session`` is set for outbound sockets (and myevents <uuid>)."""

    def __init__(
        self,
        core: Core,
        sock: socket.socket,
        session: Channel | None = None,
        async_mode: bool = False,
        full: bool = False,
    ) -> None:
        self.core = core
        self.sock = sock
        try:  # mod_event_socket sets it on both socket kinds; without it, Nagle
            # holds an event behind its reply for a delayed ACK (~40 ms)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.session = session
        self.outbound = session is not None
        self.async_mode = async_mode
        self.full = full
        self.authed = self.outbound
        self.running = True
        self.connected = False  # LFLAG_CONNECTED: the outbound peer said `connect`
        self.events_enabled = False
        self.event_types: set[str] = set()
        self.subclasses: set[str] = set()
        self.fmt = "plain"
        self.filters: list[tuple[str, str]] = []
        self.myevents = False
        self.linger = False
        self.linger_time = -1
        self.handle_disco = False
        self.linger_deadline: float | None = None
        self.log_level: int | None = None
        self.resume = False
        self.wake = gevent.event.Event()
        self.commands: deque[wire.Command] = deque()
        self.queue: deque[Event] = deque()
        self.logs: deque[bytes] = deque()
        self.lost_events = 0
        self.peer_gone = False
        self.finished = gevent.event.Event()
        self._reader = wire.CommandReader()
        self._kill_message: str | None = None
        self._first_command_seen = False

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.core.bus.subscribe(self.offer)
        if self.session is not None:
            self.session.controllers.append(self)
        self.core.spawn(self._read_loop)
        self.core.spawn(self._run)

    def _read_loop(self) -> None:
        try:
            while self.running:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.commands.extend(self._reader.feed(data))
                self.wake.set()
        except wire.ProtocolViolation as exc:
            log.info("ESL peer broke framing: %s", exc)
        except OSError:
            pass
        self.peer_gone = True
        self.wake.set()

    def _send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.peer_gone = True
            self.running = False
            return False

    def _run(self) -> None:
        try:
            if not self.outbound:
                self._send(wire.auth_request_frame())
            self._loop()
        finally:
            self._finish()

    def _loop(self) -> None:
        clock = self.core.clock
        first_deadline = clock.now() + self.core.config.first_command_timeout
        while self.running:
            if self.commands:
                command = self.commands.popleft()
                first = not self._first_command_seen
                self._first_command_seen = True
                reply = (
                    self._handle_first(command) if first and self.outbound else self.handle(command)
                )
                if reply:
                    self._send(reply)
                continue
            if self.peer_gone:
                break
            if not self._first_command_seen and clock.now() >= first_deadline:
                break  # read_packet(…, 25): no command in time
            self._flush()
            if not self.running:
                break
            if self._check_session_down():
                break
            if (
                self.handle_disco
                and self.linger_deadline is not None
                and clock.now() >= self.linger_deadline
            ):
                break
            timeout = None
            if not self._first_command_seen:
                timeout = first_deadline - clock.now()
            if self.linger_deadline is not None:
                left = self.linger_deadline - clock.now()
                timeout = left if timeout is None else min(timeout, left)
            if self.commands or self.peer_gone:
                continue
            clock.wait(self.wake, None if timeout is None else max(timeout, 0.0))
            self.wake.clear()

    def _check_session_down(self) -> bool:
        """read_packet's channel-down handling: linger notice or the end."""
        channel = self.session
        if channel is None or self.handle_disco or not channel.down:
            return False
        if not self.linger:
            return True
        # FreeSWITCH polls for the hangup; by then the teardown events have been
        # queued (captures 05a/05b), so the notice follows HANGUP_COMPLETE.
        if not channel.hangup_complete:
            return False
        self.handle_disco = True
        self._flush()
        self._send(wire.linger_frame(channel.uuid, channel.name, self.linger_time))
        if self.linger_time != -1:
            self.linger_deadline = self.core.clock.now() + self.linger_time
        return False

    def _flush(self) -> None:
        if (
            self.session is not None
            and self.session.divert_events
            and not self.session.down
            and self.events_enabled
        ):
            while self.session.session_events:
                self.queue.append(self.session.session_events.popleft())
        chunks: list[bytes] = []
        if self.log_level is not None:
            while self.logs:
                chunks.append(self.logs.popleft())
        if self.events_enabled:
            fmt = self.fmt
            while self.queue:
                event = self.queue.popleft()
                chunks.append(event.frame(fmt))  # made once for every listener
        if chunks:
            self._send(b"".join(chunks))

    def _finish(self) -> None:
        self.running = False
        self.core.bus.unsubscribe(self.offer)
        self.core.remove_log_sink(self._on_log)
        session = self.session
        if session is not None and self in session.controllers:
            session.controllers.remove(self)
        if not self.peer_gone:
            if self.outbound and self.resume and session is not None:
                session.set_var("socket_resume", "true")
            self._send(
                wire.disconnect_frame(
                    session.uuid if session else None, self._kill_message or wire.GOODBYE
                )
            )
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.finished.set()
        if session is not None:
            session.poke()

    def close(self) -> None:
        """Drop the connection from our side (simulator shutdown)."""
        self.running = False
        self.wake.set()

    # ------------------------------------------------------------ delivery
    def offer(self, event: Event) -> None:
        """mod_event_socket event_handler for this listener."""
        if not self.events_enabled or not self.running:
            return
        if "ALL" in self.event_types:
            send = True
        elif event.name in self.event_types:
            send = event.name != "CUSTOM" or not event.subclass or event.subclass in self.subclasses
        else:
            return
        if send and self.filters:
            send = self._passes_filters(event)
        if send and self.myevents:
            uid = event.get("unique-id")
            if uid is None or (self.session is not None and uid != self.session.uuid):
                send = False
            if self.session is not None and self.session.uuid == (
                event.get("Job-Owner-UUID") or ""
            ):
                send = True
        if not send:
            return
        if len(self.queue) >= MAX_QUEUE_LEN:
            self.lost_events += 1
            if self.lost_events > MAX_MISSED:
                self._kill_message = "killed listener because of lost events\n"
                self.running = False
                self.wake.set()
            return
        self.queue.append(event)
        self.wake.set()

    def _passes_filters(self, event: Event) -> bool:
        send = False
        for name, raw in self.filters:
            value = event.get(name)
            if value is None:
                continue
            pos = True
            i = 0
            while i < len(raw):
                ch = raw[i]
                if ch == "+":
                    pos = True
                elif ch == "-":
                    pos = False
                elif ch != " ":
                    break
                i += 1
            compare = raw[i:]
            if send and pos:
                continue
            if raw.startswith("/"):
                matched = _regex_match(value, compare)
            else:
                matched = value.lower() == compare.lower()
            if matched:
                if pos:
                    send = True
                else:
                    send = False
                    break
        return send

    def _on_log(
        self, level: int, file: str, func: str, line: int, body: str, uuid: str, text_channel: int
    ) -> None:
        if self.log_level is None or level > self.log_level or not self.running:
            return
        self.logs.append(wire.log_frame(body, level, text_channel, file, func, line, uuid))
        self.wake.set()

    # ------------------------------------------------------------ commands
    def _handle_first(self, command: wire.Command) -> bytes | None:
        """Outbound: the first reply is sent only for `connect` (listener_run)."""
        reply = self.handle(command)
        return reply if command.line.lower().startswith("connect") else None

    def handle(self, command: wire.Command) -> bytes | None:
        """parse_command: returns the frame to write (None when already written)."""
        reply = self._parse(command)
        if reply is None:
            return None
        if isinstance(reply, bytes):
            return reply
        return wire.command_reply_frame(reply or "-ERR command not found")

    def _parse(self, command: wire.Command) -> str | bytes | None:  # noqa: C901 - one branch per command
        cmd = command.line
        low = cmd.lower()
        if low.startswith("exit") or cmd.startswith("..."):
            self.running = False
            return "+OK bye"
        if not self.authed:
            if low.startswith("auth "):
                if strip_cr(cmd)[5:] == self.core.config.password:
                    self.authed = True
                    return "+OK accepted"
                self.running = False
                return "-ERR invalid"
            if low.startswith("userauth "):
                self.running = False
                return "-ERR invalid"
            return ""
        if low.startswith("filter "):
            return self._filter(cmd)
        if self.session is not None and low.startswith("resume"):
            self.resume = True
            self.session.set_var("socket_resume", "true")
            return "+OK"
        if self.session is not None or low.startswith("myevents "):
            if low.startswith("connect"):
                return self._connect()
            if low.startswith("getvar"):
                name = strip_cr(cmd).partition(" ")[2]
                return (self.session.get_var(name) if self.session and name else None) or ""
            if low.startswith("myevents"):
                return self._myevents(cmd)
        if low.startswith("divert_events"):
            return self._divert(cmd)
        if low.startswith("sendmsg"):
            return self._sendmsg(command)
        if self.outbound and not self.full:
            return ""
        if low.startswith("sendevent"):
            return self._sendevent(command)
        if low.startswith("api "):
            return self._api(command)
        if low.startswith("bgapi "):
            return self._bgapi(command)
        if low.startswith("log"):
            return self._log(cmd)
        if low.startswith("linger"):
            if self.session is None:
                return "-ERR not controlling a session"
            rest = cmd[6:]
            self.linger_time = int(atoi(rest[1:])) if rest.startswith(" ") and rest[1:] else -1
            self.linger = True
            return (
                "+OK will linger"
                if self.linger_time == -1
                else f"+OK will linger {self.linger_time} seconds"
            )
        if low.startswith("nolinger"):
            if self.session is None:
                return "-ERR not controlling a session"
            self.linger = False
            return "+OK will not linger"
        if low.startswith("nolog"):
            self.logs.clear()
            if self.log_level is not None:
                self.log_level = None
                self.core.remove_log_sink(self._on_log)
                return "+OK no longer logging"
            return "-ERR not loging"
        if low.startswith("event"):
            return self._event(cmd)
        if low.startswith("nixevent"):
            return self._nixevent(cmd)
        if low.startswith("noevents"):
            self.queue.clear()
            if self.events_enabled:
                self.events_enabled = False
                self.event_types.clear()
                self.subclasses.clear()
                return "+OK no longer listening for events"
            return "-ERR not listening for events"
        return ""

    def _filter(self, cmd: str) -> str:
        rest = strip_cr(cmd)[7:].lstrip(" ")
        name, sep, value = rest.partition(" ")
        if name.lower() == "delete" and sep:
            name, sep2, value = value.partition(" ")
            if name.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [
                    (k, v)
                    for k, v in self.filters
                    if not (k.lower() == name.lower() and (not sep2 or v == value))
                ]
            return f"+OK filter deleted. [{name}][{value if sep2 else ''}]"
        if sep:
            if name.lower() == "add":
                name, sep3, value = value.partition(" ")
                if not sep3:
                    value = ""
            if value:
                self.filters.append((name, value))
            return f"+OK filter added. [{name}]=[{value if value else '(null)'}]"
        return "-ERR invalid syntax"

    def _connect(self) -> bytes:
        self.connected = True
        channel = self.session
        event = self.core.bus.create("CHANNEL_DATA", ("mod_event_socket.c", "parse_command", 2018))
        if channel is not None:
            event.extend(channel.profile_headers("Channel"))
            event.extend(channel.full_data())
        event.add("Content-Type", "command/reply")
        event.add("Reply-Text", "+OK\n")
        event.add("Socket-Mode", "async" if self.async_mode else "static")
        event.add("Control", "full" if self.full else "single-channel")
        if channel is not None:
            channel.poke()
        return _unique_headers(event).serialize("plain")

    def _myevents(self, cmd: str) -> str:
        if self.myevents:
            return "-ERR aready enabled."
        if self.session is None:
            target = strip_cr(cmd)[9:]
            uuid_text, sep, fmt = target.partition(" ")
            found = self.core.find_channel(uuid_text)
            if found is None and sep:
                return "-ERR invalid uuid"
            if found is not None:
                self.session = found
                found.controllers.append(self)
            self.async_mode = True
        self.event_types.update(MYEVENTS)
        self.myevents = True
        self.events_enabled = True
        if self.session is not None:  # offer() drops other channels' events: skip them
            self.core.bus.narrow(self.offer, self.session.uuid)
        if "xml" in cmd or "XML" in cmd:
            self.fmt = "xml"
        if "json" in cmd or "JSON" in cmd:
            self.fmt = "json"
        return "+OK Events Enabled"

    def _divert(self, cmd: str) -> str:
        if self.session is None:
            return "-ERR not controlling a session."
        onoff = strip_cr(cmd[13:].lstrip(" "))
        if not onoff:
            return "-ERR missing value."
        if onoff.lower() == "on":
            self.session.divert_events = True
            return "+OK events diverted"
        self.session.divert_events = False
        return "+OK events not diverted"

    def _sendmsg(self, command: wire.Command) -> str:
        from controller.sim.session import parse_event  # the session layer imports us

        target = strip_cr(command.line[7:].lstrip(" "))
        async_mode = self.async_mode or _true(command.header("async"))
        if not target:
            target = command.header("session-id") or ""
        if target and self.session is not None and target == self.session.uuid:
            target = ""
        if not target and self.session is not None:
            if async_mode:
                self.session.queue_private(command)
            else:
                parse_event(self.session, command)
            return "+OK"
        channel = self.core.find_channel(target)
        if channel is None:
            return f"-ERR invalid session id [{target}]"
        channel.queue_private(command)
        return "+OK"

    def _sendevent(self, command: wire.Command) -> str:
        event_uuid = str(uuidlib.uuid4())
        words = strip_cr(command.line)[9:].strip()
        name = event_type(words) if words else None
        subclass = command.header("Event-Subclass") if name == "CUSTOM" else None
        event = self.core.bus.create(
            name or "CLONE", ("mod_event_socket.c", "parse_command", 1809), subclass=subclass
        )
        event.remove("Event-Subclass")
        for key, value in command.headers:
            if key.lower() in ("event-name", "event-subclass"):
                continue
            event.add(key, value)
        event.add("Event-UUID", event_uuid)
        if command.body:
            event.body = command.body
        target = command.header("unique-id")
        channel = self.core.find_channel(target) if target else None
        if channel is not None:
            channel.queue_session_event(event)
        else:
            self.core.bus.fire(event)
        return f"+OK {event_uuid}"

    def _api(self, command: wire.Command) -> bytes:
        line = strip_cr(command.line)[4:]
        name, _, arg = line.partition(" ")
        found, output = self.core.execute_api(name, arg if _ else None, self.session)
        if not found:
            output = f"-ERR {name} Command not found!\n"
        if not output:
            output = "-ERR no reply\n"
        return wire.api_response_frame(output)

    def _bgapi(self, command: wire.Command) -> str:
        line = strip_cr(command.line)[6:]
        name, sep, arg = line.partition(" ")
        job_uuid = command.header("job-uuid") or str(uuidlib.uuid4())
        owner = self.session.uuid if self.session is not None else ""
        self.core.spawn(self._run_job, name, arg if sep else None, job_uuid, owner)
        return f"~Reply-Text: +OK Job-UUID: {job_uuid}\nJob-UUID: {job_uuid}\n\n"

    def _run_job(self, name: str, arg: str | None, job_uuid: str, owner: str) -> None:
        found, output = self.core.execute_api(name, arg)
        if not found:
            output = f"-ERR {name} Command not found!\n"
        event = self.core.bus.create("BACKGROUND_JOB", ("mod_event_socket.c", "api_exec", 1569))
        event.add("Job-UUID", job_uuid)
        event.add("Job-Owner-UUID", owner)
        event.add("Job-Command", name)
        if arg is not None:
            event.add("Job-Command-Arg", arg)
        event.body = output or "Command returned no output!"
        self.core.bus.fire(event)

    def _log(self, cmd: str) -> str:
        words = strip_cr(cmd)[3:].lstrip(" ")
        level_s = words.split(" ")[0] if words else ""
        level = _log_level(level_s) if level_s else 7
        if level is None:
            return "-ERR invalid log level"
        if self.log_level is None:
            self.core.add_log_sink(self._on_log)
        self.log_level = level
        return f"+OK log level {level_s} [{level}]"

    def _event(self, cmd: str) -> str:
        words = strip_cr(cmd)[5:]
        key_count = 0
        custom = False
        if " " in words:
            tokens = words[words.index(" ") + 1 :].split(" ")
            for count, word in enumerate(tokens):
                if count == 0 and word.lower() in ("xml", "plain", "json"):
                    self.fmt = word.lower()
                    continue
                if custom:
                    self.subclasses.add(word)
                    continue
                etype = event_type(word)
                if etype is None:
                    continue
                key_count += 1
                if etype == "ALL":
                    self.event_types.update(EVENT_NAMES)
                self.event_types.add(etype)
                if etype == "CUSTOM":
                    custom = True
        if not key_count:
            return "-ERR no keywords supplied"
        self.events_enabled = True
        return f"+OK event listener enabled {self.fmt}"

    def _nixevent(self, cmd: str) -> str:
        words = strip_cr(cmd)[8:]
        key_count = 0
        custom = False
        if " " in words:
            for word in words[words.index(" ") + 1 :].split(" "):
                if custom:
                    self.subclasses.discard(word)
                    continue
                etype = event_type(word)
                if etype is None:
                    continue
                key_count += 1
                if etype == "CUSTOM":
                    custom = True
                elif etype == "ALL":
                    self.event_types.clear()
                else:
                    if "ALL" in self.event_types:
                        self.event_types = set(EVENT_NAMES) - {"ALL"}
                    self.event_types.discard(etype)
        if not key_count:
            return "-ERR no keywords supplied"
        self.events_enabled = True
        return "+OK events nixed"


def _unique_headers(event: Event) -> Event:
    """CHANNEL_DATA events keep one header per name (EF_UNIQ_HEADERS: last write wins)."""
    headers = event.headers
    last = {name: at for at, (name, _) in enumerate(headers)}  # a name's last write
    if len(last) < len(headers):  # it stands where that last write was
        keep = set(last.values())
        event.headers = [pair for at, pair in enumerate(headers) if at in keep]
    return event


def _regex_match(value: str, pattern: str) -> bool:
    """switch_regex with a ``/re/flags`` pattern (``i`` = ignore case)."""
    body, flags = pattern, 0
    if pattern.startswith("/") and pattern.count("/") >= 2:
        end = pattern.rindex("/")
        body, opts = pattern[1:end], pattern[end + 1 :]
        if "i" in opts:
            flags |= re.IGNORECASE
    try:
        return re.search(body, value, flags) is not None
    except re.error:
        return False


def _true(value: str | None) -> bool:
    from controller.sim.fsutil import switch_true

    return switch_true(value)


