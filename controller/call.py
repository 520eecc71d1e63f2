"""CallSession: one greenlet per call, running the application's document verb by verb.

    connect, myevents, linger, subscribe conference::maintenance (own events only)
    fetch the answer URL -> Document
    Speak / Play / Wait / Hangup / Redirect / Conference, in order
    hang up when the document ends; hangup callback with the cause

Errors follow one path (``_fail``): the application's document cannot be used
(HTTP failure, bad XML) -> logged with the call UUID and the exact problem,
the error sound is played, the call is hung up, and the hangup callback
carries ``Error``. Nothing here can affect another call.
"""

from __future__ import annotations

import logging

from controller.conference.events import (
    CallFacts,
    CallStatus,
    MemberAction,
    MemberEvent,
    MemberFacts,
)
from controller.conference.plan import (
    BINDING_HANGUP_ON_STAR,
    DIGITS_ACTION,
    JoinPlan,
    plan_join,
)
from controller.conference.rooms import RoomManager
from controller.config import Settings
from controller.esl import CallerGone, EslError, Event, Execution, OutboundSession
from controller.esl.inbound import subscription_command
from controller.logs import bind_log_context, log_context
from controller.media import beep_sound, document_sound, play_call, speak_call, wait_calls
from controller.media_cache import MediaCache, MediaError
from controller.model import (
    ConferenceJoin,
    Document,
    Hangup,
    HangupReason,
    HttpMethod,
    Play,
    Redirect,
    Sound,
    SoundKind,
    Speak,
    Wait,
    Webhook,
)
from controller.resume import RESUME_VARIABLE, decode_resume, encode_resume
from controller.webhooks import WebhookError, Webhooks
from controller.xml import plivo_params
from controller.xml.errors import XmlError
from controller.xml.plivo import parse_document, parse_sound_document

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


class Engine:
    """What every call shares: settings, HTTP, media cache, room state."""

    def __init__(self, settings: Settings, webhooks: Webhooks, media: MediaCache,
                 rooms: RoomManager):
        self.settings = settings
        self.webhooks = webhooks
        self.media = media
        self.rooms = rooms
        self.active_calls = 0

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
        self.answered = False
        self.documents = 0
        self.error = ""

    # ------------------------------------------------------------ lifecycle
    def run(self) -> None:
        channel = self.session.connect(keep=RESUME_FIELDS)
        self.facts = CallFacts(
            uuid=self.session.uuid,
            caller_number=channel.get("Caller-Caller-ID-Number", ""),
            caller_name=channel.get("Caller-Caller-ID-Name", ""),
            destination=channel.get("Caller-Destination-Number", ""),
            direction=channel.get("Call-Direction", "inbound"),
        )
        with log_context(call_uuid=self.facts.uuid):
            log.info("call from %s to %s", self.facts.caller_number, self.facts.destination)
            try:
                self.session.commands([
                    "myevents",
                    f"linger {LINGER_SECONDS}",
                    # Our own member events (add-member, floor-change, digits-match) carry
                    # our Unique-ID, so myevents lets them through (capture 05d).
                    subscription_command(["conference::maintenance"]),
                    # Only what the engine reads: a call's other events (CHANNEL_STATE,
                    # EXECUTE, DTMF...) are ~6 KB each and would be parsed for nothing.
                    *(f"filter Event-Name {name}" for name in SESSION_EVENTS),
                    "filter Event-Subclass conference::maintenance",
                ])
                resume = channel.get(f"variable_{RESUME_VARIABLE}")
                if resume:
                    self.resume(resume)
                elif channel.get(f"variable_{CONTROLLED_VARIABLE}"):
                    raise DocumentError(
                        "this call lost its controller connection outside a room; where it "
                        "was in its document is not known, so it cannot be resumed"
                    )
                else:
                    self.session.start("set", f"{CONTROLLED_VARIABLE}=true")
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
                self._finish()

    def _fail(self, reason: str) -> None:
        self.error = reason
        log.error("call failed: %s", reason)
        sound = self.settings.app.error_sound
        if sound and not self.session.hungup.is_set():
            try:
                if not self.answered:
                    self.session.execute("answer", timeout=self.settings.freeswitch.command_timeout)
                    self.answered = True
                self.session.execute("playback", sound, timeout=60)
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
        hook = self.settings.app.hangup_url
        if hook and self.facts is not None:
            params = plivo_params.call_params(self.facts, CallStatus.COMPLETED)
            params["HangupCause"] = cause
            if self.error:
                params["Error"] = self.error
            self.engine.webhooks.send(Webhook(hook, HttpMethod(self.settings.app.hangup_method)),
                                      params, key=self._lane)

    @property
    def _lane(self) -> str:
        return f"call:{self.facts.uuid if self.facts else '?'}"

    @property
    def _status(self) -> CallStatus:
        return CallStatus.COMPLETED if self.session.hungup.is_set() else CallStatus.IN_PROGRESS

    # ------------------------------------------------------------ documents
    def fetch_answer(self) -> Document:
        app = self.settings.app
        url = app.number_answer_urls.get(self.facts.destination) or app.answer_url
        if not url:
            raise DocumentError(
                f"no answer URL for {self.facts.destination!r}: set app.answer_url "
                "(CC_APP_ANSWER_URL) or app.number_answer_urls"
            )
        params = plivo_params.call_params(self.facts, CallStatus.RINGING)
        return self.fetch(Webhook(url, HttpMethod(app.answer_method)), params)

    def fetch(self, hook: Webhook, params: dict[str, str], sound: bool = False,
              empty_ok: bool = False) -> Document:
        """Fetch and parse a document. ``empty_ok``: an empty body (e.g. 204 from an action
        URL) means "nothing more", an empty document; elsewhere it is an error."""
        self.documents += 1
        if self.documents > MAX_DOCUMENTS:
            raise DocumentError(f"more than {MAX_DOCUMENTS} documents for one call (a loop?)")
        app = self.settings.app
        try:
            body, final_url = self.engine.webhooks.fetch_document(hook, params, app.xml_max_bytes)
        except WebhookError as exc:
            raise DocumentError(f"cannot fetch {exc.url}: {exc.reason}") from None
        if not body.strip():
            if empty_ok:
                return Document((), final_url)
            raise DocumentError(f"{final_url} returned an empty body: no instructions for the call")
        parse = parse_sound_document if sound else parse_document
        try:
            return parse(body, final_url, max_bytes=app.xml_max_bytes, max_depth=app.xml_max_depth)
        except XmlError as exc:
            raise DocumentError(f"invalid XML from {final_url}:\n{exc}") from None

    def run_document(self, document: Document) -> None:
        verbs = list(document.verbs)
        index = 0
        while index < len(verbs):
            if self.session.hungup.is_set():
                return
            verb = verbs[index]
            index += 1
            replacement = self.run_verb(verb)
            if replacement is not None:
                verbs, index = list(replacement.verbs), 0
        log.info("document ended")

    def run_verb(self, verb: object) -> Document | None:
        """Run one verb; a returned Document replaces the rest of the current one."""
        if isinstance(verb, Redirect):
            params = plivo_params.call_params(self.facts, self._status)
            return self.fetch(Webhook(verb.url, verb.method), params)
        if isinstance(verb, Hangup):
            self.hangup(verb)
            return None
        self.answer()
        if isinstance(verb, ConferenceJoin):
            return ConferenceMember(self, verb).run()
        if isinstance(verb, Speak):
            call = speak_call(verb, self.settings.media)
            self.session.start(call.app, call.arg, loops=call.loops).wait()
        elif isinstance(verb, Play):
            try:
                path = self.engine.media.path_for(verb.url)
            except MediaError as exc:
                log.error("skipping <Play>: %s", exc)
                return None
            call = play_call(path, verb.loop)
            self.session.start(call.app, call.arg, loops=call.loops).wait()
        elif isinstance(verb, Wait):
            for call in wait_calls(verb):
                self.session.start(call.app, call.arg, loops=call.loops).wait()
        else:
            raise DocumentError(f"verb {type(verb).__name__} is not supported")
        return None

    def resume(self, value: str) -> None:
        """A call whose controller connection was lost while it was in a room: the member
        has left, so tell the application (exit, action) and go on from there."""
        try:
            state = decode_resume(value)
        except ValueError as exc:
            raise DocumentError(f"cannot resume this call: {exc}") from None
        self.answered = True
        self.session.start("unset", RESUME_VARIABLE)
        channel = self.session.channel
        member_id = channel.get("variable_conference_member_id", "")
        if not member_id:
            raise DocumentError("the controller connection was lost before the call joined "
                                f"room {state.room}; it cannot be resumed")
        member = MemberFacts(state.room, channel.get("variable_conference_uuid", ""),
                             member_id, self.facts.uuid)
        bind_log_context(room=state.room, member_id=member_id)
        log.warning("resuming the call: member %s left %s while its controller was away",
                    member_id, state.room)
        if state.callback is not None:
            params = plivo_params.callback_params(MemberEvent(MemberAction.EXIT, member),
                                                  self.facts, self._status)
            self.engine.webhooks.send(state.callback, params, key=self._lane)
        if state.action is None:
            return
        self.engine.webhooks.wait_lane(self._lane, timeout=self.settings.webhooks.read_timeout)
        params = plivo_params.action_params(member, None, self.facts, self._status)
        if state.redirect:
            self.run_document(self.fetch(state.action, params, empty_ok=True))
            return
        try:
            self.engine.webhooks.request(state.action, params)
        except WebhookError as exc:
            log.error("action URL failed: %s", exc)
        self.error = ("the verbs after <Conference> were lost with the controller connection; "
                      "the call ended after its action URL")
        log.error(self.error)

    def answer(self) -> None:
        # Not awaited: FreeSWITCH runs the queued apps in order, so whatever follows waits
        # for the answer anyway, without a round trip of ours (one 20 ms frame).
        if not self.answered:
            self.session.start("answer")
            self.answered = True

    def hangup(self, verb: Hangup) -> None:
        cause = HANGUP_CAUSES[verb.reason]
        if verb.schedule:
            # The call goes on with the next verbs and ends after `schedule` seconds.
            self.session.execute("sched_hangup", f"+{verb.schedule} {cause}",
                                 timeout=self.settings.freeswitch.command_timeout)
            return
        log.info("hanging up (%s)", cause)
        self.session.hangup(cause)
        self.session.ended.wait(timeout=5)
        raise CallerGone("hung up by <Hangup>")


class ConferenceMember:
    """One <Conference> verb: plan, join, relay what happens inside, leave, action."""

    def __init__(self, call: CallSession, join: ConferenceJoin):
        self.call = call
        self.join = join
        self.session = call.session
        self.engine = call.engine
        self.settings = call.settings
        self.member: MemberFacts | None = None
        self.plan: JoinPlan | None = None
        self.recording = None  # RecordingFacts of the room's recording, seen at join

    def run(self) -> Document | None:
        with log_context(room=self.join.room):
            self.plan = self._plan()
            execution = self._enter()
            self._inside(execution)
            return self._leave()

    # ------------------------------------------------------------ planning
    def _sound(self, sound: Sound, what: str) -> str:
        if sound.kind is SoundKind.URL:
            return self._document_sound(Webhook(sound.url, sound.method), what)
        return beep_sound(sound)

    def _document_sound(self, hook: Webhook, what: str) -> str:
        params = plivo_params.call_params(self.call.facts, CallStatus.IN_PROGRESS)
        try:
            document = self.call.fetch(hook, params, sound=True)
            return document_sound(document, self.engine.media.path_for, self.settings.media)
        except (DocumentError, MediaError) as exc:
            # A broken sound must not keep the caller out of the room; say so loudly.
            log.error("%s not used: %s", what, exc)
            return ""

    def _plan(self) -> JoinPlan:
        join = self.join
        wait = ""
        if join.wait_sound is not None:
            wait = self._document_sound(join.wait_sound, "waitSound")
        elif not join.start_on_enter:
            wait = self.settings.media.default_wait_sound
        return plan_join(
            join,
            call_uuid=self.call.facts.uuid,
            profile=self.settings.freeswitch.conference_profile,
            room_prefix=self.settings.freeswitch.room_prefix,
            enter_sound=self._sound(join.enter_sound, "enterSound"),
            exit_sound=self._sound(join.exit_sound, "exitSound"),
            wait_sound=wait,
        )

    def _enter(self) -> Execution:
        plan = self.plan
        # Events from earlier verbs are history (a member that rejoins a room keeps its
        # member id, so an old floor-change could pass for a new one).
        while not self.session.events.empty():
            self.session.events.get_nowait()
        # Queued back to back: FreeSWITCH runs them in order before the conference app.
        apps = [("set", f"{name}={value}") for name, value in plan.variables]
        # What to do when the member leaves, should this connection be gone by then.
        apps.append(("set", f"{RESUME_VARIABLE}={encode_resume(self.join)}"))
        apps += [("bind_digit_action", binding.arg) for binding in plan.digit_bindings]
        if plan.digit_bindings:
            apps.append(("digit_action_set_realm", plan.digit_realm))
        # No event-lock: it would hold back the exec:event actions of our digit
        # bindings until the member left (switch_ivr_broadcast queues them as
        # private events; see controller.esl.outbound).
        apps.append(("conference", plan.app_arg))
        log.info("joining %s", plan.app_arg)
        # One write: FreeSWITCH queues them and runs them in this order.
        return self.session.start_many([(app, arg, False, 1) for app, arg in apps])[-1]

    # ------------------------------------------------------------ inside
    def _inside(self, execution: Execution) -> None:
        # The completion and any disconnect notice come through this queue too, so a
        # plain blocking get never misses the end (and 2,000 members cost no wake-ups).
        while not execution.done and not self.session.ended.is_set():
            event = self.session.events.get()
            if event.key == "conference::maintenance":
                self._conference_event(event)
        if not execution.done and self.session.lost:
            raise SocketLost("socket closed while the member was in the room")

    def _conference_event(self, event: Event) -> None:
        if event.get("Conference-Name") != self.plan.fs_room:
            return
        action = event.action
        if action == "add-member" and event.unique_id == self.call.facts.uuid:
            self._joined(event)
        elif self.member is None:
            return
        elif action == DIGITS_ACTION and event.unique_id == self.call.facts.uuid:
            self._digits(event)
        elif action == "floor-change" and self.join.floor_event:
            if event.get("New-ID") == self.member.member_id:
                self._callback(MemberAction.FLOOR, event=event)

    def _joined(self, event: Event) -> None:
        self.member = MemberFacts(
            room=self.join.room,
            conference_uuid=event.get("Conference-Unique-ID", ""),
            member_id=event.get("Member-ID", ""),
            call_uuid=self.call.facts.uuid,
        )
        bind_log_context(member_id=self.member.member_id)
        log.info("joined %s as member %s", self.plan.fs_room, self.member.member_id)
        self._callback(MemberAction.ENTER, event=event)
        # The add-member of a room's first member counts itself: Conference-Size 1
        # only happens when the call created the room (empty rooms are destroyed).
        creator = event.get("Conference-Size") == "1"
        transcription = None
        if self.join.transcription_type is not None and self.join.transcription is not None:
            transcription = (self.join.transcription_type.value, self.join.transcription)
        try:
            self.engine.rooms.member_joined(self.plan, self.member, creator, self.session.api,
                                            self.join.callback, transcription)
        except Exception as exc:  # the member stays in the room whatever this costs
            log.error("room setup after join failed: %s", exc)
        self.recording = self._room_recording()

    def _room_recording(self):
        room = self.engine.rooms.rooms.get(self.plan.fs_room)
        return room.recording_facts(self.engine.rooms.recording_url) if room else None

    def _digits(self, event: Event) -> None:
        digits = event.get("Digits", "")
        if event.get("Binding") == BINDING_HANGUP_ON_STAR:
            log.info("'*' pressed: leaving the room (hangupOnStar)")
            reply = self.session.api(f"conference {self.plan.fs_room} kick {self.member.member_id}")
            if not reply.startswith("+OK"):
                log.error("kick for hangupOnStar failed: %s", reply.strip())
            return
        log.info("digits matched: %s", digits)
        self._callback(MemberAction.DIGITS, digits=digits, event=event)

    def _callback(self, action: MemberAction, digits: str = "", event: Event | None = None) -> None:
        hook = self.join.callback
        if hook is None:
            return
        stamp = event.timestamp_us if event is not None else 0
        params = plivo_params.callback_params(
            MemberEvent(action, self.member, digits=digits, timestamp_us=stamp),
            self.call.facts, self.call._status,
        )
        self.engine.webhooks.send(hook, params, key=self.call._lane)

    # ------------------------------------------------------------ leaving
    def _leave(self) -> Document | None:
        if self.member is None:
            # mod_conference returns without add-member when the room is full (or locked):
            # Plivo goes on with the next verb and skips the action URL (03g).
            log.info("room %s is full: going on with the next verb", self.plan.fs_room)
            return None
        log.info("left the room")
        if not self.session.hungup.is_set():
            self.session.start("unset", RESUME_VARIABLE)
        self._callback(MemberAction.EXIT)
        if self.plan.digit_bindings and not self.session.hungup.is_set():
            try:
                self.session.start("clear_digit_action", "all")
            except (CallerGone, EslError):
                pass
        hook = self.join.action
        if hook is None:
            return None
        # The application hears "exit" before the action request (bounded wait).
        self.engine.webhooks.wait_lane(self.call._lane, timeout=self.settings.webhooks.read_timeout)
        recording = self._room_recording() or self.recording
        params = plivo_params.action_params(self.member, recording, self.call.facts,
                                            self.call._status)
        if self.session.hungup.is_set() or not self.join.redirect:
            # Tell the application; its answer cannot (or must not) replace our document.
            try:
                self.engine.webhooks.request(hook, params)
            except WebhookError as exc:
                log.error("action URL failed: %s", exc)
            return None
        return self.call.fetch(hook, params, empty_ok=True)
