"""Every face's REST API on any controller: two controllers on one Redis and one simulated
node; controller A runs every call (the dialplan's socket), and each cloud's official SDK,
pointed at controller B, controls those calls and their rooms. B forwards a call's
requests to A once (controller.cluster.forward); the effect is seen in FreeSWITCH's
listing and in the application's webhooks. A call nobody runs, or whose controller
cannot be reached, answers the face's own "not found" shape."""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from appkit import wait_until
from flask import Flask, request
from flask import Response as FlaskResponse
from processes import HeaderRecorder, controller_process, controller_ready, kill
from stack import Stack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dialects" / "cxml"))
from cxml_testapp import ACCOUNT_SID, AUTH_TOKEN, CxmlApp  # noqa: E402


def _controllers(stack: Stack, redis_url: str, tmp_path, held_port) -> tuple[list, str, str]:
    """Controller A takes the node's calls (the dialplan's socket); B only its Event Socket."""
    base = stack.settings_overrides()
    cluster = {"redis_url": redis_url, "lease_seconds": "2"}
    a = {**base, "cluster": {**cluster, "node_id": "ctl-a"},
         "data": {"directory": str(tmp_path / "data-a")}}
    b_http = held_port()
    b = {**base, "cluster": {**cluster, "node_id": "ctl-b"},
         "data": {"directory": str(tmp_path / "data-b")},
         "http": {**base["http"], "listen_port": str(b_http),
                  "public_base_url": f"http://127.0.0.1:{b_http}"},
         "outbound": {**base["outbound"], "listen_port": str(held_port())}}
    processes = [controller_process(a, tmp_path / "a.log"),
                 controller_process(b, tmp_path / "b.log")]
    for port in (stack.http_port, b_http):
        wait_until(lambda port=port: controller_ready(port), timeout=30,
                   what=f"the controller on HTTP port {port}")
    return processes, f"http://127.0.0.1:{stack.http_port}", f"http://127.0.0.1:{b_http}"


@contextlib.contextmanager
def two_controllers(tmp_path, redis_url, held_port, app: Flask, settings: dict,
                    extra: dict | None = None):
    """The node (simulator) and the application in this process, controllers A and B as
    processes; yields (stack, A's URL, B's URL, the controller processes)."""
    with Stack(tmp_path, app=app, settings=settings, start_controller=False) as stack:
        for section, values in (extra or {}).items():
            stack.extra_settings[section] = {
                k: v.format(app=stack.app_url) for k, v in values.items()}
        processes, a_url, b_url = _controllers(stack, redis_url, tmp_path, held_port)
        try:
            yield stack, a_url, b_url, processes
        finally:
            stack.phones.close()
            for process in processes:
                kill(process)


def members(stack: Stack, fs_room: str) -> dict[str, dict]:
    """FreeSWITCH's own member list of a room (``conference <room> json_list`` on the
    node: no controller in this process), by call uuid."""
    text = stack.sim.core.execute_api("conference", f"{fs_room} json_list")[1].strip()
    if not text.startswith("["):
        return {}
    return {m["uuid"]: m for m in json.loads(text)[0]["members"] if m.get("type") == "caller"}


def room_name() -> str:
    return f"any-{secrets.token_hex(4)}"


# ----------------------------------------------------------------------- Plivo (plivo SDK)
def test_plivo_calls_and_members_through_the_other_controller(tmp_path, redis_url, held_port,
                                                               monkeypatch):
    import plivo
    from plivo import exceptions
    from plivo.rest import client as plivo_client

    auth_id, auth_token = "MAPLIVOTESTACCOUNT01", "MzQ1NjdhYmNkZWYxMjM0NTY3ODlhYmNkZWYxMjM0"
    name = room_name()
    app = HeaderRecorder()
    app.documents["/answer"] = f'<Response><Conference callbackUrl="/cb">{name}</Conference>' \
                               '</Response>'
    app.documents["/moved"] = '<Response><Wait length="30"/></Response>'
    settings = {"plivo": {"auth_id": auth_id, "auth_token": auth_token}}
    with two_controllers(tmp_path, redis_url, held_port, app.app, settings) as (
            stack, _, b_url, _p):
        # The SDK builds every voice URL from these module constants (plivo/rest/client.py).
        for constant in ("API_VOICE_BASE_URI", "API_VOICE_BASE_URI_FALLBACK_1",
                         "API_VOICE_BASE_URI_FALLBACK_2", "PLIVO_API_BASE_URI"):
            monkeypatch.setattr(plivo_client, constant, f"{b_url}/v1/Account")
        client = plivo.RestClient(auth_id, auth_token)
        alice = stack.phones.call("1000", caller_id="+15550201")
        bob = stack.phones.call("1000", caller_id="+15550202")
        wait_until(lambda: {alice.uuid, bob.uuid} <= set(members(stack, name)),
                   what="alice and bob in the room")

        live = client.live_calls.get(alice.uuid)  # A runs the call: B forwards
        assert (live.call_uuid, getattr(live, "from")) == (alice.uuid, "+15550201")
        alice_member = str(members(stack, name)[alice.uuid]["id"])
        client.conferences.member_mute(name, alice_member)
        assert members(stack, name)[alice.uuid]["flags"]["can_speak"] is False

        client.calls.transfer(bob.uuid, legs="aleg", aleg_url=f"{stack.app_url}/moved")
        app.wait_for("/moved", CallUUID=bob.uuid)
        wait_until(lambda: bob.uuid not in members(stack, name), what="bob out of the room")
        client.calls.delete(bob.uuid)
        assert bob.wait_hangup(timeout=10)
        app.wait_for("/hangup", CallUUID=bob.uuid)

        with pytest.raises(exceptions.ResourceNotFoundError):
            client.live_calls.get(str(uuid.uuid4()))


# ----------------------------------------------------------------------- cXML (Twilio SDK)
def test_cxml_calls_and_participants_through_the_other_controller(tmp_path, redis_url, held_port):
    from twilio.base.exceptions import TwilioRestException
    from twilio.rest import Client
    from twilio.twiml.voice_response import Dial, VoiceResponse

    name = room_name()
    app = CxmlApp()

    def answer(params: dict[str, str]) -> str:
        response = VoiceResponse()
        dial = Dial()
        dial.conference(name, participant_label=params["From"].lstrip("+"))
        response.append(dial)
        return str(response)

    app.documents["/answer"] = answer
    app.documents["/moved"] = '<Response><Pause length="30"/></Response>'
    settings = {"app": {"dialect": "cxml"},
                "cxml": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}}
    with two_controllers(tmp_path, redis_url, held_port, app.app, settings) as (stack, _, b_url,
                                                                     processes):
        client = Client(ACCOUNT_SID, AUTH_TOKEN)
        client.api.base_url = b_url  # every request below goes to controller B
        alice = stack.phones.call("1000", caller_id="+15550101")
        bob = stack.phones.call("1000", caller_id="+15550102")
        wait_until(lambda: {alice.uuid, bob.uuid} <= set(members(stack, name)),
                   what="alice and bob in the room")
        alice_sid, bob_sid = (f"CA{p.uuid.replace('-', '')}" for p in (alice, bob))

        fetched = client.calls(alice_sid).fetch()  # A runs the call: B forwards
        assert (fetched.sid, fetched.to, fetched.status) == (alice_sid, "1000", "in-progress")
        conference = client.conferences.list(friendly_name=name)[0]
        # By label: only A, which runs the call, knows the label; B forwards there.
        by_label = client.conferences(conference.sid).participants("15550101").fetch()
        assert (by_label.call_sid, by_label.label) == (alice_sid, "15550101")
        muted = client.conferences(conference.sid).participants("15550101").update(muted=True)
        assert muted.muted is True
        assert members(stack, name)[alice.uuid]["flags"]["can_speak"] is False

        client.calls(bob_sid).update(url=f"{stack.app_url}/moved", method="POST")
        moved = app.wait_for("/moved", CallSid=bob_sid)[0]
        assert moved["valid"] is True  # A signed it: the request really came from the call
        wait_until(lambda: bob.uuid not in members(stack, name), what="bob out of the room")
        client.calls(bob_sid).update(status="completed")
        assert bob.wait_hangup(timeout=10)

        with pytest.raises(TwilioRestException) as unknown:
            client.calls("CA" + "0" * 32).update(status="completed")
        assert (unknown.value.status, unknown.value.code) == (404, 20404)

        kill(processes[0])  # A dies: its call is in the registry until its lease expires
        with pytest.raises(TwilioRestException) as gone:
            client.calls(alice_sid).fetch()
        assert (gone.value.status, gone.value.code) == (404, 20404)


# ----------------------------------------------------------------------- BXML (Bandwidth SDK)
class JsonApp:
    """A Bandwidth application: BXML per path; every JSON webhook kept."""

    def __init__(self) -> None:
        self.documents: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []
        self.app = Flask("bandwidth-app")
        self.app.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST"])

    def _serve(self, path: str) -> FlaskResponse:
        body = request.get_json(silent=True) or request.args.to_dict()
        self.requests.append({"path": "/" + path, **body})
        document = self.documents.get("/" + path)
        if document is None:
            return FlaskResponse(status=204)
        return FlaskResponse(document, mimetype="application/xml")

    def wait_for(self, path: str, **match: Any) -> list[dict[str, Any]]:
        return wait_until(lambda: [r for r in self.requests if r["path"] == path and all(
            r.get(k) == v for k, v in match.items())], timeout=15, what=f"{path} {match}")


def test_bxml_calls_and_members_through_the_other_controller(tmp_path, redis_url, held_port):
    from bandwidth import ApiClient, Configuration
    from bandwidth.api.calls_api import CallsApi
    from bandwidth.api.conferences_api import ConferencesApi
    from bandwidth.exceptions import NotFoundException
    from bandwidth.models import UpdateCall, UpdateConferenceMember
    from bandwidth.models.bxml import (
        Conference,
        Pause,
        Response,
        StartRecording,
        StopRecording,
    )

    account, user, password = "9900001", "bw-user", "bw-pass"
    name = room_name()
    app = JsonApp()
    app.documents["/answer"] = Response([Conference(name, conference_event_url="/conf")]
                                        ).to_bxml()
    app.documents["/moved"] = Response([Pause(30)]).to_bxml()
    settings = {"app": {"dialect": "bxml"},
                "bxml": {"account_id": account, "username": user, "password": password}}
    with two_controllers(tmp_path, redis_url, held_port, app.app, settings) as (
            stack, a_url, b_url, _p):
        sdk = ApiClient(Configuration(host=f"{b_url}/api/v2", username=user,
                                      password=password, ignore_operation_servers=True))
        alice = stack.phones.call("2000", caller_id="alice")
        bob = stack.phones.call("2000", caller_id="bob")
        joins = {j["from"]: j for j in (app.wait_for("/conf", eventType="conferenceMemberJoin",
                                                     **{"from": who})[0]
                                        for who in ("alice", "bob"))}
        conferences = ConferencesApi(sdk)
        conferences.update_conference_member(account, joins["alice"]["conferenceId"],
                                             joins["alice"]["callId"],
                                             UpdateConferenceMember(mute=True))
        assert members(stack, name)[alice.uuid]["flags"]["can_speak"] is False

        # A recording reported by one controller is listed by both (the recordings' index).
        conference_id = joins["alice"]["conferenceId"]
        conferences.update_conference_bxml(account, conference_id,
                                           Response([StartRecording()]).to_bxml())
        wait_until(lambda: any(m.get("type") == "recording_node" for m in json.loads(
            stack.sim.core.execute_api("conference", f"{name} json_list")[1])[0]["members"]),
            what="the conference recording")
        conferences.update_conference_bxml(account, conference_id,
                                           Response([StopRecording()]).to_bxml())
        available = app.wait_for("/conf", eventType="conferenceRecordingAvailable")[0]
        on_a = ConferencesApi(ApiClient(Configuration(
            host=f"{a_url}/api/v2", username=user, password=password,
            ignore_operation_servers=True)))
        for api in (conferences, on_a):
            listed = api.list_conference_recordings(account, conference_id)
            assert [r.recording_id for r in listed] == [available["recordingId"]]

        calls = CallsApi(sdk)
        bob_id = joins["bob"]["callId"]
        calls.update_call(account, bob_id, UpdateCall(redirect_url=f"{stack.app_url}/moved"))
        assert app.wait_for("/moved", callId=bob_id)[0]["eventType"] == "redirect"
        wait_until(lambda: bob.uuid not in members(stack, name), what="bob out of the room")
        calls.update_call(account, bob_id, UpdateCall(state="completed"))
        assert bob.wait_hangup(timeout=10)
        assert app.wait_for("/hangup", callId=bob_id)[0]["cause"] == "hangup"

        with pytest.raises(NotFoundException) as unknown:
            calls.update_call(account, f"c-{uuid.uuid4()}", UpdateCall(state="completed"))
        assert json.loads(unknown.value.body)["type"] == "not-found"


# ----------------------------------------------------------------------- Telnyx (telnyx SDK)
def test_telnyx_calls_and_conferences_through_either_controller(tmp_path, redis_url, held_port):
    import telnyx
    from telnyx import Telnyx
    from telnyx_app import TelnyxApp

    from controller.dialects.telnyx.signing import new_private_key, public_key

    api_key = "KEY-telnyx-any"
    private = new_private_key()
    receiver = TelnyxApp(Telnyx(api_key=api_key, public_key=public_key(private)),
                         public_key(private))
    name = room_name()
    settings = {"app": {"dialect": "telnyx", "hangup_url": ""}}
    extra = {"telnyx": {"api_key": api_key, "signing_key": private,
                        "webhook_url": "{app}/webhooks"}}
    with two_controllers(tmp_path, redis_url, held_port, receiver.app, settings, extra) as (
            stack, a_url, b_url, _p):
        on_b = Telnyx(api_key=api_key, base_url=f"{b_url}/v2", max_retries=0)
        on_a = Telnyx(api_key=api_key, base_url=f"{a_url}/v2", max_retries=0)

        def answered(caller: str) -> tuple[Any, str]:
            phone = stack.phones.call("5000", caller_id=caller)
            ccid = receiver.wait_for("call.initiated", from_=caller)[-1] \
                .payload.call_control_id
            on_b.calls.actions.answer(ccid)  # A runs the call: B forwards the command
            phone.wait_answered(timeout=5)
            return phone, ccid

        alice, alice_id = answered("alice")
        bob, bob_id = answered("bob")
        # The create names A's call: forwarded to A, which keeps the record in Redis.
        conf = on_b.conferences.create(call_control_id=alice_id, name=name).data
        receiver.wait_for("conference.participant.joined", conference_id=conf.id)
        on_b.conferences.actions.join(conf.id, call_control_id=bob_id)
        wait_until(lambda: {alice.uuid, bob.uuid} <= set(members(stack, name)),
                   what="alice and bob in the room")
        # B runs the room's commands itself, from the record A created.
        on_b.conferences.actions.mute(conf.id, call_control_ids=[bob_id])
        assert members(stack, name)[bob.uuid]["flags"]["can_speak"] is False
        assert on_b.conferences.retrieve(name).data.id == conf.id
        assert [c.id for c in on_a.conferences.list(filter={"name": name})] == [conf.id]
        listed = {p.call_control_id: p for p in on_b.conferences.list_participants(conf.id)}
        assert listed[bob_id].muted is True and listed[alice_id].muted is False

        on_b.conferences.actions.end_conference(conf.id)
        receiver.wait_for("conference.ended", conference_id=conf.id)
        assert on_a.conferences.retrieve(conf.id).data.end_reason == "ended_via_api"
        on_b.calls.actions.hangup(bob_id)
        receiver.wait_for("call.hangup", call_control_id=bob_id)
        assert bob.wait_hangup(timeout=10) and alice.is_up

        with pytest.raises(telnyx.UnprocessableEntityError) as unknown:
            on_b.calls.actions.hangup(f"v3:{uuid.uuid4()}")
        assert unknown.value.body["errors"][0]["code"] == "90018"
        assert not receiver.refused
