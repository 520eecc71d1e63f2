"""BXML Gather (nested SpeakSentence/PlayAudio prompts, the gatherUrl request with the
digits and the terminating digit) and PlayAudio with basic-auth credentials (sent to the
audio URL, never written to the log), built with bandwidth-sdk's BXML models."""

from __future__ import annotations

import base64
import io
import logging
import wave

import pytest
from bandwidth.models import GatherCallback
from bandwidth.models.bxml import Gather, Pause, PlayAudio, SpeakSentence
from stack import wait_until
from test_bxml_live import app, bxml, heard, stack  # noqa: F401

SECRET = "s3cr3t-audio-pw"


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    return out.getvalue()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def sim_only():
    from stack import real_freeswitch

    if real_freeswitch():
        pytest.skip("needs the simulator's view of what phones heard")


def test_gather_plays_its_prompts_and_sends_digits_and_terminating_digit(
        stack, app, sim_only):  # noqa: F811
    app.audio["/prompt.wav"] = (wav(), "")
    app.documents["/answer"] = bxml(
        Gather(gather_url="/gathered", terminating_digits="#", max_digits=5,
               first_digit_timeout=10, audio_verbs=[
                   SpeakSentence("enter your code"),
                   PlayAudio(f"{stack.app_url}/prompt.wav")]),
        SpeakSentence("after the gather"))
    app.documents["/gathered"] = bxml(SpeakSentence("thanks"), Pause(5))
    phone = stack.phones.call("2000", caller_id="alice")
    wait_until(lambda: heard(phone, "enter your code"), what="the spoken prompt")
    wait_until(lambda: any(str(m).endswith(".wav") for m in phone.heard),
               what="the audio prompt")
    assert [r["path"] for r in app.requests].count("/prompt.wav") == 1
    phone.send_dtmf("42#")
    event = GatherCallback.from_dict(app.wait_for("/gathered")[0])
    assert event.event_type == "gather" and event.digits == "42"
    assert event.terminating_digit == "#"
    wait_until(lambda: heard(phone, "thanks"), what="the gatherUrl's BXML")
    assert not heard(phone, "after the gather")  # gatherUrl's BXML replaced the rest


def test_gather_ended_by_max_digits_has_no_terminating_digit(stack, app):  # noqa: F811
    app.documents["/answer"] = bxml(
        Gather(gather_url="/gathered", terminating_digits="#", max_digits=2,
               first_digit_timeout=10, audio_verbs=[SpeakSentence("two digits")]))
    phone = stack.phones.call("2000", caller_id="alice")
    phone.wait_answered(timeout=10)
    wait_until(lambda: app.at("/answer"), what="the answer request")
    phone.send_dtmf("77")
    event = GatherCallback.from_dict(app.wait_for("/gathered")[0])
    assert event.digits == "77" and event.terminating_digit is None


def test_play_audio_credentials_reach_the_url_and_never_the_log(
        stack, app, caplog, sim_only):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    app.audio["/private.wav"] = (wav(), basic("media-user", SECRET))
    app.statuses["/missing.wav"] = 404
    app.documents["/answer"] = bxml(
        PlayAudio(f"{stack.app_url}/private.wav", username="media-user", password=SECRET),
        PlayAudio(f"{stack.app_url}/missing.wav", username="media-user", password=SECRET),
        SpeakSentence("done"))
    phone = stack.phones.call("2000", caller_id="alice")
    wait_until(lambda: heard(phone, "done"), what="the document to end")
    private = [r for r in app.requests if r["path"] == "/private.wav"]
    assert [r["auth"] for r in private] == [basic("media-user", SECRET)]
    assert any(str(m).endswith(".wav") for m in phone.heard)
    # The missing file was logged (it was skipped), without its credentials.
    assert any("missing.wav" in r.getMessage() for r in caplog.records)
    leaked = [r.getMessage() for r in caplog.records if SECRET in r.getMessage()]
    assert not leaked
