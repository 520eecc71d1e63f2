"""What the Telnyx face remembers about live calls: each call's client_state, webhook
URL, connection id, and who ended it.

Keyed by FreeSWITCH UUID (unique across every controller in the process), kept in
memory: a controller restart forgets a call's client_state (its later webhooks
carry none) but not the call. Bounded, oldest first out, so calls whose end was
never reported cannot pile up.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass


@dataclass
class CallState:
    client_state: str = ""
    webhook_url: str = ""  # "" : [telnyx] webhook_url
    connection_id: str = ""
    started_us: int = 0
    ended_by_app: bool = False  # hangup/reject command (hangup_source)
    media_stopped: bool = False  # playback_stop came while media played


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
