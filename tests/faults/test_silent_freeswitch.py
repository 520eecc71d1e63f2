"""A FreeSWITCH that stops answering without closing the socket (issue 14: `/readyz` said
200 for 60 s and every REST call waited 5 s for a 504). With the default settings the
liveness probe (`api status` every 2 s, 5 s to answer) must notice within 10 s; from then
on REST answers 503 at once instead of waiting for a command timeout."""

from __future__ import annotations

import gevent
import requests
from appkit import wait_until
from stack import Stack
from tcpproxy import FreezableProxy


def test_a_silent_freeswitch_turns_readyz_503_within_10_s_and_rest_503_at_once(tmp_path):
    with Stack(tmp_path, start_controller=False,
               settings={"data": {"directory": str(tmp_path / "data")}}) as stack:
        proxy = FreezableProxy((stack.esl_host, stack.esl_port)).start()
        try:
            stack.esl_port = proxy.port  # the controller reaches FreeSWITCH through the proxy
            stack.start_controller_service()
            base, auth = stack.api_base, stack.auth_headers
            assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
            assert requests.get(f"{base}/v1/conferences", headers=auth,
                                timeout=5).status_code == 200

            proxy.freeze()
            # The requirement is a bound: 503 must come within 10 s of the silence.
            wait_until(lambda: requests.get(f"{base}/readyz", timeout=5).status_code == 503,
                       timeout=10, what="/readyz 503 within 10 s of FreeSWITCH going silent")
            ready = requests.get(f"{base}/readyz", timeout=5).json()
            assert ready["freeswitch"] == "disconnected" and "liveness probe" in ready["reason"]

            # While it is down (reconnects to the silent proxy find no greeting) every REST
            # command fails as unavailable, not as a timeout after waiting.
            for _ in range(3):
                answer = requests.get(f"{base}/v1/conferences", headers=auth, timeout=10)
                assert answer.status_code == 503
                assert answer.json()["error"] == "freeswitch_unavailable"
                gevent.sleep(0.5)
        finally:
            stack.stop_controller_service()
            proxy.stop()
