"""controller.journal.encode_entry assembles its JSON from parts (webhooks cached): the
text must be exactly json.dumps of the entry's dict as decode_entry reads it, for any
entry, and read back to the same entry."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.conference.events import CallFacts
from controller.journal import VERSION, JournalEntry, RoomStay, decode_entry, encode_entry
from controller.model import HttpMethod, Webhook


def _hook_dict(hook: Webhook | None) -> dict | None:
    if hook is None:
        return None
    return {"url": hook.url, "method": hook.method.value, "username": hook.username,
            "password": hook.password, "fallback_url": hook.fallback_url,
            "fallback_method": hook.fallback_method.value,
            "fallback_username": hook.fallback_username,
            "fallback_password": hook.fallback_password, "timeout": hook.timeout}


def reference(entry: JournalEntry) -> str:
    """The entry's dict, spelled out, through json.dumps."""
    facts = entry.facts
    stay = entry.stay
    data = {
        "v": VERSION, "uuid": entry.uuid, "dialect": entry.dialect,
        "facts": {"uuid": facts.uuid, "caller_number": facts.caller_number,
                  "caller_name": facts.caller_name, "destination": facts.destination,
                  "direction": facts.direction, "dialect": facts.dialect,
                  "call_id": facts.call_id},
        "hangup": _hook_dict(entry.hangup), "call_hook": _hook_dict(entry.call_hook),
        "tag": entry.tag,
        "stay": None if stay is None else {
            "room": stay.room, "fs_room": stay.fs_room,
            "conference_uuid": stay.conference_uuid, "member_id": stay.member_id,
            "callback": _hook_dict(stay.callback), "action": _hook_dict(stay.action),
            "redirect": stay.redirect,
        },
    }
    if entry.face_state:
        data["face"] = dict(entry.face_state)
    return json.dumps(data, separators=(",", ":"))


TEXT = st.text(alphabet=st.sampled_from(list('ab"\\/\n\x00é€😀 :,{}')), max_size=6)
HOOKS = st.none() | st.builds(
    Webhook, url=TEXT, method=st.sampled_from(list(HttpMethod)), username=TEXT,
    password=TEXT, fallback_url=TEXT, fallback_method=st.sampled_from(list(HttpMethod)),
    timeout=st.none() | st.floats(min_value=0.001, max_value=1e6))
ENTRIES = st.builds(
    JournalEntry, uuid=TEXT, dialect=TEXT,
    facts=st.builds(CallFacts, uuid=TEXT, caller_number=TEXT, caller_name=TEXT,
                    destination=TEXT, direction=TEXT, dialect=TEXT, call_id=TEXT),
    hangup=HOOKS, call_hook=HOOKS, tag=st.none() | TEXT,
    stay=st.none() | st.builds(RoomStay, room=TEXT, fs_room=TEXT, conference_uuid=TEXT,
                               member_id=TEXT, callback=HOOKS, action=HOOKS,
                               redirect=st.booleans()),
    face_state=st.dictionaries(TEXT, TEXT, max_size=3))


@settings(max_examples=300, derandomize=True)
@given(ENTRIES)
def test_the_text_of_json_dumps_and_the_same_entry_back(entry):
    text = encode_entry(entry)
    assert text == reference(entry)
    assert decode_entry(text) == entry


def test_a_hook_shared_by_two_entries_is_written_in_each():
    hook = Webhook("http://app/cb", HttpMethod.GET, timeout=2.5)
    facts = CallFacts("u-1", "100", "Zoë", "room")
    first = JournalEntry("u-1", "plivo", facts, hook)
    second = first.with_stay(RoomStay("sales", "conf-sales", "c-1", "7", hook, None))
    assert json.loads(encode_entry(first))["hangup"]["url"] == "http://app/cb"
    again = json.loads(encode_entry(second))
    assert again["hangup"] == again["stay"]["callback"] == _hook_dict(hook)
    assert decode_entry(encode_entry(second)) == second
