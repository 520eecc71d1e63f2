"""The standup app's tests: real calls through a simulated FreeSWITCH and the controller."""

from flask import Flask

from controller.sim.phones import PhoneBook
from controller.testing.recorder import RecordingApp
from controller.testing.stack import Stack


def test_the_room_knows_who_is_in_it(conference_app: Flask, conference_phones: PhoneBook,
                                     conference_callbacks: RecordingApp):
    alice = conference_phones.call("1000", caller_id="alice")
    bob = conference_phones.call("1000", caller_id="bob")
    conference_callbacks.wait_for("/events", count=2, ConferenceAction="enter")
    assert conference_app.config["present"] == {"alice", "bob"}

    bob.hangup()
    conference_callbacks.wait_for("/events", ConferenceAction="exit", From="bob")
    assert conference_app.config["present"] == {"alice"}
    # what FreeSWITCH played to her includes the greeting
    assert any(sound.endswith("Good morning.") for sound in alice.heard), alice.heard


def test_the_room_in_the_rest_api(conference_stack: Stack, conference_phones: PhoneBook,
                                  conference_callbacks: RecordingApp):
    conference_phones.call("1000", caller_id="carol", caller_name="Carol")
    conference_callbacks.wait_for("/events", ConferenceAction="enter")
    room = conference_stack.rest("GET", "/v1/conferences/standup").json()
    assert [m["caller_id_name"] for m in room["members"]] == ["Carol"]


def test_votes_by_keypad_then_star_leaves(conference_app: Flask, conference_phones: PhoneBook,
                                          conference_callbacks: RecordingApp):
    dave = conference_phones.call("2000", caller_id="dave")
    conference_callbacks.wait_for("/events", ConferenceAction="enter")
    dave.send_dtmf("2")
    conference_callbacks.wait_for("/events", ConferenceAction="digits")
    assert conference_app.config["votes"] == {"dave": "2"}

    dave.send_dtmf("*")  # hangupOnStar: out of the room, to the action URL
    assert dave.wait_hangup() == "NORMAL_CLEARING"
    assert dave.heard[-1].endswith("Goodbye.")
    [bye] = conference_callbacks.wait_for("/bye")
    assert bye.params["ConferenceName"] == "vote"


def test_unknown_number_is_refused(conference_phones: PhoneBook,
                                   conference_callbacks: RecordingApp):
    erin = conference_phones.call("9999", caller_id="erin")
    erin.wait_hangup()
    assert erin.heard[-1].endswith("This number is not in service.")
    [answer] = conference_callbacks.at("/answer")
    assert "<Hangup/>" in answer.response_text


def test_alice_joins_and_bob_votes(conference_phones: PhoneBook,
                                   conference_callbacks: RecordingApp, conference_stack: Stack):
    """The README's example, as written there."""
    alice = conference_phones.call("1000", caller_id="alice", caller_name="Alice")
    conference_callbacks.wait_for("/events", ConferenceAction="enter", From="alice")
    room = conference_stack.rest("GET", "/v1/conferences/standup").json()
    assert [m["caller_id_name"] for m in room["members"]] == ["Alice"]
    alice.start_talking()                              # speech: talking events, floor
    alice.stop_talking()
    alice.hangup()
    assert any("Good morning" in sound for sound in alice.heard)  # what was played to her

    bob = conference_phones.call("2000", caller_id="bob")
    conference_callbacks.wait_for("/events", ConferenceAction="enter", From="bob")
    bob.send_dtmf("2")                                 # press keys
    [digits] = conference_callbacks.wait_for("/events", ConferenceAction="digits")
    assert digits.params["ConferenceDigitsMatch"] == "2"
