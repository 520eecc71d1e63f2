"""While the answer URL is slow the caller hears ringing (180), a ringback tone (early media)
or silence, by configuration,
never an unexplained wait (issue 14: 47 s of silence); an answer document that is not
valid XML falls back to ``[app] fallback_url`` as Plivo and Twilio do."""

from __future__ import annotations

import gevent
import pytest
from appkit import AppRecorder
from stack import Stack

SLOW = 1.0
RINGBACK = "tone_stream://%(2000,4000,440,480);loops=-1"


def slow_answer(params: dict) -> str:
    gevent.sleep(SLOW)
    return '<Response><Speak>welcome</Speak></Response>'


@pytest.mark.parametrize("mode", ["ringing", "tone", "silence"])
def test_the_caller_hears_ringback_or_silence_while_the_answer_url_is_slow(tmp_path, mode):
    recorder = AppRecorder()
    recorder.documents["/answer"] = slow_answer
    with Stack(tmp_path, app=recorder.app, settings={"app": {"ringback": mode}}) as stack:
        phone = stack.phones.call("1000", caller_id="alice")
        recorder.wait_for("/answer")
        gevent.sleep(SLOW / 2)  # the application is still thinking
        heard_while_waiting = list(phone.heard)
        ringing_while_waiting = phone.ringing  # 180 Ringing: the phone's own ringback
        assert not phone.answered  # ringback is early media: the call is not answered yet
        phone.wait_hangup(timeout=15)
    assert ringing_while_waiting == (mode == "ringing")
    if mode == "tone":
        assert heard_while_waiting == [RINGBACK]
        assert phone.heard[0] == RINGBACK and "welcome" in phone.heard[1]
    else:
        assert heard_while_waiting == []
        assert "welcome" in phone.heard[0]
    assert len(recorder.at("/answer")) == 1


def test_invalid_xml_from_the_answer_url_falls_back_to_the_fallback_url(tmp_path):
    recorder = AppRecorder()
    recorder.documents["/answer"] = "<Response><Speak>unclosed</Response>"
    recorder.documents["/fallback"] = "<Response><Speak>from the fallback</Speak></Response>"
    with Stack(tmp_path, app=recorder.app, start_controller=False) as stack:
        stack.extra_settings["app"] = {"fallback_url": stack.app_url + "/fallback"}
        stack.start_controller_service()
        phone = stack.phones.call("1000", caller_id="alice")
        assert phone.wait_hangup(timeout=15) == "NORMAL_CLEARING"
        hangup = recorder.wait_for("/hangup", CallUUID=phone.uuid)[0]
    assert any("from the fallback" in media for media in phone.heard), phone.heard
    answer, fallback = recorder.at("/answer")[0], recorder.at("/fallback")[0]
    assert fallback["CallUUID"] == answer["CallUUID"] == phone.uuid
    assert fallback["From"] == answer["From"] == "alice"
    assert "Error" not in hangup
    assert len(recorder.at("/answer")) == 1


def test_invalid_xml_from_answer_and_fallback_follows_the_error_path_naming_both(tmp_path):
    recorder = AppRecorder()
    recorder.documents["/answer"] = "<Response><Speak>unclosed</Response>"
    recorder.documents["/fallback"] = "<Response><Nope/></Response>"
    with Stack(tmp_path, app=recorder.app, start_controller=False) as stack:
        stack.extra_settings["app"] = {"fallback_url": stack.app_url + "/fallback"}
        stack.start_controller_service()
        phone = stack.phones.call("1000", caller_id="alice")
        phone.wait_hangup(timeout=15)
        hangup = recorder.wait_for("/hangup", CallUUID=phone.uuid)[0]
    assert "/fallback" in hangup["Error"] and "Nope" in hangup["Error"]
    assert len(recorder.at("/fallback")) == 1
