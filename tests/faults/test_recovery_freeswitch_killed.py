"""FreeSWITCH (the simulator, as its own process) SIGKILLed with members in rooms, then a
new one started on the same ports (issue 14: 0 of 90 exit/action/hangup callbacks, and the
log said "FreeSWITCH keeps the call and will reconnect it" for calls that were gone).

Capture 07f: both sockets just end (no disconnect notice, no hangup events); the restarted
FreeSWITCH has a new core UUID, no channels, no conferences, and ``uuid_exists`` answers
``false`` for the old calls. The controller notices the restart at its reconnect and every
member gets its exit callback, its action request and its hangup request with
``SYSTEM_SHUTDOWN``, marked recovered; a room whose creator asked for room events hears it
end (cXML ``conference-end``), marked recovered too.
"""

from __future__ import annotations

from pathlib import Path

import gevent
import requests
from appkit import wait_until
from gevent.pywsgi import WSGIServer
from processes import (
    HeaderRecorder,
    controller_process,
    controller_ready,
    kill,
    simulator_process,
)

PLIVO_MEMBERS = 6
CXML = "2000"


def plivo_answer(params: dict) -> str:
    room = ("fska", "fskb")[int(params["From"][1:]) % 2]
    return (f'<Response><Conference callbackUrl="/cb" action="/act">{room}</Conference>'
            '</Response>')


CXML_ANSWER = ('<Response><Dial><Conference statusCallback="/room" '
               'statusCallbackEvent="start end join leave">fskc</Conference></Dial></Response>')


def test_every_call_gets_its_callbacks_with_the_shutdown_cause_when_freeswitch_dies(
        tmp_path: Path, held_port):
    recorder = HeaderRecorder()
    recorder.documents["/answer"] = plivo_answer
    recorder.documents["/answer-cxml"] = CXML_ANSWER
    app = WSGIServer(("127.0.0.1", 0), recorder.app, log=None)
    app.start()
    app_url = f"http://127.0.0.1:{app.address[1]}"
    esl, outbound, control, http = held_port(), held_port(), held_port(), held_port()
    overrides = {
        "freeswitch": {"esl_host": "127.0.0.1", "esl_port": str(esl), "esl_password": "ClueCon",
                       "command_timeout": "5"},
        "outbound": {"listen_host": "127.0.0.1", "listen_port": str(outbound)},
        "http": {"listen_host": "127.0.0.1", "listen_port": str(http),
                 "public_base_url": f"http://127.0.0.1:{http}"},
        "data": {"directory": str(tmp_path / "data")},
        "recordings": {"directory": str(tmp_path / "recordings")},
        "media": {"directory": str(tmp_path / "media")},
        "webhooks": {"retries": "1", "backoff": "0.05", "read_timeout": "5"},
        "app": {"answer_url": f"{app_url}/answer", "hangup_url": f"{app_url}/hangup",
                "number_answer_urls": f"{CXML}={app_url}/answer-cxml",
                "number_dialects": f"{CXML}=cxml"},
        "api": {"token": "fault-test-token"},
        "cxml": {"account_sid": "AC" + "0" * 32, "auth_token": "secret"},
    }
    sim_log = tmp_path / "sim.log"
    processes = [simulator_process(esl, outbound, control, tmp_path / "recordings", sim_log)]
    control_url = f"http://127.0.0.1:{control}"
    try:
        processes.append(controller_process(overrides, tmp_path / "controller.log"))
        wait_until(lambda: controller_ready(http), timeout=30, what="simulator and controller")

        def place(number: str, caller: str) -> str:
            reply = requests.post(f"{control_url}/calls", json={"number": number,
                                                                 "caller_id": caller}, timeout=30)
            assert reply.status_code == 201, reply.text
            return reply.json()["uuid"]

        uuids = [place("1000", f"m{n}") for n in range(PLIVO_MEMBERS)]
        for uuid in uuids:
            recorder.wait_for("/cb", ConferenceAction="enter", CallUUID=uuid)
        place(CXML, "c1")
        recorder.wait_for("/room", StatusCallbackEvent="participant-join")

        kill(processes[0])  # FreeSWITCH dies: every socket just ends (07f)
        processes[0] = simulator_process(esl, outbound, control, tmp_path / "recordings",
                                         sim_log)
        for uuid in uuids:
            recorder.wait_for("/hangup", CallUUID=uuid, timeout=30)
        recorder.wait_for("/room", StatusCallbackEvent="conference-end", timeout=30)
        gevent.sleep(0.5)  # anything sent twice would arrive now
    finally:
        for process in reversed(processes):
            kill(process)
        app.stop(timeout=1)

    delivered = 0
    for uuid in uuids:
        exits = recorder.at("/cb", CallUUID=uuid, ConferenceAction="exit")
        actions = recorder.at("/act", CallUUID=uuid)
        hangups = recorder.at("/hangup", CallUUID=uuid)
        assert (len(exits), len(actions), len(hangups)) == (1, 1, 1), uuid
        delivered += 3
        for request in (*exits, *actions, *hangups):
            assert request["recovered_header"] == "true", request["path"]
        assert exits[0]["Recovered"] == "true"
        assert hangups[0]["HangupCause"] == "SYSTEM_SHUTDOWN"
        assert actions[0]["CallStatus"] == hangups[0]["CallStatus"] == "completed"
        assert exits[0]["at"] <= actions[0]["at"] <= hangups[0]["at"]
    assert delivered == 3 * PLIVO_MEMBERS
    leaves = recorder.at("/room", StatusCallbackEvent="participant-leave")
    assert len(leaves) == 1 and leaves[0]["recovered_header"] == "true"
    ends = recorder.at("/room", StatusCallbackEvent="conference-end")
    assert len(ends) == 1 and ends[0]["recovered_header"] == "true"
    # the cXML call's own hangup request too (cXML names the call by its CallSid)
    cxml_hangups = [r for r in recorder.at("/hangup") if r.get("CallUUID") not in uuids]
    assert len(cxml_hangups) == 1 and cxml_hangups[0]["recovered_header"] == "true"
    assert cxml_hangups[0].get("CallStatus") == "completed"
    log = (tmp_path / "controller.log").read_text()
    assert "FreeSWITCH keeps the call" not in log
    assert "FreeSWITCH restarted" in log
