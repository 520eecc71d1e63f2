"""conference.floor.changed as Telnyx sends it: the event object itself, not wrapped in
``data`` (Telnyx's callback reference; the SDK's ConferenceFloorChanged), verified and
parsed by the SDK's ``webhooks.unwrap``."""

from __future__ import annotations

import json

from conftest import b64
from telnyx.types import ConferenceFloorChanged
from test_conferences import answered_call, room_name


def floor_changes(stack) -> list[ConferenceFloorChanged]:
    return [e for e in stack.telnyx.events if isinstance(e, ConferenceFloorChanged)]


def test_floor_change_parses_as_the_sdks_conference_floor_changed(telnyx_stack):
    stack = telnyx_stack
    alice, alice_id = answered_call(stack, "alice")
    bob, bob_id = answered_call(stack, "bob")
    stack.client.calls.actions.update_client_state(bob_id, client_state=b64("bob-state"))
    conf = stack.client.conferences.create(call_control_id=alice_id, name=room_name(),
                                           client_state=b64("room")).data
    stack.client.conferences.actions.join(conf.id, call_control_id=bob_id)
    stack.telnyx.wait_for("conference.participant.joined", count=2, conference_id=conf.id)

    bob.start_talking()
    changed = stack.telnyx.wait_for("conference.floor.changed", call_control_id=bob_id)[0]
    bob.stop_talking()
    assert isinstance(changed, ConferenceFloorChanged)
    assert (changed.record_type, changed.event_type) == ("event", "conference.floor.changed")
    payload = changed.payload
    assert payload.conference_id == conf.id
    assert payload.call_leg_id == bob.uuid
    assert payload.client_state == b64("bob-state")
    assert payload.occurred_at is not None
    # the body as sent: no data/meta wrapper
    raw = next(json.loads(b) for b in stack.telnyx.bodies
               if '"conference.floor.changed"' in b and bob_id in b)
    assert set(raw) == {"record_type", "event_type", "id", "payload"}
    assert floor_changes(stack) and not stack.telnyx.refused
