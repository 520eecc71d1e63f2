"""The simulator's lookup indexes (event bus consumers by channel, headers by folded name)
give the answers the linear scans they replaced gave: over TCP where a peer sees them,
on the Event itself for the header lookup every filter and listener relies on."""

from __future__ import annotations

import gevent
import pytest
from eslwire import login

from controller.sim import SimConfig, Simulator
from controller.sim.events import Event

PARK = [("answer", None), ("park", None)]


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(
        SimConfig(esl_port=0, time_scale=0.05, recordings_dir=str(tmp_path)),
        dialplan=lambda number: PARK,
    ).start()
    yield simulator
    simulator.stop()


def _wait(condition, timeout: float = 5.0) -> None:  # noqa: ANN001
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        gevent.sleep(0.01)
    raise TimeoutError("condition not met")


def _run_set(sim: Simulator, uuid: str, value: str) -> None:
    driver = login(sim.esl_port)
    reply = driver.command(
        f"sendmsg {uuid}\ncall-command: execute\nexecute-app-name: set\n"
        f"execute-app-arg: marker={value}"
    )
    assert reply.reply_text == "+OK"
    driver.close()


def _set_done(value: str):  # noqa: ANN202
    return lambda e: (
        e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application-Data") == f"marker={value}"
    )


def test_closing_one_myevents_socket_of_a_channel_leaves_the_others_receiving(sim):
    alice = sim.phones.call("1000", caller_id="alice")
    bob = sim.phones.call("1000", caller_id="bob")
    alice.wait_answered()
    bob.wait_answered()
    channel = sim.core.find_channel(alice.uuid)
    peers = [login(sim.esl_port) for _ in range(3)]
    for peer in peers:
        assert peer.command(f"myevents {alice.uuid}").reply_text == "+OK Events Enabled"
    bobs = login(sim.esl_port)
    bobs.command(f"myevents {bob.uuid}")
    watcher = login(sim.esl_port)
    watcher.command("event plain CHANNEL_EXECUTE_COMPLETE")
    assert len(channel.controllers) == 3

    peers[1].close()  # the middle one of the three narrowed to alice's channel
    _wait(lambda: len(channel.controllers) == 2)
    _run_set(sim, alice.uuid, "one")
    for peer in (peers[0], peers[2], watcher):
        peer.wait_event(_set_done("one"))

    peers[0].close()  # the first one, then the only one narrowed to bob's channel
    bobs.close()
    _wait(lambda: len(channel.controllers) == 1)
    _run_set(sim, alice.uuid, "two")
    _run_set(sim, bob.uuid, "three")
    peers[2].wait_event(_set_done("two"))
    watcher.wait_event(_set_done("three"))
    # the remaining narrowed socket still sees only its own channel
    assert {e.get("Unique-ID") for e in peers[2].events()} == {alice.uuid}
    peers[2].close()
    watcher.close()


def test_a_filter_compares_the_first_of_duplicated_headers_whatever_their_case(sim):
    # mod_event_socket.c event_handler: switch_event_get_header(event, hp->name), the
    # first header of that name compared case-insensitively (switch_event.c)
    listener = login(sim.esl_port)
    listener.command("event plain CUSTOM dup::test")
    assert listener.command("filter odd-header first").reply_text.startswith("+OK")
    sender = login(sim.esl_port)
    sender.command("sendevent CUSTOM\nEvent-Subclass: dup::test\nMark: b\n"
                   "ODD-Header: second\nOdd-Header: first")
    sender.command("sendevent CUSTOM\nEvent-Subclass: dup::test\nMark: a\n"
                   "Odd-Header: first\nODD-HEADER: second")
    listener.wait_event(lambda e: e.get("Mark") == "a")
    assert [e.get("Mark") for e in listener.events()] == ["a"]
    listener.close()
    sender.close()


def test_header_lookup_is_case_insensitive_and_returns_the_first_duplicate():
    event = Event("CUSTOM", "x::y")
    event.add("Unique-ID", "first").add("unique-id", "second").add("Other", "o")
    assert event.get("UNIQUE-ID") == "first"
    assert event.get("unique-Id") == "first"
    assert event.get("missing") is None
    event.add("Later", "seen")  # added after a lookup: the index follows
    assert event.get("later") == "seen"
    event.remove("UNIQUE-id")
    assert event.get("Unique-ID") is None
    assert event.get("other") == "o"
    event.headers = [("Replaced", "r")]  # a replaced list is indexed again
    assert event.get("other") is None
    assert event.get("REPLACED") == "r"


def test_lookup_through_blocks_finds_the_first_header_in_event_order():
    from controller.sim.events import Block

    conference = Block([("Conference-Name", "room"), ("Unique-ID", "in-block")])
    variables = Block([("variable_uuid", "v1"), ("variable_UUID", "v2")], "variable_")
    event = Event("CUSTOM", "conference::maintenance")
    event.add("Event-Name", "CUSTOM").add("Event-Subclass", "conference::maintenance")
    event.add_block(conference)
    event.add("unique-id", "after-block")
    event.add_block(variables)
    event.add("Action", "add-member").add("Conference-Name", "later")
    assert event.get("UNIQUE-ID") == "in-block"
    assert event.get("conference-name") == "room"
    assert event.get("Variable_Uuid") == "v1"
    assert event.get("action") == "add-member"
    assert event.get("Job-Owner-UUID") is None
    # a header before the blocks wins over the blocks' own
    early = Event("CHANNEL_EXECUTE")
    early.add("Unique-ID", "early").add_block(conference)
    assert early.get("unique-id") == "early"
    # a replaced headers list (no block knowledge) answers the same
    event.headers = list(event.headers)
    assert event.get("UNIQUE-ID") == "in-block"
    assert event.get("Variable_Uuid") == "v1"


def test_a_block_made_from_its_previous_serialises_like_a_fresh_one():
    from controller.sim.events import Block, plain_lines

    first = Block([("variable_a", "1 2"), ("variable_b", "x@y"), ("variable_c", "same")])
    assert first.text == "".join(plain_lines(first.pairs))
    second = Block([("variable_b", "x@z"), ("variable_c", "same"), ("variable_d", "é")],
                   "variable_", first)
    assert second.text == "variable_b: x%40z\nvariable_c: same\nvariable_d: %C3%A9\n"
    third = Block([("variable_a", "1 2")], "variable_", Block([("variable_q", "?")], "", second))
    assert third.text == "variable_a: 1%202\n"
