"""Plivo's Voice REST API driven by the official ``plivo`` SDK (``plivo.RestClient``
pointed at the controller): make a call whose answer_url's Plivo XML joins a
conference (answer request signed, checked with ``validate_v3_signature``), busy and
no-answer reported to hangup_url with the cause, live calls, transfer, hangup, and the
Conference API (list, get, mute, deaf, kick, speak, play, record, hang up); errors in
Plivo's shape (401, 404, 400 naming the parameter).

Phones FreeSWITCH dials come from ``stack.expect_phone``: the simulator's, or SIPp
answering phones on a real FreeSWITCH (FS_ESL_HOST). The tests synchronise on what both
show: the application's requests and FreeSWITCH's ``conference <room> json_list``; what
a phone heard is the simulator's view only."""

from __future__ import annotations

import io
import json
import secrets
import wave

import plivo
import pytest
import requests
from plivo import exceptions, plivoxml
from plivo.rest import client as plivo_client
from plivo_app import AUTH_TOKEN, PlivoApp
from stack import Stack, wait_until

AUTH_ID = "MAPLIVOTESTACCOUNT01"
FROM = "+15551230000"


@pytest.fixture
def app() -> PlivoApp:
    return PlivoApp()


@pytest.fixture
def stack(tmp_path, app):
    settings = {"plivo": {"auth_id": AUTH_ID, "auth_token": AUTH_TOKEN},
                "app": {"answer_url": "/inbound", "hangup_url": "/inbound-hangup"}}
    with Stack(tmp_path, app=app.flask, settings=settings) as running:
        yield running
        running.phones.close()


def point_sdk_at(monkeypatch, base: str) -> None:
    """The SDK builds every voice URL from these module constants (plivo/rest/client.py:
    ``API_VOICE_BASE_URI`` and its two fallbacks, tried after a 5xx)."""
    for name in ("API_VOICE_BASE_URI", "API_VOICE_BASE_URI_FALLBACK_1",
                 "API_VOICE_BASE_URI_FALLBACK_2", "PLIVO_API_BASE_URI"):
        monkeypatch.setattr(plivo_client, name, f"{base}/v1/Account")


@pytest.fixture
def client(stack, monkeypatch) -> plivo.RestClient:
    point_sdk_at(monkeypatch, f"http://127.0.0.1:{stack.http_port}")
    return plivo.RestClient(AUTH_ID, AUTH_TOKEN)


@pytest.fixture
def room() -> str:
    return f"pr-{secrets.token_hex(4)}"


def conference_doc(room: str, **attributes):
    return lambda params: plivoxml.ResponseElement().add(
        plivoxml.ConferenceElement(room, start_conference_on_enter=True, **attributes))


def members(stack, room: str) -> dict[int, dict]:
    text = stack.api(f"conference {room} json_list").strip()
    if not text.startswith("["):
        return {}
    return {m["id"]: m for conf in json.loads(text) for m in conf.get("members", [])
            if m.get("type") == "caller"}


def wait_requests(app: PlivoApp, path: str, count: int = 1, timeout: float = 30.0) -> list:
    return wait_until(lambda: len(app.at(path)) >= count and app.at(path), timeout,
                      f"{count} request(s) to {path} (seen: {[s.path for s in app.seen]})")


def dial_into_room(stack, app, client, room: str, user: str):
    """A call made with the SDK whose answer_url joins ``room``: (phone, call uuid,
    member id)."""
    app.documents["/answer"] = conference_doc(room)
    callee, to = stack.expect_phone(f"{user}@127.0.0.1:5090", "answer")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/answer",
                               hangup_url=stack.app_url + "/hangup")
    phone = callee.wait_dialled(timeout=10)
    call_uuid = made.request_uuid
    member_id = wait_until(
        lambda: next((mid for mid, m in members(stack, room).items()
                      if m["uuid"] == call_uuid), None),
        what=f"call {call_uuid} in room {room}")
    return phone, call_uuid, member_id


# ------------------------------------------------------------------ calls
def test_make_call_fetches_answer_url_signed_and_its_conference_takes_the_call(
        stack, app, client, room):
    app.documents["/answer"] = conference_doc(room)
    callee, to = stack.expect_phone("alice@127.0.0.1:5090", "answer")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/answer",
                               hangup_url=stack.app_url + "/hangup", caller_name="Sales")
    assert made.message == "call fired"
    call_uuid = made.request_uuid
    fetched = wait_requests(app, "/answer")[0]
    assert fetched.valid and not fetched.valid_with_wrong_token
    assert fetched.params["CallUUID"] == call_uuid
    assert fetched.params["RequestUUID"] == call_uuid
    assert (fetched.params["Direction"], fetched.params["CallStatus"]) == ("outbound",
                                                                          "in-progress")
    assert (fetched.params["From"], fetched.params["To"]) == (FROM, to)
    assert fetched.params["CallerName"] == "Sales"
    assert callee.wait_dialled(timeout=10) is not None
    wait_until(lambda: call_uuid in {m["uuid"] for m in members(stack, room).values()},
               what="the answer_url's Conference to take the call")

    live = client.live_calls.get(call_uuid)
    assert (live.call_uuid, live.call_status, live.direction) == (call_uuid, "in-progress",
                                                                 "outbound")
    assert (live.to, getattr(live, "from"), live.request_uuid) == (to, FROM, call_uuid)
    assert call_uuid in client.live_calls.list_ids().calls
    assert call_uuid in client.live_calls.list_ids(call_direction="outbound").calls
    assert call_uuid not in client.live_calls.list_ids(call_direction="inbound").calls
    assert client.calls.get(call_uuid).call_uuid == call_uuid

    client.calls.delete(call_uuid)  # 204
    hangup = wait_requests(app, "/hangup")[0]
    assert hangup.valid
    assert (hangup.params["CallUUID"], hangup.params["CallStatus"]) == (call_uuid, "completed")
    assert hangup.params["RequestUUID"] == call_uuid and hangup.params["HangupCause"]
    wait_until(lambda: room not in stack.api("conference list"), what="the room to end")
    with pytest.raises(exceptions.ResourceNotFoundError):
        client.live_calls.get(call_uuid)


@pytest.mark.parametrize(("behaviour", "status", "cause"), [
    ("busy", "busy", "USER_BUSY"),
    ("ring", "no-answer", "NO_ANSWER"),
])
def test_unanswered_call_reports_status_and_cause_to_hangup_url(
        stack, app, client, behaviour, status, cause):
    callee, to = stack.expect_phone("bob@127.0.0.1:5090", behaviour)
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/never",
                               hangup_url=stack.app_url + "/hangup", ring_timeout=2)
    hangup = wait_requests(app, "/hangup")[0]
    assert hangup.valid
    assert hangup.params["CallUUID"] == made.request_uuid
    assert (hangup.params["CallStatus"], hangup.params["HangupCause"]) == (status, cause)
    assert hangup.params["Direction"] == "outbound"
    assert callee.dialled
    assert not app.at("/never")


def test_bulk_call_dials_every_destination_and_time_limit_ends_them(stack, app, client,
                                                                   room):
    app.documents["/answer"] = conference_doc(room)
    first, first_to = stack.expect_phone("hank@127.0.0.1:5090", "answer")
    second, second_to = stack.expect_phone("ida@127.0.0.1:5090", "answer")
    made = client.calls.create(from_=FROM, to_=f"{first_to}<{second_to}",
                               answer_url=stack.app_url + "/answer",
                               hangup_url=stack.app_url + "/hangup", time_limit=2)
    assert isinstance(made.request_uuid, list) and len(set(made.request_uuid)) == 2
    fetched = wait_requests(app, "/answer", 2)
    assert {s.params["CallUUID"] for s in fetched} == set(made.request_uuid)
    assert {s.params["To"] for s in fetched} == {first_to, second_to}
    # Nobody hangs up: the time limit ends both calls.
    ended = wait_requests(app, "/hangup", 2)
    assert {s.params["CallUUID"] for s in ended} == set(made.request_uuid)
    assert all(s.params["CallStatus"] == "completed" for s in ended)
    wait_until(lambda: room not in stack.api("conference list"), what="the room to end")


def test_ringing_call_is_live_and_cancelled_on_hangup(stack, app, client):
    callee, to = stack.expect_phone("gina@127.0.0.1:5090", "ring")
    made = client.calls.create(from_=FROM, to_=to, answer_url=stack.app_url + "/never",
                               hangup_url=stack.app_url + "/hangup", ring_timeout=60)
    wait_until(lambda: callee.dialled or made.request_uuid in stack.api("show channels"),
               what="FreeSWITCH to dial the callee")
    live = client.live_calls.get(made.request_uuid)
    assert (live.call_status, live.direction, live.to) == ("ringing", "outbound", to)
    client.calls.delete(made.request_uuid)  # still ringing: the dial is cancelled
    hangup = wait_requests(app, "/hangup")[0]
    assert (hangup.params["CallStatus"], hangup.params["HangupCause"]) == (
        "cancel", "ORIGINATOR_CANCEL")
    with pytest.raises(exceptions.ResourceNotFoundError):
        client.live_calls.get(made.request_uuid)
    assert not app.at("/never")


def test_transfer_runs_the_new_url_and_leaves_the_room(stack, app, client, room):
    phone, call_uuid, _ = dial_into_room(stack, app, client, room, "carol")
    app.documents["/second"] = lambda p: plivoxml.ResponseElement().add(
        plivoxml.SpeakElement("you were transferred")).add(plivoxml.WaitElement(length=30))
    answer = client.calls.transfer(call_uuid, legs="aleg", aleg_url=stack.app_url + "/second",
                                   aleg_method="GET")
    assert answer.message == "call transferred"
    second = wait_requests(app, "/second")[0]
    assert second.method == "GET" and second.valid
    assert second.params["CallUUID"] == call_uuid
    wait_until(lambda: room not in stack.api("conference list"),
               what="the transferred call to leave its room")
    if not stack.real:
        wait_until(lambda: any("you were transferred" in m for m in phone.heard),
                   what="the new XML to run")
    client.calls.delete(call_uuid)
    wait_requests(app, "/hangup")


def test_speak_and_dtmf_on_a_live_call(stack, app, client, room):
    phone, call_uuid, _ = dial_into_room(stack, app, client, room, "dave")
    assert client.calls.speak(call_uuid, "a word to you only").message == "speak started"
    assert client.calls.send_digits(call_uuid, "12#").message == "digits sent"
    app.documents["/sound.wav"] = lambda p: wav_element()
    assert client.calls.play(call_uuid, stack.app_url + "/sound.wav").message == \
        "play started"
    wait_requests(app, "/sound.wav")  # the controller fetched the sound to play it
    if not stack.real:
        wait_until(lambda: any("a word to you only" in m for m in phone.heard),
                   what="the speak to reach the call")
        wait_until(lambda: any(m.endswith(".wav") for m in phone.heard),
                   what="the play to reach the call")
    with pytest.raises(exceptions.ValidationError, match="^loop: "):
        client.calls.play(call_uuid, stack.app_url + "/sound.wav", loop=True)
    with pytest.raises(exceptions.ValidationError, match="^legs: "):
        client.calls.speak(call_uuid, "x", legs="bleg")
    with pytest.raises(exceptions.ValidationError, match="^digits: "):
        client.calls.send_digits(call_uuid, "12x")
    client.calls.delete(call_uuid)
    wait_requests(app, "/hangup")


# ------------------------------------------------------------------ conferences
def test_conference_list_get_mute_deaf_speak_play_record_kick_and_hangup(
        stack, app, client, room):
    first, first_uuid, first_id = dial_into_room(stack, app, client, room, "erin")
    second, second_uuid, second_id = dial_into_room(stack, app, client, room, "frank")

    assert room in client.conferences.list().conferences
    got = client.conferences.get(room)
    assert (got.conference_name, got.conference_member_count) == (room, "2")
    listed = {m.member_id: m for m in got.members}
    assert set(listed) == {str(first_id), str(second_id)}
    assert listed[str(first_id)].call_uuid == first_uuid
    assert getattr(listed[str(first_id)], "from") == FROM
    assert (listed[str(first_id)].direction, listed[str(first_id)].muted) == ("outbound", False)

    muted = client.conferences.member_mute(room, str(first_id))
    assert (muted.message, muted.member_id) == ("mute", [str(first_id)])
    assert members(stack, room)[first_id]["flags"]["can_speak"] is False
    assert {m.member_id: m.muted for m in client.conferences.get(room).members} == {
        str(first_id): True, str(second_id): False}
    client.conferences.member_mute_stop(room, str(first_id))
    assert members(stack, room)[first_id]["flags"]["can_speak"] is True

    deafened = client.conferences.member_deaf(room, "all")
    assert sorted(deafened.member_id) == sorted([str(first_id), str(second_id)])
    assert all(not m["flags"]["can_hear"] for m in members(stack, room).values())
    client.conferences.member_deaf_stop(room, "all")
    assert all(m["flags"]["can_hear"] for m in members(stack, room).values())

    spoken = client.conferences.member_speak(room, str(second_id), "only for frank")
    assert (spoken.message, spoken.member_id) == ("speak queued into conference",
                                                  [str(second_id)])
    app.documents["/sound.wav"] = lambda p: wav_element()
    played = client.conferences.member_play(room, str(first_id), stack.app_url + "/sound.wav")
    assert played.member_id == [str(first_id)]
    if not stack.real:
        wait_until(lambda: any("only for frank" in m for m in second.heard),
                   what="the member speak")
        assert not any("only for frank" in m for m in first.heard)
        wait_until(lambda: any(m.endswith(".wav") for m in first.heard),
                   what="the member play")

    recording = client.conferences.record(room, file_format="wav")
    assert recording.message == "conference recording started" and recording.recording_id
    assert recording.url.endswith(".wav")
    wait_until(lambda: "recording_node" in stack.api(f"conference {room} json_list"),
               what="FreeSWITCH to record the room")
    client.conferences.record_stop(room)
    wait_until(lambda: "recording_node" not in stack.api(f"conference {room} json_list"),
               what="the recording to stop")

    kicked = client.conferences.member_kick(room, str(first_id))
    assert (kicked.message, kicked.member_id) == ("kicked", [str(first_id)])
    wait_until(lambda: first_id not in members(stack, room), what="the kicked member to leave")
    # Kicked, the call goes on with its XML: nothing follows the Conference, so it ends.
    wait_until(lambda: any(s.params["CallUUID"] == first_uuid for s in app.at("/hangup")),
               what="the kicked call's end")

    client.conferences.delete(room)  # hangs up everyone left
    wait_until(lambda: any(s.params["CallUUID"] == second_uuid for s in app.at("/hangup")),
               what="the last member's hangup")
    wait_until(lambda: room not in stack.api("conference list"), what="the room to end")
    assert room not in client.conferences.list().conferences


def wav_element():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 4000)

    class Wav:
        def to_string(self) -> bytes:
            return buffer.getvalue()

    return Wav()


# ------------------------------------------------------------------ errors
def test_wrong_credentials_are_401_in_plivos_shape(stack, monkeypatch):
    point_sdk_at(monkeypatch, f"http://127.0.0.1:{stack.http_port}")
    with pytest.raises(exceptions.AuthenticationError, match="authentication failed"):
        plivo.RestClient(AUTH_ID, AUTH_TOKEN[:-1] + "x").conferences.list()
    with pytest.raises(exceptions.AuthenticationError):
        plivo.RestClient("MAOTHERACCOUNT000001", AUTH_TOKEN).conferences.list()
    base = f"http://127.0.0.1:{stack.http_port}/v1/Account"
    # Right credentials, another account in the URL.
    answer = requests.get(f"{base}/MAOTHERACCOUNT000001/Conference/",
                          auth=(AUTH_ID, AUTH_TOKEN), timeout=10)
    assert answer.status_code == 401 and set(answer.json()) == {"api_id", "error"}
    anonymous = requests.get(f"{base}/{AUTH_ID}/Call/?status=live", timeout=10)
    assert anonymous.status_code == 401 and "authentication failed" in anonymous.json()["error"]


def test_unknown_call_and_conference_are_404(stack, client):
    missing = "8f0d7ab6-0000-4000-8000-000000000000"
    for attempt in (lambda: client.live_calls.get(missing),
                    lambda: client.calls.delete(missing),
                    lambda: client.calls.transfer(missing, legs="aleg",
                                                  aleg_url=stack.app_url + "/x"),
                    lambda: client.conferences.get("no-such-room"),
                    lambda: client.conferences.member_mute("no-such-room", "1"),
                    lambda: client.calls.cancel(missing)):
        with pytest.raises(exceptions.ResourceNotFoundError):
            attempt()


@pytest.mark.parametrize(("fields", "named"), [
    ({"ring_url": "http://x/" + "a" * 2100}, "ring_url"),
    ({"time_limit": -5}, "time_limit"),
    ({"ring_timeout": 100000}, "ring_timeout"),
    ({"to_": "not a destination"}, "to"),
    ({"machine_detection": "true"}, "machine_detection"),
    ({"answer_method": "PUT"}, "answer_method"),
])
def test_bad_make_call_is_400_naming_the_parameter(stack, client, fields, named):
    body = {"from_": FROM, "to_": "sip:alice@127.0.0.1:5090",
            "answer_url": stack.app_url + "/never"} | fields
    with pytest.raises(exceptions.ValidationError) as refused:
        client.calls.create(**body)
    assert str(refused.value).startswith(f"{named}: "), str(refused.value)


def test_bad_parameters_elsewhere_are_400_naming_them(stack, client, room):
    base = f"http://127.0.0.1:{stack.http_port}/v1/Account/{AUTH_ID}"
    cases = [
        ("post", f"{base}/Call/", {"from": FROM, "to": "alice", "answer_url": "ftp://x/y"},
         "answer_url"),
        ("post", f"{base}/Call/", {"from": FROM, "to": "alice"}, "answer_url"),
        ("post", f"{base}/Call/", {"from": FROM, "to": "alice", "answer_url": "http://a/b",
                                   "colour": "red"}, "colour"),
        ("post", f"{base}/Conference/{room}/Member/abc/Mute/", {}, "member_id"),
        ("post", f"{base}/Conference/{room}/Record/", {"file_format": "ogg"}, "file_format"),
        ("get", f"{base}/Call/", None, "status"),
    ]
    for method, url, body, named in cases:
        answer = requests.request(method, url, json=body, auth=(AUTH_ID, AUTH_TOKEN),
                                  timeout=10)
        assert answer.status_code == 400, (url, answer.text)
        assert set(answer.json()) == {"api_id", "error"}
        assert answer.json()["error"].startswith(f"{named}: "), answer.json()
    gone = requests.delete(f"{base}/Conference/{room}/Member/1/Play/",
                           auth=(AUTH_ID, AUTH_TOKEN), timeout=10)
    assert gone.status_code == 404 and room in gone.json()["error"]
    elsewhere = requests.get(f"{base}/Message/", auth=(AUTH_ID, AUTH_TOKEN), timeout=10)
    assert elsewhere.status_code == 404 and "GET /Message/" in elsewhere.json()["error"]
    broken = requests.post(f"{base}/Call/", data=b"{not json", auth=(AUTH_ID, AUTH_TOKEN),
                           headers={"Content-Type": "application/json"}, timeout=10)
    assert broken.status_code == 400 and "not JSON" in broken.json()["error"]
