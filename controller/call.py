"""CallSession: one greenlet per call, running the application's document verb by verb.

    connect, myevents, linger, subscribe conference::maintenance (own events only)
    fetch the answer URL -> Document (in the call's dialect)
    Speak / Play / Wait / Gather / Hangup / Redirect / Conference, in order
    hang up when the document ends; hangup request with the cause

Other greenlets control a running call only through ``submit`` (redirect, hang
up, join a room, play, send digits): the command is queued and the call's own
greenlet, woken through its event queue, acts on it. Nothing else touches the
call's socket.

Errors follow one path (``_fail``): the application's document cannot be used
(HTTP failure, bad markup) -> logged with the call UUID and the exact problem,
the error sound is played, the call is hung up, and the hangup request
carries ``Error``. Nothing here can affect another call.
"""

from __future__ import annotations

import collections
import logging
import time

from controller import dialects
from controller.calls import (
    INTERRUPTING,
    CallCommand,
    CallRegistry,
    HangupCall,
    JoinRoom,
    PlayToCall,
    RedirectCall,
    RunOnCall,
    SendDigits,
)
from controller.conference.events import CallFacts, CallStatus, EngineEvent
from controller.conference.rooms import RoomManager
from controller.config import Settings
from controller.dialects.base import (
    CallTimes,
    Dialect,
    Purpose,
    RequestContext,
    UnsupportedMarkup,
    channel_times,
)
from controller.dialer import DialedLeg
from controller.esl import CallerGone, EslError, EslTimeout, Event, Execution, OutboundSession
from controller.esl.outbound import WAKE
from controller.freeswitch import apps, channel
from controller.freeswitch.cluster import MOVE_VARIABLE
from controller.journal import CallJournal, JournalEntry, MemoryJournal
from controller.logs import log_context
from controller.media import BEEP_ONE, BEEP_TWO, play_call, speak_call, wait_calls
from controller.media_cache import MediaCache, MediaError
from controller.model import (
    ConferenceJoin,
    Document,
    EventKind,
    Gather,
    Hangup,
    HangupReason,
    HttpMethod,
    Play,
    Redirect,
    SetTag,
    Speak,
    Wait,
    Webhook,
)
from controller.notify import Notifier
from controller.resume import RESUME_VARIABLE, decode_resume
from controller.webhooks import WebhookError, Webhooks
from controller.xml.errors import XmlError

log = logging.getLogger(__name__)

LINGER_SECONDS = 30  # FreeSWITCH keeps the socket this long after hangup, for the last events
SESSION_EVENTS = ("CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE")
# Apps whose completions nobody waits for, dropped by a negative filter on the call's
# socket (OutboundSession.prepare): each would bring a ~6-7 KB CHANNEL_EXECUTE_COMPLETE
# (the channel's variables; capture 04c has them for set, bind_digit_action,
# digit_action_set_realm and event). The `event` of every digit binding (conference/
# plan.py) at each press, beside its digits-match; and the set-up apps a join and a call's
# opening queue without waiting (7 of a join's 8 completions; issue 16). Waiting for one
# of these raises (OutboundSession.start_many): a new caller that needs the completion
# takes the app out of this list.
QUIET_APPS = ("event", "set", "multiset", "unset", "ring_ready", "bind_digit_action",
              "digit_action_set_realm")
# Talking events of the call's own member: a ~7 KB event at every start and end of
# speech, wanted by no member-level webhook of any face today (room hooks hear them on
# the inbound connection); a join whose callback_events ask for them hears them again.
QUIET_ACTIONS = ("start-talking", "stop-talking")
# What a resumed call reads of its channel later (the rest of `connect` is dropped).
RESUME_FIELDS = ("variable_conference_member_id", "variable_conference_uuid")
MAX_DOCUMENTS = 50  # redirect/action documents per call: a loop guard
HANGUP_CAUSES = {
    None: "NORMAL_CLEARING",
    HangupReason.REJECTED: "CALL_REJECTED",
    HangupReason.BUSY: "USER_BUSY",
}


# FreeSWITCH sounds a live play command may name (the REST API's tones); markup never
# yields them (parsers refuse non-http schemes), so every other Play URL is downloaded.
BUILTIN_SOUNDS = frozenset({BEEP_ONE, BEEP_TWO})

CONTROLLED_VARIABLE = "cc_controlled"  # set on every call we run: a reconnect is not a new call


class DocumentError(Exception):
    """The application's document could not be fetched or used."""


class SocketLost(CallerGone):
    """The call's socket closed under us with the call possibly still up."""


class Interrupted(Exception):
    """A live command ended the current verb; the call acts on it next."""


class Engine:
    """What every call shares: settings, HTTP, media cache, room state, the call registry."""

    def __init__(self, settings: Settings, webhooks: Webhooks, media: MediaCache,
                 rooms: RoomManager, notifier: Notifier | None = None,
                 calls: CallRegistry | None = None):
        self.settings = settings
        self.webhooks = webhooks
        self.media = media
        self.rooms = rooms
        self.notifier = notifier or Notifier(webhooks)
        self.calls = calls or CallRegistry()
        self.active_calls = 0
        self.dialer = None  # controller.dialer.Dialer (set by the service): dialled legs
        # tell it they were answered
        # Every call we run, for reporting the end of those we stop seeing (the service
        # sets the durable one and controller.recovery.Recovery).
        self.journal: CallJournal = MemoryJournal()
        self.recovery = None
        rooms.call_id_of = self._call_id_of

    def _call_id_of(self, call_uuid: str) -> str:
        call = self.calls.get(call_uuid)
        return call.call_id if call is not None else ""

    def dialect_for(self, destination: str) -> Dialect:
        app = self.settings.app
        return dialects.get(app.number_dialects.get(destination) or app.dialect)

    def handle_call(self, session: OutboundSession) -> None:
        self.active_calls += 1
        try:
            CallSession(self, session).run()
        finally:
            self.active_calls -= 1


class CallSession:
    def __init__(self, engine: Engine, session: OutboundSession):
        self.engine = engine
        self.settings = engine.settings
        self.session = session
        self.facts: CallFacts | None = None
        self.dialect: Dialect | None = None
        self.answered = False
        self.documents = 0
        self.error = ""
        self.commands: collections.deque[CallCommand] = collections.deque()
        self.member = None  # the ConferenceMember while the call is in a room
        # A live command's play/speak (PlayToCall) is what the call plays now: stopping it
        # (uuid_break) then stops that sound and not a verb of the document.
        self.playing_live_media = False
        self.tag: str | None = None  # set by SetTag; faces send it with the call's requests
        self.dialed: DialedLeg | None = None  # a call we dialled (controller.dialer)
        self.call_hook: Webhook | None = None  # where the face wants call-level events
        # FreeSWITCH's channel times as the connect reply showed them (a dialled leg comes
        # answered: 07d_originate_to_socket_outbound.txt), completed by the hangup event.
        self.times = CallTimes()
        # False for a leg running a call moved here from another node: the call's own
        # controller reports its end (controller.cluster.moves).
        self.reports_end = True

    @property
    def uuid(self) -> str:
        return self.session.uuid

    @property
    def call_id(self) -> str:
        return self.facts.call_id if self.facts else self.session.uuid

    # ------------------------------------------------------------ lifecycle
    def run(self) -> None:
        fields = self.session.connect(keep=RESUME_FIELDS)
        mover = getattr(getattr(self.engine.rooms, "cluster", None), "mover", None)
        if mover is not None and fields.get(f"variable_{MOVE_VARIABLE}"):
            mover.arrived(self, fields)  # moved here from another node to join its room
            return
        uuid = self.session.uuid
        self.times = channel_times(fields)
        self.dialed = dialed = self._dialed_leg(fields)
        if dialed is not None:
            # A leg we dialled reaches us answered, its connect reply showing the callee as
            # the caller (`Outbound Call` / `uas`, capture 07d): the numbers are the dial's.
            self.dialect = dialects.get(dialed.dialect)
            self.answered = True
            self.tag = dialed.tag  # the dial's first tag (e.g. Bandwidth's create-call tag)
            self.facts = CallFacts(
                uuid=uuid, caller_number=dialed.from_number, caller_name=dialed.from_name,
                destination=dialed.to, direction="outbound", dialect=self.dialect.name,
                call_id=self.dialect.call_id(uuid),
            )
        else:
            destination = fields.get("Caller-Destination-Number", "")
            self.dialect = self.engine.dialect_for(destination)
            self.facts = CallFacts(
                uuid=uuid,
                caller_number=fields.get("Caller-Caller-ID-Number", ""),
                caller_name=fields.get("Caller-Caller-ID-Name", ""),
                destination=destination,
                direction=fields.get("Call-Direction", "inbound"),
                dialect=self.dialect.name,
                call_id=self.dialect.call_id(uuid),
            )
        self.call_hook = self.dialect.call_event_hook(self.settings, self.facts)
        self.engine.calls.add(self)
        if self.engine.recovery is not None:
            self.engine.recovery.claim(uuid)  # back from the dialplan's second socket
        self.engine.journal.put(self.journal_entry())
        if dialed is not None and self.engine.dialer is not None:
            self.engine.dialer.leg_connected(uuid)
        with log_context(call_uuid=self.facts.uuid):
            log.info("call from %s to %s", self.facts.caller_number, self.facts.destination)
            try:
                self.session.prepare(LINGER_SECONDS, ["conference::maintenance"],
                                     [*SESSION_EVENTS, *self.dialect.session_events],
                                     QUIET_APPS, QUIET_ACTIONS)
                resume = fields.get(f"variable_{RESUME_VARIABLE}")
                if resume:
                    self.resume(resume)
                elif fields.get(f"variable_{CONTROLLED_VARIABLE}"):
                    raise DocumentError(
                        "this call lost its controller connection outside a room; where it "
                        "was in its document is not known, so it cannot be resumed"
                    )
                else:
                    # The connect reply is FreeSWITCH's view of the call as it reaches us:
                    # an inbound call that nobody has answered yet (Answer-State ringing).
                    self.call_event(EventKind.CALL_INITIATED, fields.timestamp_us)
                    self.call_event(EventKind.CALL_RINGING, fields.timestamp_us)
                    # Sent in one write with whatever the caller hears while the answer
                    # URL is fetched (FreeSWITCH runs queued applications in order).
                    opening = [apps.set_var(CONTROLLED_VARIABLE, "true")]
                    if dialed is not None and dialed.time_limit_secs:
                        # FreeSWITCH ends the call on time even without us (sched_hangup).
                        opening.append(apps.sched_hangup(dialed.time_limit_secs,
                                                         "ALLOTTED_TIMEOUT"))
                    if self.dialect.has_markup:
                        self.run_document(self.fetch_answer(opening))
                    else:  # a face without markup fetches nothing: it waits for commands
                        self._start_all(opening)
                        self.run_document(Document())
            except CallerGone:
                if not self.session.lost:
                    log.info("caller hung up")
            except DocumentError as exc:
                self._fail(str(exc))
            except EslError as exc:
                self._fail(f"FreeSWITCH refused a command: {exc}")
            except Exception as exc:  # a bug of ours: this call ends cleanly, others go on
                log.exception("call failed on an internal error")
                self._fail(f"internal error: {type(exc).__name__}: {exc}")
            finally:
                self.engine.calls.remove(self)
                self._finish()

    def _dialed_leg(self, fields: object) -> DialedLeg | None:
        try:
            return DialedLeg.from_fields(fields)
        except ValueError as exc:
            log.error("call %s: %s; run as an inbound call", self.session.uuid, exc)
            return None

    def _start(self, call: apps.AppCall) -> Execution:
        return self.session.start(call.app, call.arg, loops=call.loops)

    def wait_bridged(self, execution: Execution, where: str) -> None:
        """Until a ``bridge`` this call runs ends. A live hang-up hangs the call up (which
        ends the far leg too); other live commands stay queued until the call is back.
        CallerGone when the call ended. ``where``: for the log ("during a transfer")."""
        while not execution.done and not self.session.ended.is_set():
            event = self.session.events.get()
            if event.name != WAKE:
                continue
            hangup = next((c for c in self.commands if isinstance(c, HangupCall)), None)
            if hangup is not None:
                self.commands.remove(hangup)
                log.info("hanging up (live command, %s) %s", hangup.cause, where)
                self.session.hangup(hangup.cause)
        execution.wait(0)

    def _start_all(self, calls: list[apps.AppCall]) -> list[Execution]:
        """Several applications in one write, run in this order."""
        return self.session.start_many([(c.app, c.arg, False, c.loops) for c in calls])

    def _fail(self, reason: str) -> None:
        self.error = reason
        log.error("call failed: %s", reason)
        sound = self.settings.app.error_sound
        if sound and not self.session.hungup.is_set():
            try:
                if not self.answered:
                    completion = self._start(apps.answer()).wait(
                        self.settings.freeswitch.command_timeout)
                    self.answered = True
                    self._answered(completion)
                self._start(apps.playback(sound)).wait(60)
            except (EslError, CallerGone):
                pass

    def journal_entry(self, stay: object = None) -> JournalEntry:
        """What the call journal keeps of this call (``stay``: its current room stay)."""
        self._journal_stay = stay
        return JournalEntry(self.uuid, self.dialect.name, self.facts, self.hangup_hook(),
                            self.call_hook, self.tag, stay,
                            face_state=self.dialect.call_state(self.uuid))

    def journal_again(self) -> None:
        """The face's state of this call changed (Dialect.call_state): journal it, with the
        room stay last journalled."""
        self.engine.journal.put(self.journal_entry(getattr(self, "_journal_stay", None)))

    def _finish(self) -> None:
        if self.session.lost:
            # Perhaps not the end of the call: if it is still up, FreeSWITCH runs the
            # dialplan's next `socket` when the current application returns, and that
            # connection carries on. If it is gone (FreeSWITCH crashed), the recovery
            # reports its end (controller.recovery).
            if self.engine.recovery is not None:
                self.engine.recovery.lost(self.uuid)
            else:
                log.warning("lost the call's socket; if the call is still up, FreeSWITCH "
                            "hands it back through the dialplan's second socket")
            return
        cause = self.session.hangup_cause
        if not self.session.hungup.is_set():
            try:
                self.session.hangup("NORMAL_CLEARING")
            except (EslError, CallerGone):
                pass
        self.session.ended.wait(timeout=5)
        cause = self.session.hangup_cause or cause or "NORMAL_CLEARING"
        log.info("call ended: %s", cause)
        hangup_stamp = self._hangup_events()
        hook = self.hangup_hook()
        if hook is not None and self.facts is not None:
            payload = self.dialect.request_payload(RequestContext(
                Purpose.HANGUP, self.facts, CallStatus.COMPLETED, hangup_cause=cause,
                error=self.error, tag=self.tag, times=self.times))
            self.engine.notifier.send(hook,
                                      payload, self.dialect.name, self.lane)
        self.call_event(EventKind.CALL_ENDED, hangup_stamp, reason=cause)
        self.engine.journal.remove(self.uuid)

    def _hangup_events(self) -> int:
        """FreeSWITCH's time of the hangup, from the session's hangup events (0: none seen); the
        channel times of the hangup event (07d: CHANNEL_HANGUP_COMPLETE on the call's socket
        carries Caller-Channel-Created/Answered/Hangup-Time) go into ``times``."""
        stamp = 0
        for event in self.session.hangup_events:  # kept by the session as they came
            stamp = stamp or event.timestamp_us
            self.times = channel_times(event, self.times)
        return stamp

    def call_event(self, kind: EventKind, timestamp_us: int = 0, reason: str = "") -> None:
        """Report a call-level event to the face's call hook, if it has one. Without
        FreeSWITCH's time of the event (``timestamp_us`` 0), the controller's clock."""
        if self.call_hook is None or self.facts is None:
            return
        status = (CallStatus.COMPLETED if kind is EventKind.CALL_ENDED
                  else CallStatus.IN_PROGRESS if self.answered else CallStatus.RINGING)
        event = EngineEvent(kind, call=self.facts, call_status=status, reason=reason,
                            timestamp_us=timestamp_us or int(time.time() * 1e6))
        self.engine.notifier.emit(event, self.call_hook, self.dialect.name, lane=self.lane)

    def hangup_hook(self) -> Webhook | None:
        """Where the end of the call is reported: a dialled call's own hangup hook, else
        ``[app] hangup_url``."""
        if not self.reports_end:
            return None
        if self.dialed is not None and self.dialed.hangup is not None:
            return self.dialed.hangup
        app = self.settings.app
        return Webhook(app.hangup_url, HttpMethod(app.hangup_method)) if app.hangup_url else None

    @property
    def lane(self) -> str:
        return f"call:{self.facts.uuid if self.facts else '?'}"

    @property
    def status(self) -> CallStatus:
        return CallStatus.COMPLETED if self.session.hungup.is_set() else CallStatus.IN_PROGRESS

    # ------------------------------------------------------------ live control
    def submit(self, command: CallCommand) -> None:
        """Queue a command for this call (any greenlet); the call's greenlet acts on it."""
        self.commands.append(command)
        self.session.wake()

    def interrupt_pending(self) -> bool:
        return any(isinstance(c, INTERRUPTING) for c in self.commands)

    def wait(self, execution: Execution) -> None:
        """Wait for a media app; a live command arriving meanwhile is acted on (media to the
        call is queued behind, an interrupting command stops the app)."""
        broke = False
        while not execution.done:
            event = self.session.events.get()
            if event.name != WAKE:
                continue
            self.send_pending_digits()  # digits need not wait for the verb to end
            hangup = next((c for c in self.commands if isinstance(c, HangupCall)), None)
            if hangup is not None:
                # Hanging up needs no break first: a break that reaches FreeSWITCH before
                # the app starts is spent on nothing and the app would run to its end.
                self.commands.remove(hangup)
                log.info("hanging up (live command, %s)", hangup.cause)
                self.session.hangup(hangup.cause)
                self.session.ended.wait(timeout=5)
                raise CallerGone("hung up by a live command")
            if not broke and self.interrupt_pending():
                broke = True
                self.session.api(channel.uuid_break(self.uuid))
        execution.wait(0)  # CallerGone if the call went first
        if broke:
            raise Interrupted()

    def send_pending_digits(self) -> None:
        """Send queued digits now (they come before any later command, in order)."""
        while self.commands and isinstance(self.commands[0], SendDigits):
            digits = self.commands.popleft().digits
            reply = self.session.api(channel.uuid_send_dtmf(self.uuid, digits))
            if not reply.startswith("+OK"):
                log.error("digits %s not sent: %s", digits, reply.strip())

    def sound_path(self, url: str) -> str:
        """What FreeSWITCH plays for a Play URL (downloaded unless a built-in sound)."""
        return url if url in BUILTIN_SOUNDS else self.engine.media.path_for(url)

    def _take_command(self) -> Document | None:
        """Act on queued commands between verbs; a Document returned replaces the rest."""
        while self.commands:
            command = self.commands.popleft()
            if isinstance(command, HangupCall):
                log.info("hanging up (live command, %s)", command.cause)
                self.session.hangup(command.cause)
                self.session.ended.wait(timeout=5)
                raise CallerGone("hung up by a live command")
            if isinstance(command, RedirectCall):
                log.info("redirected by a live command")
                if command.document is not None:
                    return command.document
                return self.fetch(command.hook, Purpose.REDIRECT)
            if isinstance(command, JoinRoom):
                return Document((command.join,), "")
            if isinstance(command, RunOnCall):
                log.info("running %s (live command)", command.what or "a face's step")
                replacement = command.procedure(self)
                if replacement is not None:
                    return replacement
            elif isinstance(command, PlayToCall):
                self.playing_live_media = True
                try:
                    self.play_media(command.media)
                finally:
                    self.playing_live_media = False
            elif isinstance(command, SendDigits):
                self.commands.appendleft(command)
                self.send_pending_digits()
        return None

    # ------------------------------------------------------------ documents
    def fetch_answer(self, opening: list[apps.AppCall] | None = None) -> Document:
        """The call's first document; the caller hears ringback or silence meanwhile
        (``[app] ringback``), never an unexplained wait. ``opening``: applications to run
        first, sent in the same write as the ringback's."""
        ringback = self._start_ringback(opening or [])
        try:
            return self._fetch_answer()
        finally:
            if ringback is not None:
                self._stop_ringback(ringback)

    def _start_ringback(self, opening: list[apps.AppCall]) -> Execution | None:
        """What the caller hears while the application answers (the freeswitch-conf
        dialplan answers nothing before the socket, dialplan/phones.xml, so without this
        the caller hears nothing): ``ringing`` sends 180 and the phone rings itself;
        ``tone`` is early media (``pre_answer``, SIP 183 with SDP) carrying the tone, heard
        whatever the phone does with a bare 180, stopped with ``uuid_break`` below."""
        app = self.settings.app
        if self.answered or self.dialed is not None or app.ringback == "silence":
            if opening:
                self._start_all(opening)
            return None
        if app.ringback == "ringing":
            # 180 Ringing and no media (switch_channel_perform_ring_ready_value): nothing
            # to stop afterwards, so it costs the call no round trip.
            self._start_all([*opening, apps.ring_ready()])
            return None
        return self._start_all([*opening, apps.pre_answer(),
                                apps.playback(app.ringback_tone)])[-1]

    def _stop_ringback(self, ringback: Execution) -> None:
        """The tone loops until broken: ``uuid_break`` (without ``all``, which would also
        flush the queued applications) ends the playback; what follows waits for it. A
        break that reaches FreeSWITCH before the playback began may be spent on nothing,
        so it is repeated until the playback ends."""
        deadline = time.monotonic() + self.settings.freeswitch.command_timeout
        while not ringback.done:
            self.session.api(channel.uuid_break(self.uuid, everything=False))
            try:
                ringback.wait(0.25)
            except EslTimeout:
                if time.monotonic() > deadline:
                    raise

    def _fetch_answer(self) -> Document:
        if self.dialed is not None:
            # A dialled call: the dial's own document, its answer hook, or none (it waits
            # for live commands).
            if self.dialed.document:
                return self._dialed_document(self.dialed.document)
            if self.dialed.answer is None:
                return Document()
            return self.fetch(self.dialed.answer, Purpose.ANSWER)
        app = self.settings.app
        url = app.number_answer_urls.get(self.facts.destination) or app.answer_url
        if not url:
            raise DocumentError(
                f"no answer URL for {self.facts.destination!r}: set app.answer_url "
                "(CC_APP_ANSWER_URL) or app.number_answer_urls"
            )
        return self.fetch(Webhook(url, HttpMethod(app.answer_method)), Purpose.ANSWER)

    def _dialed_document(self, text: str) -> Document:
        """The markup a face gave with the dial (checked by the face before dialling)."""
        app = self.settings.app
        try:
            return self.dialect.parse_document(text.encode(), f"dial:{self.uuid}",
                                               max_bytes=app.xml_max_bytes,
                                               max_depth=app.xml_max_depth)
        except XmlError as exc:
            raise DocumentError(f"invalid document given with the dial:\n{exc}") from None

    def request_context(self, purpose: Purpose, **details: object) -> RequestContext:
        status = CallStatus.RINGING if purpose is Purpose.ANSWER else self.status
        details.setdefault("tag", self.tag)
        return RequestContext(purpose, self.facts, status, **details)

    def fetch(self, hook: Webhook, purpose: Purpose, context: RequestContext | None = None,
              empty_ok: bool = False, fallback: Webhook | None | bool = True) -> Document:
        """Fetch and parse a document. ``empty_ok``: an empty body (e.g. 204 from an action
        URL) means "nothing more", an empty document; elsewhere it is an error.
        ``fallback``: True for the purpose's own (``[app] fallback_url`` for the answer),
        else the fallback hook or None."""
        self.documents += 1
        if self.documents > MAX_DOCUMENTS:
            raise DocumentError(f"more than {MAX_DOCUMENTS} documents for one call (a loop?)")
        app = self.settings.app
        context = context or self.request_context(purpose)
        payload = self.dialect.request_payload(context)
        if fallback is True:
            fallback = self.fallback(purpose)
        try:
            body, final_url = self.engine.webhooks.fetch_document(
                hook, payload.fields, app.xml_max_bytes, fallback,
                signer=self.dialect.name,
                as_json=payload.json and hook.method is not HttpMethod.GET)
        except WebhookError as exc:
            raise DocumentError(f"cannot fetch {exc.url}: {exc.reason}") from None
        if not body.strip():
            if empty_ok:
                return Document((), final_url)
            raise DocumentError(f"{final_url} returned an empty body: no instructions for the call")
        parse = (self.dialect.parse_sound_document if purpose is Purpose.SOUND
                 else self.dialect.parse_document)
        try:
            return parse(body, final_url, max_bytes=app.xml_max_bytes, max_depth=app.xml_max_depth)
        except XmlError as exc:
            if fallback is None or final_url == fallback.url:
                raise DocumentError(f"invalid XML from {final_url}:\n{exc}") from None
            # Plivo's fallback_url and Twilio's FallbackUrl also stand in for a document
            # that cannot be used, not only for a URL that cannot be reached.
            log.error("invalid XML from %s (%s): requesting the fallback URL %s",
                      final_url, str(exc).splitlines()[0], fallback.url)
            return self.fetch(fallback, purpose, context, empty_ok, fallback=None)
        except UnsupportedMarkup as exc:
            raise DocumentError(str(exc)) from None

    def fallback(self, purpose: Purpose) -> Webhook | None:
        """``[app] fallback_url`` stands in for a failing answer URL (as Plivo's fallback_url
        and Twilio's FallbackUrl do for the voice URL)."""
        app = self.settings.app
        if purpose is not Purpose.ANSWER or not app.fallback_url:
            return None
        return Webhook(app.fallback_url, HttpMethod(app.fallback_method))

    def run_document(self, document: Document) -> None:
        verbs = list(document.verbs)
        index = 0
        while True:
            if self.session.hungup.is_set():
                return
            replacement = self._take_command()
            if replacement is None and index < len(verbs):
                verb = verbs[index]
                index += 1
                try:
                    replacement = self.run_verb(verb)
                except Interrupted:
                    continue  # the command that interrupted is taken at the top
            if replacement is not None:
                verbs, index = list(replacement.verbs), 0
            elif index >= len(verbs) and not self.commands:
                if self.dialect.has_markup:
                    break
                self.await_command()
        log.info("document ended")

    def await_command(self) -> None:
        """A call of a face without markup, with nothing to do, waits for its next live
        command. Running no application, the channel stays parked in the socket app
        (capture 07d: after `conference hup` the channel stays up, parked, until the
        controller hangs it up; 05a: CHANNEL_UNPARK at hangup). The face sees the call's
        other events meanwhile (``Dialect.idle_event``: e.g. DTMF)."""
        while not self.commands:
            if self.session.hungup.is_set() or self.session.ended.is_set():
                raise CallerGone("the call ended while it waited for commands")
            event = self.session.events.get()
            if event.name != WAKE and not self.session.hungup.is_set():
                self.dialect.idle_event(self, event)

    def run_verb(self, verb: object) -> Document | None:
        """Run one verb; a returned Document replaces the rest of the current one."""
        if isinstance(verb, Redirect):
            return self.fetch(verb.hook or Webhook(verb.url, verb.method), Purpose.REDIRECT)
        if isinstance(verb, SetTag):
            self.tag = verb.tag
            return None
        if isinstance(verb, Hangup):
            self.hangup(verb)
            return None
        self.answer()
        if isinstance(verb, ConferenceJoin):
            from controller.conference.member import ConferenceMember

            return ConferenceMember(self, verb).run()
        if isinstance(verb, Gather):
            from controller.gather import run_gather

            return run_gather(self, verb)
        if isinstance(verb, (Speak, Play, Wait)):
            self.play_media(verb)
            return None
        raise DocumentError(f"verb {type(verb).__name__} is not supported")

    def play_media(self, verb: Speak | Play | Wait) -> None:
        if isinstance(verb, Speak):
            calls = [speak_call(verb, self.settings.media)]
        elif isinstance(verb, Play):
            try:
                path = self.sound_path(verb.url)
            except MediaError as exc:
                log.error("skipping <Play>: %s", exc)
                return
            calls = [play_call(path, verb.loop)]
        else:
            calls = wait_calls(verb)
        for call in calls:
            self.wait(self._start(call))

    def resume(self, value: str) -> None:
        """A call whose controller connection was lost while it was in a room: the member
        has left, so tell the application (exit, action) and go on from there."""
        from controller.conference.member import resume_member

        try:
            state = decode_resume(value)
        except ValueError as exc:
            raise DocumentError(f"cannot resume this call: {exc}") from None
        self.answered = True
        self._start(apps.unset_var(RESUME_VARIABLE))
        document = resume_member(self, state)
        if document is not None:
            self.run_document(document)

    def answer(self) -> None:
        # Not awaited: FreeSWITCH runs the queued apps in order, so whatever follows waits
        # for the answer anyway, without a round trip of ours (one 20 ms frame). A face
        # that reports call.answered waits, for the time FreeSWITCH answered.
        if not self.answered:
            execution = self._start(apps.answer())
            self.answered = True
            if self.call_hook is not None:
                self._answered(execution.wait(self.settings.freeswitch.command_timeout))

    def _answered(self, completion: Event) -> None:
        self.call_event(EventKind.CALL_ANSWERED, completion.timestamp_us)

    def hangup(self, verb: Hangup) -> None:
        cause = HANGUP_CAUSES[verb.reason]
        if verb.schedule:
            # The call goes on with the next verbs and ends after `schedule` seconds.
            self._start(apps.sched_hangup(verb.schedule, cause)).wait(
                self.settings.freeswitch.command_timeout)
            return
        log.info("hanging up (%s)", cause)
        self.session.hangup(cause)
        self.session.ended.wait(timeout=5)
        raise CallerGone("hung up by <Hangup>")
