"""Telnyx calls across a controller SIGKILL: their call.hangup still goes to each dialled
leg's own webhook_url with its latest client_state (kept in the call journal, not only in
the killed process's memory), and a leg that is still up (in a conference) still takes a
hangup command from the restarted controller.

- a dialled leg in a conference outlives the kill (mod_conference runs on the channel's
  own thread; the socket closing does not end it): the restarted controller watches it,
  hangs it up on the SDK's command (uuid_kill) and reports its call.hangup;
- a dialled leg waiting for commands outside a room ends with its socket (the socket app
  returns and an originated ``&socket(...)`` leg has no next application, see
  FREESWITCH-REFERENCE.md 1.7): its call.hangup is sent at the restart, cause unknown.

Every webhook is verified and parsed by the official SDK (``webhooks.unwrap``).
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
import telnyx
from appkit import wait_until
from flask import request
from processes import controller_process, controller_ready, kill
from stack import Stack
from telnyx import Telnyx

from controller.dialects.telnyx.signing import new_private_key, public_key

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dialects" / "telnyx"))
from telnyx_app import TelnyxApp  # noqa: E402

API_KEY = "KEY-telnyx-restart"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class PathTelnyxApp(TelnyxApp):
    """TelnyxApp that also keeps the path each verified webhook arrived at, and takes the
    dialled legs' own webhook_url (/leg-hooks)."""

    def __init__(self, client: Telnyx, key: str):
        self.paths: list[str] = []
        super().__init__(client, key)
        self.app.add_url_rule("/leg-hooks", "leg_hooks", self._webhook, methods=["POST"])

    def _webhook(self) -> tuple[str, int]:
        answer = super()._webhook()
        if answer[1] == 200:
            self.paths.append(request.path)
        return answer

    def at(self, path: str, event_type: str, **payload: object) -> list:
        found = self.of(event_type, **payload)
        return [event for event, where in zip(self.events, self.paths, strict=True)
                if where == path and self.event_data(event) in found]


def test_telnyx_legs_report_to_their_own_webhook_url_across_a_controller_sigkill(tmp_path):
    private = new_private_key()
    app = PathTelnyxApp(Telnyx(api_key=API_KEY, public_key=public_key(private)),
                        public_key(private))
    with Stack(tmp_path, app=app.app, start_controller=False,
               settings={"app": {"dialect": "telnyx", "hangup_url": ""}}) as stack:
        stack.extra_settings["telnyx"] = {"api_key": API_KEY, "signing_key": private,
                                          "webhook_url": f"{stack.app_url}/webhooks"}
        overrides = stack.settings_overrides()
        log = tmp_path / "controller.log"
        client = Telnyx(api_key=API_KEY, base_url=f"http://127.0.0.1:{stack.http_port}/v2",
                        max_retries=0)
        leg_hooks = f"{stack.app_url}/leg-hooks"
        process = controller_process(overrides, log)
        try:
            wait_until(lambda: controller_ready(stack.http_port), timeout=30,
                       what="the controller process")
            carol_callee = stack.phones.expect("carol@127.0.0.1:5090", "answer")
            dave_callee = stack.phones.expect("dave@127.0.0.1:5090", "answer")
            carol_id = client.calls.dial(
                connection_id="conn-c", to="sip:carol@127.0.0.1:5090", from_="+15550001",
                webhook_url=leg_hooks, client_state=b64("carol-dialled")).data.call_control_id
            dave_id = client.calls.dial(
                connection_id="conn-d", to="sip:dave@127.0.0.1:5090", from_="+15550002",
                webhook_url=leg_hooks, client_state=b64("dave")).data.call_control_id
            for ccid in (carol_id, dave_id):
                app.wait_for("call.answered", call_control_id=ccid)
            carol, dave = carol_callee.wait_dialled(), dave_callee.wait_dialled()
            # carol's client_state changes after the dial; then she waits in a room
            client.calls.actions.update_client_state(carol_id,
                                                     client_state=b64("carol-updated"))
            conference = client.conferences.create(call_control_id=carol_id,
                                                   name="restart-room").data
            app.wait_for("conference.participant.joined", conference_id=conference.id)

            kill(process)
            dave.wait_hangup(timeout=10)  # his leg ends with its socket
            assert carol.is_up
            assert not app.of("call.hangup")  # nobody told yet

            process = controller_process(overrides, log)
            wait_until(lambda: controller_ready(stack.http_port), timeout=30,
                       what="the restarted controller")
            # dave ended while no controller ran: reported from the journal at the restart
            gone = app.wait_for("call.hangup", call_control_id=dave_id)[0].payload
            assert gone.client_state == b64("dave")
            assert (gone.connection_id, gone.from_) == ("conn-d", "+15550002")
            assert gone.start_time is not None
            wait_until(lambda: "is still up in room" in log.read_text(), timeout=10,
                       what="carol's leg watched")
            with pytest.raises(telnyx.UnprocessableEntityError) as refused:
                client.calls.actions.speak(carol_id, payload="hi", voice="female")
            assert "only hangup" in str(refused.value)
            client.calls.actions.hangup(carol_id)  # the restarted controller still reaches her
            assert carol.wait_hangup(timeout=10) == "NORMAL_CLEARING"
            ended = app.wait_for("call.hangup", call_control_id=carol_id)[0].payload
            assert ended.client_state == b64("carol-updated")
            assert (ended.connection_id, ended.hangup_cause) == ("conn-c", "normal_clearing")
        finally:
            kill(process)
    for ccid in (carol_id, dave_id):
        assert len(app.at("/leg-hooks", "call.hangup", call_control_id=ccid)) == 1
    assert not [e for e, where in zip(app.events, app.paths, strict=True)
                if where == "/webhooks"]  # nothing went to the default webhook URL
    assert not app.refused
