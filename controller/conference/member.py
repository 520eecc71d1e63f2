"""One call's stay in a room: plan, join, relay what happens inside, leave, action.

Member-level webhooks are sent from here, in the call's dialect, from the
events on the call's own socket (add-member, digits, floor, mute, hold,
talking: they carry the call's Unique-ID, so ``myevents`` lets them through,
capture 05d). Room-level webhooks are the room manager's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from controller.calls import INTERRUPTING, PlayToCall, SendDigits
from controller.conference.events import EngineEvent, MemberFacts
from controller.conference.plan import (
    BINDING_HANGUP_ON_STAR,
    DIGIT_REALM,
    DIGITS_ACTION,
    JoinPlan,
    plan_join,
)
from controller.conference.rooms import MEMBER_STATE_ACTIONS
from controller.dialects.base import Purpose
from controller.esl import CallerGone, EslError, Event, Execution
from controller.esl.outbound import WAKE
from controller.freeswitch import apps, conference, replies, scheduler
from controller.freeswitch.args import UnsafeArgument, tts_file
from controller.journal import RoomStay
from controller.logs import bind_log_context, log_context
from controller.media import beep_sound, document_sound, tts_voice
from controller.media_cache import MediaError
from controller.model import (
    ConferenceJoin,
    Document,
    EventKind,
    Play,
    Sound,
    SoundKind,
    Speak,
    Webhook,
)
from controller.resume import RESUME_VARIABLE, ResumeState, encode_resume

if TYPE_CHECKING:
    from controller.call import CallSession

log = logging.getLogger(__name__)
# The call's socket does not hear its member's talking events (call.QUIET_ACTIONS)
# unless a join's member-level webhook asks for these.
SPEAKING_KINDS = frozenset({EventKind.SPEAKING_STARTED, EventKind.SPEAKING_STOPPED})


class ConferenceMember:
    """One Conference verb: plan, join, relay what happens inside, leave, action."""

    def __init__(self, call: CallSession, join: ConferenceJoin):
        self.call = call
        self.join = join
        self.session = call.session
        self.engine = call.engine
        self.settings = call.settings
        self.member: MemberFacts | None = None
        self.plan: JoinPlan | None = None
        self.recording = None  # RecordingFacts of the room's recording, seen at join
        self.kicked_by_command = False
        self.stay_limited = False  # a FreeSWITCH task ends this member's stay (time limit)
        self.hold_sound = ""  # FreeSWITCH's sound for join.hold_sound

    def run(self) -> Document | None:
        with log_context(room=self.join.room):
            # In a cluster, a room lives on one node: a call elsewhere is moved there.
            mover = getattr(getattr(self.engine.rooms, "cluster", None), "mover", None)
            if mover is not None:
                moved, document = mover.move(self.call, self.join)
                if moved:
                    return document
            self.plan = self._plan()
            self.engine.rooms.expect_join(self.call.uuid, self.join, self.call.dialect.name)
            try:
                execution = self._enter()
                self.call.member = self
                self._inside(execution)
            finally:
                self.call.member = None
                if self.member is None:
                    self.engine.rooms.forget_join(self.call.uuid)
            return self._leave()

    # ------------------------------------------------------------ planning
    def _sound(self, sound: Sound, what: str) -> str:
        if sound.kind is SoundKind.URL:
            return self._document_sound(Webhook(sound.url, sound.method), what)
        return beep_sound(sound)

    def _document_sound(self, hook: Webhook, what: str) -> str:
        from controller.call import DocumentError

        try:
            document = self.call.fetch(hook, Purpose.SOUND)
            return document_sound(document, self.engine.media.path_for, self.settings.media)
        except (DocumentError, MediaError) as exc:
            # A broken sound must not keep the caller out of the room; say so loudly.
            log.error("%s not used: %s", what, exc)
            return ""

    def _hold_sound(self) -> str:
        """``hold_sound`` is a URL the controller downloads, or a FreeSWITCH sound the face
        allowed (a tone); a URL that cannot be had holds the member in silence, loudly."""
        sound = self.join.hold_sound
        if not sound.startswith(("http://", "https://")):
            return sound
        try:
            return self.engine.media.path_for(sound)
        except MediaError as exc:
            log.error("hold sound not used: %s", exc)
            return ""

    def _plan(self) -> JoinPlan:
        join = self.join
        if join.hold and join.hold_sound:
            self.hold_sound = self._hold_sound()
        wait = ""
        if join.wait_sound is not None:
            wait = self._document_sound(join.wait_sound, "waitSound")
        elif not join.start_on_enter and join.wait_music:
            wait = self.settings.media.default_wait_sound
        return plan_join(
            join,
            call_uuid=self.call.uuid,  # the channel in the room (bindings name it)
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
        woken = False
        while not self.session.events.empty():
            woken = self.session.events.get_nowait().name == WAKE or woken
        if woken:
            self.session.wake()  # a command came meanwhile: keep it noticed
        if SPEAKING_KINDS & self.join.callback_events:
            self.session.hear_actions(("start-talking", "stop-talking"))
        # Queued back to back: FreeSWITCH runs them in order before the conference app.
        # Last, what to do when the member leaves, should this connection be gone by then.
        calls = apps.set_vars([*plan.variables, (RESUME_VARIABLE, encode_resume(self.join))])
        calls += [binding.app for binding in plan.digit_bindings]
        if plan.digit_bindings:
            calls.append(apps.digit_action_set_realm(plan.digit_realm))
        # No event-lock: it would hold back the exec:event actions of our digit
        # bindings until the member left (switch_ivr_broadcast queues them as
        # private events; see controller.esl.outbound).
        calls.append(apps.conference(plan.app_arg))
        # DEBUG: "joined ... as member N" (INFO) follows within a frame or two, and a join
        # that fails is logged as such; one INFO line per join is enough (issue 16: three
        # per join were ~6 % of a join's CPU).
        log.debug("joining %s", plan.app_arg)
        # One write: FreeSWITCH queues them and runs them in this order.
        return self.session.start_many([(c.app, c.arg, False, c.loops) for c in calls])[-1]

    # ------------------------------------------------------------ inside
    def _inside(self, execution: Execution) -> None:
        from controller.call import SocketLost

        # The completion and any disconnect notice come through this queue too, so a
        # plain blocking get never misses the end (and 2,000 members cost no wake-ups).
        while not execution.done and not self.session.ended.is_set():
            event = self.session.events.get()
            if event.key == "conference::maintenance":
                self._conference_event(event)
            elif event.name == WAKE:
                self._commands()
        if not execution.done and self.session.lost:
            raise SocketLost("socket closed while the member was in the room")

    def _commands(self) -> None:
        """Live commands while in the room: media and digits reach this member only;
        anything that ends what the call does makes it leave the room first."""
        if self.call.interrupt_pending():
            if self.member is not None and not self.kicked_by_command:
                self.kicked_by_command = True
                self._api(conference.kick(self.plan.fs_room, int(self.member.member_id)))
            return
        if self.member is None:
            return  # not in yet: kept for when it is
        while self.call.commands and isinstance(self.call.commands[0], (PlayToCall, SendDigits)):
            command = self.call.commands.popleft()
            member_id = int(self.member.member_id)
            try:
                if isinstance(command, SendDigits):
                    self._api(conference.dtmf(self.plan.fs_room, member_id, command.digits))
                else:
                    self._api(conference.play(self.plan.fs_room, self._file(command.media),
                                              member_id))
            except (UnsafeArgument, MediaError) as exc:
                log.error("live command not run: %s", exc)

    def _file(self, media: Play | Speak) -> str:
        if isinstance(media, Speak):
            return tts_file(self.settings.media.tts_engine,
                            tts_voice(media, self.settings.media), media.text)
        return self.call.sound_path(media.url)

    def _api(self, command: str) -> str:
        reply = self.session.api(command)
        if not replies.ok(reply):
            log.error("%s: %s", command.split(" ", 3)[2] if " " in command else command,
                      reply.strip())
        return reply

    def _conference_event(self, event: Event) -> None:
        if event.get("Conference-Name") != self.plan.fs_room:
            return
        action = event.action
        # The channel in the room: a call moved from another node reports as that call
        # (call.facts) from a leg of its own here (controller.cluster.moves).
        mine = event.unique_id == self.call.uuid
        if action == "add-member" and mine:
            self._joined(event)
        elif self.member is None:
            return
        elif action == DIGITS_ACTION and mine:
            self._digits(event)
        elif action == "floor-change" and self.join.floor_event:
            if event.get("New-ID") == self.member.member_id:
                self._report(EventKind.FLOOR_CHANGED, event=event)
        elif mine and action in MEMBER_STATE_ACTIONS:
            kind = MEMBER_STATE_ACTIONS[action]
            if kind in self.join.callback_events:
                self._report(kind, event=event)

    def _joined(self, event: Event) -> None:
        self.member = MemberFacts(
            room=self.join.room,
            conference_uuid=event.get("Conference-Unique-ID", ""),
            member_id=event.get("Member-ID", ""),
            call_uuid=self.call.facts.uuid,
            joined_us=event.timestamp_us,
        )
        bind_log_context(member_id=self.member.member_id)
        log.info("joined %s as member %s", self.plan.fs_room, self.member.member_id)
        self._report(EventKind.MEMBER_JOINED, event=event)
        # Should we stop seeing this call, its exit and action are still reported.
        self.engine.journal.put(self.call.journal_entry(RoomStay(
            self.join.room, self.plan.fs_room, self.member.conference_uuid,
            self.member.member_id, self.join.callback, self.join.action, self.join.redirect)))
        # The add-member of a room's first member counts itself: Conference-Size 1
        # only happens when the call created the room (empty rooms are destroyed).
        creator = event.get("Conference-Size") == "1"
        try:
            self.engine.rooms.member_joined(self.plan, self.member, creator, self.session.api,
                                            self.join, self.call.dialect.name, event=event,
                                            hold_sound=self.hold_sound)
        except Exception as exc:  # the member stays in the room whatever this costs
            log.error("room setup after join failed: %s", exc)
        self.recording = self._room_recording()
        if self.join.member_time_limit:
            self._limit_stay(self.join.member_time_limit)
        if self.call.interrupt_pending():
            self._commands()

    def _limit_stay(self, seconds: int) -> None:
        """This member leaves the room after ``seconds`` (cXML Dial timeLimit) and goes on
        with its action: a FreeSWITCH task, so it fires whether or not we are running
        (``sched_api`` whole seconds, see controller.freeswitch.scheduler)."""
        reply = self._api(scheduler.sched_api(
            seconds, self._limit_group, conference.kick(self.plan.fs_room,
                                                        int(self.member.member_id))))
        self.stay_limited = reply.startswith("+OK")

    @property
    def _limit_group(self) -> str:
        return f"cc_ml_{self.call.facts.uuid}"

    def _room_recording(self):
        room = self.engine.rooms.rooms.get(self.plan.fs_room)
        return room.recording_facts(self.engine.rooms.recording_url) if room else None

    def _digits(self, event: Event) -> None:
        digits = event.get("Digits", "")
        if event.get("Binding") == BINDING_HANGUP_ON_STAR:
            log.info("'*' pressed: leaving the room (hangupOnStar)")
            self._api(conference.kick(self.plan.fs_room, int(self.member.member_id)))
            return
        # DEBUG, not INFO: the digits may be a PIN (logs are kept and shipped), and the
        # application hears of every match through its callback anyway; a line per press
        # was ~8 % of the controller's CPU per digit callback (issue 16, callgrind).
        log.debug("digits matched: %s", digits)
        self._report(EventKind.DIGITS_MATCHED, digits=digits, event=event)

    def _report(self, kind: EventKind, digits: str = "", event: Event | None = None) -> None:
        hook = self.join.callback
        if hook is None:
            return
        report_event(self.call, kind, self.member, hook, digits=digits,
                     timestamp_us=event.timestamp_us if event is not None else 0,
                     sequence=self.engine.rooms.next_sequence(self.plan.fs_room))

    # ------------------------------------------------------------ leaving
    def _leave(self) -> Document | None:
        if self.member is None:
            # mod_conference returns without add-member when the room is full (or locked):
            # Plivo goes on with the next verb and skips the action URL (03g).
            log.info("room %s is full: going on with the next verb", self.plan.fs_room)
            return None
        log.info("left the room")
        if self.stay_limited:  # the task must not kick whoever has this member id next
            try:
                self.engine.rooms.esl.api(scheduler.sched_del(self._limit_group))
            except EslError as exc:
                log.warning("cannot cancel this member's time limit: %s", exc)
        hungup = self.session.hungup.is_set()
        if not hungup:
            self.call._start(apps.unset_var(RESUME_VARIABLE))
        self._report(EventKind.MEMBER_LEFT)
        self.engine.journal.put(self.call.journal_entry())  # the exit is reported
        if self.plan.digit_bindings and not self.session.hungup.is_set():
            try:
                self.call._start(apps.clear_digit_action(DIGIT_REALM))
            except (CallerGone, EslError):
                pass
        if self.kicked_by_command and any(isinstance(c, INTERRUPTING)
                                          for c in self.call.commands):
            # The command replaces what follows; no action request. As before an action
            # request, the application hears "exit" before the redirect's request.
            self.engine.webhooks.wait_lane(self.call.lane,
                                           timeout=self.settings.webhooks.read_timeout)
            return None
        return after_room(self.call, self.join, self.member, self._room_recording()
                          or self.recording)


def report_event(call: CallSession, kind: EventKind, member: MemberFacts, hook: Webhook, *,
                 digits: str = "", timestamp_us: int = 0, sequence: int = 0,
                 recovered: bool = False) -> None:
    event = EngineEvent(kind, room=member.room, conference_uuid=member.conference_uuid,
                        member=member, call=call.facts, call_status=call.status, digits=digits,
                        timestamp_us=timestamp_us, sequence=sequence, recovered=recovered)
    call.engine.notifier.emit(event, hook, call.dialect.name, lane=call.lane)


def after_room(call: CallSession, join: ConferenceJoin | ResumeState, member: MemberFacts,
               recording: object) -> Document | None:
    """The action request once the member has left: its document replaces the rest of the
    current one unless ``redirect`` is false or the call is gone."""
    hook = join.action
    if hook is None:
        return None
    # The application hears "exit" before the action request (bounded wait).
    call.engine.webhooks.wait_lane(call.lane, timeout=call.settings.webhooks.read_timeout)
    context = call.request_context(Purpose.ACTION, member=member, recording=recording)
    if call.session.hungup.is_set() or not join.redirect:
        # Tell the application; its answer cannot (or must not) replace our document.
        payload = call.dialect.request_payload(context)
        call.engine.notifier.send(hook, payload, call.dialect.name, call.lane)
        return None
    return call.fetch(hook, Purpose.ACTION, context, empty_ok=True)


def resume_member(call: CallSession, state: ResumeState) -> Document | None:
    """The member left its room while its controller connection was gone: report the exit,
    then the action request, and go on from there."""
    from controller.call import DocumentError

    fields = call.session.channel
    member_id = fields.get("variable_conference_member_id", "")
    if not member_id:
        raise DocumentError("the controller connection was lost before the call joined "
                            f"room {state.room}; it cannot be resumed")
    member = MemberFacts(state.room, fields.get("variable_conference_uuid", ""), member_id,
                         call.facts.uuid)
    bind_log_context(room=state.room, member_id=member_id)
    log.warning("resuming the call: member %s left %s while its controller was away",
                member_id, state.room)
    if state.callback is not None:
        report_event(call, EventKind.MEMBER_LEFT, member, state.callback)
    document = after_room(call, state, member, None)
    if state.action is not None and not state.redirect:
        call.error = ("the verbs after <Conference> were lost with the controller connection; "
                      "the call ended after its action URL")
        log.error(call.error)
    return document
