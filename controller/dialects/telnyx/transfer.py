"""Telnyx's ``actions/transfer`` as a FreeSWITCH bridge: the transferred call (A) runs
``bridge`` to the new destination (B) from its own socket, as it runs any other
application, so the controller keeps A under control before, during and after.

    transfer(A, to)  -> B's call.initiated (outgoing, with target_leg_client_state)
    B answers        -> B's call.answered; call.bridged for A and for B
    B hangs up       -> B's call.hangup; A hangs up too, or waits for commands when
                        park_after_unbridge=self (Telnyx's default is to hang up)
    A hangs up       -> FreeSWITCH ends B (B's call.hangup), A's call.hangup as usual
    B not answered   -> B's call.hangup with its cause; A stays up for more commands
                        (Telnyx: "The original call will remain active")

B is no socket's call: its webhooks come from its CHANNEL_ANSWER and
CHANNEL_HANGUP_COMPLETE on the shared inbound connection (B's uuid is ours: the
dial string's ``origination_uuid``), and a dial that never made a channel
(e.g. ``SUBSCRIBER_ABSENT``) from A's ``originate_failed_cause``. B takes one
command, hangup (``uuid_kill``), through ``ACTIVE`` and the REST face.

FreeSWITCH behaviour relied on (controller/freeswitch/originate.py ``bridge``):
``continue_on_fail`` keeps A up when the dial fails, ``hangup_after_bridge=false``
returns A to its socket when B hangs up, A's hangup ends B.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from controller.dialects.telnyx import webhooks
from controller.dialects.telnyx.callcontrol import send_call_event
from controller.dialects.telnyx.dialing import TelnyxDialer, dial_facts, unanswered_from_cause
from controller.dialects.telnyx.state import CALLS
from controller.esl import CallerGone, EslError
from controller.freeswitch import apps, channel, scheduler
from controller.freeswitch import originate as fs
from controller.model import Document, Hangup

if TYPE_CHECKING:
    from controller.call import CallSession

log = logging.getLogger(__name__)

WATCHED = ("CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE")
# After A's bridge returned: how long B's CHANNEL_HANGUP_COMPLETE (inbound connection) may
# lag behind A's EXECUTE_COMPLETE (A's own socket) before B's end is reported from A's
# originate_failed_cause (a dial that made no channel fires none).
HANGUP_GRACE_SECONDS = 5.0
ACTIVE: dict[str, TransferLeg] = {}  # B's uuid -> its transfer, while it runs


class TransferLeg:
    """One transfer: B's identity, its webhooks, and the step A's greenlet runs."""

    def __init__(self, service: Any, dialing: TelnyxDialer, wanted: dict[str, Any],
                 destination: fs.Destination, park_after: bool):
        self.service = service
        self.dialing = dialing
        self.wanted = wanted
        self.destination = destination
        self.park_after = park_after
        self.uuid = str(uuidlib.uuid4())
        self.answered = False
        self.ended = gevent.event.Event()
        self.caller_gone = False
        self.facts = dial_facts(self.uuid, wanted["to"], wanted["from"],
                                wanted["from_display_name"])

    # ------------------------------------------------------------ the command
    def app(self) -> apps.AppCall:
        variables = {fs.ORIGINATION_UUID: self.uuid, fs.IGNORE_EARLY_MEDIA: "true",
                     fs.ORIGINATE_TIMEOUT: str(self.wanted["timeout_secs"]),
                     fs.CALLER_ID_NUMBER: self.wanted["from"]}
        if self.wanted["from_display_name"]:
            variables[fs.CALLER_ID_NAME] = self.wanted["from_display_name"]
        return fs.bridge(self.destination, variables)

    def step(self, call: CallSession) -> Document | None:
        """RunOnCall procedure on A: announce B, bridge, report, then A's next move."""
        esl = self.service.esl
        state = CALLS.get(self.uuid)
        state.client_state = self.wanted["client_state"]
        state.webhook_url = self.wanted["webhook_url"]
        state.connection_id = self.wanted["connection_id"]
        consumer = esl.subscribe(f"telnyx-transfer:{self.uuid}", WATCHED)
        ACTIVE[self.uuid] = self
        watcher = gevent.spawn(self._watch, consumer, call)
        self.dialing._send(self.facts, "call.initiated", direction="outgoing",
                           state="bridging", caller_id_name=self.facts.caller_name or None,
                           start_time=webhooks.iso(state.started_us))
        try:
            call._start(apps.set_var(fs.CONTINUE_ON_FAIL, "true"))
            call._start(apps.set_var(fs.HANGUP_AFTER_BRIDGE, "false"))
            try:
                call.wait_bridged(call._start(self.app()), "during a transfer")
            except CallerGone:
                self.caller_gone = True
            failed = "" if self.answered or self.caller_gone else self._failed_cause(call)
            if not self.ended.wait(HANGUP_GRACE_SECONDS):
                # No channel to end (the dial failed before one existed): A says why.
                self._report_end(failed or "NORMAL_TEMPORARY_FAILURE")
        finally:
            watcher.kill(block=False)
            esl.unsubscribe(consumer)
            ACTIVE.pop(self.uuid, None)
        if self.caller_gone:
            raise CallerGone("the transferred call hung up")
        if self.answered and not self.park_after:
            return Document((Hangup(),))  # the bridge ended: so does A (Telnyx's default)
        return None  # not answered, or park_after_unbridge=self: A waits for commands

    def _failed_cause(self, call: CallSession) -> str:
        try:
            reply = call.session.api(channel.uuid_getvar(call.uuid,
                                                         fs.ORIGINATE_FAILED_CAUSE)).strip()
        except (EslError, CallerGone):
            return ""
        return "" if reply.startswith("-ERR") or reply == "_undef_" else reply

    # ------------------------------------------------------------ B's events
    def _watch(self, consumer: Any, call: CallSession) -> None:
        while not self.ended.is_set():
            event = consumer.get()
            if event is None or event.unique_id != self.uuid:
                continue
            if event.name == "CHANNEL_ANSWER" and not self.answered:
                self.answered = True
                self._limit_time()
                self.dialing._send(self.facts, "call.answered", state="answered",
                                   start_time=webhooks.iso(CALLS.get(self.uuid).started_us))
                send_call_event(call, "call.bridged")
                self.dialing._send(self.facts, "call.bridged")
            elif event.name == "CHANNEL_HANGUP_COMPLETE":
                self._report_end(event.get("Hangup-Cause", "") or "NORMAL_CLEARING",
                                 event.get("variable_sip_hangup_disposition", ""))

    def _limit_time(self) -> None:
        """time_limit_secs: FreeSWITCH's scheduler ends B then (it fires whether or not
        this controller runs; controller.freeswitch.scheduler), A follows as after any
        end of the bridge."""
        seconds = int(self.wanted["time_limit_secs"] or 0)
        if not seconds:
            return
        try:
            self.service.esl.api(scheduler.sched_api(
                seconds, f"cc_tl_{self.uuid}", channel.uuid_kill(self.uuid, "ALLOTTED_TIMEOUT")))
        except EslError as exc:
            log.error("transfer leg %s: its time limit could not be set: %s", self.uuid, exc)

    def _report_end(self, cause: str, disposition: str = "") -> None:
        """``disposition``: B's sip_hangup_disposition, recv_bye when its phone hung up,
        send_bye when FreeSWITCH did (A's hangup ending the bridge, a hangup command, the
        time limit) (captures 05b and 03c)."""
        if self.ended.is_set():
            return
        self.ended.set()
        state = CALLS.get(self.uuid)
        if self.answered:
            telnyx_cause = webhooks.hangup_cause(cause)
            if disposition:
                source = "callee" if disposition.startswith("recv") else "caller"
            else:
                source = "caller" if self.caller_gone or state.ended_by_app else "callee"
        else:
            telnyx_cause, source = unanswered_from_cause(cause)
        log.info("transfer leg %s ended: %s", self.uuid, cause)
        self.dialing._send(self.facts, "call.hangup", state="hangup",
                           hangup_cause=telnyx_cause, hangup_source=source,
                           sip_hangup_cause="unspecified",
                           start_time=webhooks.iso(state.started_us))
        CALLS.forget(self.uuid)
        if self.wanted["time_limit_secs"]:
            try:
                self.service.esl.api(scheduler.sched_del(f"cc_tl_{self.uuid}"))
            except EslError:
                pass


def hang_up(service: Any, leg_uuid: str) -> bool:
    """``hangup`` on a transfer's B leg: uuid_kill (its call.hangup follows from its
    CHANNEL_HANGUP_COMPLETE). False when it is not a running transfer's leg."""
    leg = ACTIVE.get(leg_uuid)
    if leg is None:
        return False
    CALLS.get(leg_uuid).ended_by_app = True
    try:
        service.esl.api(channel.uuid_kill(leg_uuid, "NORMAL_CLEARING"))
    except EslError as exc:
        log.warning("hangup of transfer leg %s: %s", leg_uuid, exc)
    return True
