"""The cXML face with its callbacks sent by worker processes ([webhooks] delivery_processes):
the same end-to-end scenario as test_cxml_end_to_end, every request validated by the twilio
SDK's RequestValidator, the status callbacks signed in the workers."""

from __future__ import annotations

import pytest
from cxml_testapp import wait_until
from test_cxml_end_to_end import (
    test_dial_conference_callbacks_signatures_and_dial_action as conference_scenario,
)

pytestmark = pytest.mark.delivery_processes(2)


def test_status_callbacks_from_worker_processes_validate(cxml_stack, cxml_app, room_name):
    processes = cxml_stack.controller.webhooks.processes
    wait_until(lambda: all(w is not None and w.ready for w in processes.workers),
               what="two ready delivery workers")
    conference_scenario(cxml_stack, cxml_app, room_name)
    assert cxml_app.at("/status") and all(r["valid"] for r in cxml_app.at("/status"))
    # Only documents (answer, action) were requested from this process: the callbacks'
    # connections are the workers'.
    pools = {key[-1] for key in cxml_stack.controller.webhooks.http._clients}
    assert pools == {"documents"}
