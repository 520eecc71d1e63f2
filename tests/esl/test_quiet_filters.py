"""Negative event filters on a call's socket (OutboundSession.prepare quiet_apps /
quiet_actions) against the simulator's mod_event_socket filter model: the digit
binding's own `event` completion, the completions of the set-up apps a join queues
without waiting (set, multiset, the binding, its realm) and the member's talking events
stay away, the digits-match and the completions the controller waits for still come,
hear_actions takes the talking back, and waiting for a quiet app is refused."""

from __future__ import annotations

import gevent
import gevent.event
import pytest

from controller.call import QUIET_ACTIONS, QUIET_APPS
from controller.esl import OutboundServer
from controller.freeswitch import apps
from controller.sim import SimConfig, Simulator

# what a join queues before the conference app (conference/member.py _enter), no waiting
SET_UP_APPS = ("set", "multiset", "bind_digit_action", "digit_action_set_realm")


def _run(tmp_path, quiet: bool, hear_again: bool = False,
         refused: list[str] | None = None) -> list[tuple[str, str, str]]:
    """One call sets variables, joins a room with a digit binding, talks and presses 1;
    the events its socket received, as (Event-Name, Application, Action). ``refused``
    collects what waiting for each started app said, if it was refused."""
    received: list[tuple[str, str, str]] = []
    done = gevent.event.Event()
    joined = gevent.event.Event()

    def handler(session):
        session.connect()
        session.prepare(60, ["conference::maintenance"],
                        ["CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP"],
                        QUIET_APPS if quiet else (), QUIET_ACTIONS if quiet else ())
        if hear_again:
            session.hear_actions(QUIET_ACTIONS)
        binding = apps.bind_digit_action(
            "cc", "1", "exec:event,'Event-Name=CUSTOM,Event-Subclass=conference::maintenance,"
                       f"Action=digits-match,Unique-ID={session.uuid},Digits=1'")
        calls = [apps.answer(), apps.set_var("cc_one", "1"),
                 *apps.set_vars([("cc_two", "2"), ("cc_three", "3")]), binding,
                 apps.digit_action_set_realm("cc"),
                 apps.conference(apps.conference_app_arg("quiet-room", "default"))]
        assert [c.app for c in calls[1:-1]] == list(SET_UP_APPS)
        executions = session.start_many([(c.app, c.arg, False, c.loops) for c in calls])
        for execution in executions[1:-1]:
            try:
                execution.wait(0.01)
            except RuntimeError as exc:
                if refused is not None:
                    refused.append(str(exc))
            except Exception:  # noqa: BLE001, S110 - not refused: a timeout, or it completed
                pass
        while not done.is_set():
            try:
                event = session.events.get(timeout=0.1)
            except gevent.queue.Empty:
                continue
            received.append((event.name, event.get("Application", ""), event.get("Action", "")))
            if event.get("Action") == "add-member":
                joined.set()
        session.close()

    server = OutboundServer("127.0.0.1", 0, handler)
    server.start()
    target = f"127.0.0.1:{server.address[1]} async full"
    sim = Simulator(SimConfig(esl_port=0, recordings_dir=str(tmp_path)),
                    dialplan=lambda number: [("socket", target)]).start()
    try:
        phone = sim.phones.call("1000", caller_id="alice")
        assert joined.wait(10), "never joined"
        phone.start_talking()
        gevent.sleep(0.6)
        phone.stop_talking()
        gevent.sleep(0.6)
        phone.send_dtmf("1")
        deadline = gevent.Timeout(10)
        with deadline:
            while ("CUSTOM", "", "digits-match") not in received:
                gevent.sleep(0.05)
        gevent.sleep(0.3)  # the `event` app's completion, if it is coming, is right behind
        phone.hangup()
    finally:
        done.set()
        sim.stop()
        server.stop()
    return received


@pytest.mark.parametrize("quiet", [False, True])
def test_quiet_filters_drop_only_what_nobody_waits_for(tmp_path, quiet):
    refused: list[str] = []
    received = _run(tmp_path, quiet, refused=refused)
    event_done = ("CHANNEL_EXECUTE_COMPLETE", "event", "")
    set_up_done = [r for r in received
                   if r[0] == "CHANNEL_EXECUTE_COMPLETE" and r[1] in SET_UP_APPS]
    talking = [r for r in received if r[2] in QUIET_ACTIONS]
    assert ("CUSTOM", "", "digits-match") in received
    # the apps the controller waits for still report their completion
    assert ("CHANNEL_EXECUTE_COMPLETE", "answer", "") in received
    if quiet:
        assert event_done not in received and talking == [] and set_up_done == []
        # waiting for one of them would hang: it is refused, naming the app
        assert [message.split("'")[1] for message in refused] == list(SET_UP_APPS)
    else:  # the control: without the filters they all arrive, and may be waited for
        assert event_done in received and {r[2] for r in talking} == set(QUIET_ACTIONS)
        assert sorted(r[1] for r in set_up_done) == sorted(SET_UP_APPS)
        assert refused == []


def test_hear_actions_brings_talking_events_back(tmp_path):
    received = _run(tmp_path, quiet=True, hear_again=True)
    assert {r[2] for r in received if r[2] in QUIET_ACTIONS} == set(QUIET_ACTIONS)
    assert ("CHANNEL_EXECUTE_COMPLETE", "event", "") not in received
