"""The controller process: health and readiness over real HTTP, FreeSWITCH coming and going."""

from __future__ import annotations

import gevent
import requests
from stack import Stack


def test_healthz_is_alive_and_readyz_follows_freeswitch(tmp_path):
    with Stack(tmp_path) as stack:
        base = stack.api_base
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "alive"}
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["freeswitch"] == "connected"

        stack.sim.stop()  # FreeSWITCH goes away
        deadline = gevent.get_hub().loop.now() + 10
        while stack.controller.esl.connected and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.05)
        down = requests.get(f"{base}/readyz", timeout=5)
        assert down.status_code == 503
        assert down.json()["freeswitch"] == "disconnected" and down.json()["reason"]
        # Still alive: the process serves HTTP while it reconnects.
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        stack.sim = None  # already stopped
