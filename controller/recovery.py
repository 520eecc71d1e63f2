"""Calls whose end the controller did not see: after its own restart, after FreeSWITCH's.

Every call the controller runs is in the call journal (``controller.journal``).
A call with no live session here (the controller restarted, or the call's
socket was lost) is checked against FreeSWITCH over the inbound connection:

- gone (``uuid_exists`` false): it ended unseen. The application still gets,
  in the call's lane and marked recovered (``EngineEvent.recovered``, the
  ``X-Conference-Recovered`` header): the member's exit callback if it was in
  a room, the action request (a notice: the call is gone), the hangup request
  and the face's call-ended event. The cause is the best known: FreeSWITCH
  forgets a channel's hangup cause with the channel (after a restart ``show
  channels as json`` is ``{"row_count": 0}`` and ``uuid_exists`` answers
  ``false``, capture 07f_freeswitch_killed_after_restart.txt), so it is
  ``SYSTEM_SHUTDOWN`` when FreeSWITCH itself restarted meanwhile (its core
  UUID or start time changed) and ``NORMAL_UNSPECIFIED`` otherwise (the call
  ended normally while nobody listened; which side hung up is not known).
- still up: the call is watched from the inbound connection until it ends
  (CHANNEL_HANGUP_COMPLETE gives the real cause) or the dialplan's second
  ``socket`` hands it to a session again (it left its room: the session
  resumes it from ``cc_resume`` and reports the exit itself, see
  ``controller.resume``). While watched, its digit bindings still fire their
  ``digits-match`` events, which the inbound connection receives (capture
  04c: ``exec:event`` fires a CUSTOM conference::maintenance event like any
  other); those are reported, and ``*`` of hangupOnStar still makes the member
  leave. Digits pressed while no controller was connected are lost:
  FreeSWITCH delivers an event only to the listeners connected when it fires
  (mod_event_socket's event_handler queues it for each connected listener)
  and keeps no history.

FreeSWITCH restarts are noticed at each (re)connect of the inbound connection
(``controller.freeswitch.core``: core UUID, and the start time from ``status``),
which also ends the calls whose sockets were all lost together at the crash.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import gevent

from controller import dialects
from controller.conference.events import CallStatus, EngineEvent, MemberFacts
from controller.conference.plan import BINDING_HANGUP_ON_STAR, DIGITS_ACTION
from controller.dialects.base import Purpose, RequestContext
from controller.esl import EslError, Event, InboundClient
from controller.freeswitch import channel, replies
from controller.freeswitch import conference as fsconf
from controller.freeswitch import core as fscore
from controller.journal import CallJournal, JournalEntry
from controller.logs import log_context
from controller.model import EventKind
from controller.notify import delivery_for

if TYPE_CHECKING:
    from controller.call import Engine

log = logging.getLogger(__name__)

CAUSE_FREESWITCH_RESTARTED = "SYSTEM_SHUTDOWN"
CAUSE_ENDED_UNSEEN = "NORMAL_UNSPECIFIED"
# A start time later than the last known one by more than this is a new FreeSWITCH
# process (the uptime is read a few milliseconds after the clock; whole seconds on
# some builds).
RESTART_TOLERANCE = 2.0
WATCHED_EVENTS = ("CHANNEL_HANGUP_COMPLETE", "conference::maintenance")
# The conference::maintenance Actions handle_event uses; digits-match only while some call
# is watched (the inbound connection drops it otherwise: controller.esl.filters).
IDLE_ACTIONS = frozenset({"del-member"})
WATCHING_ACTIONS = IDLE_ACTIONS | {DIGITS_ACTION}


class Recovery:
    def __init__(self, engine: Engine, esl: InboundClient, journal: CallJournal, *,
                 lost_call_wait: float = 10.0):
        self.engine = engine
        self.esl = esl
        self.journal = journal
        self.lost_call_wait = lost_call_wait
        self.watched: dict[str, JournalEntry] = {}
        self._left_at: dict[str, int] = {}  # del-member time of watched members
        self._checking: set[str] = set()
        self._reported: set[str] = set()  # ended calls reported by this process
        self._running = False
        self.generation = 0  # completed (re)connects
        self.freeswitch_restarted = False  # seen at the last connect
        self._consumer = None
        self._greenlets: list[gevent.Greenlet] = []
        self.recovered_calls = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._running = True
        self._consumer = self.esl.subscribe("recovery", WATCHED_EVENTS,
                                            actions=self._wanted_actions())
        self.esl.on_connect(self._connected)
        self._greenlets.append(gevent.spawn(self._consumer.handle_forever, self.handle_event,
                                            "recovery: failed to handle"))

    def stop(self) -> None:
        self._running = False
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        self._greenlets.clear()
        if self._consumer is not None:
            self.esl.unsubscribe(self._consumer)
            self._consumer = None

    def _wanted_actions(self) -> frozenset[str]:
        return WATCHING_ACTIONS if self.watched else IDLE_ACTIONS

    def watch(self, entry: JournalEntry) -> None:
        """Watch a call that is still up from the inbound connection."""
        self.watched[entry.uuid] = entry
        self._watched_changed()

    def unwatch(self, uuid: str) -> JournalEntry | None:
        """Stop watching a call; returns its entry (None: it was not watched). Every
        change of ``watched`` goes through here and ``watch``: they decide whether the
        inbound connection still needs digits-match."""
        entry = self.watched.pop(uuid, None)
        if entry is not None:
            self._watched_changed()
        return entry

    def _watched_changed(self) -> None:
        if self._consumer is not None:
            self._consumer.want_actions(self._wanted_actions())

    def _spawn(self, func: object, *args: object) -> None:
        self._greenlets = [g for g in self._greenlets if not g.dead]
        self._greenlets.append(gevent.spawn(func, *args))

    # ------------------------------------------------------------ FreeSWITCH's identity
    def _connected(self) -> None:
        """After every connect: a new FreeSWITCH? Then every call without a session."""
        try:
            status = fscore.parse_status(self.esl.api(fscore.status_api()))
            core_uuid = fscore.parse_core_uuid(self.esl.api(fscore.core_uuid()))
        except EslError as exc:
            log.warning("recovery: cannot ask FreeSWITCH who it is (%s); calls are checked "
                        "at the next connect", exc)
            return
        started_at = time.time() - status.uptime_seconds if status else 0.0
        known = self.journal.get_meta()
        restarted = False
        if core_uuid and known.get("core_uuid"):
            restarted = core_uuid != known["core_uuid"]
        elif started_at and known.get("started_at"):
            restarted = started_at > float(known["started_at"]) + RESTART_TOLERANCE
        self.freeswitch_restarted = restarted
        if restarted:
            log.error("recovery: FreeSWITCH restarted (core %s, up %.0f s): its calls are "
                      "gone", core_uuid or "?", status.uptime_seconds if status else 0)
        if core_uuid:
            self.journal.put_meta("core_uuid", core_uuid)
        if started_at:
            self.journal.put_meta("started_at", f"{started_at:.3f}")
        self.generation += 1
        self.reconcile()

    def cause_for_gone(self) -> str:
        return CAUSE_FREESWITCH_RESTARTED if self.freeswitch_restarted else CAUSE_ENDED_UNSEEN

    # ------------------------------------------------------------ finding calls
    def reconcile(self) -> int:
        """Check every journalled call no session runs; returns how many were gone."""
        gone = 0
        for entry in self.journal.entries():
            if self._owned(entry.uuid) or entry.uuid in self.watched:
                continue
            gone += self.check(entry)
        if gone:
            log.warning("recovery: %d call(s) ended while the controller did not see them; "
                        "their callbacks are sent now, marked recovered", gone)
        return gone

    def _owned(self, uuid: str) -> bool:
        # A leg this controller is dialling is the dialer's (it reports an unanswered end).
        dialer = self.engine.dialer
        return self.engine.calls.get(uuid) is not None or (
            dialer is not None and dialer.get(uuid) is not None)

    @staticmethod
    def _adopt(entry: JournalEntry) -> None:
        """The face gets back what it kept of the call (its later webhooks carry it)."""
        if entry.face_state:
            dialects.get(entry.dialect).restore_call_state(entry.uuid, entry.face_state)

    def check(self, entry: JournalEntry) -> bool:
        """Gone: report it (True). Up: watch it."""
        if entry.uuid in self._checking or entry.uuid in self._reported:
            return False
        self._checking.add(entry.uuid)
        try:
            exists = channel.exists(self.esl.api(channel.uuid_exists(entry.uuid)))
            if self._owned(entry.uuid):
                return False  # a session took it back meanwhile
            if self.taken_elsewhere(entry.uuid):
                return False
            if exists:
                self._adopt(entry)
                self.watch(entry)
                log.info("recovery: call %s is still up%s: watching it", entry.uuid,
                         f" in room {entry.stay.room}" if entry.stay else "")
                return False
            self.report_end(entry, self.cause_for_gone())
            return True
        except EslError as exc:
            log.warning("recovery: cannot check call %s (%s); checked at the next connect",
                        entry.uuid, exc)
            return False
        finally:
            self._checking.discard(entry.uuid)

    def lost(self, uuid: str) -> None:
        """A session lost its socket with its call perhaps still up (called by the call)."""
        if not self._running:
            return  # the controller is stopping: the next one checks it
        log.warning("lost the call's socket: checking with FreeSWITCH whether the call is "
                    "still up")
        self._spawn(self._check_lost, uuid, self.generation)

    def _check_lost(self, uuid: str, generation: int) -> None:
        # FreeSWITCH gone too? Its reconnect checks every call without a session.
        deadline = time.monotonic() + self.lost_call_wait
        while time.monotonic() < deadline:
            if self.generation != generation:
                if uuid in self.watched or self._owned(uuid):
                    return
                break
            gevent.sleep(0.1)
        if not self.esl.connected:
            return  # the next connect's reconcile checks it
        for entry in self.journal.entries():
            if entry.uuid == uuid and not self._owned(uuid) and uuid not in self.watched:
                self.check(entry)

    def claim(self, uuid: str) -> None:
        """A session runs this call (again: the dialplan's second socket). In a cluster
        the journal notes it, so a controller that took this call over from a dead one
        stops watching it (``taken_elsewhere``) and its end is reported once, here."""
        self.journal.claim(uuid)
        if self.unwatch(uuid) is not None:
            self._left_at.pop(uuid, None)
            log.info("recovery: call %s is back on a socket", uuid)

    def taken_elsewhere(self, uuid: str) -> bool:
        """Another controller's session runs the call now, or ran it after this one took
        it over (the dialplan's second socket reached that one): its end is that
        controller's to report. Stop watching it and forget it here."""
        if not self.journal.claimed_elsewhere(uuid):
            return False
        self.unwatch(uuid)
        self._left_at.pop(uuid, None)
        self.journal.remove(uuid)
        log.info("recovery: call %s is run by another controller now: not watched here",
                 uuid)
        return True

    # ------------------------------------------------------------ watched calls
    def handle_event(self, event: Event) -> None:
        uuid = event.unique_id
        entry = self.watched.get(uuid)
        if entry is None:
            return
        if event.name == "CHANNEL_HANGUP_COMPLETE":
            self.unwatch(uuid)
            if self._owned(uuid) or self.taken_elsewhere(uuid):
                return  # its session reports it
            self.report_end(entry, event.get("Hangup-Cause", "") or CAUSE_ENDED_UNSEEN,
                            left_at=self._left_at.pop(uuid, 0) or event.timestamp_us,
                            ended_at=event.timestamp_us)
            return
        stay = entry.stay
        if stay is None or event.get("Conference-Name") != stay.fs_room:
            return
        if event.action == "del-member":
            self._left_at[uuid] = event.timestamp_us
        elif event.action == DIGITS_ACTION:
            if self.taken_elsewhere(uuid):
                return  # back in a room through another controller, which reports them
            if event.get("Binding") == BINDING_HANGUP_ON_STAR:
                reply = self.esl.api(fsconf.kick(stay.fs_room, int(stay.member_id)))
                if not replies.ok(reply):
                    log.error("recovery: hangupOnStar kick of %s: %s", uuid, reply.strip())
            elif stay.callback is not None:
                self._emit(entry, EventKind.DIGITS_MATCHED, stay.callback,
                           CallStatus.IN_PROGRESS, digits=event.get("Digits", ""),
                           timestamp_us=event.timestamp_us)

    # ------------------------------------------------------------ reporting
    def _member(self, entry: JournalEntry) -> MemberFacts | None:
        stay = entry.stay
        if stay is None:
            return None
        # The call's own uuid: a leg running a call moved from another node reports as
        # that call (controller.cluster.moves); for any other call they are the same.
        return MemberFacts(stay.room, stay.conference_uuid, stay.member_id,
                           entry.facts.uuid or entry.uuid)

    def _emit(self, entry: JournalEntry, kind: EventKind, hook: object, status: CallStatus,
              *, digits: str = "", reason: str = "", timestamp_us: int = 0) -> None:
        member = self._member(entry)
        # The room's sequence goes on if the room still exists (never a phantom room).
        room = self.engine.rooms.rooms.get(entry.stay.fs_room) if entry.stay else None
        event = EngineEvent(kind, room=member.room if member else "",
                            conference_uuid=member.conference_uuid if member else "",
                            member=member, call=entry.facts, call_status=status,
                            digits=digits, reason=reason, recovered=True,
                            timestamp_us=timestamp_us or int(time.time() * 1e6),
                            sequence=room.next_sequence()
                            if room is not None and kind is not EventKind.CALL_ENDED else 0)
        self.engine.notifier.emit(event, hook, entry.dialect, lane=f"call:{entry.uuid}")

    def _request(self, entry: JournalEntry, hook: object, context: RequestContext) -> None:
        payload = dialects.get(entry.dialect).request_payload(context)
        self.engine.webhooks.enqueue(delivery_for(hook, payload, f"call:{entry.uuid}",
                                                  entry.dialect, recovered=True))

    def report_end(self, entry: JournalEntry, cause: str, *, left_at: int = 0,
                   ended_at: int = 0) -> None:
        """The call ended without a session: exit, action, hangup, call ended."""
        with log_context(call_uuid=entry.uuid):
            stay = entry.stay
            log.warning("recovery: call ended while the controller did not see it (%s)%s: "
                        "reporting its end, marked recovered", cause,
                        f"; it was member {stay.member_id} of {stay.room}" if stay else "")
            self.recovered_calls += 1
            self._reported.add(entry.uuid)
            self._adopt(entry)
            done = CallStatus.COMPLETED
            if stay is not None:
                if stay.callback is not None:
                    self._emit(entry, EventKind.MEMBER_LEFT, stay.callback, done,
                               timestamp_us=left_at)
                if stay.action is not None:
                    self._request(entry, stay.action, RequestContext(
                        Purpose.ACTION, entry.facts, done, member=self._member(entry),
                        tag=entry.tag))
            if entry.hangup is not None:
                self._request(entry, entry.hangup, RequestContext(
                    Purpose.HANGUP, entry.facts, done, hangup_cause=cause, tag=entry.tag))
            if entry.call_hook is not None:
                self._emit(entry, EventKind.CALL_ENDED, entry.call_hook, done, reason=cause,
                           timestamp_us=ended_at)
            self.journal.remove(entry.uuid)
