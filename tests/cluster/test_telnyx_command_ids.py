"""A Telnyx command repeated with the same command_id on another controller of the cluster
answers the first answer and runs nothing (Telnyx: subsequent commands with the same
command_id are ignored)."""

from __future__ import annotations

import gevent
import requests
from processes import kill
from test_two_controllers import _controllers

from controller.dialects.telnyx.signing import new_private_key, public_key

API_KEY = "KEY-telnyx-cluster"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_a_command_id_used_on_one_controller_is_answered_by_another(tmp_path, redis_url,
                                                                  held_port):
    from stack import Stack
    from telnyx import Telnyx
    from telnyx_app import TelnyxApp

    private = new_private_key()
    receiver = TelnyxApp(Telnyx(api_key=API_KEY, public_key=public_key(private)),
                         public_key(private))
    with Stack(tmp_path, app=receiver.app, start_controller=False, simulate=True,
               settings={"app": {"dialect": "telnyx", "hangup_url": ""}}) as stack:
        stack.extra_settings["telnyx"] = {"api_key": API_KEY, "signing_key": private,
                                          "webhook_url": f"{stack.app_url}/webhooks"}
        processes, a_url, b_url = _controllers(stack, redis_url, tmp_path, held_port)
        try:
            phone = stack.phones.call("5000", caller_id="alice")
            ccid = receiver.wait_for("call.initiated", from_="alice")[-1] \
                .payload.call_control_id
            body = {"command_id": "answer-once", "client_state": "Zmlyc3Q="}
            first = requests.post(f"{a_url}/v2/calls/{ccid}/actions/answer", json=body,
                                  headers=AUTH, timeout=10)
            assert first.status_code == 200, first.text
            phone.wait_answered(timeout=5)
            again = requests.post(f"{b_url}/v2/calls/{ccid}/actions/answer", json=body,
                                  headers=AUTH, timeout=10)
            assert (again.status_code, again.json()) == (200, first.json())
            other = requests.post(f"{b_url}/v2/calls/{ccid}/actions/answer",
                                  json={"command_id": "answer-twice"}, headers=AUTH,
                                  timeout=10)
            # A new command is forwarded to A, which runs the call (controller.cluster.forward):
            # answering an answered call changes nothing.
            assert other.status_code == 200, other.text
            gevent.sleep(0.5)  # a second call.answered would arrive now
            assert len(receiver.of("call.answered")) == 1
        finally:
            stack.phones.close()
            for process in processes:
                kill(process)
