"""Telnyx conferences driven by the official SDK against the simulator or a real
FreeSWITCH: create with the seed options, join, mute, hold, supervisor roles, record,
end; webhooks verified and parsed by the SDK, the room checked in FreeSWITCH's own
listings (``conference json_list``, ``conference <room> relate``)."""

from __future__ import annotations

import json
import re
import secrets

import pytest
import telnyx
from conftest import b64
from stack import wait_until


def answered_call(stack, caller: str):
    phone = stack.phones.call("5000", caller_id=caller)
    ccid = stack.telnyx.wait_for("call.initiated", from_=caller)[-1].payload.call_control_id
    stack.client.calls.actions.answer(ccid)
    phone.wait_answered(timeout=5)
    return phone, ccid


def room_name() -> str:
    return f"telnyx-{secrets.token_hex(4)}"


def members(stack, name: str) -> dict[str, dict]:
    """FreeSWITCH's members of room ``name`` by call uuid (``conference json_list``, with
    the flags of capture 03a/07a: can_speak, hold...)."""
    for conf in json.loads(stack.api("conference json_list") or "[]"):
        if conf["conference_name"] == name:
            return {m["uuid"]: m for m in conf["members"] if m.get("type") == "caller"}
    return {}


_RELATION = re.compile(r"^(\d+) -> (\d+) (NOSPEAK|SPEAK) (NOHEAR|HEAR)", re.MULTILINE)


def not_hearing(stack, name: str, member_id: int) -> set[int]:
    """The members FreeSWITCH does not let hear member ``member_id``: its NOSPEAK
    relations in ``conference <room> relate <id>`` (capture 07b: ``3 -> 5 NOSPEAK HEAR
    NOSENDVIDEO``; ``+OK No relationships`` or ``-ERR no reply`` when there are none)."""
    listing = stack.api(f"conference {name} relate {member_id}")
    return {int(other) for source, other, speak, _ in _RELATION.findall(listing)
            if int(source) == member_id and speak == "NOSPEAK"}


def test_create_join_mute_hold_record_and_end(telnyx_stack):
    stack = telnyx_stack
    client = stack.client
    alice, alice_id = answered_call(stack, "alice")
    bob, bob_id = answered_call(stack, "bob")
    name = room_name()

    created = client.conferences.create(call_control_id=alice_id, name=name,
                                        client_state=b64("room-state"), beep_enabled="on_enter",
                                        max_participants=5, duration_minutes=30)
    conf = created.data
    assert conf.record_type == "conference" and conf.name == name
    assert conf.status == "in_progress" and conf.id
    assert conf.expires_at > conf.created_at
    joined = stack.telnyx.wait_for("conference.participant.joined", conference_id=conf.id)[0]
    assert joined.payload.call_control_id == alice_id
    assert joined.payload.client_state == b64("room-state")
    stack.telnyx.wait_for("conference.created", conference_id=conf.id)

    client.conferences.actions.join(conf.id, call_control_id=bob_id, mute=True)
    stack.telnyx.wait_for("conference.participant.joined", count=2, conference_id=conf.id)
    room = members(stack, name)
    assert room[bob.uuid]["flags"]["can_speak"] is False
    assert room[alice.uuid]["flags"]["can_speak"] is True

    client.conferences.actions.unmute(conf.id, call_control_ids=[bob_id])
    client.conferences.actions.hold(conf.id, call_control_ids=[alice_id])
    wait_until(lambda: members(stack, name)[alice.uuid]["flags"]["hold"], what="alice held")
    listed = list(client.conferences.list_participants(conf.id))
    by_call = {p.call_control_id: p for p in listed}
    assert by_call[alice_id].on_hold is True and by_call[bob_id].muted is False
    client.conferences.actions.unhold(conf.id, call_control_ids=[alice_id])
    wait_until(lambda: not members(stack, name)[alice.uuid]["flags"]["hold"],
               what="alice unheld")

    assert client.conferences.retrieve(name).data.id == conf.id  # by name, as Telnyx allows
    assert [c.id for c in client.conferences.list(filter={"name": name})] == [conf.id]

    client.conferences.actions.record_start(conf.id, format="wav")
    wait_until(lambda: stack.controller.rooms.rooms[name].recordings, what="recording")
    client.conferences.actions.record_stop(conf.id)
    saved = stack.telnyx.wait_for("conference.recording.saved", conference_id=conf.id)[0]
    assert saved.payload.format == "wav" and saved.payload.recording_urls.wav
    assert saved.payload.client_state == b64("room-state")

    client.conferences.actions.end_conference(conf.id)
    ended = stack.telnyx.wait_for("conference.ended", conference_id=conf.id)[0]
    assert ended.payload.reason == "all_left"  # the webhook's three reasons lack an API end
    stack.telnyx.wait_for("conference.participant.left", count=2, conference_id=conf.id)
    after = client.conferences.retrieve(conf.id).data
    assert after.status == "completed" and after.end_reason == "ended_via_api"
    # Out of the room the calls are up again, waiting for commands.
    assert alice.is_up and bob.is_up
    client.calls.actions.hangup(alice_id)
    client.calls.actions.hangup(bob_id)
    stack.telnyx.wait_for("call.hangup", call_control_id=bob_id)
    assert not stack.telnyx.refused


def test_supervisor_roles_decide_who_hears_whom(telnyx_stack):
    stack = telnyx_stack
    client = stack.client
    agent, agent_id = answered_call(stack, "agent")
    customer, customer_id = answered_call(stack, "customer")
    boss, boss_id = answered_call(stack, "boss")
    name = room_name()
    conf = client.conferences.create(call_control_id=agent_id, name=name).data
    client.conferences.actions.join(conf.id, call_control_id=customer_id)
    client.conferences.actions.join(conf.id, call_control_id=boss_id,
                                    supervisor_role="whisper",
                                    whisper_call_control_ids=[agent_id])
    stack.telnyx.wait_for("conference.participant.joined", count=3, conference_id=conf.id)
    ids = {uuid: member["id"] for uuid, member in members(stack, name).items()}
    boss_member, customer_member = ids[boss.uuid], ids[customer.uuid]
    rooms = stack.controller.rooms
    wait_until(lambda: rooms.coaching(name).get(str(boss_member)), what="whisper")
    assert rooms.coaching(name)[str(boss_member)] == frozenset({agent.uuid})
    # FreeSWITCH's own relations: the customer does not hear the boss, the agent does.
    assert not_hearing(stack, name, boss_member) == {customer_member}
    participants = {p.call_control_id: p for p in client.conferences.list_participants(conf.id)}
    assert participants[boss_id].whisper_call_control_ids == [agent_id]

    client.conferences.actions.update(conf.id, call_control_id=boss_id,
                                      supervisor_role="monitor")
    assert rooms.coaching(name)[str(boss_member)] == frozenset()  # heard by nobody
    assert not_hearing(stack, name, boss_member) == {customer_member, ids[agent.uuid]}
    client.conferences.actions.update(conf.id, call_control_id=boss_id,
                                      supervisor_role="barge")
    assert str(boss_member) not in rooms.coaching(name)  # heard by everyone
    assert not_hearing(stack, name, boss_member) == set()
    client.conferences.actions.end_conference(conf.id)
    stack.telnyx.wait_for("conference.ended", conference_id=conf.id)


def test_start_conference_on_create_false_holds_everyone_until_a_starter(telnyx_stack):
    stack = telnyx_stack
    client = stack.client
    guest, guest_id = answered_call(stack, "guest")
    host, host_id = answered_call(stack, "host")
    name = room_name()
    conf = client.conferences.create(call_control_id=guest_id, name=name,
                                     start_conference_on_create=False).data
    assert conf.status == "init"
    wait_until(lambda: members(stack, name)[guest.uuid]["flags"]["hold"], what="guest held")
    client.conferences.actions.join(conf.id, call_control_id=host_id,
                                    start_conference_on_enter=True)
    wait_until(lambda: not members(stack, name)[guest.uuid]["flags"]["hold"],
               what="guest unheld when the host started the conference")
    assert members(stack, name)[host.uuid]["flags"]["hold"] is False
    assert client.conferences.retrieve(conf.id).data.status == "in_progress"
    client.conferences.actions.end_conference(conf.id)
    stack.telnyx.wait_for("conference.ended", conference_id=conf.id)


def test_bad_conference_requests_are_refused_by_name(telnyx_stack):
    stack = telnyx_stack
    client = stack.client
    alice, alice_id = answered_call(stack, "alice")
    with pytest.raises(telnyx.UnprocessableEntityError) as media:
        client.conferences.create(call_control_id=alice_id, name=room_name(),
                                  hold_media_name="music")
    assert "hold_media_name" in str(media.value)
    with pytest.raises(telnyx.UnprocessableEntityError) as size:
        client.conferences.create(call_control_id=alice_id, name=room_name(),
                                  max_participants=1)
    assert "max_participants" in str(size.value)
    with pytest.raises(telnyx.NotFoundError):
        client.conferences.retrieve("no-such-conference")
    name = room_name()
    first = client.conferences.create(call_control_id=alice_id, name=name, command_id="c1")
    again = client.conferences.create(call_control_id=alice_id, name=name, command_id="c1")
    assert again.data.id == first.data.id  # the repeat did nothing and answered the same
    assert len(members(stack, name)) == 1
    client.conferences.actions.end_conference(first.data.id)
    stack.telnyx.wait_for("conference.ended", conference_id=first.data.id)
