"""Bandwidth's create call on the shared Dialer, through bandwidth-sdk's CallsApi: the
callee's phone answers and the leg runs the BXML of answerUrl (Bandwidth's ``answer``
event); the call's end, or a call never answered, reaches disconnectUrl with the cause
and the call's tag.

Phones FreeSWITCH dials come from ``stack.expect_phone``: the simulator's, or on a real
FreeSWITCH (FS_ESL_HOST) SIPp answering phones on this host, dialled at the ``to`` it
returns. The tests synchronise on the application's callbacks, the phones' SIP view and
FreeSWITCH's ``conference json_list``; what a phone heard is the simulator's view only."""

from __future__ import annotations

import base64
import json

import pytest
from bandwidth.exceptions import BadRequestException
from bandwidth.models import AnswerCallback, CreateCall, DisconnectCallback
from bandwidth.models.bxml import Conference, SpeakSentence
from stack import wait_until
from test_bxml_live import (  # noqa: F401
    ACCOUNT,
    CallsApi,
    app,
    bxml,
    heard,
    members,
    name,
    sdk,
    stack,
)

from controller.dialects.bxml import ids


def create(stack, **fields) -> object:  # noqa: F811
    body = {"to": "sip:alice@127.0.0.1:5090", "var_from": "+15551230000",
            "application_id": "app-1", "answer_url": f"{stack.app_url}/out-answer",
            "disconnect_url": f"{stack.app_url}/disconnect"} | fields
    return CallsApi(sdk(stack)).create_call(ACCOUNT, CreateCall(**body))


def test_created_call_runs_the_answer_bxml_and_reports_its_end(stack, app, name):  # noqa: F811
    # The BXML's own room: FreeSWITCH lists the call in it once the SpeakSentence is done.
    app.documents["/out-answer"] = bxml(SpeakSentence("hello from the app"), Conference(name))
    callee, to = stack.expect_phone("alice@127.0.0.1:5090", "answer")
    created = create(stack, to=to, display_name="Front Desk", tag="ticket-7", username="u",
                     password="p", call_timeout=12.5, callback_timeout=4)
    assert created.account_id == ACCOUNT and created.application_id == "app-1"
    assert (created.to, created.var_from) == (to, "+15551230000")
    assert created.tag == "ticket-7" and created.call_timeout == 12.5
    assert created.call_url.endswith(f"/accounts/{ACCOUNT}/calls/{created.call_id}")
    answer = AnswerCallback.from_dict(app.wait_for("/out-answer")[0])
    assert answer.event_type == "answer" and answer.direction == "outbound"
    assert answer.call_id == created.call_id and answer.tag == "ticket-7"
    assert (answer.var_from, answer.to) == ("+15551230000", to)
    assert answer.answer_time is not None
    auth = {r["auth"] for r in app.requests if r["path"] == "/out-answer"}
    assert auth == {"Basic " + base64.b64encode(b"u:p").decode()}
    phone = callee.wait_dialled(timeout=10)
    assert phone is not None
    assert ids.call_uuid(created.call_id) == phone.uuid
    assert (phone.caller_id, phone.caller_name) == ("+15551230000", "Front Desk")
    wait_until(lambda: phone.uuid in members(stack, name),
               what="the answer BXML's Conference to take the call")
    if not stack.real:
        assert heard(phone, "hello from the app")  # the SpeakSentence ran before it
    phone.hangup()
    ended = DisconnectCallback.from_dict(app.wait_for("/disconnect")[0])
    assert ended.event_type == "disconnect" and ended.cause == "hangup"
    assert ended.call_id == created.call_id and ended.tag == "ticket-7"


# FreeSWITCH's causes behind them (capture README, 07c/07d): 486 gives USER_BUSY, 180 alone
# until originate_timeout NO_ANSWER, a port nothing listens on NORMAL_TEMPORARY_FAILURE.
@pytest.mark.parametrize(("behaviour", "cause"), [
    ("busy", "busy"), ("ring", "timeout"), ("unreachable", "error")])
def test_unanswered_call_reports_its_cause_to_the_disconnect_url(
        stack, app, behaviour, cause):  # noqa: F811
    callee, to = stack.expect_phone("bob@127.0.0.1:5090", behaviour)
    created = create(stack, to=to, call_timeout=2, tag="t")
    ended = DisconnectCallback.from_dict(app.wait_for("/disconnect")[0])
    assert ended.call_id == created.call_id and ended.cause == cause
    assert ended.tag == "t" and ended.direction == "outbound" and ended.to == to
    if behaviour != "unreachable":
        assert callee.dialled  # the INVITE reached the phone: the cause is its answer
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
