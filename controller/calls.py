"""Every live call by FreeSWITCH UUID and by its face's call id, and the commands other
greenlets (REST, room events) may give a running call.

A command never touches the call's socket: it is queued on the call and the
call's own greenlet is woken to act on it (``CallSession.submit``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.model import ConferenceJoin, Document, Play, Speak, Webhook

if TYPE_CHECKING:
    from controller.call import CallSession


@dataclass(frozen=True)
class RedirectCall:
    """Stop what the call is doing (leaving its room) and run a new document: fetched
    from ``hook``, or ``document`` as given."""

    hook: Webhook | None = None
    document: Document | None = None


@dataclass(frozen=True)
class HangupCall:
    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True)
class JoinRoom:
    join: ConferenceJoin


@dataclass(frozen=True)
class PlayToCall:
    """Play or speak to this call only (inside a room: to this member only)."""

    media: Play | Speak


@dataclass(frozen=True)
class SendDigits:
    digits: str


@dataclass(frozen=True)
class RunOnCall:
    """A face's own step, run by the call's greenlet between verbs: faces without markup
    (Telnyx Call Control) script their calls with these (answer, speak, gather...). The
    procedure gets the CallSession; a Document it returns replaces what the call does."""

    procedure: Callable[[CallSession], Document | None]
    what: str = ""  # for the log


CallCommand = RedirectCall | HangupCall | JoinRoom | PlayToCall | SendDigits | RunOnCall
# Commands that end what the call is doing now.
INTERRUPTING = (RedirectCall, HangupCall, JoinRoom)


class CallRegistry:
    def __init__(self) -> None:
        self._by_uuid: dict[str, CallSession] = {}
        self._by_call_id: dict[str, CallSession] = {}

    def add(self, call: CallSession) -> None:
        self._by_uuid[call.uuid] = call
        if call.call_id and call.call_id != call.uuid:
            self._by_call_id[call.call_id] = call

    def remove(self, call: CallSession) -> None:
        if self._by_uuid.get(call.uuid) is call:
            del self._by_uuid[call.uuid]
        if self._by_call_id.get(call.call_id) is call:
            del self._by_call_id[call.call_id]

    def get(self, call_id: str) -> CallSession | None:
        """By FreeSWITCH UUID or by the face's call id."""
        return self._by_uuid.get(call_id) or self._by_call_id.get(call_id)

    def find(self, call_id: str) -> CallSession | None:
        """``get`` for a REST request: in a cluster (controller.cluster.calls) it raises
        ``RunsElsewhere`` for a call another live controller runs, which is forwarded there."""
        return self.get(call_id)

    def __iter__(self) -> Iterator[CallSession]:
        return iter(list(self._by_uuid.values()))

    def __len__(self) -> int:
        return len(self._by_uuid)
