"""Telnyx webhooks sent by worker processes ([webhooks] delivery_processes): the conference
scenario of test_conferences, every webhook's Ed25519 signature verified by the telnyx SDK
(the app refuses a bad one), signed in the workers with the key from the settings."""

from __future__ import annotations

import pytest
from stack import wait_until
from test_conferences import test_create_join_mute_hold_record_and_end as conference_scenario

pytestmark = pytest.mark.delivery_processes(2)


def test_webhooks_from_worker_processes_verify(telnyx_stack):
    processes = telnyx_stack.controller.webhooks.processes
    wait_until(lambda: all(w is not None and w.ready for w in processes.workers),
               what="two ready delivery workers")
    conference_scenario(telnyx_stack)
    assert telnyx_stack.telnyx.events and not telnyx_stack.telnyx.refused
    # Nothing was sent to the app from this process: the workers hold those connections.
    assert not any(key[-1] == "callbacks"
                   for key in telnyx_stack.controller.webhooks.http._clients)
