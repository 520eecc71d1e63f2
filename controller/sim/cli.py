"""`conference-controller sim ...`: run the simulator, place calls in a running one.

    conference-controller sim [serve] [--esl-port 8021] [--outbound 127.0.0.1:8084] ...
    conference-controller sim call 1000 --caller-id alice --dtmf 1# --talk 2 --hangup-after 10

More sub-subcommands plug in through ``register`` (or SUBCOMMAND_HOOKS): each
hook receives the ``sim`` subparsers object and adds its parser, e.g. the
demo's ``add_demo_arguments(subparsers)``.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

SubcommandHook = Callable[[Any], None]
SUBCOMMAND_HOOKS: list[SubcommandHook] = []
# "module:function" hooks picked up when their module exists (the demo lives
# in another part of the tree and may be absent).
OPTIONAL_HOOKS = ("controller.demo:add_demo_arguments",)
DEFAULT_CONTROL_PORT = 8022


def register(hook: SubcommandHook) -> SubcommandHook:
    """Add a sub-subcommand hook (usable as a decorator)."""
    SUBCOMMAND_HOOKS.append(hook)
    return hook


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sim_command", metavar="{serve,call,...}")
    serve = sub.add_parser("serve", help="run the simulator in the foreground (the default)")
    _add_serve_options(serve)
    serve.set_defaults(func=cmd_serve)
    call = sub.add_parser("call", help="place a call in a running simulator (its control port)")
    _add_call_options(call)
    call.set_defaults(func=cmd_call)
    for hook in [*SUBCOMMAND_HOOKS, *_optional_hooks()]:
        hook(sub)
    # bare `sim` serves with every default
    parser.set_defaults(func=lambda args: cmd_serve(serve.parse_args([])))


def _optional_hooks() -> list[SubcommandHook]:
    hooks = []
    for spec in OPTIONAL_HOOKS:
        module_name, _, func = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        hooks.append(getattr(module, func))
    return hooks


# ------------------------------------------------------------ serve
def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _add_serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--esl-host", default="127.0.0.1", help="inbound ESL address (127.0.0.1)")
    p.add_argument("--esl-port", type=int, default=8021, help="inbound ESL port (8021; 0: any)")
    p.add_argument("--password", default="ClueCon", help="ESL password (ClueCon)")
    p.add_argument(
        "--outbound",
        type=_host_port,
        default=("127.0.0.1", 8084),
        metavar="HOST:PORT",
        help="where the dialplan's `socket` app connects (the controller, 127.0.0.1:8084)",
    )
    p.add_argument(
        "--recordings-dir",
        default="./var/recordings",
        help="where `conference ... record` writes files (./var/recordings)",
    )
    p.add_argument("--sounds-dir", default="", help="where relative sound file names are found")
    p.add_argument("--control-host", default="127.0.0.1", help="HTTP control address")
    p.add_argument(
        "--control-port",
        type=int,
        default=DEFAULT_CONTROL_PORT,
        help=f"HTTP control port for `sim call` ({DEFAULT_CONTROL_PORT}; -1: off)",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="wall seconds per simulated second (1.0: real time)",
    )
    p.add_argument("--heartbeat", type=float, default=20.0, help="HEARTBEAT period, seconds (20)")
    p.add_argument(
        "--product-dialplan",
        action="store_true",
        help="route calls as freeswitch-conf/dialplan/phones.xml does: `socket` twice (a "
        "restarted controller takes the call back), then an error tone and hangup; default: "
        "the capture setup's single `socket`",
    )
    p.add_argument(
        "--profiles",
        metavar="FILE",
        help='JSON {"profiles": {...}, "caller_controls": {...}} replacing the defaults',
    )


def build_config(args: argparse.Namespace) -> Any:
    """SimConfig from `sim serve` options; raises SimConfigError naming the bad one."""
    from controller.sim.config import SimConfig, SimConfigError

    extra: dict[str, Any] = {}
    if args.profiles:
        try:
            with open(args.profiles, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise SimConfigError(f"--profiles {args.profiles}: {exc}") from None
        if not isinstance(data, dict) or set(data) - {"profiles", "caller_controls"}:
            raise SimConfigError(
                f"--profiles {args.profiles}: expected an object with 'profiles' and/or "
                "'caller_controls'"
            )
        extra = {k: v for k, v in data.items() if v is not None}
    return SimConfig(
        esl_host=args.esl_host,
        esl_port=args.esl_port,
        password=args.password,
        outbound_host=args.outbound[0],
        outbound_port=args.outbound[1],
        recordings_dir=args.recordings_dir,
        sounds_dir=args.sounds_dir,
        control_host=args.control_host,
        control_port=None if args.control_port < 0 else args.control_port,
        time_scale=args.time_scale,
        heartbeat_interval=args.heartbeat,
        product_dialplan=args.product_dialplan,
        **extra,
    ).validate()


def cmd_serve(args: argparse.Namespace) -> int:
    import gevent
    import gevent.event

    from controller.sim.config import SimConfigError
    from controller.sim.simulator import Simulator

    try:
        config = build_config(args)
        sim = Simulator(config).start()
    except SimConfigError as exc:
        print(f"sim serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"sim serve: cannot listen: {exc}", file=sys.stderr)
        return 2
    control = f"http://{config.control_host}:{sim.control_port}" if sim.control_port else "off"
    print(
        f"FreeSWITCH simulator: ESL {config.esl_host}:{sim.esl_port} (password "
        f"{config.password!r}); calls go to socket {config.outbound_host}:"
        f"{config.outbound_port} {config.outbound_mode}"
        f"{' (product dialplan)' if config.product_dialplan else ''}; control {control}",
        flush=True,
    )
    stop = gevent.event.Event()

    handlers = [gevent.signal_handler(sig, stop.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for handler in handlers:
            handler.cancel()
        sim.stop()
    print("simulator stopped", flush=True)
    return 0


# ------------------------------------------------------------ call
def _add_call_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("number", help="the number to dial (routed by the simulator's dialplan)")
    p.add_argument("--caller-id", default="1000", help="caller id number / SIP user (1000)")
    p.add_argument("--caller-name", help="caller id name (default: the caller id)")
    p.add_argument("--dtmf", default="", help="digits to press once answered, e.g. 1#")
    p.add_argument("--dtmf-after", type=float, default=1.0, help="seconds after answer (1.0)")
    p.add_argument("--dtmf-gap", type=float, default=0.2, help="seconds between digits (0.2)")
    p.add_argument("--talk", type=float, default=0.0, help="seconds of speech after the digits")
    p.add_argument("--hangup-after", type=float, help="hang up N seconds after the answer")
    p.add_argument("--control-host", default="127.0.0.1", help="the simulator's control address")
    p.add_argument(
        "--control-port",
        type=int,
        default=DEFAULT_CONTROL_PORT,
        help=f"the simulator's control port ({DEFAULT_CONTROL_PORT})",
    )
    p.add_argument("--wait", action="store_true", help="wait for the call to end, print its fate")


class NotAControlServer(Exception):
    """Something answered at the control address, but not the simulator's control server."""


def control_request(
    base: str, method: str, path: str, body: Any = None, timeout: float = 10.0
) -> tuple[int, Any]:
    """One JSON request to a simulator's control server: (status, decoded body).

    Raises OSError when nothing listens there, NotAControlServer when something else
    does (e.g. the simulator's Event Socket port, which greets with auth/request)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, {"error": exc.reason}
    except http.client.HTTPException as exc:
        answer = str(exc).strip()[:60]
        hint = " (an Event Socket port?)" if "auth/request" in answer else ""
        raise NotAControlServer(
            f"{base} is not a simulator control server{hint}: it answered {answer!r}"
        ) from None
    except ValueError as exc:  # an HTTP server, but not JSON
        raise NotAControlServer(f"{base} is not a simulator control server: {exc}") from None


def cmd_call(args: argparse.Namespace) -> int:
    base = f"http://{args.control_host}:{args.control_port}"
    spec: dict[str, Any] = {
        "number": args.number,
        "caller_id": args.caller_id,
        "dtmf": args.dtmf,
        "dtmf_after": args.dtmf_after,
        "dtmf_gap": args.dtmf_gap,
        "talk": args.talk,
    }
    if args.caller_name:
        spec["caller_name"] = args.caller_name
    if args.hangup_after is not None:
        spec["hangup_after"] = args.hangup_after
    try:
        status, reply = control_request(base, "POST", "/calls", spec)
    except NotAControlServer as exc:
        print(
            f"sim call: {exc}; give --control-port the `control` port that `sim serve` "
            "(or `sim demo --serve`) printed",
            file=sys.stderr,
        )
        return 2
    except (urllib.error.URLError, OSError) as exc:
        print(
            f"sim call: no simulator control at {base} ({exc}); start one with "
            f"`conference-controller sim serve --control-port {args.control_port}`",
            file=sys.stderr,
        )
        return 2
    if status != 201:
        print(
            f"sim call: {reply.get('error') if isinstance(reply, dict) else reply}", file=sys.stderr
        )
        return 2
    print(f"call {reply['uuid']} from {reply['caller_id']} to {reply['number']} placed", flush=True)
    if not args.wait:
        return 0
    while True:
        try:
            status, reply = control_request(base, "GET", f"/calls/{reply['uuid']}")
        except (urllib.error.URLError, OSError, NotAControlServer) as exc:
            print(f"sim call: lost the simulator control at {base}: {exc}", file=sys.stderr)
            return 2
        if status != 200 or not reply.get("up"):
            break
        time.sleep(0.2)
    if status != 200:
        print(f"sim call: {reply}", file=sys.stderr)
        return 2
    print(f"call ended: {reply['cause']}; heard {reply['heard']}", flush=True)
    return 0
