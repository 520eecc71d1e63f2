"""`conference-controller sim demo`: the whole product on this machine, no FreeSWITCH needed.

Starts the FreeSWITCH simulator, the controller and the demo application
(controller/demo_app.py), all on loopback, places a few scripted calls and tells
the story: who called, what the application answered, every request it received
with the caller's name, the REST view of a room, where the recording is. Each
step waits for exactly the requests it causes, so the story is the same on every
run (only ports and ids differ). With ``--serve`` everything stays up afterwards:
``conference-controller sim call <number>`` from another shell places calls, and
the application's requests are printed as they arrive.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
from typing import Any

import gevent
import gevent.event
from lxml import etree

from controller.testing.recorder import AppRequest, RecordingApp

DEMO_TOKEN = "demo-token"
DEFAULT_CONTROL_PORT = 8022  # where `conference-controller sim call` looks by default
STEP_TIMEOUT = 20.0


def _say(text: str = "") -> None:
    print(text, flush=True)


# ------------------------------------------------------------ telling what happened
def who(request: AppRequest, known: str | None = None) -> str:
    """The caller a request is about: its caller id (alice), else who the member was when
    last seen (``known``: a record callback comes after its owner left), else the id."""
    caller = request.get("From") or request.get("CallerName") or known
    if caller:
        return caller
    member = request.get("ConferenceMemberID")
    return f"member {member}" if member else "?"


def summarize_xml(text: str) -> str:
    """``<Response><Speak>Hi</Speak><Conference a="1">room</Conference></Response>`` ->
    ``Speak "Hi" · Conference room (a=1)``: what the application told the call to do."""
    try:
        root = etree.fromstring(text.encode())
    except etree.XMLSyntaxError:
        return "(not XML) " + " ".join(text.split())[:80]
    verbs = []
    for verb in root:
        if not isinstance(verb.tag, str):
            continue
        body = (verb.text or "").strip()
        shown = f'"{body}"' if verb.tag in ("Speak", "Say") else body
        attrs = ", ".join(f"{k}={v}" for k, v in verb.attrib.items())
        verbs.append(" ".join(p for p in (verb.tag, shown, f"({attrs})" if attrs else "") if p))
    return " · ".join(verbs) or "nothing (an empty Response)"


def describe(request: AppRequest, known: str | None = None) -> str:
    """One line for one request the application answered; ``known``: see ``who``."""
    answer = f" -> app: {summarize_xml(request.response_text)}" if request.response_text else ""
    if request.path == "/answer":
        return f"{who(request)} dials {request.get('To')}{answer}"
    if request.path == "/hangup":
        return f"hangup    {who(request)} ({request.get('HangupCause')})"
    action = request.get("ConferenceAction")
    room = request.get("ConferenceName", "")
    if action is None:  # an action URL, fetched when the member left the room
        return f"action    {request.path}: {who(request)} left {room}{answer}"
    detail = {
        "digits": f" pressed {request.get('ConferenceDigitsMatch')}",
        "record": " recording ready" + (
            f": {request.get('RecordingError')}" if request.get("RecordingError") else ""),
    }.get(action, "")
    return f"callback  {action:<6} {room}: {who(request, known)}{detail}"


class Story:
    """Numbered steps; each prints the requests it caused, in the order it expects them
    (requests from independent sources, such as a callback and a hangup, may arrive in
    either order: printing them in the expected order keeps the story the same)."""

    def __init__(self, requests: RecordingApp) -> None:
        self.requests = requests
        self._printed: set[int] = set()
        self._members: dict[tuple[str, str], str] = {}  # (room, member id) -> caller

    def step(self, title: str) -> None:
        _say(f"\n{title}")

    def expect(self, *expected: tuple[str, dict[str, str]]) -> None:
        """Wait for each (path, fields) request, print them, then anything else that came.
        Raises AssertionError naming what did not come."""
        chosen: list[AppRequest] = []
        for path, fields in expected:
            count = sum(1 for p, f in expected if (p, f) == (path, fields))
            found = self.requests.wait_for(path, count=count, timeout=STEP_TIMEOUT, **fields)
            chosen.append(next(r for r in found
                               if id(r) not in self._printed and r not in chosen))
        for request in chosen:
            self._print(request)
        self.flush()

    def flush(self) -> None:
        """Print, in arrival order, every request not printed yet."""
        for request in self.requests.at():
            if id(request) not in self._printed:
                self._print(request)

    def _print(self, request: AppRequest) -> None:
        self._printed.add(id(request))
        if request.path.startswith("/media/") or request.path == "/wait-music":
            return  # files and hold music the controller fetched: not the story
        key = (request.get("ConferenceName") or "", request.get("ConferenceMemberID") or "")
        if request.get("From") and key[1]:
            self._members[key] = request.get("From") or ""
        _say(f"   {describe(request, self._members.get(key))}")


def _enter(room: str, caller: str) -> tuple[str, dict[str, str]]:
    return "/callbacks", {"ConferenceAction": "enter", "ConferenceName": room, "From": caller}


def _leave(room: str, caller: str, action: str = "/after") -> list[tuple[str, dict[str, str]]]:
    return [
        ("/callbacks", {"ConferenceAction": "exit", "ConferenceName": room, "From": caller}),
        (action, {"From": caller}),
        ("/hangup", {"From": caller}),
    ]


def run_script(stack: Any, story: Story) -> None:
    phones, rest = stack.phones, stack.rest

    story.step("1. alice and bob dial 1000 (room lobby); alice talks; bob, then alice, hang up")
    alice = phones.call("1000", caller_id="alice", caller_name="Alice")
    story.expect(("/answer", {"From": "alice"}), _enter("lobby", "alice"))
    bob = phones.call("1000", caller_id="bob", caller_name="Bob")
    story.expect(("/answer", {"From": "bob"}), _enter("lobby", "bob"))
    room = rest("GET", "/v1/conferences/lobby").json()
    members = ", ".join(f"{m['caller_id_number']} (member {m['member_id']})"
                        for m in room["members"])
    _say(f"   REST GET /v1/conferences/lobby: {room['member_count']} members: {members}")
    alice.start_talking()
    gevent.sleep(0.5)
    alice.stop_talking()
    bob.hangup()
    story.expect(*_leave("lobby", "bob"))
    alice.hangup()
    story.expect(*_leave("lobby", "alice"))

    story.step("2. carol dials 4000 (a digits menu): presses 1, then 2, then * to leave the room")
    carol = phones.call("4000", caller_id="carol", caller_name="Carol")
    story.expect(("/answer", {"From": "carol"}), _enter("menu", "carol"))
    for digit in "12":
        carol.send_dtmf(digit)
        story.expect(("/callbacks", {"ConferenceAction": "digits", "From": "carol",
                                     "ConferenceDigitsMatch": digit}))
    carol.send_dtmf("*")
    carol.wait_hangup(timeout=STEP_TIMEOUT)
    story.expect(*_leave("menu", "carol", action="/menu"))

    story.step("3. dave and erin dial 3000 (room minutes, recorded); dave talks; both hang up")
    dave = phones.call("3000", caller_id="dave", caller_name="Dave")
    story.expect(("/answer", {"From": "dave"}), _enter("minutes", "dave"))
    erin = phones.call("3000", caller_id="erin", caller_name="Erin")
    story.expect(("/answer", {"From": "erin"}), _enter("minutes", "erin"))
    dave.start_talking()
    gevent.sleep(1)
    dave.stop_talking()
    dave.hangup()
    story.expect(*_leave("minutes", "dave"))
    erin.hangup()
    story.expect(*_leave("minutes", "erin"),
                 ("/callbacks", {"ConferenceAction": "record", "ConferenceName": "minutes"}))
    [record] = story.requests.at("/callbacks", ConferenceAction="record")
    got = rest("GET", (record.get("RecordUrl") or "").replace(stack.api_base, ""))
    _say(f"   the recording: {record.get('RecordUrl')} "
         f"(GET -> {got.status_code} {got.headers.get('Content-Type')})")


# ------------------------------------------------------------ the command
def run_demo(args: argparse.Namespace) -> int:
    from controller.demo_app import create_app
    from controller.logs import setup_logging
    from controller.testing.stack import Stack

    setup_logging("WARNING")
    workdir = args.workdir or tempfile.mkdtemp(prefix="conference-demo-")
    app = create_app(time_limit=5)
    control_port = (args.control_port if args.control_port is not None
                    else DEFAULT_CONTROL_PORT) if args.serve else None
    stack = Stack(workdir, app=app, settings={"api": {"token": DEMO_TOKEN}},
                  http_port=args.http_port or None, outbound_port=args.outbound_port or None,
                  control_port=control_port, api_token=DEMO_TOKEN, simulate=True)
    try:
        try:
            stack.start()
        except OSError as exc:
            _say(f"sim demo: cannot listen: {exc}"
                 + (f"; port {control_port} (the simulator's control port) may be taken: "
                    "pass --control-port 0 for any free port" if control_port else ""))
            return 2
        _say("demo: a simulated FreeSWITCH, the controller and the demo application "
             "(controller/demo_app.py), all on this machine")
        story = Story(stack.requests)
        run_script(stack, story)
        if args.workdir:
            _say(f"\nrecordings and media are kept in {workdir}")
        else:
            _say("\n(recordings go to a temporary directory, removed when the demo ends; "
                 "--workdir DIR keeps them)")
        if args.serve:
            serve(stack, story)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    _say("demo finished")
    return 0


def serve(stack: Any, story: Story) -> None:
    """Keep everything up; print the application's requests as they arrive."""
    flag = "" if stack.sim.control_port == DEFAULT_CONTROL_PORT else \
        f" --control-port {stack.sim.control_port}"
    _say(f"\nserving until Ctrl-C. From another shell, dial the demo app's numbers "
         f"(1000, 2000, 2001, 3000, 4000, 5000):\n"
         f"   conference-controller sim call 1000 --caller-id alice{flag}\n"
         f"   curl -H 'Authorization: Bearer {DEMO_TOKEN}' {stack.api_base}/v1/conferences")
    stop = gevent.event.Event()
    handlers = [gevent.signal_handler(sig, stop.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        while not stop.wait(0.2):
            story.flush()
    finally:
        for handler in handlers:
            handler.cancel()


def add_demo_arguments(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo", help="simulator + controller + demo app, scripted calls"
    )
    demo.add_argument("--serve", action="store_true",
                      help="keep running after the script; place calls with `sim call`")
    demo.add_argument("--workdir", help="keep recordings and media here (default: a temporary "
                      "directory, removed at the end)")
    demo.add_argument("--control-port", type=_port, default=None,
                      help=f"with --serve: the simulator's control port for `sim call` "
                      f"({DEFAULT_CONTROL_PORT}, sim call's default; 0: any free port)")
    demo.add_argument("--outbound-port", type=_port, default=0,
                      help="controller outbound ESL (0: any free)")
    demo.add_argument("--http-port", type=_port, default=0,
                      help="controller REST API (0: any free)")
    demo.set_defaults(func=run_demo)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 0-65535, got {text!r}")
    return int(text)


