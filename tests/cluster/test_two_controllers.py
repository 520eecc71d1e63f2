"""Two controllers on one Redis and one (simulated) FreeSWITCH node: the REST API of
either controls a room, Idempotency-Keys hold across them, the room directory follows
the room, and a controller SIGKILLed mid-conference loses no callback: the other one
sends what its outbox held and reports the end of its calls from its journal."""

from __future__ import annotations

import gevent
import gevent.event
import pytest
import redis
import requests
from appkit import wait_until
from processes import HeaderRecorder, controller_process, controller_ready, kill
from stack import API_TOKEN, Stack

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
LEASE = "2"  # seconds: a killed controller is taken over within about this


def _answer(room: str) -> str:
    return f'<Response><Conference callbackUrl="/cb" action="/act">{room}</Conference></Response>'


def _controllers(stack: Stack, redis_url: str, tmp_path, held_port):
    """Controller A takes the node's calls (the dialplan's socket); B only its Event Socket."""
    base = stack.settings_overrides()
    a = {**base, "cluster": {"redis_url": redis_url, "node_id": "ctl-a",
                             "lease_seconds": LEASE},
         "data": {"directory": str(tmp_path / "data-a")}}
    b_http = held_port()
    b = {**base, "cluster": {"redis_url": redis_url, "node_id": "ctl-b",
                             "lease_seconds": LEASE},
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


@pytest.fixture
def cluster(tmp_path, redis_url, held_port):
    recorder = HeaderRecorder()
    with Stack(tmp_path, app=recorder.app, start_controller=False) as stack:
        processes, a_url, b_url = _controllers(stack, redis_url, tmp_path, held_port)
        try:
            yield stack, recorder, processes, a_url, b_url
        finally:
            stack.phones.close()
            for process in processes:
                kill(process)


def test_the_other_controller_controls_the_room_and_replays_idempotency_keys(
        cluster, redis_url):
    stack, recorder, _, a_url, b_url = cluster
    recorder.documents["/answer"] = _answer("lobby")
    phone = stack.phones.call("1000", caller_id="+15550001")
    enter = recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=phone.uuid)[0]
    member = enter["ConferenceMemberID"]
    store = redis.Redis.from_url(redis_url)
    assert store.get("cc:room:lobby") == f"127.0.0.1:{stack.esl_port}".encode()

    detail = requests.get(f"{b_url}/v1/conferences/lobby", headers=AUTH, timeout=10)
    assert detail.status_code == 200, detail.text
    assert [str(m["member_id"]) for m in detail.json()["members"]] == [member]

    key = {"Idempotency-Key": "mute-once-1"}
    first = requests.post(f"{b_url}/v1/conferences/lobby/members/{member}/mute",
                          headers={**AUTH, **key}, json={}, timeout=10)
    assert first.status_code == 200, first.text
    assert stack.sim.conference_state("lobby")["members"][0]["muted"] is True
    stack.sim.core.execute_api("conference", f"lobby unmute {member}")
    again = requests.post(f"{a_url}/v1/conferences/lobby/members/{member}/mute",
                          headers={**AUTH, **key}, json={}, timeout=10)
    assert (again.status_code, again.json()) == (200, first.json())
    assert again.headers.get("Idempotency-Replayed") == "true"
    assert stack.sim.conference_state("lobby")["members"][0]["muted"] is False  # not run again
    reused = requests.post(f"{a_url}/v1/conferences/lobby/members/{member}/deaf",
                           headers={**AUTH, **key}, json={}, timeout=10)
    assert (reused.status_code, reused.json()["error"]) == (422, "idempotency_key_reused")

    # The call's own commands run where its session runs (A): B forwards them there.
    call = requests.get(f"{b_url}/v1/calls/{phone.uuid}", headers=AUTH, timeout=10)
    assert call.status_code == 200, call.text
    assert call.json()["uuid"] == phone.uuid
    unknown = requests.get(f"{b_url}/v1/calls/no-such-call", headers=AUTH, timeout=10)
    assert unknown.status_code == 404, unknown.text
    hangup = requests.post(f"{b_url}/v1/calls/{phone.uuid}/hangup", headers=AUTH,
                           timeout=10)
    assert (hangup.status_code, hangup.json()["status"]) == (202, "accepted"), hangup.text
    recorder.wait_for("/hangup", CallUUID=phone.uuid)
    assert phone.wait_hangup(timeout=10)
    wait_until(lambda: store.get("cc:room:lobby") is None, timeout=10,
               what="the room leaving the directory when it ends")
    assert store.get(f"cc:call:{phone.uuid}") is None  # gone from the shared registry
    gevent.sleep(0.5)  # anything sent twice would arrive now
    assert len(recorder.at("/cb", ConferenceAction="exit", CallUUID=phone.uuid)) == 1
    assert len(recorder.at("/hangup", CallUUID=phone.uuid)) == 1


def test_a_controller_killed_mid_conference_loses_no_callback(cluster, redis_url):
    stack, recorder, processes, _, _ = cluster
    held = gevent.event.Event()
    release = gevent.event.Event()

    def slow_callback(params: dict) -> str:
        if params.get("ConferenceAction") == "enter" and not held.is_set():
            held.set()  # A is sending it: keep A waiting for the answer until it dies
            release.wait(30)
        return "<Response/>"

    recorder.documents["/answer"] = _answer("standup")
    recorder.documents["/cb"] = slow_callback
    recorder.documents["/act"] = "<Response><Hangup/></Response>"
    phone = stack.phones.call("1000", caller_id="+15550002")
    wait_until(held.is_set, timeout=15, what="controller A sending the enter callback")

    kill(processes[0])  # SIGKILL: A's outbox still holds the enter callback
    release.set()
    # B takes A over once A's liveness key expires, and sends the callback again.
    entered = recorder.wait_for("/cb", count=2, timeout=15, ConferenceAction="enter",
                                CallUUID=phone.uuid)
    assert entered[0]["ConferenceMemberID"] == entered[1]["ConferenceMemberID"]

    # The call outlived its controller (the member stays in the room); B watches it
    # from the journal it took over and reports its end, marked recovered.
    wait_until(lambda: "is still up in room standup" in (stack.tmp_path / "b.log").read_text(),
               timeout=10, what="controller B watching the call A left")
    phone.hangup()
    exits = recorder.wait_for("/cb", ConferenceAction="exit", CallUUID=phone.uuid)
    hangups = recorder.wait_for("/hangup", CallUUID=phone.uuid)
    actions = recorder.wait_for("/act", CallUUID=phone.uuid)
    gevent.sleep(0.5)  # anything sent twice would arrive now
    assert (len(recorder.at("/cb", ConferenceAction="exit", CallUUID=phone.uuid)),
            len(recorder.at("/act", CallUUID=phone.uuid)),
            len(recorder.at("/hangup", CallUUID=phone.uuid))) == (1, 1, 1)
    for request in (*exits, *actions, *hangups):
        assert request["recovered_header"] == "true", request["path"]
    store = redis.Redis.from_url(redis_url)
    assert store.zcard("cc:outbox:owned:ctl-a") == 0
    assert store.hlen("cc:journal:ctl-a") == 0
    assert store.smembers("cc:nodes") == {b"ctl-b"}


def test_room_callbacks_seen_by_both_controllers_are_sent_once(tmp_path, redis_url, held_port):
    """Both controllers receive every conference event of the node; a cXML room's
    statusCallback events must still reach the application once each."""
    from twilio.twiml.voice_response import Dial, VoiceResponse

    response = VoiceResponse()
    dial = Dial()
    dial.conference("weekly", status_callback="/status",
                    status_callback_event="start end join leave")
    response.append(dial)
    recorder = HeaderRecorder()
    recorder.documents["/answer"] = str(response)
    settings = {"app": {"dialect": "cxml"}, "cxml": {"account_sid": "AC" + "0" * 32}}
    with Stack(tmp_path, app=recorder.app, settings=settings,
               start_controller=False) as stack:
        processes, _, _ = _controllers(stack, redis_url, tmp_path, held_port)
        try:
            phones = [stack.phones.call("1000", caller_id=f"+1555000{n}") for n in range(2)]
            for phone in phones:
                recorder.wait_for("/status", StatusCallbackEvent="participant-join",
                                  CallSid="CA" + phone.uuid.replace("-", ""))
            for phone in phones:
                phone.hangup()
            recorder.wait_for("/status", StatusCallbackEvent="conference-end")
            gevent.sleep(1.0)  # a second controller's copy would arrive now
        finally:
            stack.phones.close()
            for process in processes:
                kill(process)
    events = sorted(r["StatusCallbackEvent"] for r in recorder.at("/status"))
    assert events == ["conference-end", "conference-start", "participant-join",
                      "participant-join", "participant-leave", "participant-leave"]
