"""Two calls join a new room at almost the same moment: the room's hooks (the creator's,
known once the creator's join registers them) must still hear every join exactly once,
in order, with increasing SequenceNumbers. The second caller's add-member may reach the
controller (on its own call socket) before the creator's does: its join must be held
until the room's hooks are known, not dropped."""

from __future__ import annotations

import gevent
import pytest
from test_cxml_end_to_end import conference_document, sid_of


@pytest.mark.parametrize("attempt", range(4))
def test_simultaneous_joins_each_reach_the_room_hooks_once_in_order(
        cxml_stack, cxml_app, room_name, attempt):
    cxml_app.documents["/answer"] = conference_document(room_name)
    calls = [gevent.spawn(cxml_stack.phones.call, "1000", caller_id=who)
             for who in ("first", "second")]
    phones = [g.get(timeout=10) for g in calls]
    for phone in phones:
        phone.wait_answered(timeout=10)
    joins = cxml_app.wait_for("/status", 2, StatusCallbackEvent="participant-join")
    gevent.sleep(0.5)  # a duplicate would come now
    joins = cxml_app.at("/status", StatusCallbackEvent="participant-join")
    assert sorted(j["CallSid"] for j in joins) == sorted(sid_of(p) for p in phones)
    statuses = cxml_app.at("/status")
    sequence = [int(s["SequenceNumber"]) for s in statuses]
    assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence), statuses
    # FreeSWITCH's order: the creator's add-member (its join, and the start it brings:
    # it is a starter), then the second caller's.
    assert [s["StatusCallbackEvent"] for s in statuses] == \
        ["participant-join", "conference-start", "participant-join"], statuses
    assert statuses[0]["CallSid"] != statuses[2]["CallSid"]
    assert all(r["valid"] for r in cxml_app.requests)
