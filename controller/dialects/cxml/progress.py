"""The call-progress StatusCallbacks of a call dialled by Participants create or Calls
create:
``initiated`` when the dial starts, ``ringing`` when the callee rings (FreeSWITCH's
CHANNEL_PROGRESS/_PROGRESS_MEDIA of the leg, reported once by the Dialer; a leg answered
at once may never ring), ``answered`` (CallStatus in-progress) when the leg answers, and
``completed`` with CallStatus busy / no-answer / failed / canceled for a
leg that never answered. The ``completed`` of an answered leg is its end, reported by
its CallSession to the same StatusCallback (the dial's hangup hook).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from controller.conference.events import CallFacts, CallStatus, EngineEvent
from controller.dialects.base import Payload
from controller.dialects.cxml import params, sids
from controller.dialer import DialedLeg, DialOutcome, Outcome
from controller.model import Webhook

# The call's CallStatus for a dial that was not answered (Twilio's words).
UNANSWERED_STATUS = {Outcome.BUSY: "busy", Outcome.NO_ANSWER: "no-answer",
                     Outcome.FAILED: "failed", Outcome.CANCELLED: "canceled"}
# The events a StatusCallbackEvent may ask for: Twilio's.
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


class CallProgress:
    def __init__(self, service: Any, dialect: Any, hook: Webhook | None,
                 events: frozenset[str]):
        self.service = service
        self.dialect = dialect
        self.hook = hook
        self.events = events
        self.sequence = itertools.count()

    def initiated(self, leg: DialedLeg) -> None:
        self._send(leg, "initiated", "initiated")

    def ringing(self, event: EngineEvent) -> None:
        """The Dialer's ringing event (on its greenlet: queues, never blocks)."""
        call = event.call
        if call is not None:
            self._send_facts(call, "ringing", CallStatus.RINGING.value)

    def outcome(self, outcome: DialOutcome) -> None:
        """The Dialer's outcome (on its greenlet: queues, never blocks)."""
        if outcome.kind is Outcome.ANSWERED:
            self._send(outcome.leg, "answered", CallStatus.IN_PROGRESS.value)
        else:
            self._send(outcome.leg, "completed", UNANSWERED_STATUS[outcome.kind],
                       outcome.cause)

    def _send(self, leg: DialedLeg, event: str, status: str, cause: str = "") -> None:
        self._send_facts(CallFacts(uuid=leg.uuid, caller_number=leg.from_number,
                                   caller_name=leg.from_name, destination=leg.to,
                                   direction="outbound", dialect=self.dialect.name,
                                   call_id=sids.call_sid(leg.uuid)), event, status, cause)

    def _send_facts(self, facts: CallFacts, event: str, status: str, cause: str = "") -> None:
        hook = self.hook
        if hook is None or event not in self.events:
            return
        fields = params.call_params(self.dialect.account, facts, CallStatus.IN_PROGRESS)
        fields.update(CallStatus=status, CallbackSource="call-progress-events",
                      SequenceNumber=str(next(self.sequence)),
                      Timestamp=params.rfc2822(int(time.time() * 1e6)))
        if cause:
            fields["HangupCause"] = cause  # FreeSWITCH's (USER_BUSY, NO_ANSWER...)
        self.service.engine.notifier.send(hook, Payload(fields), self.dialect.name,
                                          f"call:{facts.uuid}")
