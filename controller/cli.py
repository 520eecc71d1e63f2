"""`conference-controller` command line: run | sim | config."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from controller import __version__


def _cmd_run(args: argparse.Namespace) -> int:
    from controller.config import ConfigError, load_settings
    from controller.logs import setup_logging

    try:
        settings = load_settings(args.config)
        settings.validate_security()
    except ConfigError as exc:
        print(f"conference-controller: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log.level)
    from controller.service import run_forever

    return run_forever(settings)


def config_warnings(settings: Any) -> list[str]:
    """Settings that load but leave the controller unable to do its job."""
    warnings = []
    if not settings.app.answer_url and not settings.app.number_answer_urls:
        warnings.append(
            "no answer URL: app.answer_url (CC_APP_ANSWER_URL) and app.number_answer_urls "
            "(CC_APP_NUMBER_ANSWER_URLS) are both empty, so every call is rejected"
        )
    return warnings


def _cmd_config(args: argparse.Namespace) -> int:
    from controller.config import ConfigError, describe_settings, load_settings

    if args.markdown:
        print("| INI setting | environment variable | default | meaning |")
        print("|---|---|---|---|")
        for key, env, default, doc in describe_settings():
            print(f"| `{key}` | `{env}` | `{default}` | {doc} |")
        return 0
    try:
        settings = load_settings(args.config)
        settings.validate_security()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    warnings = config_warnings(settings)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if warnings:
        print(f"configuration loads, with {len(warnings)} warning(s) (on stderr)")
    else:
        print("configuration is valid")
    for section in settings.__dataclass_fields__:
        print(f"[{section}]")
        values = getattr(settings, section)
        for name, f in values.__dataclass_fields__.items():
            value = getattr(values, name)
            shown = "<hidden>" if f.metadata.get("secret") and value else value
            print(f"{name} = {dict(shown) if hasattr(shown, 'keys') else shown}")
    return 1 if warnings else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conference-controller",
        description="Plivo-style conferences on your own FreeSWITCH.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the controller against a FreeSWITCH")
    run.add_argument("--config", help="INI file (default: $CC_CONFIG)")
    run.set_defaults(func=_cmd_run)

    config = sub.add_parser(
        "config", help="check the configuration (exit 0 valid, 1 warnings, 2 errors), "
        "or print its table")
    config.add_argument("--config", help="INI file (default: $CC_CONFIG)")
    config.add_argument("--markdown", action="store_true", help="print the settings table")
    config.set_defaults(func=_cmd_config)

    sim = sub.add_parser("sim", help="the FreeSWITCH simulator (no FreeSWITCH needed)")
    from controller.sim.cli import add_sim_arguments

    add_sim_arguments(sim)
    from controller.outbox_cli import add_outbox_arguments

    add_outbox_arguments(sub)
    from controller.keys_cli import add_keys_arguments

    add_keys_arguments(sub)
    return parser


def exit_quietly_on_closed_pipe(command: Callable[[], int]) -> int:
    """Run ``command``; if stdout's reader went away (``... | head``), end as a shell tool
    does: no traceback, status 141 (128 + SIGPIPE)."""
    try:
        status = command()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Python would try to flush stdout again at exit and print a second error:
        # point stdout at /dev/null first (the recipe of the `signal` module's docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def main(argv: list[str] | None = None) -> int:
    # gevent must patch the stdlib before anything opens a socket.
    from gevent import monkey

    monkey.patch_all()
    args = build_parser().parse_args(argv)
    return exit_quietly_on_closed_pipe(lambda: int(args.func(args) or 0))


if __name__ == "__main__":
    sys.exit(main())
