"""Outbound calls for every face: dial a number or SIP address, report how it went.

    handle = service.dialer.dial(DialRequest(to="sip:alice@example.com", answer=hook,
                                             on_outcome=report))
    handle.uuid            # the call's FreeSWITCH uuid, chosen here, known at once

The leg is originated with ``bgapi`` (nothing blocks) and its application is our
own outbound socket, ``'&socket(<[outbound] connect_address> async full)'``. When
the callee answers, FreeSWITCH connects the leg to the controller and it runs
through the same ``CallSession`` as an inbound call: direction ``outbound``, the
request's answer hook (a document to fetch) or, with ``answer=None``, waiting for
live commands (``CallSession.submit``). What the session needs to know about the
dial (dialect, numbers, hooks, time limit, the face's state) travels in one
channel variable (``cc_dial``), so a controller restarted while the phone rang
still runs the answered leg as asked.

Ringing is reported once, to ``on_ringing`` (a neutral ``EventKind.CALL_RINGING``
event), when FreeSWITCH marks the leg ring-ready or pre-answered: the 180 Ringing
fires CHANNEL_PROGRESS and a 183 with SDP CHANNEL_PROGRESS_MEDIA on the dialled leg
(switch_channel.c switch_channel_perform_mark_ring_ready_value and
switch_channel_perform_mark_pre_answered). The dialer watches those two events on the
inbound connection from the first dial that asks for ringing on.

The outcome is reported once, to ``on_outcome`` and ``DialHandle.wait``:
ANSWERED when the answered leg reaches the controller, or BUSY / NO_ANSWER /
FAILED / CANCELLED with FreeSWITCH's hangup cause (the ``-ERR <CAUSE>`` of the
originate, capture 07d). A face turns it into its webhooks (status callbacks,
``call.hangup``...). The end of an answered call is the CallSession's to report
(the hangup hook with its cause), as for inbound calls.

Engine code: no face's names here. FreeSWITCH's command strings are built by
``controller.freeswitch.originate``.
"""

from __future__ import annotations

import base64
import enum
import json
import logging
import re
import uuid as uuidlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from controller.conference.events import CallFacts, CallStatus, EngineEvent
from controller.config import Settings
from controller.esl import EslError
from controller.freeswitch import channel
from controller.freeswitch import originate as fs
from controller.model import EventKind, HttpMethod, Webhook

if TYPE_CHECKING:
    from controller.esl import InboundClient

log = logging.getLogger(__name__)

DIAL_VARIABLE = "cc_dial"  # the dial's context on the leg (base64url JSON, DialedLeg)
MAX_RING_SECONDS = 600
MAX_TIME_LIMIT_SECONDS = 86400
MAX_STATE_BYTES = 2048
# The document and the tag travel base64-encoded in the originate's {variables}; kept small.
MAX_DOCUMENT_BYTES = 8192
# An answered leg whose socket has not reached us by then never will (FreeSWITCH hangs it
# up at once when the connect fails: capture 07d, "nothing listening on 8085").
CONNECT_GRACE_SECONDS = 10.0
# bgapi waits for the BACKGROUND_JOB this long beyond the ring timeout.
JOB_MARGIN_SECONDS = 30.0
# The leg's ringing (180) and early media (183): switch_channel.c fires these from
# switch_channel_perform_mark_ring_ready_value / switch_channel_perform_mark_pre_answered.
PROGRESS_EVENTS = ("CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA")

_PHONE_NUMBER = re.compile(r"\+?[0-9*#]{1,32}\Z")
_USER_ID = re.compile(r"[A-Za-z0-9_.+\-]{1,64}\Z")
_STATE_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")


class DialError(ValueError):
    """The request cannot be dialled as given; ``field`` names what was wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DialUnavailable(RuntimeError):
    """FreeSWITCH cannot take a dial now (no Event Socket connection)."""


class Outcome(str, enum.Enum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELLED = "cancelled"


# FreeSWITCH's hangup causes (switch_channel.c CAUSE_CHART) by what they mean to a caller.
_BUSY_CAUSES = frozenset({"USER_BUSY"})
_NO_ANSWER_CAUSES = frozenset({"NO_ANSWER", "NO_USER_RESPONSE", "PROGRESS_TIMEOUT",
                               "RECOVERY_ON_TIMER_EXPIRE", "ALLOTTED_TIMEOUT"})
_CANCEL_CAUSES = frozenset({"ORIGINATOR_CANCEL", "LOSE_RACE"})


def outcome_of(cause: str, cancelled: bool = False) -> Outcome:
    if cancelled or cause in _CANCEL_CAUSES:
        return Outcome.CANCELLED
    if cause in _BUSY_CAUSES:
        return Outcome.BUSY
    if cause in _NO_ANSWER_CAUSES:
        return Outcome.NO_ANSWER
    return Outcome.FAILED


# ------------------------------------------------------------------ request
@dataclass(frozen=True)
class DialRequest:
    """One outbound call, as a face asks for it.

    ``to``: ``sip:user@host[:port]`` (any SIP address, through ``[outbound] sip_profile``),
    ``user/<id>`` or a bare id (a SIP user registered on FreeSWITCH), ``gateway/<name>/
    <number>``, or a phone number (``+15551234567``: through ``[outbound] gateway``; with
    no gateway configured, a number is a registered user's id and a ``+`` number is
    refused), or a ``controller.freeswitch.originate.Destination``.
    ``answer``: the document fetched when the callee answers; None: the answered call
    waits for live commands (``CallSession.submit``). ``hangup``: where the end of the
    answered call is reported with its cause (None: ``[app] hangup_url``).
    ``state``: the face's own short strings, kept with the call (also across a controller
    restart) and given back as ``DialedLeg.state`` and in the outcome.
    ``on_outcome``: called once with the DialOutcome; it runs on the dialer's or the
    call's greenlet, so it must not block (queue webhooks through the Notifier).
    ``on_ringing``: called at most once, with an ``EventKind.CALL_RINGING`` event (call
    status ringing, FreeSWITCH's time of the 180/183), when the callee starts ringing;
    same rules as ``on_outcome``. A leg answered at once may never ring.
    """

    to: str | fs.Destination
    from_number: str = ""  # "" -> [outbound] caller_id_number
    from_name: str = ""  # "" -> [outbound] caller_id_name
    dialect: str = ""  # "" -> [app] dialect
    answer: Webhook | None = None
    hangup: Webhook | None = None
    timeout_secs: int = 0  # ring time before NO_ANSWER; 0 -> [outbound] ring_timeout
    time_limit_secs: int = 0  # the answered call is hung up after this long; 0: no limit
    state: Mapping[str, str] = field(default_factory=dict)
    on_outcome: Callable[[DialOutcome], None] | None = None
    on_ringing: Callable[[EngineEvent], None] | None = None
    call_uuid: str = ""  # "" -> a new uuid4 (the face may choose its own)
    # Markup in the dialect's language that the answered call runs instead of fetching
    # ``answer`` (a REST call that dials a participant into a room, Twilio's Twiml=).
    document: str = ""
    tag: str | None = None  # the call's first tag (CallSession.tag), e.g. Bandwidth's tag


@dataclass(frozen=True)
class DialOutcome:
    kind: Outcome
    leg: DialedLeg  # what was dialled: numbers, dialect, hooks, the face's state
    cause: str = ""  # FreeSWITCH's hangup cause (USER_BUSY, NO_ANSWER...); "" when answered
    detail: str = ""  # for logs and error messages

    @property
    def uuid(self) -> str:
        return self.leg.uuid

    @property
    def state(self) -> Mapping[str, str]:
        return self.leg.state

    @property
    def answered(self) -> bool:
        return self.kind is Outcome.ANSWERED


# ------------------------------------------------------------------ what the leg carries
@dataclass(frozen=True)
class DialedLeg:
    """A dialled leg's context, read back from its channel when it connects. Pure."""

    uuid: str
    to: str
    from_number: str
    from_name: str
    dialect: str
    answer: Webhook | None = None  # None: wait for live commands
    hangup: Webhook | None = None
    time_limit_secs: int = 0
    state: Mapping[str, str] = field(default_factory=dict)
    document: str = ""  # markup run when answered instead of fetching ``answer``
    tag: str | None = None

    def encode(self) -> str:
        data = {
            "v": 1, "to": self.to, "from": self.from_number, "name": self.from_name,
            "dialect": self.dialect, "answer": _hook_dict(self.answer),
            "hangup": _hook_dict(self.hangup), "limit": self.time_limit_secs,
            "state": dict(self.state),
        }
        if self.document:
            data["doc"] = self.document
        if self.tag is not None:
            data["tag"] = self.tag
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode()
        # base64url: letters, digits, - and _ only, so nothing to escape in the originate.
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, uuid: str, value: str) -> DialedLeg:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(raw)
            return cls(
                uuid=uuid, to=str(data["to"]), from_number=str(data["from"]),
                from_name=str(data["name"]), dialect=str(data["dialect"]),
                answer=_hook_from(data.get("answer")), hangup=_hook_from(data.get("hangup")),
                time_limit_secs=int(data.get("limit") or 0),
                state=MappingProxyType({str(k): str(v) for k, v in
                                        (data.get("state") or {}).items()}),
                document=str(data.get("doc") or ""),
                tag=None if data.get("tag") is None else str(data["tag"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"the {DIAL_VARIABLE} channel variable is not ours: {exc}") from None

    @classmethod
    def from_fields(cls, fields: Any) -> DialedLeg | None:
        """From a connect reply (anything with ``get(header)``); None for a call we did not
        dial. Raises ValueError when the variable is there but unreadable."""
        value = fields.get(f"variable_{DIAL_VARIABLE}")
        if not value:
            return None
        return cls.decode(fields.get("Unique-ID", ""), value)


def _hook_dict(hook: Webhook | None) -> dict[str, Any] | None:
    if hook is None:
        return None
    data = {"url": hook.url, "method": hook.method.value}
    optional = {"username": hook.username, "password": hook.password,
                "fallback_url": hook.fallback_url, "fallback_username": hook.fallback_username,
                "fallback_password": hook.fallback_password}
    data.update({k: v for k, v in optional.items() if v})
    if hook.fallback_url:
        data["fallback_method"] = hook.fallback_method.value
    if hook.timeout is not None:
        data["timeout"] = hook.timeout
    return data


def _hook_from(data: Any) -> Webhook | None:
    if data is None:
        return None
    return Webhook(
        url=str(data["url"]), method=HttpMethod(data.get("method", "POST")),
        username=str(data.get("username", "")), password=str(data.get("password", "")),
        fallback_url=str(data.get("fallback_url", "")),
        fallback_method=HttpMethod(data.get("fallback_method", "POST")),
        fallback_username=str(data.get("fallback_username", "")),
        fallback_password=str(data.get("fallback_password", "")),
        timeout=float(data["timeout"]) if data.get("timeout") is not None else None,
    )


# ------------------------------------------------------------------ destinations
def parse_destination(to: str | fs.Destination, settings: Settings) -> fs.Destination:
    """The neutral ``to`` forms (see DialRequest) -> a Destination; DialError("to") if none
    fits. Only the form is checked here; the builders check every character."""
    if not isinstance(to, str):
        destination = to
    else:
        text = to.strip()
        outbound = settings.outbound
        lowered = text.lower()
        if lowered.startswith("sips:"):
            raise DialError("to", f"{text[:80]!r}: sips: is not supported; use sip:")
        if lowered.startswith("sip:"):
            destination = fs.SipUri(text, outbound.sip_profile)
        elif lowered.startswith("user/"):
            destination = fs.SipUser(text[5:])
        elif lowered.startswith("gateway/"):
            name, _, number = text[8:].partition("/")
            destination = fs.GatewayNumber(name, number)
        elif _PHONE_NUMBER.match(text) and outbound.gateway:
            destination = fs.GatewayNumber(outbound.gateway, text)
        elif text.startswith("+"):
            raise DialError("to", f"{text[:80]!r} is a phone number, but no gateway is "
                                  "configured to dial it ([outbound] gateway, "
                                  "CC_OUTBOUND_GATEWAY)")
        elif _USER_ID.match(text):
            destination = fs.SipUser(text)
        else:
            raise DialError("to", f"{text[:80]!r} is not a destination: use sip:user@host, "
                                  "user/<id>, gateway/<name>/<number> or a phone number")
    try:
        destination.dial_string()
    except fs.OriginateError as exc:
        raise DialError("to", str(exc)) from None
    return destination


def destination_text(destination: fs.Destination) -> str:
    """How the call's ``to`` is shown to the application."""
    if isinstance(destination, fs.SipUri):
        uri = destination.uri
        return uri if uri.lower().startswith("sip:") else f"sip:{uri}"
    if isinstance(destination, fs.GatewayNumber):
        return destination.number
    return destination.user


def connect_address(outbound: Any, listening: tuple[str, int]) -> tuple[str, int]:
    """Where FreeSWITCH's socket app reaches our outbound server: ``[outbound]
    connect_address``, else the listening address (a wildcard address means this host)."""
    if outbound.connect_address:
        host, _, port = outbound.connect_address.rpartition(":")
        return host.strip("[]"), int(port)
    host, port = listening[:2]
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return host, port


def ringing_event(leg: DialedLeg, timestamp_us: int) -> EngineEvent:
    """The neutral CALL_RINGING event of a dialled leg (its call id is the face's)."""
    from controller import dialects

    facts = CallFacts(uuid=leg.uuid, caller_number=leg.from_number, caller_name=leg.from_name,
                      destination=leg.to, direction="outbound", dialect=leg.dialect,
                      call_id=dialects.get(leg.dialect).call_id(leg.uuid))
    return EngineEvent(EventKind.CALL_RINGING, call=facts, call_status=CallStatus.RINGING,
                       timestamp_us=timestamp_us)


# ------------------------------------------------------------------ handles
class DialHandle:
    """One dial in progress: its uuid at once, its outcome when known."""

    def __init__(self, uuid: str, request: DialRequest, leg: DialedLeg):
        self.uuid = uuid
        self.request = request
        self.leg = leg
        self.cancelled = False
        self.fs_answered = False  # originate said +OK: the leg answered
        self.rang = False  # CHANNEL_PROGRESS(_MEDIA) seen and reported
        self._outcome: gevent.event.AsyncResult = gevent.event.AsyncResult()

    @property
    def outcome(self) -> DialOutcome | None:
        return self._outcome.value if self._outcome.ready() else None

    def wait(self, timeout: float | None = None) -> DialOutcome | None:
        """The outcome, or None if it is not known after ``timeout`` seconds."""
        try:
            return self._outcome.get(timeout=timeout)
        except gevent.Timeout:
            return None

    def _settle(self, outcome: DialOutcome) -> bool:
        if self._outcome.ready():
            return False
        self._outcome.set(outcome)
        return True

    def __repr__(self) -> str:
        return f"DialHandle({self.uuid}, {self.outcome.kind.value if self.outcome else 'ringing'})"


# ------------------------------------------------------------------ dialer
class Dialer:
    def __init__(self, esl: InboundClient, settings: Settings,
                 socket_address: Callable[[], tuple[str, int]]):
        """``socket_address``: where FreeSWITCH connects answered legs (host, port)."""
        self.esl = esl
        self.settings = settings
        self.socket_address = socket_address
        self._dials: dict[str, DialHandle] = {}
        self._progress: Any = None  # the inbound connection's progress events, once wanted

    # ------------------------------------------------------------ requests
    def prepare(self, request: DialRequest) -> tuple[DialedLeg, str]:
        """Validate a request: the leg's context and the originate command (pure apart from
        the settings). DialError names the field at fault."""
        from controller import dialects

        outbound = self.settings.outbound
        destination = parse_destination(request.to, self.settings)
        call_uuid = request.call_uuid or str(uuidlib.uuid4())
        try:
            fs.uuid(call_uuid)
        except fs.UnsafeArgument as exc:
            raise DialError("call_uuid", str(exc)) from None
        dialect = request.dialect or self.settings.app.dialect
        if dialect not in dialects.names():
            raise DialError("dialect", f"unknown dialect {dialect!r}; known: "
                                       + ", ".join(dialects.names()))
        if request.answer is None and not request.document and \
                getattr(dialects.get(dialect), "has_markup", True):
            raise DialError("answer", f"the {dialect} face runs documents: give the answer "
                                      "URL the answered call fetches, or the document")
        if len(request.document.encode()) > MAX_DOCUMENT_BYTES:
            raise DialError("document", f"more than {MAX_DOCUMENT_BYTES} bytes")
        if request.tag is not None and len(request.tag.encode()) > MAX_DOCUMENT_BYTES:
            raise DialError("tag", f"more than {MAX_DOCUMENT_BYTES} bytes")
        ring = request.timeout_secs or outbound.ring_timeout
        if not 1 <= ring <= MAX_RING_SECONDS:
            raise DialError("timeout_secs", f"{ring} is not 1-{MAX_RING_SECONDS} seconds")
        if not 0 <= request.time_limit_secs <= MAX_TIME_LIMIT_SECONDS:
            raise DialError("time_limit_secs", f"{request.time_limit_secs} is not "
                                               f"0-{MAX_TIME_LIMIT_SECONDS} seconds")
        for key in request.state:
            if not _STATE_KEY.match(str(key)):
                raise DialError("state", f"key {str(key)[:80]!r} is not 1-64 of A-Z a-z "
                                         "0-9 _ . -")
        if len(json.dumps(dict(request.state))) > MAX_STATE_BYTES:
            raise DialError("state", f"more than {MAX_STATE_BYTES} bytes")
        leg = DialedLeg(
            uuid=call_uuid, to=destination_text(destination),
            from_number=request.from_number or outbound.caller_id_number,
            from_name=request.from_name or outbound.caller_id_name,
            dialect=dialect, answer=request.answer, hangup=request.hangup,
            time_limit_secs=request.time_limit_secs,
            state=MappingProxyType({str(k): str(v) for k, v in request.state.items()}),
            document=request.document, tag=request.tag,
        )
        variables = {fs.ORIGINATION_UUID: call_uuid,
                     fs.IGNORE_EARLY_MEDIA: "true",
                     fs.ORIGINATE_TIMEOUT: str(ring)}
        for name, value, what in ((fs.CALLER_ID_NUMBER, leg.from_number, "from_number"),
                                  (fs.CALLER_ID_NAME, leg.from_name, "from_name")):
            if value:
                try:
                    fs.variable_value(value, what)  # checked here to name the field
                except fs.OriginateError as exc:
                    raise DialError(what, str(exc)) from None
                variables[name] = value
        variables[DIAL_VARIABLE] = leg.encode()
        host, port = self.socket_address()
        try:
            command = fs.originate(destination, variables, fs.socket_app(host, port))
        except fs.OriginateError as exc:
            raise DialError("to", str(exc)) from None
        return leg, command

    def dial(self, request: DialRequest) -> DialHandle:
        """Start ringing; returns at once. DialError: bad request (nothing dialled);
        DialUnavailable: FreeSWITCH is not connected (nothing dialled)."""
        leg, command = self.prepare(request)
        if leg.uuid in self._dials:
            raise DialError("call_uuid", f"{leg.uuid} is already being dialled")
        if not self.esl.connected:
            raise DialUnavailable("FreeSWITCH is not connected; nothing was dialled")
        handle = DialHandle(leg.uuid, request, leg)
        self._dials[leg.uuid] = handle
        if request.on_ringing is not None and self._progress is None:
            # Subscribed before the originate is sent (its greenlet is spawned after), so
            # the first ringing is not missed.
            self._progress = self.esl.subscribe("dialer-progress", PROGRESS_EVENTS)
            gevent.spawn(self._progress.handle_forever, self._ringing,
                         "dial progress event not handled")
        ring = request.timeout_secs or self.settings.outbound.ring_timeout
        log.info("dialling %s from %s (call %s)", leg.to, leg.from_number or "-", leg.uuid)
        gevent.spawn(self._originate, handle, command, ring + JOB_MARGIN_SECONDS)
        return handle

    def get(self, call_uuid: str) -> DialHandle | None:
        """A dial still ringing (or answered but not yet connected)."""
        return self._dials.get(call_uuid)

    def cancel(self, handle: DialHandle | str) -> bool:
        """Hang up a leg that is still ringing (uuid_kill). False when it is no longer
        ringing (answered, failed, or unknown)."""
        target = self._dials.get(handle if isinstance(handle, str) else handle.uuid)
        if target is None or target.outcome is not None or target.fs_answered:
            return False
        target.cancelled = True
        try:
            self.esl.api(channel.uuid_kill(target.uuid, "ORIGINATOR_CANCEL"))
        except EslError as exc:
            log.warning("cancel of %s: %s", target.uuid, exc)
        return True

    # ------------------------------------------------------------ outcomes
    def leg_connected(self, call_uuid: str) -> None:
        """The answered leg reached our outbound socket (called by its CallSession)."""
        handle = self._dials.pop(call_uuid, None)
        if handle is not None:
            self._report(handle, DialOutcome(Outcome.ANSWERED, handle.leg))

    def _ringing(self, event: Any) -> None:
        handle = self._dials.get(event.get("Unique-ID", ""))
        if handle is None or handle.rang or handle.fs_answered or handle.outcome is not None:
            return
        handle.rang = True
        callback = handle.request.on_ringing
        if callback is None:
            return
        callback(ringing_event(handle.leg, event.timestamp_us))

    def _originate(self, handle: DialHandle, command: str, wait: float) -> None:
        try:
            reply = self.esl.bgapi(command, timeout=wait)
        except EslError as exc:
            log.error("dial %s: FreeSWITCH did not take the originate: %s", handle.uuid, exc)
            self._fail(handle, "", f"FreeSWITCH did not take the originate: {exc}")
            return
        result = fs.originate_result(reply)
        if result.ok:
            handle.fs_answered = True
            if handle.cancelled:  # answered as we cancelled: the caller wants it gone
                self._kill(handle.uuid)
            gevent.spawn_later(CONNECT_GRACE_SECONDS, self._check_connected, handle)
            return
        detail = f"originate answered {result.text!r}"
        log.info("dial %s to %s: %s", handle.uuid, handle.leg.to, result.text)
        self._fail(handle, result.cause, detail)

    def _check_connected(self, handle: DialHandle) -> None:
        if self._dials.get(handle.uuid) is handle:
            host, port = self.socket_address()
            self._fail(handle, "NORMAL_CLEARING",
                       f"the leg answered but never reached the controller at {host}:{port} "
                       "(check [outbound] connect_address)")
            self._kill(handle.uuid)

    def _fail(self, handle: DialHandle, cause: str, detail: str) -> None:
        if self._dials.get(handle.uuid) is handle:
            del self._dials[handle.uuid]
        kind = outcome_of(cause, handle.cancelled)
        self._report(handle, DialOutcome(kind, handle.leg, cause, detail))

    def _kill(self, call_uuid: str) -> None:
        try:
            self.esl.api(channel.uuid_kill(call_uuid, "ORIGINATOR_CANCEL"))
        except EslError:
            pass

    def _report(self, handle: DialHandle, outcome: DialOutcome) -> None:
        if not handle._settle(outcome):
            return
        if handle.request.on_outcome is None:
            return
        try:
            handle.request.on_outcome(outcome)
        except Exception:  # a face's bug must not break the dialer or the call
            log.exception("dial %s: the outcome handler failed", handle.uuid)
