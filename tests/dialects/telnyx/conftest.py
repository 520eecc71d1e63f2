"""A stack whose application speaks Telnyx Call Control: the simulator (or a real
FreeSWITCH when FS_ESL_HOST is set: SIPp phones, controller/testing/sipp_phones.py), the
controller with ``[app] dialect = telnyx``, and a webhook receiver that verifies with the
SDK.

The tests synchronise on what both show: the application's webhooks, the controller's
REST answers and FreeSWITCH's own listings (``conference json_list``, ``show channels``).
What only the simulator can observe (what a phone heard) is asserted under
``if not stack.real``."""

from __future__ import annotations

import base64
import json

import pytest
from stack import Stack
from telnyx import Telnyx
from telnyx_app import TelnyxApp

from controller.dialects.telnyx.signing import new_private_key, public_key

API_KEY = "KEY-telnyx-test"


@pytest.fixture
def keys() -> tuple[str, str]:
    private = new_private_key()
    return private, public_key(private)


@pytest.fixture
def telnyx_stack(tmp_path, keys, request):
    private, public = keys
    receiver = TelnyxApp(Telnyx(api_key=API_KEY, public_key=public), public)
    settings = {"app": {"dialect": "telnyx", "hangup_url": ""}}
    marker = request.node.get_closest_marker("delivery_processes")
    if marker is not None:  # webhooks sent (and signed) by worker processes
        settings["webhooks"] = {"delivery_processes": str(marker.args[0])}
    stack = Stack(tmp_path, app=receiver.app, start_controller=False, settings=settings)
    with stack:
        stack.extra_settings["telnyx"] = {"api_key": API_KEY, "signing_key": private,
                                          "webhook_url": f"{stack.app_url}/webhooks"}
        stack.start_controller_service()
        stack.telnyx = receiver
        stack.client = Telnyx(api_key=API_KEY, base_url=f"{stack.api_base}/v2",
                              max_retries=0)
        yield stack
        # Calls still parked (waiting for commands) would outlive the test on a real
        # FreeSWITCH: hang up every phone while the controller still runs.
        stack.phones.close()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def callstate(stack, uuid: str) -> str | None:
    """FreeSWITCH's call state of channel ``uuid`` (the ``callstate`` column of ``show
    channels as json``, switch_core_sqldb.c's channels table; capture 07d shows ACTIVE
    for an answered leg, 07f the JSON form), or None when FreeSWITCH has no such channel.
    Before the answer it is DOWN, RINGING or EARLY: never ACTIVE."""
    listing = json.loads(stack.api("show channels as json") or "{}")
    for row in listing.get("rows", []):
        if row.get("uuid") == uuid:
            return row.get("callstate")
    return None


def waiting_unanswered(stack, uuid: str) -> bool:
    """Whether the call is up in FreeSWITCH and not answered: what a parked Telnyx call
    is until the application answers it."""
    state = callstate(stack, uuid)
    return state is not None and state != "ACTIVE"
