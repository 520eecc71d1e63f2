"""`conference-controller keys`: the Ed25519 key pair that signs Telnyx-face webhooks.

    conference-controller keys              # the public key of [telnyx] signing_key
    conference-controller keys --generate   # a new private key (for CC_TELNYX_SIGNING_KEY)
                                            # and its public key

The public key is what a Telnyx application is given as its webhook public key
(``Telnyx(public_key=...)`` or ``client.webhooks.unwrap(..., key=...)``).
Exit status: 0 printed, 2 no key configured or a configuration error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_keys_arguments(subparsers: Any) -> None:
    keys = subparsers.add_parser(
        "keys", help="print the public key of the Telnyx webhook signing key, or make a key pair")
    keys.add_argument("--config", help="INI file (default: $CC_CONFIG)")
    keys.add_argument("--generate", action="store_true",
                      help="make a new private key and print it with its public key")
    keys.set_defaults(func=cmd_keys)


def cmd_keys(args: argparse.Namespace) -> int:
    from controller.dialects.telnyx.signing import new_private_key, public_key

    if args.generate:
        private = new_private_key()
        print(f"private key (CC_TELNYX_SIGNING_KEY, keep it secret): {private}")
        print(f"public key (give it to the application): {public_key(private)}")
        return 0
    from controller.config import ConfigError, load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if not settings.telnyx.signing_key:
        print("no signing key: set [telnyx] signing_key (CC_TELNYX_SIGNING_KEY); "
              "`conference-controller keys --generate` makes one", file=sys.stderr)
        return 2
    print(public_key(settings.telnyx.signing_key))
    return 0
