"""Bandwidth's create call on the shared Dialer, through bandwidth-sdk's CallsApi: the
callee's phone (the simulator's, ``phones.expect``) answers and the leg runs the BXML of
answerUrl (Bandwidth's ``answer`` event); the call's end, or a call never answered,
reaches disconnectUrl with the cause and the call's tag."""

from __future__ import annotations

import base64
import json

import pytest
from bandwidth.exceptions import BadRequestException
from bandwidth.models import AnswerCallback, CreateCall, DisconnectCallback
from bandwidth.models.bxml import Pause, SpeakSentence
from stack import real_freeswitch, wait_until
from test_bxml_live import ACCOUNT, CallsApi, app, bxml, heard, name, sdk, stack  # noqa: F401

from controller.dialects.bxml import ids


@pytest.fixture(autouse=True)
def _dialable_phones(stack) -> None:  # noqa: F811
    if real_freeswitch() or not hasattr(stack.phones, "expect"):
        pytest.skip("needs phones that FreeSWITCH can dial (simulator only for now)")


def create(stack, **fields) -> object:  # noqa: F811
    body = {"to": "sip:alice@127.0.0.1:5090", "var_from": "+15551230000",
            "application_id": "app-1", "answer_url": f"{stack.app_url}/out-answer",
            "disconnect_url": f"{stack.app_url}/disconnect"} | fields
    return CallsApi(sdk(stack)).create_call(ACCOUNT, CreateCall(**body))


def test_created_call_runs_the_answer_bxml_and_reports_its_end(stack, app):  # noqa: F811
    app.documents["/out-answer"] = bxml(SpeakSentence("hello from the app"), Pause(30))
    callee = stack.phones.expect("alice@127.0.0.1:5090", "answer")
    created = create(stack, display_name="Front Desk", tag="ticket-7", username="u",
                     password="p", call_timeout=12.5, callback_timeout=4)
    assert created.account_id == ACCOUNT and created.application_id == "app-1"
    assert (created.to, created.var_from) == ("sip:alice@127.0.0.1:5090", "+15551230000")
    assert created.tag == "ticket-7" and created.call_timeout == 12.5
    assert created.call_url.endswith(f"/accounts/{ACCOUNT}/calls/{created.call_id}")
    answer = AnswerCallback.from_dict(app.wait_for("/out-answer")[0])
    assert answer.event_type == "answer" and answer.direction == "outbound"
    assert answer.call_id == created.call_id and answer.tag == "ticket-7"
    assert (answer.var_from, answer.to) == ("+15551230000", "sip:alice@127.0.0.1:5090")
    assert answer.answer_time is not None
    auth = {r["auth"] for r in app.requests if r["path"] == "/out-answer"}
    assert auth == {"Basic " + base64.b64encode(b"u:p").decode()}
    phone = callee.wait_dialled()
    assert ids.call_uuid(created.call_id) == phone.uuid
    assert (phone.caller_id, phone.caller_name) == ("+15551230000", "Front Desk")
    wait_until(lambda: heard(phone, "hello from the app"), what="the answer BXML to run")
    phone.hangup()
    ended = DisconnectCallback.from_dict(app.wait_for("/disconnect")[0])
    assert ended.event_type == "disconnect" and ended.cause == "hangup"
    assert ended.call_id == created.call_id and ended.tag == "ticket-7"


@pytest.mark.parametrize(("behaviour", "cause"), [
    ("busy", "busy"), ("ring", "timeout"), ("unreachable", "error")])
def test_unanswered_call_reports_its_cause_to_the_disconnect_url(
        stack, app, behaviour, cause):  # noqa: F811
    stack.phones.expect("bob@127.0.0.1:5090", behaviour)
    created = create(stack, to="sip:bob@127.0.0.1:5090", call_timeout=2, tag="t")
    ended = DisconnectCallback.from_dict(app.wait_for("/disconnect")[0])
    assert ended.call_id == created.call_id and ended.cause == cause
    assert ended.tag == "t" and ended.direction == "outbound"
    assert not app.at("/out-answer")  # never answered, nothing fetched


@pytest.mark.parametrize(("fields", "named"), [
    ({"to": "not a destination"}, "to"),
    ({"answer_url": "ftp://x/a"}, "answerUrl"),
    ({"call_timeout": 301}, None),  # the SDK itself refuses it
])
def test_bad_create_call_is_refused_naming_the_field(stack, app, fields, named):  # noqa: F811
    if named is None:
        with pytest.raises(ValueError):
            create(stack, **fields)
        return
    with pytest.raises(BadRequestException) as refused:
        create(stack, **fields)
    body = json.loads(refused.value.body)
    assert body["type"] == "validation" and body["description"].startswith(named)


def test_raw_body_errors_name_the_field(stack):  # noqa: F811
    import requests

    url = f"{stack.api_base}/api/v2/accounts/{ACCOUNT}/calls"
    base = {"to": "sip:a@127.0.0.1:5090", "from": "+1555", "applicationId": "a",
            "answerUrl": f"{stack.app_url}/a"}
    for extra, named in (({"machineDetection": {"mode": "sync"}}, "machineDetection"),
                         ({"callTimeout": "30"}, "callTimeout"),
                         ({"colour": "red"}, "colour"),
                         ({"privacy": True}, "privacy")):
        reply = requests.post(url, json=base | extra, auth=("bw-user", "bw-pass"), timeout=10)
        assert reply.status_code == 400, reply.text
        assert reply.json()["description"].startswith(named)
