"""The controller process SIGKILLed while a slow application has callbacks queued (issue
14: 248 of 330 queued callbacks were lost without a trace). Every callback the controller
had decided to send is delivered after the restart, each member's in order.

Duplicates: a callback whose request was on the wire when the process died may have
reached the application, and the outbox cannot know; it is sent again. So each member
may see at most one callback twice: the last one it received from the killed process,
again as the first one from the restarted process. Nothing else may repeat.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import gevent
import requests
from appkit import wait_until
from stack import Stack

from controller.outbox import OUTBOX_FILE

ROOT = Path(__file__).resolve().parent.parent.parent
MEMBERS, PRESSES = 6, 4
SLOW = 1.0  # seconds the application takes per callback


def controller_process(stack: Stack, log_path: Path) -> subprocess.Popen:
    """`conference-controller run`, configured like the in-process one, by environment."""
    env = {"PATH": os.environ.get("PATH", ""), "CC_LOG_LEVEL": "INFO"}
    for section, values in stack.settings_overrides().items():
        for name, value in values.items():
            env[f"CC_{section}_{name}".upper()] = str(value)
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "controller.cli", "run"], cwd=ROOT, env=env,
                            stdout=log, stderr=log)


def ready(stack: Stack) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{stack.http_port}/readyz", timeout=1).ok
    except requests.RequestException:
        return False


def identity(params: dict) -> tuple[str, str, str]:
    return params["CallUUID"], params["ConferenceAction"], params["EventTimestamp"]


def decided(stack: Stack, recorder) -> set[tuple[str, str, str]]:
    """Callbacks the controller has decided: received by the app, or waiting in the outbox."""
    seen = {identity(r) for r in recorder.at("/cb")}
    path = stack.tmp_path / "data" / OUTBOX_FILE
    if path.exists():
        db = sqlite3.connect(path)
        try:
            forms = [json.loads(row[0]) for row in db.execute(
                "SELECT form FROM deliveries WHERE state = 'pending'")]
        except sqlite3.OperationalError:  # not created yet
            forms = []
        finally:
            db.close()
        seen |= {identity(form) for form in forms if "ConferenceAction" in form}
    return seen


def test_callbacks_queued_at_a_sigkill_are_all_delivered_after_the_restart(tmp_path, recorder):
    def slow_callback(params):
        gevent.sleep(SLOW)
        return ""

    recorder.documents["/answer"] = (
        '<Response><Conference callbackUrl="/cb" digitsMatch="1">room1</Conference></Response>')
    recorder.documents["/cb"] = slow_callback
    processes: list[subprocess.Popen] = []
    with Stack(tmp_path, app=recorder.app, start_controller=False,
               settings={"data": {"directory": str(tmp_path / "data")}}) as stack:
        try:
            processes.append(controller_process(stack, tmp_path / "controller.log"))
            wait_until(lambda: ready(stack), timeout=30, what="the controller process")
            phones = [stack.phones.call("1000", caller_id=f"m{n}") for n in range(MEMBERS)]
            for phone in phones:
                recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=phone.uuid)
            for phone in phones:
                gevent.spawn(phone.send_dtmf, "1" * PRESSES, gap=0.1)
            # every press matched and decided (sent or queued), most still queued: kill now
            wait_until(lambda: len({d for d in decided(stack, recorder) if d[1] == "digits"})
                       == MEMBERS * PRESSES, timeout=20, what="every digit press decided")
            expected = {d for d in decided(stack, recorder) if d[0] in
                        {p.uuid for p in phones}}
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait(timeout=10)
            received_before = len(recorder.at("/cb"))
            assert len({identity(r) for r in recorder.at("/cb")}) < len(expected), \
                "nothing was left queued at the kill: the test proves nothing"

            processes.append(controller_process(stack, tmp_path / "controller.log"))
            wait_until(lambda: expected <= {identity(r) for r in recorder.at("/cb")},
                       timeout=60, what="every callback decided before the kill")
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=10)

    arrivals = [identity(r) for r in recorder.at("/cb") if identity(r) in expected]
    before, after = arrivals[:received_before], arrivals[received_before:]
    for uuid in {p.uuid for p in phones}:
        old = [a for a in before if a[0] == uuid]
        new = [a for a in after if a[0] == uuid]
        repeated = [a for a in new if a in old]
        assert len(set(old)) == len(old) and len(set(new)) == len(new)
        assert repeated in ([], [old[-1]]), (uuid, repeated)
        if repeated:
            assert new[0] == old[-1]
        # one member's callbacks in the order they happened (FreeSWITCH's event time)
        assert [int(a[2]) for a in old + new[len(repeated):]] == \
            sorted(int(a[2]) for a in old + new[len(repeated):])
    assert {a for a in arrivals} == expected
