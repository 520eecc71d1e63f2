"""Outbound Event Socket: FreeSWITCH's `socket` app connects to us, one TCP connection per call.

``gevent.server.StreamServer`` accepts (greenswitch's ``listen()`` polls
``accept()`` every 100 ms and calls ``sys.exit()`` when it cannot bind), and
each accepted socket is wrapped in greenswitch's ``OutboundSession`` (with the
safe reader) inside one ``OutboundSession`` of ours, handed to the call handler
in its own greenlet. The session is closed on every path out of the handler.
"""

from __future__ import annotations

import itertools
import logging
import socket
import uuid
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.queue
from gevent.server import StreamServer

from controller.esl.errors import CallerGone, EslCommandError, EslError, EslTimeout
from controller.esl.frames import Event, encode_command
from controller.esl.protocol import CLOSED, SafeOutboundSession

# The event-uuid of each sendmsg execute: FreeSWITCH keeps it as the app_uuid variable and
# reports it as Application-UUID on that app's CHANNEL_EXECUTE(_COMPLETE) (switch_ivr.c
# switch_ivr_parse_event, switch_core_session.c switch_core_session_execute_application_get_flags):
# any string. A random per-process prefix and a counter, shaped like a UUID, cost a tenth of
# uuid4 (a dozen per join); the prefix keeps an app started by an earlier controller process
# from passing for one of ours.
_APP_ID_PREFIX = str(uuid.uuid4())[:24]  # "xxxxxxxx-xxxx-xxxx-xxxx-", then 12 hex digits
_app_ids = itertools.count(1)

log = logging.getLogger(__name__)

# Not a FreeSWITCH event: put in a session's event queue by ``wake`` so a greenlet
# blocked on the queue looks at its commands (live control of a running call).
WAKE = "CONTROLLER_WAKE"

# Inline header values longer than this go in a body (FreeSWITCH's own limit on
# a header line is generous, but a body is the documented way for long args).
_MAX_INLINE_ARG = 1024


class Execution:
    """A running dialplan application, identified by the event-uuid we gave it."""

    def __init__(self, session: OutboundSession, app: str, app_uuid: str,
                 quiet: bool = False):
        self.session = session
        self.app = app
        self.app_uuid = app_uuid
        # A quiet app's completion is filtered out on this socket (prepare's quiet_apps):
        # it never comes, so asking for it is a bug, reported as one rather than a hang.
        self.quiet = quiet
        self._done: gevent.event.AsyncResult = gevent.event.AsyncResult()

    def _check_not_quiet(self) -> None:
        if self.quiet:
            raise RuntimeError(
                f"the completion of {self.app!r} is filtered out on this call's socket "
                f"(quiet_apps); take {self.app!r} out of quiet_apps to wait for it")

    @property
    def done(self) -> bool:
        self._check_not_quiet()
        return self._done.ready()

    def wait(self, timeout: float | None = None) -> Event:
        """The CHANNEL_EXECUTE_COMPLETE event; CallerGone if the call went first."""
        self._check_not_quiet()
        try:
            return self._done.get(timeout=timeout)
        except gevent.Timeout:
            raise EslTimeout(f"{self.app} did not complete within {timeout} s") from None


class OutboundSession:
    """One call's outbound socket: connect, subscribe, execute apps, hang up, close."""

    def __init__(self, sock: Any, address: Any, command_timeout: float = 5.0):
        self.address = address
        self.command_timeout = command_timeout
        self.channel: Event = Event([])
        self.events: gevent.queue.Queue = gevent.queue.Queue()
        self.hungup = gevent.event.Event()
        self.ended = gevent.event.Event()  # no more events will come
        # The socket closed with no hangup seen and not by us: the call may well be up
        # (controller restart, network fault); FreeSWITCH goes on with its dialplan.
        self.lost = False
        self._closing = False
        self.hangup_cause = ""
        self.hangup_events: list[Event] = []
        self._executions: dict[str, Execution] = {}
        self._quiet_apps: tuple[str, ...] = ()
        self._quiet_actions: set[str] = set()
        self._esl = SafeOutboundSession(address, sock)
        self._esl.register_handle("*", self._on_event)
        self._esl.register_handle("DISCONNECT", self._on_disconnect)

    # ------------------------------------------------------------ properties
    @property
    def uuid(self) -> str:
        return self.channel.get("Unique-ID", "")

    @property
    def lingering(self) -> bool:
        return self._esl._lingering

    @property
    def socket_open(self) -> bool:
        return self._esl.connected

    # ------------------------------------------------------------ events
    def _on_event(self, event: Event) -> None:
        name = event.name
        if name == "CHANNEL_EXECUTE_COMPLETE":
            # Application-UUID comes once, after the channel's ~6 KB of headers and
            # variables (capture 05a: the last header of every CHANNEL_EXECUTE_COMPLETE;
            # switch_core_session.c adds it after switch_channel_event_set_data): found
            # from the end instead of scanning all of them.
            execution = self._executions.pop(event.get_last("Application-UUID", ""), None)
            if execution is not None:
                execution._done.set(event)
        elif name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
            self.hangup_cause = event.get("Hangup-Cause", self.hangup_cause)
            # kept: whoever reports the end reads their time stamps and channel times,
            # even when a loop waiting on ``events`` already took them from the queue
            self.hangup_events.append(event)
            self.hungup.set()
        self.events.put_nowait(event)

    def _on_disconnect(self, event: Event) -> None:
        disposition = event.get("Content-Disposition", "")
        # The linger notice comes after the channel hung up and its events were flushed;
        # a disconnect notice we did not ask for (no `exit`) means the same without linger.
        if disposition == "linger" or (disposition == "disconnect" and not self._closing):
            self.hungup.set()
        if disposition in ("linger", "disconnect", CLOSED):
            if disposition == CLOSED and not self.hungup.is_set() and not self._closing:
                self.lost = True
            self._fail_executions()
            self.ended.set()
        self.events.put_nowait(event)

    def _fail_executions(self) -> None:
        pending, self._executions = self._executions, {}
        for execution in pending.values():
            gone = CallerGone(f"call ended before {execution.app} completed")
            execution._done.set_exception(gone)

    # ------------------------------------------------------------ commands
    def command(self, line: str, headers: list[tuple[str, str]] = (), body: str = "",
                timeout: float | None = None) -> Event:
        """Send a command; CallerGone if the socket is closed."""
        if not self._esl.connected:
            raise CallerGone(self._esl.close_reason or "socket closed")
        raw = encode_command(line, headers, body)
        try:
            return self._esl.send_raw(raw, timeout or self.command_timeout)
        except EslTimeout:
            raise
        except EslError as exc:
            raise CallerGone(str(exc)) from None

    def _expect_ok(self, line: str, headers: list[tuple[str, str]] = (), body: str = "") -> str:
        reply = self.command(line, headers, body)
        text = reply.get("Reply-Text", "")
        if not text.startswith("+OK"):
            raise EslCommandError(line, text)
        return text

    def connect(self, keep: tuple[str, ...] = ()) -> Event:
        """The first command: FreeSWITCH answers with the channel's data (~170 headers, an
        Event: read what you need with ``get``). ``channel`` keeps only Unique-ID and the
        ``keep`` headers: a call lives long, 6 KB a call adds up."""
        reply = self.command("connect")
        fields = ("Unique-ID", *keep)
        self.channel = Event([(name, value) for name in fields
                              if (value := reply.get(name)) is not None])
        if not self.uuid:
            raise EslCommandError("connect", "reply without Unique-ID")
        return reply

    def myevents(self) -> None:
        self._expect_ok("myevents")

    def linger(self, seconds: int | None = None) -> None:
        self._expect_ok("linger" if seconds is None else f"linger {int(seconds)}")

    def subscribe(self, *keys: str) -> None:
        from controller.esl.inbound import subscription_command

        self._expect_ok(subscription_command(keys))

    def filter(self, header: str, value: str) -> None:
        """Once any filter exists FreeSWITCH sends only events matching one of them."""
        self._expect_ok(f"filter {header} {value}")

    def prepare(self, linger_seconds: int, subclasses: list[str],
                only_events: list[str], quiet_apps: tuple[str, ...] = (),
                quiet_actions: tuple[str, ...] = ()) -> None:
        """The call's event set-up in one write: this channel's events only (myevents),
        the socket kept ``linger_seconds`` after hangup for the last events, the CUSTOM
        ``subclasses``, and filters so that only ``only_events`` and those subclasses
        are sent (everything else is ~6 KB an event parsed for nothing).

        ``quiet_apps``: applications whose CHANNEL_EXECUTE(_COMPLETE) nobody here waits
        for (ones FreeSWITCH runs on its own, e.g. a digit binding's ``event``, and
        set-up apps queued without waiting, e.g. ``set``): a negative filter drops them,
        and their Executions refuse to be waited for. mod_event_socket.c event_handler:
        a filter value starting with ``-`` that matches sets send = 0 and ends the filter loop,
        whatever positive filter matched before; only execute events carry the
        ``Application`` header (switch_core_session.c, CHANNEL_EXECUTE_COMPLETE).
        ``quiet_actions``: conference::maintenance actions dropped the same way (``-``
        filters cannot be regular expressions: event_handler tests ``*hp->value == '/'``,
        which is the ``-``), until ``hear_actions`` takes them back."""
        from controller.esl.inbound import subscription_command

        self._quiet_actions.update(quiet_actions)
        # the caller's tuple itself (a module constant): a set made per call was 0.7 KB
        # a member (capacity benchmark); `in` over a few names costs no more
        self._quiet_apps = (*self._quiet_apps, *quiet_apps) if self._quiet_apps else quiet_apps
        self.commands([
            "myevents",
            f"linger {int(linger_seconds)}",
            subscription_command(subclasses),
            *(f"filter Event-Name {name}" for name in only_events),
            *(f"filter Event-Subclass {name}" for name in subclasses),
            *(f"filter Application -{app}" for app in quiet_apps),
            *(f"filter Action -{action}" for action in quiet_actions),
        ])

    def hear_actions(self, actions: tuple[str, ...]) -> None:
        """Undo ``quiet_actions`` for these (mod_event_socket.c: ``filter delete <header>
        <value>`` removes that header/value pair)."""
        quiet = [action for action in actions if action in self._quiet_actions]
        if quiet:
            self.commands([f"filter delete Action -{action}" for action in quiet])
            self._quiet_actions.difference_update(quiet)

    def wake(self) -> None:
        """Wake whoever waits on ``events`` (safe from any greenlet)."""
        self.events.put_nowait(Event([("Event-Name", WAKE)]))

    def commands(self, lines: list[str]) -> list[str]:
        """Plain commands (myevents, linger, event, filter...) in one write; each must be
        answered +OK. Returns the Reply-Texts."""
        if not self._esl.connected:
            raise CallerGone(self._esl.close_reason or "socket closed")
        try:
            replies = self._esl.send_many([encode_command(line) for line in lines],
                                          self.command_timeout)
        except EslTimeout:
            raise
        except EslError as exc:
            raise CallerGone(str(exc)) from None
        texts = [reply.get("Reply-Text", "") for reply in replies]
        for line, text in zip(lines, texts, strict=True):
            if not text.startswith("+OK"):
                raise EslCommandError(line, text)
        return texts

    def divert_events(self, on: bool = True) -> None:
        self._expect_ok(f"divert_events {'on' if on else 'off'}")

    def api(self, command: str, timeout: float | None = None) -> str:
        return self.command(f"api {command}", timeout=timeout).body

    def execute(self, app: str, arg: str = "", *, timeout: float | None = None) -> Event:
        """Run an app and wait for its CHANNEL_EXECUTE_COMPLETE."""
        return self.start(app, arg).wait(timeout)

    def start(self, app: str, arg: str = "", *, event_lock: bool = False,
              loops: int = 1) -> Execution:
        """sendmsg execute without waiting; the Execution completes with the app.

        The event-uuid we send comes back as Application-UUID on CHANNEL_EXECUTE_COMPLETE,
        so completions are matched exactly, whatever app runs twice or nested.
        ``event_lock`` keeps later queued messages waiting until this app returns
        (but it also holds back ``bind_digit_action`` ``exec:`` actions, which
        are queued the same way). ``loops=-1`` repeats the app until hangup.
        """
        return self.start_many([(app, arg, event_lock, loops)])[0]

    def start_many(self, apps: list[tuple[str, str, bool, int]]) -> list[Execution]:
        """Several ``start``s, (app, arg, event_lock, loops) each, in one write: FreeSWITCH
        queues and runs them in order, we do not wait a round trip for each."""
        if self.hungup.is_set():
            raise CallerGone(f"call is gone; cannot run {apps[0][0]}")
        raws, executions = [], []
        for app, arg, event_lock, loops in apps:
            raw, execution = self._sendmsg(app, arg, event_lock, loops)
            raws.append(raw)
            executions.append(execution)
            if not execution.quiet:  # a quiet app's completion never comes
                self._executions[execution.app_uuid] = execution
        try:
            replies = self._esl.send_many(raws, self.command_timeout)
        except BaseException as exc:
            for execution in executions:
                self._executions.pop(execution.app_uuid, None)
            if isinstance(exc, EslError) and not isinstance(exc, EslTimeout):
                raise CallerGone(str(exc)) from None
            raise
        for (app, *_), reply in zip(apps, replies, strict=True):
            text = reply.get("Reply-Text", "")
            if not text.startswith("+OK"):
                for execution in executions:
                    self._executions.pop(execution.app_uuid, None)
                raise EslCommandError(f"sendmsg {app}", text)
        return executions

    def _sendmsg(self, app: str, arg: str, event_lock: bool,
                 loops: int) -> tuple[bytes, Execution]:
        app_uuid = f"{_APP_ID_PREFIX}{next(_app_ids):012x}"
        headers = [("call-command", "execute"), ("execute-app-name", app),
                   ("event-uuid", app_uuid)]
        if event_lock:
            headers.append(("event-lock", "true"))
        if loops != 1:
            headers.append(("loops", str(loops)))
        body = ""
        if arg:
            if len(arg) > _MAX_INLINE_ARG or "\n" in arg or "\r" in arg:
                headers.append(("Content-Type", "text/plain"))
                body = arg
            else:
                headers.append(("execute-app-arg", arg))
        if not self._esl.connected:
            raise CallerGone(self._esl.close_reason or "socket closed")
        return (encode_command("sendmsg", headers, body),
                Execution(self, app, app_uuid, quiet=app in self._quiet_apps))

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        if self.hungup.is_set():
            return
        self._expect_ok("sendmsg", [("call-command", "hangup"), ("hangup-cause", cause)])

    # ------------------------------------------------------------ teardown
    def detach(self, timeout: float = 2.0) -> None:
        """Let go of a live call (controller shutdown): FreeSWITCH keeps it and runs the
        dialplan's next application when the current one returns. Whoever waits on this
        session sees it ``lost``, not hung up."""
        if not self.hungup.is_set():
            self.lost = True
        self.close(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Release the socket: ``exit`` (FreeSWITCH ends the linger), then close."""
        self._closing = True
        self._fail_executions()
        self._esl.shutdown(say_exit=self._esl.connected, timeout=timeout)
        self.ended.set()


CallHandler = Callable[[OutboundSession], Any]


class OutboundServer:
    """Accepts FreeSWITCH's outbound sockets and runs ``handler(session)`` for each."""

    def __init__(self, host: str, port: int, handler: CallHandler, *,
                 command_timeout: float = 5.0, backlog: int = 1024,
                 listener: socket.socket | None = None):
        """``listener``: a socket already bound and listening (then ``host``/``port`` are
        not used), e.g. bound to port 0 by whoever must learn the port before we start;
        it is closed by ``stop``."""
        self.handler = handler
        self.command_timeout = command_timeout
        self.sessions: set[OutboundSession] = set()
        self.accepted = 0
        if listener is not None:  # its backlog was set by whoever called listen()
            self._server = StreamServer(listener, self._handle)
        else:
            self._server = StreamServer((host, port), self._handle, backlog=backlog)

    def start(self) -> None:
        """Bind and accept. Raises OSError naming the address when it cannot bind."""
        try:
            self._server.start()
        except OSError as exc:
            host, port = self._server.address[:2]
            raise OSError(exc.errno, f"cannot listen for FreeSWITCH on {host}:{port}: "
                                     f"{exc.strerror}") from None

    @property
    def address(self) -> tuple[str, int]:
        return self._server.address[:2]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting and let go of every call: they stay up in FreeSWITCH."""
        for session in list(self.sessions):
            session.detach(timeout=0.5)
        self._server.stop(timeout=timeout)

    def _handle(self, sock: Any, address: Any) -> None:
        self.accepted += 1
        session = OutboundSession(sock, address, self.command_timeout)
        self.sessions.add(session)
        try:
            self.handler(session)
        except CallerGone as exc:
            log.info("call ended while the controller was acting on it: %s", exc)
        except Exception:
            log.exception("call handler failed")
        finally:
            self.sessions.discard(session)
            try:
                session.close()
            except Exception:
                log.exception("closing the outbound session failed")
