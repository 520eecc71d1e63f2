"""record_start / record_stop on one call with the official SDK: uuid_record on the
simulator or a real FreeSWITCH (RECORD_START/RECORD_STOP as switch_ivr_async.c fires
them) and call.recording.saved with the URL the controller serves the file at."""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest
import telnyx
from conftest import b64
from test_calls import ring
from test_gather import answered_call


def test_record_start_and_stop_report_call_recording_saved(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    stack.client.calls.actions.start_recording(ccid, format="wav", channels="single",
                                               client_state=b64("rec"))
    stack.client.calls.actions.speak(ccid, payload="Recorded words", voice="female")
    stack.telnyx.wait_for("call.speak.ended", call_control_id=ccid)
    assert stack.api(f"uuid_getvar {phone.uuid} RECORD_STEREO").strip() == "false"
    stack.client.calls.actions.stop_recording(ccid)
    saved = stack.telnyx.wait_for("call.recording.saved", call_control_id=ccid)[0].payload
    assert saved.channels == "single" and saved.client_state == b64("rec")
    url = saved.recording_urls.wav
    assert url and saved.public_recording_urls.wav == url
    assert saved.recording_started_at <= saved.recording_ended_at
    # The file FreeSWITCH wrote, served by the controller (with the API's credentials).
    got = stack.rest("GET", urlparse(url).path)
    assert got.status_code == 200 and got.content[:4] == b"RIFF"
    assert int(stack.api(f"uuid_getvar {phone.uuid} record_ms")) > 0
    assert phone.is_up and not stack.telnyx.refused


def test_a_recording_running_at_hangup_is_saved(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    stack.client.calls.actions.start_recording(ccid, format="mp3", channels="dual")
    assert stack.api(f"uuid_getvar {phone.uuid} RECORD_STEREO").strip() == "true"
    phone.hangup()
    saved = stack.telnyx.wait_for("call.recording.saved", call_control_id=ccid)[0].payload
    assert saved.channels == "dual" and saved.recording_urls.mp3.endswith(".mp3")
    assert stack.telnyx.wait_for("call.hangup", call_control_id=ccid)


def test_record_commands_are_checked(telnyx_stack):
    stack = telnyx_stack
    phone, ccid = ring(stack)
    actions = stack.client.calls.actions
    with pytest.raises(telnyx.UnprocessableEntityError) as early:
        actions.start_recording(ccid, format="wav", channels="single")
    assert "answer" in str(early.value)
    actions.answer(ccid)
    phone.wait_answered(timeout=5)
    for params, field in [(dict(format="ogg", channels="single"), "format"),
                          (dict(format="wav", channels="single", max_length=99999),
                           "max_length"),
                          (dict(format="wav", channels="single", play_beep=True), "play_beep")]:
        with pytest.raises(telnyx.UnprocessableEntityError) as refused:
            actions.start_recording(ccid, **params)
        assert field in str(refused.value)
    with pytest.raises(telnyx.UnprocessableEntityError) as nothing:
        actions.stop_recording(ccid)
    assert "no recording" in str(nothing.value)
    assert not stack.telnyx.of("call.recording.saved")


def test_uuid_record_replies_and_file(telnyx_stack):
    """uuid_record as mod_commands.c answers it; the file is there from the start
    (switch_ivr_record_session_event opens it before adding the media bug). On the
    simulator this checks its model; on a real FreeSWITCH, FreeSWITCH itself. The file is
    written in the recordings directory, which FreeSWITCH and this process share."""
    stack = telnyx_stack
    phone, ccid = answered_call(stack)
    settings = stack.controller.settings
    path = os.path.join(settings.recordings.directory, f"direct-{phone.uuid}.wav")
    local = os.path.join(settings.recordings_local_directory, f"direct-{phone.uuid}.wav")

    def api(command: str) -> str:
        return stack.api(command).strip()

    assert api("uuid_record").startswith("-USAGE: <uuid> [start|stop|mask|unmask]")
    assert api(f"uuid_record {phone.uuid} start").startswith("-USAGE")
    assert api("uuid_record 00000000-0000-0000-0000-000000000000 start /tmp/x.wav") \
        == "-ERR Cannot locate session!"
    assert api(f"uuid_record {phone.uuid} stop {path}") \
        == "-ERR Cannot stop record session!"
    assert api(f"uuid_record {phone.uuid} start {path}") == "+OK Success"
    assert os.path.exists(local)
    assert api(f"uuid_record {phone.uuid} stop {path}") == "+OK Success"
    assert api(f"uuid_record {phone.uuid} stop {path}") \
        == "-ERR Cannot stop record session!"
    with open(local, "rb") as recorded:
        assert recorded.read(4) == b"RIFF"


def test_uuid_record_builders_refuse_what_freeswitch_would_split():
    """mod_commands.c splits the line on spaces (at most 5 arguments): a path must be one
    word, or FreeSWITCH would record to a part of it."""
    from controller.freeswitch.args import UnsafeArgument
    from controller.freeswitch.record import uuid_record_start, uuid_record_stop

    call = "52b150e8-e5e5-4d88-9ae7-003a243b1d0c"
    assert uuid_record_start(call, "/rec/a.wav") == f"uuid_record {call} start /rec/a.wav"
    assert uuid_record_start(call, "/rec/a.wav", 30) == f"uuid_record {call} start /rec/a.wav 30"
    assert uuid_record_stop(call) == f"uuid_record {call} stop all"
    for bad in (lambda: uuid_record_start(call, "/rec/my file.wav"),
                lambda: uuid_record_start(call, "/rec/a.wav", -1),
                lambda: uuid_record_start("not a uuid", "/rec/a.wav")):
        with pytest.raises(UnsafeArgument):
            bad()
