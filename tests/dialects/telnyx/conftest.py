"""A stack whose application speaks Telnyx Call Control: the simulator, the controller
with ``[app] dialect = telnyx``, and a webhook receiver that verifies with the SDK."""

from __future__ import annotations

import base64

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
def telnyx_stack(tmp_path, keys):
    private, public = keys
    receiver = TelnyxApp(Telnyx(api_key=API_KEY, public_key=public), public)
    stack = Stack(tmp_path, app=receiver.app, start_controller=False, simulate=True,
                  settings={"app": {"dialect": "telnyx", "hangup_url": ""}})
    with stack:
        stack.extra_settings["telnyx"] = {"api_key": API_KEY, "signing_key": private,
                                          "webhook_url": f"{stack.app_url}/webhooks"}
        stack.start_controller_service()
        stack.telnyx = receiver
        stack.client = Telnyx(api_key=API_KEY, base_url=f"{stack.api_base}/v2",
                              max_retries=0)
        yield stack


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
