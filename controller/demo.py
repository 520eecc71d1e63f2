"""`conference-controller sim demo`: the whole product on this machine, no FreeSWITCH needed.

Starts the FreeSWITCH simulator, the controller and the example application
(examples/app.py), all on loopback, places a few scripted calls and prints
what the application received. With ``--serve`` everything stays up so you
can place more calls with ``conference-controller sim call <number>`` and use
the REST API.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

import gevent
import requests
from gevent.pywsgi import WSGIServer

DEMO_TOKEN = "demo-token"


def _say(text: str) -> None:
    print(text, flush=True)


def _wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        gevent.sleep(0.05)
    return False


def _received(app: Any, start: int) -> list[dict[str, Any]]:
    return app.received[start:]


def _show(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        action = entry.get("ConferenceAction") or entry.get("kind")
        details = {k: entry[k] for k in ("ConferenceName", "ConferenceMemberID",
                                         "ConferenceDigitsMatch", "RecordUrl",
                                         "RecordingDurationMs", "HangupCause") if k in entry}
        _say(f"    {entry['kind']:<8} {action:<8} {json.dumps(details)}")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_demo(args: argparse.Namespace) -> int:
    from controller.config import load_settings
    from controller.logs import setup_logging
    from controller.service import ControllerService
    from controller.sim import SimConfig, Simulator
    from examples.app import create_app

    setup_logging("WARNING")
    workdir = args.workdir or tempfile.mkdtemp(prefix="conference-demo-")
    os.makedirs(workdir, exist_ok=True)

    # Port 0 means "any free port": a demo must not fail because 8000 is taken.
    args.outbound_port = args.outbound_port or _free_port()
    args.http_port = args.http_port or _free_port()
    app = create_app(time_limit=5)
    app_server = WSGIServer(("127.0.0.1", args.app_port), app, log=None)
    app_server.start()
    app_url = f"http://127.0.0.1:{app_server.address[1]}"

    sim = Simulator(SimConfig(
        esl_host="127.0.0.1", esl_port=args.esl_port, password="ClueCon",
        outbound_host="127.0.0.1", outbound_port=args.outbound_port,
        recordings_dir=os.path.join(workdir, "recordings"), product_dialplan=True,
    ))
    sim.start()
    settings = load_settings(environ={}, overrides={
        "freeswitch": {"esl_port": str(sim.esl_port)},
        "outbound": {"listen_host": "127.0.0.1", "listen_port": str(args.outbound_port)},
        "http": {"listen_host": "127.0.0.1", "listen_port": str(args.http_port),
                 "public_base_url": f"http://127.0.0.1:{args.http_port}"},
        "app": {"answer_url": f"{app_url}/answer", "hangup_url": f"{app_url}/hangup"},
        "recordings": {"directory": os.path.join(workdir, "recordings")},
        "media": {"directory": os.path.join(workdir, "media")},
        "api": {"token": DEMO_TOKEN},
    })
    controller = ControllerService(settings)
    controller.start()
    if not controller.esl.wait_connected(10):
        _say("the controller could not reach the simulator")
        return 1
    api = f"http://127.0.0.1:{controller.http_port}"
    _say(f"simulator ESL 127.0.0.1:{sim.esl_port}  controller outbound "
         f"127.0.0.1:{controller.outbound_port}  REST {api} (Bearer {DEMO_TOKEN})  "
         f"example app {app_url}")

    try:
        _say("\n1. alice and bob dial 1000 (the lobby); alice talks, then both hang up")
        start = len(app.received)
        alice = sim.phones.call("1000", caller_id="alice", caller_name="Alice")
        bob = sim.phones.call("1000", caller_id="bob", caller_name="Bob")
        _wait_for(lambda: sum(e.get("ConferenceAction") == "enter" for e in app.received) >= 2)
        listing = requests.get(f"{api}/v1/conferences",
                               headers={"Authorization": f"Bearer {DEMO_TOKEN}"}, timeout=5)
        _say(f"    REST GET /v1/conferences -> {listing.status_code} {listing.text.strip()[:200]}")
        alice.start_talking()
        gevent.sleep(0.5)
        alice.stop_talking()
        bob.hangup()
        alice.hangup()
        _wait_for(lambda: sum(e["kind"] == "hangup" for e in _received(app, start)) >= 2)
        _show(_received(app, start))

        _say("\n2. carol dials 4000 (digits menu): presses 1, then 2, then * to leave")
        start = len(app.received)
        carol = sim.phones.call("4000", caller_id="carol", caller_name="Carol")
        _wait_for(lambda: any(e.get("ConferenceAction") == "enter" for e in _received(app, start)))
        carol.send_dtmf("1")
        gevent.sleep(2)
        carol.send_dtmf("2")
        gevent.sleep(2)
        carol.send_dtmf("*")
        carol.wait_hangup(timeout=30)
        _wait_for(lambda: any(e["kind"] == "hangup" for e in _received(app, start)))
        _show(_received(app, start))
        _say(f"    carol heard: {carol.heard}")

        _say("\n3. dave and erin dial 3000 (recorded room), talk, hang up; the app gets RecordUrl")
        start = len(app.received)
        dave = sim.phones.call("3000", caller_id="dave", caller_name="Dave")
        erin = sim.phones.call("3000", caller_id="erin", caller_name="Erin")
        _wait_for(lambda: sum(e.get("ConferenceAction") == "enter"
                              for e in _received(app, start)) >= 2)
        dave.start_talking()
        gevent.sleep(1)
        dave.stop_talking()
        dave.hangup()
        erin.hangup()
        _wait_for(lambda: any(e.get("ConferenceAction") == "record"
                              for e in _received(app, start)), timeout=15)
        _show(_received(app, start))
        for entry in _received(app, start):
            if entry.get("ConferenceAction") == "record":
                got = requests.get(entry["RecordUrl"],
                                   headers={"Authorization": f"Bearer {DEMO_TOKEN}"}, timeout=5)
                _say(f"    GET RecordUrl -> {got.status_code}, {len(got.content)} bytes "
                     f"{got.headers.get('Content-Type')}")

        if args.serve:
            _say("\nserving; place calls with: conference-controller sim call <number> "
                 f"--control-port {getattr(sim, 'control_port', '?')}   (Ctrl-C to stop)")
            gevent.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.phones.close()
        controller.stop()
        sim.stop()
        app_server.stop(timeout=1)
    _say("\ndemo finished")
    return 0


def add_demo_arguments(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo", help="simulator + controller + example app, scripted calls"
    )
    demo.add_argument("--serve", action="store_true", help="keep running after the script")
    demo.add_argument("--workdir", help="where recordings and media go (default: a temp dir)")
    demo.add_argument("--esl-port", type=int, default=0, help="simulator ESL (0: any free)")
    demo.add_argument("--outbound-port", type=int, default=0, help="controller outbound ESL")
    demo.add_argument("--http-port", type=int, default=0, help="controller REST API")
    demo.add_argument("--app-port", type=int, default=0, help="example application")
    demo.set_defaults(func=run_demo)
