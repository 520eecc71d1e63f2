"""What the Telnyx face remembers about live calls: each call's client_state, webhook
URL, connection id, and who ended it.

Keyed by FreeSWITCH UUID (unique across every controller in the process), kept in
memory and, through the call journal, across a controller restart:
``journaled``/``restore`` are the face's Dialect.call_state/restore_call_state
(the journal entry is written again whenever client_state or the webhook URL
change: ``CallCommands`` calls ``CallSession.journal_again``). A dialled leg is
journalled when it is dialled (TelnyxDialer.dial), so even a leg that was still
ringing when the controller died reports its call.hangup to its own webhook_url
with its client_state. Bounded, oldest first out, so calls whose end was never
reported cannot pile up.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class CallState:
    client_state: str = ""
    webhook_url: str = ""  # "" : [telnyx] webhook_url
    connection_id: str = ""
    started_us: int = 0
    ended_by_app: bool = False  # hangup/reject command (hangup_source)
    media_stopped: bool = False  # playback_stop came while media played

    def journaled(self) -> dict[str, str]:
        """What the call journal keeps (short keys: an entry is written several times)."""
        kept = {"cs": self.client_state, "url": self.webhook_url, "conn": self.connection_id,
                "t0": str(self.started_us)}
        if self.ended_by_app:
            kept["app_end"] = "1"
        return {k: v for k, v in kept.items() if v}

    def restore(self, kept: Mapping[str, str]) -> None:
        self.client_state = kept.get("cs", "")
        self.webhook_url = kept.get("url", "")
        self.connection_id = kept.get("conn", "")
        self.started_us = int(kept.get("t0") or 0) or self.started_us
        self.ended_by_app = kept.get("app_end") == "1"


class CallStates:
    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._calls: collections.OrderedDict[str, CallState] = collections.OrderedDict()

    def get(self, call_uuid: str) -> CallState:
        state = self._calls.get(call_uuid)
        if state is None:
            state = self._calls[call_uuid] = CallState(started_us=int(time.time() * 1e6))
            while len(self._calls) > self.limit:
                self._calls.popitem(last=False)
        return state

    def peek(self, call_uuid: str) -> CallState | None:
        """The call's state if it is still known (``get`` would make one)."""
        return self._calls.get(call_uuid)

    def forget(self, call_uuid: str) -> None:
        self._calls.pop(call_uuid, None)


CALLS = CallStates()
