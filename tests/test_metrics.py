"""/metrics through a real controller, simulator and application."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families
from stack import Stack, wait_until

ROOM = b'<Response><Conference callbackUrl="/cb">m1</Conference></Response>'


def app(environ: dict, start_response) -> list[bytes]:
    """Every call joins room m1; callbacks get the same (ignored) answer."""
    start_response("200 OK", [("Content-Type", "application/xml")])
    return [ROOM]


def scrape(stack: Stack) -> dict[str, float]:
    """Every sample of one scrape: name{labels} -> value (labels sorted)."""
    response = requests.get(stack.api_base + "/metrics", timeout=5)  # no credentials needed
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_state_gauges_follow_calls_rooms_and_members(tmp_path):
    with Stack(tmp_path, app=app) as stack:
        idle = scrape(stack)
        assert idle["cc_esl_connected"] == 1
        assert idle["cc_active_calls"] == 0 and idle["cc_rooms"] == 0
        assert idle["cc_room_members"] == 0
        assert "cc_callbacks_outbox_depth" in idle
        # the process-wide families are exposed too
        assert "cc_esl_command_latency_seconds_count" in idle

        alice = stack.phones.call("1000", caller_id="alice")
        bob = stack.phones.call("1000", caller_id="bob")
        stack.requests.wait_for("/cb", count=2, ConferenceAction="enter")
        busy = scrape(stack)
        assert busy["cc_active_calls"] == 2
        assert busy["cc_rooms"] == 1
        assert busy["cc_room_members"] == 2

        alice.hangup()
        bob.hangup()
        wait_until(lambda: scrape(stack)["cc_active_calls"] == 0, what="calls to end")
        wait_until(lambda: scrape(stack)["cc_rooms"] == 0, what="the room to go")

        stack.sim.stop()  # FreeSWITCH goes away: the gauge says so
        wait_until(lambda: scrape(stack)["cc_esl_connected"] == 0, what="disconnect")
