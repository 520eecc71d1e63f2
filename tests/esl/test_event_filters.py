"""controller.esl.filters: which filters the inbound connection needs, and the order of
the commands that change them (a subscribed event must never lack its positive filter;
negative filters alone would drop everything)."""

from __future__ import annotations

import gevent

from controller.esl import ALL
from controller.esl.filters import (
    DELETE_ALL,
    dropped_actions,
    filter_changes,
    wanted_filters,
)

KEYS = {"BACKGROUND_JOB", "HEARTBEAT", "conference::maintenance"}
POSITIVE = [("Event-Name", "BACKGROUND_JOB"), ("Event-Name", "HEARTBEAT"),
            ("Event-Subclass", "conference::maintenance")]


def test_a_noisy_action_is_dropped_only_when_every_consumer_declared_and_none_wants_it():
    assert dropped_actions([]) == ("digits-match", "start-talking", "stop-talking")
    assert dropped_actions([frozenset({"add-member"}), frozenset({"digits-match"})]) == (
        "start-talking", "stop-talking")
    assert dropped_actions([frozenset({"add-member"}), None]) == ()


def test_wanted_filters_cover_every_subscribed_key_and_none_for_a_catch_all():
    assert wanted_filters(KEYS, False, ("digits-match",)) == [
        *POSITIVE, ("Action", "-digits-match")]
    assert wanted_filters({"ALL"}, True, ("digits-match",)) == []


def test_positive_filters_are_added_before_negative_ones_and_removed_after():
    wanted = wanted_filters(KEYS, False, ("digits-match", "start-talking"))
    assert filter_changes([], wanted) == [
        "filter Event-Name BACKGROUND_JOB", "filter Event-Name HEARTBEAT",
        "filter Event-Subclass conference::maintenance",
        "filter Action -digits-match", "filter Action -start-talking"]
    later = wanted_filters(KEYS | {"CHANNEL_ANSWER"}, False, ("digits-match",))
    assert filter_changes(wanted, later) == [
        "filter Event-Name CHANNEL_ANSWER", "filter delete Action -start-talking"]
    assert filter_changes(later, wanted) == [
        "filter Action -start-talking", "filter delete Event-Name CHANNEL_ANSWER"]
    assert filter_changes(wanted, wanted) == []


def test_a_catch_all_subscription_deletes_every_filter_at_once():
    wanted = wanted_filters(KEYS, False, ("digits-match",))
    assert filter_changes(wanted, []) == [DELETE_ALL]
    assert filter_changes([], []) == []


# ------------------------------------------------------------ on the wire (simulator)
def _fire(sim, action: str) -> None:
    """A conference::maintenance event with this Action, fired inside the simulator."""
    event = sim.core.bus.create("CUSTOM", ("mod_conference.c", "test", 0),
                                subclass="conference::maintenance")
    event.add("Action", action)
    sim.core.bus.fire(event)


def _settled(client) -> None:
    """The client's filter commands have been answered: its sync greenlet writes them as
    soon as it runs, and FreeSWITCH answers a connection's commands in order."""
    gevent.sleep(0)
    client.api("status")


def _next_actions(queue, until: str) -> list[str]:
    """The Actions the queue receives up to the sentinel ``until`` (in FreeSWITCH's order:
    whatever was fired before it has arrived by then)."""
    got = []
    while not got or got[-1] != until:
        event = queue.get(timeout=5)
        assert event is not None, f"no {until} after {got}"
        got.append(event.action)
    return got


def test_want_actions_and_a_catch_all_change_the_filters_at_run_time(tmp_path):
    from controller.esl import InboundClient
    from controller.sim import SimConfig, Simulator

    sim = Simulator(SimConfig(esl_port=0, recordings_dir=str(tmp_path))).start()
    client = InboundClient("127.0.0.1", sim.esl_port, "ClueCon")
    rooms = client.subscribe("rooms", ["conference::maintenance"], actions=["add-member"])
    client.start()
    try:
        assert client.wait_connected(5)
        _fire(sim, "digits-match")
        _fire(sim, "add-member")
        assert _next_actions(rooms, "add-member") == ["add-member"]

        rooms.want_actions(["add-member", "digits-match"])
        _settled(client)
        _fire(sim, "digits-match")
        _fire(sim, "start-talking")
        _fire(sim, "add-member")
        assert _next_actions(rooms, "add-member") == ["digits-match", "add-member"]

        everything = client.subscribe("everything", [ALL])  # a catch-all: no filters
        _settled(client)
        _fire(sim, "start-talking")
        _fire(sim, "add-member")
        assert _next_actions(everything, "add-member")[-2:] == ["start-talking", "add-member"]
        assert _next_actions(rooms, "add-member") == ["start-talking", "add-member"]

        client.unsubscribe(everything)  # the filters again, on a listener subscribed to ALL
        _settled(client)
        _fire(sim, "start-talking")
        _fire(sim, "add-member")
        assert _next_actions(rooms, "add-member") == ["add-member"]
        assert client.bgapi("status").startswith("UP ")
    finally:
        client.stop()
        sim.stop()


def test_several_nodes_each_filter_and_follow_want_actions(tmp_path):
    from controller.esl import InboundClient
    from controller.esl.nodes import NodeSet
    from controller.sim import SimConfig, Simulator

    sims = [Simulator(SimConfig(esl_port=0, recordings_dir=str(tmp_path / f"n{i}"))).start()
            for i in range(2)]
    nodes = NodeSet({f"n{i}": InboundClient("127.0.0.1", sim.esl_port, "ClueCon")
                     for i, sim in enumerate(sims)})
    rooms = nodes.subscribe("rooms", ["conference::maintenance"], actions=["add-member"])
    nodes.start()
    try:
        assert nodes.wait_connected(5)
        for sim in sims:
            _fire(sim, "digits-match")
            _fire(sim, "add-member")
            assert _next_actions(rooms, "add-member") == ["add-member"]
        rooms.want_actions(["add-member", "digits-match"])
        for client in nodes.clients.values():
            _settled(client)
        for sim in sims:
            _fire(sim, "digits-match")
            _fire(sim, "add-member")
            assert _next_actions(rooms, "add-member") == ["digits-match", "add-member"]
    finally:
        nodes.stop()
        for sim in sims:
            sim.stop()
