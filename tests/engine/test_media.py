"""Media verbs -> FreeSWITCH applications and sound strings (pure)."""

from __future__ import annotations

import pytest

from controller.config import load_settings
from controller.media import (
    BEEP_ONE,
    BEEP_TWO,
    beep_sound,
    document_sound,
    fs_text,
    play_call,
    speak_call,
    wait_calls,
)
from controller.media_cache import MediaError, media_extension
from controller.model import Document, Play, Sound, SoundKind, Speak, Wait

MEDIA = load_settings(environ={}).media


def test_speak_uses_the_configured_engine_and_voice():
    call = speak_call(Speak("Hello  there\nfriend", voice="MAN", loop=2), MEDIA)
    assert (call.app, call.arg, call.loops) == ("speak", "flite|rms|Hello there friend", 2)
    assert speak_call(Speak("x"), MEDIA).arg == "flite|slt|x"
    assert speak_call(Speak("x", loop=0), MEDIA).loops == -1


def test_user_text_cannot_trigger_freeswitch_expansion():
    assert fs_text("pay ${system(rm -rf /)} now") == "pay $ {system(rm -rf /)} now"
    assert "${" not in speak_call(Speak("${uuid}"), MEDIA).arg


def test_play_and_wait():
    assert play_call("/m/a.wav", 0).loops == -1
    assert [(c.app, c.arg) for c in wait_calls(Wait(length=3))] == [("sleep", "3000")]
    beep_then_silence = wait_calls(Wait(length=5, silence=True, min_silence=600, beep=True))
    assert [c.app for c in beep_then_silence] == ["playback", "wait_for_silence"]
    assert beep_then_silence[1].arg == "200 30 30 5000"


def test_beeps():
    assert beep_sound(Sound(SoundKind.BEEP_ONE)) == BEEP_ONE
    assert beep_sound(Sound(SoundKind.BEEP_TWO)) == BEEP_TWO
    assert "L=2;" in BEEP_TWO
    assert beep_sound(Sound()) == ""


def test_sound_documents_become_one_file_string():
    doc = Document((Play("http://a/x.wav", loop=2), Speak("Hi! there"), Wait(length=1)))
    sound = document_sound(doc, lambda url: "/cache/" + url.rsplit("/", 1)[1], MEDIA)
    assert sound == ("file_string:///cache/x.wav!/cache/x.wav!tts://flite|slt|Hi. there"
                     "!silence_stream://1000")
    single = document_sound(Document((Play("http://a/y.wav"),)), lambda u: "/c/y.wav", MEDIA)
    assert single == "/c/y.wav"
    assert document_sound(Document(()), lambda u: u, MEDIA) == ""


@pytest.mark.parametrize(
    ("url", "content_type", "extension"),
    [("http://a/b.WAV", "", ".wav"), ("http://a/b.mp3?x=1", "text/html", ".mp3"),
     ("http://a/play", "audio/mpeg", ".mp3"), ("http://a/play", "audio/x-wav; q=1", ".wav")],
)
def test_media_extension(url, content_type, extension):
    assert media_extension(url, content_type) == extension


def test_unknown_media_is_a_clear_error():
    with pytest.raises(MediaError, match="unsupported media \\(Content-Type text/html\\)"):
        media_extension("http://a/page", "text/html")
