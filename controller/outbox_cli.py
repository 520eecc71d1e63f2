"""`conference-controller outbox list|retry|drop`: what the webhook outbox holds, by hand.

    conference-controller outbox list [--state failed|pending|all] [--json]
    conference-controller outbox retry ID... | --all
    conference-controller outbox drop ID... | --all

The outbox is the SQLite file in ``[data] directory`` (the same ``--config`` /
``CC_*`` settings as ``run``). A running controller may keep using it: SQLite
(WAL) lets both work on the file, and ``retry``/``drop`` touch only deliveries
that finally failed, which the controller no longer sends. ``retry`` sends each
one now from this process, with the controller's webhook settings (timeouts,
retries, signing secret): delivered ones leave the outbox, the others stay
failed with the new error.

Exit status: 0 done, 1 a retried delivery failed again, 2 bad usage (unknown id,
configuration error, no outbox).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

STATES = ("failed", "pending", "all")


def add_outbox_arguments(subparsers: Any) -> None:
    """Add ``outbox`` and its sub-commands to the ``conference-controller`` parser."""
    outbox = subparsers.add_parser("outbox", help="inspect, retry or drop webhook deliveries "
                                                  "kept in the outbox")
    sub = outbox.add_subparsers(dest="outbox_command", required=True)

    listing = sub.add_parser("list", help="deliveries in the outbox (default: failed ones)")
    listing.add_argument("--state", choices=STATES, default="failed")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_list)

    retry = sub.add_parser("retry", help="send failed deliveries again now")
    drop = sub.add_parser("drop", help="delete failed deliveries")
    for parser, func in ((retry, cmd_retry), (drop, cmd_drop)):
        parser.add_argument("ids", nargs="*", type=_delivery_id, metavar="ID")
        parser.add_argument("--all", action="store_true", help="every failed delivery")
        parser.set_defaults(func=func)
    for parser in (listing, retry, drop):
        parser.add_argument("--config", help="INI file (default: $CC_CONFIG)")


def _delivery_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a delivery id (a positive integer "
                                         "from `outbox list`)")
    return int(text)


class _UsageError(Exception):
    pass


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from controller.config import ConfigError, load_settings
    from controller.outbox import OUTBOX_FILE, OutboxError, open_outbox

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        raise _UsageError(f"configuration error: {exc}") from None
    if settings.cluster.redis_url:  # a cluster's outbox is in Redis (controller/cluster/)
        from controller.cluster.outbox import RedisOutbox
        from controller.cluster.shared import Shared

        return settings, RedisOutbox(Shared(settings.cluster, "outbox-cli"), inspect=True)
    directory = os.path.abspath(settings.data.directory)
    if not os.path.isfile(os.path.join(directory, OUTBOX_FILE)):
        raise _UsageError(f"no outbox in {directory} (data.directory, CC_DATA_DIRECTORY): "
                          "the controller creates it on its first start")
    try:
        return settings, open_outbox(directory, owner=False)
    except OutboxError as exc:
        raise _UsageError(str(exc)) from None


def _chosen(args: argparse.Namespace, store: Any) -> list[Any]:
    if args.all == bool(args.ids):
        raise _UsageError("name the deliveries to act on (ids from `outbox list`) or --all")
    found = store.load("failed", None if args.all else args.ids)
    missing = sorted(set(args.ids) - {d.id for d in found})
    if missing:
        raise _UsageError("no failed delivery with id " + ", ".join(map(str, missing))
                          + " (see `conference-controller outbox list`)")
    return found


def _run(args: argparse.Namespace, action: Any) -> int:
    try:
        settings, store = _open(args)
    except _UsageError as exc:
        print(f"conference-controller outbox: {exc}", file=sys.stderr)
        return 2
    try:
        return action(settings, store)
    except _UsageError as exc:
        print(f"conference-controller outbox: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)) if stamp else "-"


def cmd_list(args: argparse.Namespace) -> int:
    def action(settings: Any, store: Any) -> int:
        states = ("failed", "pending") if args.state == "all" else (args.state,)
        deliveries = sorted((d for state in states for d in store.load(state)),
                            key=lambda d: d.id)
        for delivery in deliveries:
            if args.json:
                print(json.dumps(delivery.describe(), ensure_ascii=False))
                continue
            mark = " (recovered)" if delivery.recovered else ""
            print(f"{delivery.id}  {delivery.state}  {_when(delivery.created_at)}  "
                  f"{delivery.method} {delivery.url}  lane={delivery.lane}{mark}")
            if delivery.form is not None:
                print("    params: " + json.dumps(delivery.form, ensure_ascii=False))
            else:
                print(f"    body ({delivery.content_type}): "
                      + (delivery.body or b"").decode("utf-8", "replace"))
            if delivery.error:
                print(f"    failed {_when(delivery.failed_at)} after {delivery.attempts} "
                      f"attempt(s): {delivery.error}")
        if not args.json:
            print(f"{len(deliveries)} {args.state if args.state != 'all' else ''} "
                  f"deliver{'y' if len(deliveries) == 1 else 'ies'}".replace("  ", " "),
                  file=sys.stderr)
        return 0

    return _run(args, action)


def cmd_retry(args: argparse.Namespace) -> int:
    def action(settings: Any, store: Any) -> int:
        from controller.webhooks import Webhooks

        deliveries = _chosen(args, store)
        webhooks = Webhooks(settings.webhooks, outbox=store)
        still_failing = 0
        for delivery in deliveries:
            try:
                result = webhooks.attempt(delivery)
            except Exception as exc:  # noqa: BLE001 - report it and keep it, whatever it was
                delivery.error = getattr(exc, "reason", None) or repr(exc)
                delivery.failed_at = time.time()
                store.mark_failed(delivery)
                still_failing += 1
                print(f"{delivery.id}: failed again: {delivery.error}")
                continue
            store.remove(delivery)
            print(f"{delivery.id}: delivered (HTTP {result.status})")
        store.flush()
        webhooks.http.close()
        return 1 if still_failing else 0

    return _run(args, action)


def cmd_drop(args: argparse.Namespace) -> int:
    def action(settings: Any, store: Any) -> int:
        deliveries = _chosen(args, store)
        dropped = store.delete(d.id for d in deliveries)
        print(f"dropped {dropped} deliver{'y' if dropped == 1 else 'ies'}")
        return 0

    return _run(args, action)
