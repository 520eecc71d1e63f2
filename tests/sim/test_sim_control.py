"""The HTTP control server and the `conference-controller sim` command line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from eslwire import login

from controller.sim import SimConfig, Simulator
from controller.sim import cli as sim_cli

SCALE = 0.05
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim(tmp_path):
    simulator = Simulator(
        SimConfig(esl_port=0, control_port=0, time_scale=SCALE, recordings_dir=str(tmp_path))
    ).start()
    yield simulator
    simulator.stop()


def http(sim: Simulator, method: str, path: str, body: object = None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        f"http://127.0.0.1:{sim.control_port}{path}", data=data, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_summary(sim):
    status, body = http(sim, "GET", "/")
    assert status == 200
    assert body["esl"] == f"127.0.0.1:{sim.esl_port}"
    assert body["version"].startswith("FreeSWITCH Version 1.11.1")


def test_a_scripted_call_presses_talks_and_hangs_up(sim):
    esl = login(sim.esl_port)
    esl.command("event plain DTMF CUSTOM conference::maintenance")
    status, call = http(
        sim,
        "POST",
        "/calls",
        {"number": "direct-ctl", "caller_id": "dave", "caller_name": "Dave", "dtmf": "5",
         "dtmf_after": 0.5, "talk": 2, "hangup_after": 6},
    )  # fmt: skip
    assert status == 201
    assert (call["caller_name"], call["number"], call["up"]) == ("Dave", "direct-ctl", True)
    esl.wait_event(lambda e: e.name == "DTMF" and e.get("DTMF-Digit") == "5")
    esl.wait_event(lambda e: e.action == "start-talking")
    esl.wait_event(lambda e: e.action == "stop-talking")
    esl.wait_event(lambda e: e.action == "del-member")
    status, rooms = http(sim, "GET", "/rooms")
    assert rooms == []
    status, after = http(sim, "GET", f"/calls/{call['uuid']}")
    assert (status, after["up"], after["cause"]) == (200, False, "NORMAL_CLEARING")
    esl.close()


def test_driving_a_live_call_and_reading_its_room(sim):
    esl = login(sim.esl_port)
    esl.command("event plain CUSTOM conference::maintenance")
    status, call = http(sim, "POST", "/calls", {"number": "direct-live", "caller_id": "erin"})
    uuid = call["uuid"]
    esl.wait_event(lambda e: e.action == "add-member")
    status, room = http(sim, "GET", "/rooms/live")
    assert status == 200 and [m["uuid"] for m in room["members"]] == [uuid]
    assert http(sim, "POST", f"/calls/{uuid}/talk", {"seconds": 1})[0] == 200
    esl.wait_event(lambda e: e.action == "start-talking")
    assert http(sim, "POST", f"/calls/{uuid}/dtmf", {"digits": "12"})[0] == 200
    status, gone = http(sim, "DELETE", f"/calls/{uuid}")
    assert status == 200
    esl.wait_event(lambda e: e.action == "del-member")
    assert http(sim, "GET", "/calls")[1][0]["up"] is False
    status, error = http(sim, "POST", f"/calls/{uuid}/dtmf", {"digits": "1"})
    assert status == 400 and "has ended" in error["error"]
    esl.close()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "needle"),
    [
        ("POST", "/calls", {"number": "bad number"}, 400, "field 'number'"),
        ("POST", "/calls", {"number": "1", "talk": "long"}, 400, "field 'talk'"),
        ("POST", "/calls", {"number": "1", "colour": "red"}, 400, "unknown field"),
        ("POST", "/calls", None, 400, "JSON object"),
        ("GET", "/calls/nope", None, 404, "no call with uuid"),
        ("GET", "/rooms/none", None, 404, "no conference named"),
        ("GET", "/elsewhere", None, 404, "no such resource"),
        ("PUT", "/calls", {}, 405, "not allowed"),
    ],
)
def test_bad_requests_say_what_is_wrong(sim, method, path, body, status, needle):
    got, error = http(sim, method, path, body)
    assert got == status
    assert needle in error["error"]


def test_invalid_json_is_a_400(sim):
    status, error = http(sim, "POST", "/calls", raw=b"{nope")
    assert status == 400 and "not valid JSON" in error["error"]


# ------------------------------------------------------------ command line
def test_cli_call_places_a_call_and_waits_for_its_end(sim, capsys):
    from controller.cli import main

    code = main(
        ["sim", "call", "direct-cli", "--caller-id", "frank", "--hangup-after", "2",
         "--control-port", str(sim.control_port), "--wait"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"call [0-9a-f-]{36} from frank to direct-cli placed", out)
    assert "call ended: NORMAL_CLEARING" in out


def test_cli_call_reports_a_bad_number_and_a_missing_simulator(sim, capsys):
    from controller.cli import main

    assert main(["sim", "call", "a@b", "--control-port", str(sim.control_port)]) == 2
    assert "field 'number'" in capsys.readouterr().err
    probe_port = sim.control_port
    sim.stop()
    assert main(["sim", "call", "1000", "--control-port", str(probe_port)]) == 2
    assert "no simulator control" in capsys.readouterr().err


def test_cli_serve_rejects_bad_settings(capsys):
    from controller.cli import main

    assert (
        main(["sim", "serve", "--time-scale", "0", "--esl-port", "0", "--control-port", "-1"]) == 2
    )
    assert "time_scale" in capsys.readouterr().err


def test_register_adds_a_sub_subcommand():
    import argparse

    def hook(subparsers) -> None:
        extra = subparsers.add_parser("extra")
        extra.set_defaults(func=lambda args: 7)

    sim_cli.register(hook)
    try:
        parser = argparse.ArgumentParser()
        sim_cli.add_sim_arguments(parser)
        args = parser.parse_args(["extra"])
        assert args.func(args) == 7
    finally:
        sim_cli.SUBCOMMAND_HOOKS.remove(hook)


def test_cli_serve_runs_in_the_foreground_until_terminated(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "sim", "serve", "--esl-port", "0",
         "--control-port", "0", "--recordings-dir", str(tmp_path / "rec")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ROOT), env=env, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        match = re.search(r"ESL 127\.0\.0\.1:(\d+) .* control http://127\.0\.0\.1:(\d+)", line)
        assert match, line + process.stderr.read()
        esl = login(int(match.group(1)))
        assert esl.api("status").startswith("UP ")
        esl.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "simulator stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
