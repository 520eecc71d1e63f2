"""The Bandwidth face end to end: BXML built with Bandwidth's SDK, run on FreeSWITCH
(the simulator, or a real one when FS_ESL_HOST is set), its JSON webhooks parsed by the
SDK's callback models, its REST API driven by the SDK's ConferencesApi/CallsApi."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import gevent
import pytest
from bandwidth import ApiClient, Configuration
from bandwidth.api.calls_api import CallsApi
from bandwidth.api.conferences_api import ConferencesApi
from bandwidth.models import (
    ConferenceCompletedCallback,
    ConferenceCreatedCallback,
    ConferenceMemberExitCallback,
    ConferenceMemberJoinCallback,
    ConferenceRedirectCallback,
    InitiateCallback,
    RedirectCallback,
    UpdateCall,
    UpdateConference,
    UpdateConferenceMember,
)
from bandwidth.models.bxml import (
    Conference,
    Pause,
    Redirect,
    Response,
    SpeakSentence,
    Tag,
)
from flask import Flask, request
from flask import Response as FlaskResponse
from stack import Stack, real_freeswitch, wait_until

from controller.dialects.bxml import ids

ACCOUNT = "9900001"
USER, PASSWORD = "bw-user", "bw-pass"


class BandwidthApp:
    """A Bandwidth application: BXML per path, every request (JSON body, auth) kept."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.statuses: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        # path -> (WAV bytes, the Authorization header it needs, "" for none)
        self.audio: dict[str, tuple[bytes, str]] = {}
        self.app = Flask("bandwidth-app")
        self.app.add_url_rule("/<path:path>", "any", self._serve, methods=["GET", "POST"])

    def _serve(self, path: str) -> FlaskResponse:
        path = "/" + path
        # A GET webhook carries its fields in the query string (it has no body).
        body = (request.get_json(silent=True) or {}) if request.method == "POST" \
            else request.args.to_dict()
        self.requests.append({"path": path, "auth": request.headers.get("Authorization", ""),
                              "body": body, "method": request.method})
        if path in self.statuses:
            return FlaskResponse(status=self.statuses[path])
        if path in self.audio:
            data, wanted_auth = self.audio[path]
            if wanted_auth and request.headers.get("Authorization") != wanted_auth:
                return FlaskResponse(status=401)
            return FlaskResponse(data, mimetype="audio/wav")
        document = self.documents.get(path)
        if document is None:
            return FlaskResponse(status=204)
        text = document(body) if callable(document) else document
        return FlaskResponse(text, mimetype="application/xml")

    def at(self, path: str, **match: Any) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == path
                and all(r["body"].get(k) == v for k, v in match.items())]

    def wait_for(self, path: str, count: int = 1, timeout: float = 15, **match: Any) -> list:
        return wait_until(lambda: (found := self.at(path, **match)) and len(found) >= count
                          and found, timeout, f"{count} request(s) to {path} {match}")


@pytest.fixture
def app() -> BandwidthApp:
    return BandwidthApp()


@pytest.fixture
def stack(tmp_path, app):
    settings = {"app": {"dialect": "bxml"},
                "bxml": {"account_id": ACCOUNT, "username": USER, "password": PASSWORD}}
    with Stack(tmp_path, app=app.app, settings=settings) as running:
        yield running


@pytest.fixture
def sim_only():
    """For what only the simulator can tell (what a phone heard)."""
    if real_freeswitch():
        pytest.skip("needs the simulator's view of what phones heard")


@pytest.fixture
def name() -> str:
    return f"bw-{secrets.token_hex(4)}"


def sdk(stack: Stack) -> ApiClient:
    return ApiClient(Configuration(host=f"{stack.api_base}/api/v2", username=USER,
                                   password=PASSWORD, ignore_operation_servers=True))


def bxml(*verbs: Any) -> str:
    return Response(list(verbs)).to_bxml()


def heard(phone: Any, text: str) -> bool:
    return any(text in str(media) for media in phone.heard)


def relations(stack: Stack, fs_room: str, member_id: str) -> str:
    """FreeSWITCH's own listing of a member's relations (capture 07b: ``A -> C NOSPEAK``
    means C does not hear A)."""
    return stack.api(f"conference {fs_room} relate {member_id}")


def members(stack: Stack, fs_room: str) -> dict[str, dict]:
    text = stack.api(f"conference {fs_room} json_list").strip()
    if not text.startswith("["):
        return {}
    return {m["uuid"]: m for m in json.loads(text)[0]["members"] if m.get("type") == "caller"}


# ----------------------------------------------------------------------- requests
def test_answer_url_gets_initiate_json_and_the_call_id_is_bandwidths(stack, app, name):
    app.documents["/answer"] = bxml(Tag("t-1"), Redirect(redirect_url="/next"))
    app.documents["/next"] = bxml(Pause(1))
    phone = stack.phones.call("2000", caller_id="alice")
    initiate = InitiateCallback.from_dict(app.wait_for("/answer")[0])
    assert initiate.event_type == "initiate" and initiate.account_id == ACCOUNT
    assert initiate.var_from == "alice" and initiate.to == "2000"
    assert ids.call_uuid(initiate.call_id) == phone.uuid
    assert initiate.call_url.endswith(f"/api/v2/accounts/{ACCOUNT}/calls/{initiate.call_id}")
    redirect = RedirectCallback.from_dict(app.wait_for("/next")[0])
    assert redirect.event_type == "redirect" and redirect.tag == "t-1"
    assert redirect.call_id == initiate.call_id


def test_invalid_bxml_is_refused_whole_with_its_line(stack, app):
    app.documents["/answer"] = ('<Response>\n  <SpeakSentence>hi</SpeakSentence>\n'
                                '  <StartStream name="x"/>\n</Response>')
    phone = stack.phones.call("2000", caller_id="alice")
    disconnect = app.wait_for("/hangup")[0]
    assert disconnect["eventType"] == "disconnect"
    assert "answer:3:3 <StartStream>" in disconnect["errorMessage"]
    assert not heard(phone, "hi")  # nothing of the document ran


# ----------------------------------------------------------------------- webhooks
def test_conference_webhooks_parse_into_the_sdk_models_with_tag_auth_and_timeout(
        stack, app, name):
    app.documents["/answer"] = bxml(Conference(
        name, conference_event_url="/conf", username="hook", password="secret",
        tag="room-tag", callback_timeout="3.5"))
    alice = stack.phones.call("2000", caller_id="alice")
    created = ConferenceCreatedCallback.from_dict(
        app.wait_for("/conf", eventType="conferenceCreated")[0])
    join = ConferenceMemberJoinCallback.from_dict(
        app.wait_for("/conf", eventType="conferenceMemberJoin")[0])
    assert created.name == name and created.tag == "room-tag"
    assert ids.conference_uuid(created.conference_id)
    assert join.conference_id == created.conference_id and join.tag == "room-tag"
    assert ids.call_uuid(join.call_id) == alice.uuid and join.var_from == "alice"
    assert join.to == "2000"
    expected = "Basic " + base64.b64encode(b"hook:secret").decode()
    assert all(r["auth"] == expected for r in app.requests if r["path"] == "/conf")
    alice.hangup()
    exit_ = ConferenceMemberExitCallback.from_dict(
        app.wait_for("/conf", eventType="conferenceMemberExit")[0])
    done = ConferenceCompletedCallback.from_dict(
        app.wait_for("/conf", eventType="conferenceCompleted")[0])
    assert exit_.call_id == join.call_id and done.tag == "room-tag"


def test_get_conference_webhooks_carry_their_fields_in_the_query(stack, app, name):
    app.documents["/answer"] = bxml(Conference(
        name, conference_event_url="/conf", conference_event_method="GET", tag="q-tag"))
    alice = stack.phones.call("2000", caller_id="alice")
    join = app.wait_for("/conf", eventType="conferenceMemberJoin")[0]
    assert join["name"] == name and join["tag"] == "q-tag"
    assert ids.call_uuid(join["callId"]) == alice.uuid
    assert {r["method"] for r in app.requests if r["path"] == "/conf"} == {"GET"}
    alice.hangup()


def test_a_failing_event_url_falls_back_with_its_own_credentials(stack, app, name):
    app.statuses["/conf"] = 500
    app.documents["/answer"] = bxml(Conference(
        name, conference_event_url="/conf", conference_event_fallback_url="/fallback",
        username="main", password="m", fallback_username="fb", fallback_password="f",
        tag="t"))
    stack.phones.call("2000", caller_id="alice")
    created = app.wait_for("/fallback", eventType="conferenceCreated")[0]
    assert created["tag"] == "t"
    fallback_auth = {r["auth"] for r in app.requests if r["path"] == "/fallback"}
    main_auth = {r["auth"] for r in app.requests if r["path"] == "/conf"}
    assert fallback_auth == {"Basic " + base64.b64encode(b"fb:f").decode()}
    assert main_auth == {"Basic " + base64.b64encode(b"main:m").decode()}


def test_bxml_returned_to_a_conference_webhook_runs_in_the_room_in_order(
        stack, app, name, sim_only):
    def reply(event: dict) -> str:
        if event["eventType"] == "conferenceMemberJoin" and event["from"] == "bob":
            return bxml(SpeakSentence("first for everyone"),
                        SpeakSentence("second for everyone", voice="paul"))
        return ""

    app.documents["/answer"] = bxml(Conference(name, conference_event_url="/conf"))
    app.documents["/conf"] = reply
    alice = stack.phones.call("2000", caller_id="alice")
    app.wait_for("/conf", eventType="conferenceMemberJoin", **{"from": "alice"})
    bob = stack.phones.call("2000", caller_id="bob")
    for phone in (alice, bob):
        wait_until(lambda phone=phone: heard(phone, "second for everyone"), what="the room")
        spoken = [m for m in phone.heard if "for everyone" in m]
        assert spoken[0].endswith("first for everyone") and len(spoken) == 2


def test_a_reply_with_a_verb_a_conference_does_not_allow_is_not_run(
        stack, app, name, sim_only):
    app.documents["/answer"] = bxml(Conference(name, conference_event_url="/conf"))
    app.documents["/conf"] = lambda e: (
        "<Response><SpeakSentence>never</SpeakSentence><Hangup/></Response>"
        if e["eventType"] == "conferenceCreated" else "")
    alice = stack.phones.call("2000", caller_id="alice")
    app.wait_for("/conf", eventType="conferenceMemberJoin")
    gevent.sleep(0.5)
    assert not heard(alice, "never") and alice.is_up


# ----------------------------------------------------------------------- REST
def test_sdk_mutes_holds_and_reads_a_member(stack, app, name):
    app.documents["/answer"] = bxml(Conference(name, conference_event_url="/conf"))
    alice = stack.phones.call("2000", caller_id="alice")
    join = app.wait_for("/conf", eventType="conferenceMemberJoin")[0]
    api = ConferencesApi(sdk(stack))
    api.update_conference_member(ACCOUNT, join["conferenceId"], join["callId"],
                                 UpdateConferenceMember(mute=True))
    member = api.get_conference_member(ACCOUNT, join["conferenceId"], join["callId"])
    assert member.mute is True and member.hold is False
    assert members(stack, name)[alice.uuid]["flags"]["can_speak"] is False
    api.update_conference_member(ACCOUNT, join["conferenceId"], join["callId"],
                                 UpdateConferenceMember(mute=False, hold=True))
    member = api.get_conference_member(ACCOUNT, join["conferenceId"], join["callId"])
    assert member.hold is True
    listed = api.list_conferences(ACCOUNT, name=name)
    assert [c.id for c in listed] == [join["conferenceId"]]
    conference = api.get_conference(ACCOUNT, join["conferenceId"])
    assert [m.call_id for m in conference.active_members] == [join["callId"]]


def test_sdk_errors_have_bandwidths_shape(stack):
    api = ConferencesApi(sdk(stack))
    from bandwidth.exceptions import NotFoundException, UnauthorizedException

    with pytest.raises(NotFoundException) as missing:
        api.get_conference(ACCOUNT, "conf-00000000-nothing")
    assert json.loads(missing.value.body)["type"] == "not-found"
    wrong = ConferencesApi(ApiClient(Configuration(host=f"{stack.api_base}/api/v2",
                                                   username=USER, password="wrong",
                                                   ignore_operation_servers=True)))
    with pytest.raises(UnauthorizedException):
        wrong.list_conferences(ACCOUNT)


def test_coach_is_heard_only_by_the_coached_call_whenever_it_joins(stack, app, name):
    """Agent and customer talk; the supervisor coaches the agent: only the agent hears
    the supervisor, the customer does not, even though the customer joined after."""
    calls: dict[str, str] = {}

    def answer(event: dict) -> str:
        calls[event["from"]] = event["callId"]
        coach = calls.get("agent") if event["from"] == "supervisor" else None
        return bxml(Conference(name, conference_event_url="/conf", call_ids_to_coach=coach))

    app.documents["/answer"] = answer
    agent = stack.phones.call("2000", caller_id="agent")
    app.wait_for("/conf", eventType="conferenceMemberJoin", **{"from": "agent"})
    supervisor = stack.phones.call("2000", caller_id="supervisor")
    app.wait_for("/conf", eventType="conferenceMemberJoin", **{"from": "supervisor"})
    customer = stack.phones.call("2000", caller_id="customer")
    app.wait_for("/conf", eventType="conferenceMemberJoin", **{"from": "customer"})
    found = members(stack, name)
    coach_id = str(found[supervisor.uuid]["id"])
    customer_id = str(found[customer.uuid]["id"])
    agent_id = str(found[agent.uuid]["id"])

    def customer_deaf_to_coach() -> bool:
        listing = relations(stack, name, coach_id)
        return f"{coach_id} -> {customer_id} NOSPEAK" in listing and \
            f"-> {agent_id} " not in listing

    wait_until(customer_deaf_to_coach, what="the customer not hearing the coach")

    # The SDK moves the coaching: now the customer hears the coach, the agent does not.
    api = ConferencesApi(sdk(stack))
    join = app.at("/conf", eventType="conferenceMemberJoin", **{"from": "supervisor"})[0]
    api.update_conference_member(ACCOUNT, join["conferenceId"], join["callId"],
                                 UpdateConferenceMember(call_ids_to_coach=[calls["customer"]]))
    listing = relations(stack, name, coach_id)
    assert f"{coach_id} -> {agent_id} NOSPEAK" in listing
    assert f"-> {customer_id} " not in listing
    member = api.get_conference_member(ACCOUNT, join["conferenceId"], join["callId"])
    assert member.call_ids_to_coach == [calls["customer"]]


def test_sdk_redirects_the_room_and_its_bxml_runs_inside(stack, app, name, sim_only):
    app.documents["/answer"] = bxml(Conference(name, conference_event_url="/conf",
                                               tag="red"))
    app.documents["/redirected"] = bxml(SpeakSentence("announcement after redirect"))
    alice = stack.phones.call("2000", caller_id="alice")
    join = app.wait_for("/conf", eventType="conferenceMemberJoin")[0]
    api = ConferencesApi(sdk(stack))
    api.update_conference(ACCOUNT, join["conferenceId"], UpdateConference(
        redirect_url=f"{stack.app_url}/redirected"))
    event = ConferenceRedirectCallback.from_dict(app.wait_for("/redirected")[0])
    assert event.event_type == "conferenceRedirect" and event.tag == "red"
    wait_until(lambda: heard(alice, "announcement after redirect"), what="the announcement")
    api.update_conference_bxml(ACCOUNT, join["conferenceId"],
                               bxml(SpeakSentence("put by the REST API")))
    wait_until(lambda: heard(alice, "put by the REST API"), what="the BXML put over REST")


def test_sdk_ends_the_conference_and_members_continue_their_bxml(stack, app, name):
    app.documents["/answer"] = bxml(Conference(name, conference_event_url="/conf"),
                                    Redirect(redirect_url="/after"))
    app.documents["/after"] = bxml(Pause(1))
    stack.phones.call("2000", caller_id="alice")
    join = app.wait_for("/conf", eventType="conferenceMemberJoin")[0]
    stack.phones.call("2000", caller_id="bob")
    app.wait_for("/conf", eventType="conferenceMemberJoin", **{"from": "bob"})
    ConferencesApi(sdk(stack)).update_conference(ACCOUNT, join["conferenceId"],
                                                 UpdateConference(status="completed"))
    after = app.wait_for("/after", 2)
    assert {RedirectCallback.from_dict(a).var_from for a in after} == {"alice", "bob"}
    app.wait_for("/conf", eventType="conferenceCompleted")


def test_sdk_redirects_and_ends_a_call(stack, app, name):
    app.documents["/answer"] = bxml(Conference(name))
    app.documents["/moved"] = bxml(Pause(30))
    alice = stack.phones.call("2000", caller_id="alice")
    call_id = InitiateCallback.from_dict(app.wait_for("/answer")[0]).call_id
    wait_until(lambda: alice.uuid in members(stack, name), what="alice in the room")
    calls = CallsApi(sdk(stack))
    calls.update_call(ACCOUNT, call_id, UpdateCall(redirect_url=f"{stack.app_url}/moved"))
    moved = RedirectCallback.from_dict(app.wait_for("/moved")[0])
    assert moved.call_id == call_id
    wait_until(lambda: alice.uuid not in members(stack, name), what="alice out of the room")
    calls.update_call(ACCOUNT, call_id, UpdateCall(state="completed"))
    alice.wait_hangup(timeout=10)
    assert app.wait_for("/hangup")[0]["cause"] == "hangup"

