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

from controller import dialects
from controller.calls import (
    INTERRUPTING,
    CallCommand,
    CallRegistry,
    HangupCall,
    JoinRoom,
    PlayToCall,
    RedirectCall,
    SendDigits,
)
from controller.conference.events import CallFacts, CallStatus
from controller.conference.rooms import RoomManager
from controller.config import Settings
from controller.dialects.base import Dialect, Purpose, RequestContext, UnsupportedMarkup
from controller.dialer import DialedLeg
from controller.esl import CallerGone, EslError, Execution, OutboundSession
from controller.esl.outbound import WAKE
from controller.freeswitch import apps, channel
from controller.logs import log_context
from controller.media import play_call, speak_call, wait_calls
from controller.media_cache import MediaCache, MediaError
from controller.model import (
    ConferenceJoin,
    Document,
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
# What a resumed call reads of its channel later (the rest of `connect` is dropped).
RESUME_FIELDS = ("variable_conference_member_id", "variable_conference_uuid")
MAX_DOCUMENTS = 50  # redirect/action documents per call: a loop guard
HANGUP_CAUSES = {
    None: "NORMAL_CLEARING",
    HangupReason.REJECTED: "CALL_REJECTED",
    HangupReason.BUSY: "USER_BUSY",
}


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
        self.tag: str | None = None  # set by SetTag; faces send it with the call's requests
        self.dialed: DialedLeg | None = None  # a call we dialled (controller.dialer)

    @property
    def uuid(self) -> str:
        return self.session.uuid

    @property
    def call_id(self) -> str:
        return self.facts.call_id if self.facts else self.session.uuid

    # ------------------------------------------------------------ lifecycle
    def run(self) -> None:
        fields = self.session.connect(keep=RESUME_FIELDS)
        uuid = self.session.uuid
        self.dialed = dialed = self._dialed_leg(fields)
        if dialed is not None:
            # A leg we dialled reaches us answered, its connect reply showing the callee as
            # the caller (`Outbound Call` / `uas`, capture 07d): the numbers are the dial's.
            self.dialect = dialects.get(dialed.dialect)
            self.answered = True
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
        self.engine.calls.add(self)
        if dialed is not None and self.engine.dialer is not None:
            self.engine.dialer.leg_connected(uuid)
        with log_context(call_uuid=self.facts.uuid):
            log.info("call from %s to %s", self.facts.caller_number, self.facts.destination)
            try:
                self.session.prepare(LINGER_SECONDS, ["conference::maintenance"],
                                     list(SESSION_EVENTS))
                resume = fields.get(f"variable_{RESUME_VARIABLE}")
                if resume:
                    self.resume(resume)
                elif fields.get(f"variable_{CONTROLLED_VARIABLE}"):
                    raise DocumentError(
                        "this call lost its controller connection outside a room; where it "
                        "was in its document is not known, so it cannot be resumed"
                    )
                else:
                    self._start(apps.set_var(CONTROLLED_VARIABLE, "true"))
                    if dialed is not None and dialed.time_limit_secs:
                        # FreeSWITCH ends the call on time even without us (sched_hangup).
                        self._start(apps.sched_hangup(dialed.time_limit_secs,
                                                      "ALLOTTED_TIMEOUT"))
                    self.run_document(self.fetch_answer())
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

    def _fail(self, reason: str) -> None:
        self.error = reason
        log.error("call failed: %s", reason)
        sound = self.settings.app.error_sound
        if sound and not self.session.hungup.is_set():
            try:
                if not self.answered:
                    self._start(apps.answer()).wait(self.settings.freeswitch.command_timeout)
                    self.answered = True
                self._start(apps.playback(sound)).wait(60)
            except (EslError, CallerGone):
                pass

    def _finish(self) -> None:
        if self.session.lost:
            # Not the end of the call: FreeSWITCH runs the dialplan's next `socket` when
            # the current application returns, and that connection carries on.
            log.warning("lost the call's socket (controller restart or network fault); "
                        "FreeSWITCH keeps the call and will reconnect it")
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
        hook = self.hangup_hook()
        if hook is not None and self.facts is not None:
            payload = self.dialect.request_payload(RequestContext(
                Purpose.HANGUP, self.facts, CallStatus.COMPLETED, hangup_cause=cause,
                error=self.error, tag=self.tag))
            self.engine.notifier.send(hook,
                                      payload, self.dialect.name, self.lane)

    def hangup_hook(self) -> Webhook | None:
        """Where the end of the call is reported: a dialled call's own hangup hook, else
        ``[app] hangup_url``."""
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
            if event.name == WAKE and not broke and self.interrupt_pending():
                broke = True
                self.session.api(channel.uuid_break(self.uuid))
        execution.wait(0)  # CallerGone if the call went first
        if broke:
            raise Interrupted()

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
            if isinstance(command, PlayToCall):
                self.play_media(command.media)
            elif isinstance(command, SendDigits):
                self.session.api(channel.uuid_send_dtmf(self.uuid, command.digits))
        return None

    # ------------------------------------------------------------ documents
    def fetch_answer(self) -> Document:
        if self.dialed is not None:
            # A dialled call: the dial's answer hook, or none (it waits for live commands).
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

    def request_context(self, purpose: Purpose, **details: object) -> RequestContext:
        status = CallStatus.RINGING if purpose is Purpose.ANSWER else self.status
        details.setdefault("tag", self.tag)
        return RequestContext(purpose, self.facts, status, **details)

    def fetch(self, hook: Webhook, purpose: Purpose, context: RequestContext | None = None,
              empty_ok: bool = False) -> Document:
        """Fetch and parse a document. ``empty_ok``: an empty body (e.g. 204 from an action
        URL) means "nothing more", an empty document; elsewhere it is an error."""
        self.documents += 1
        if self.documents > MAX_DOCUMENTS:
            raise DocumentError(f"more than {MAX_DOCUMENTS} documents for one call (a loop?)")
        app = self.settings.app
        context = context or self.request_context(purpose)
        payload = self.dialect.request_payload(context)
        try:
            body, final_url = self.engine.webhooks.fetch_document(
                hook, payload.fields, app.xml_max_bytes, self.fallback(purpose),
                signer=self.dialect.name, as_json=payload.json)
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
            raise DocumentError(f"invalid XML from {final_url}:\n{exc}") from None
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
                break
        log.info("document ended")

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
                path = self.engine.media.path_for(verb.url)
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
        # for the answer anyway, without a round trip of ours (one 20 ms frame).
        if not self.answered:
            self._start(apps.answer())
            self.answered = True

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
