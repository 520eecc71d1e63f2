"""Event.get_last (a header found from the end of the block) against get/get_all on
FreeSWITCH's own events (captures 05a, 01): the same value for every header that occurs
once, the last one for repeated headers, the default for absent ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from capture_file import read_capture

from controller.esl.frames import Event, parse_plain_event

CAPTURES = Path(__file__).parent.parent / "data/captures"


def _events(name: str) -> list[Event]:
    found = []
    for record in read_capture(CAPTURES / name):
        head, _, body = record.data.partition(b"\n\n")
        if record.direction == "received" and b"Content-Type: text/event-plain" in head:
            found.append(parse_plain_event(body))
    return found


@pytest.mark.parametrize("capture", ["05a_outbound_conference_kick_then_hangup.txt",
                                     "01_conference_lifecycle_two_members.txt"])
def test_get_last_against_get_all_on_real_events(capture):
    events = _events(capture)
    assert len(events) > 5
    repeated = 0
    for event in events:
        names = [name for name, _ in event.pairs]
        for name in set(names):
            values = event.get_all(name)
            assert event.get_last(name) == values[-1], name
            if len(values) == 1:
                assert event.get_last(name) == event.get(name), name
            else:
                repeated += 1
        assert event.get_last("No-Such-Header", "x") == "x"
        assert event.get_last(names[0]) == event.get_all(names[0])[-1]  # the first line
    if capture.startswith("01"):
        assert repeated  # the lifecycle capture has repeated headers: both cases are seen


def test_application_uuid_of_an_execute_complete():
    completes = [e for e in _events("05a_outbound_conference_kick_then_hangup.txt")
                 if e.name == "CHANNEL_EXECUTE_COMPLETE"]
    assert [e.get_last("Application-UUID") for e in completes] == [
        e.get("Application-UUID") for e in completes]
    assert completes[0].get_last("Application-UUID") == "fe2fb967-097d-4646-b881-d13c39f887a3"


def test_get_last_on_events_built_from_pairs_and_headers():
    event = Event([("A", "1"), ("B", "2"), ("A", "3")])
    assert (event.get_last("A"), event.get("A"), event.get_last("B")) == ("3", "1", "2")
    assert event.get_last("C") is None
    reply = Event.from_headers({"Reply-Text": "+OK"})
    assert reply.get_last("Reply-Text") == "+OK" and reply.get_last("X", "") == ""


def test_get_last_decodes_like_get():
    event = parse_plain_event(b"Event-Name: CUSTOM\nCaller-Caller-ID-Name: Zo%C3%AB%20100%25\n"
                              b"Other: a%3Ab\n\n")
    assert event.get_last("Caller-Caller-ID-Name") == "Zoë 100%" == event.get(
        "Caller-Caller-ID-Name")
    assert event.get_last("Event-Name") == "CUSTOM"
