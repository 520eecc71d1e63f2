"""Input rules of the REST API: each bad value is a 422 naming the field and what is allowed."""

from __future__ import annotations

import pytest

from controller.api import inputs
from controller.api.errors import ApiError
from controller.media import BEEP_TWO
from controller.model import RecordFormat


def rejected(call, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


@pytest.mark.parametrize("name", ["room1", "a", "A-b_c.d", "x" * 100])
def test_room_names_accepted(name):
    assert inputs.room_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 101, "room 1", "room;kick", "r\u00e9union", "a/b",
                                  "room1 kick all"])
def test_room_names_rejected_with_the_rule(name):
    error = rejected(inputs.room_name, name)
    assert (error.status, error.code) == (422, "invalid_input")
    assert error.extra["field"] == "path.name"
    assert error.extra["allowed"] == [inputs.ROOM_NAME_RULE]


def test_selector_forms():
    assert inputs.selector("all") == inputs.Selector(everyone=True)
    assert inputs.selector("7") == inputs.Selector(ids=(7,))
    assert inputs.selector("7,5,7,6") == inputs.Selector(ids=(7, 5, 6))  # repeats dropped
    assert inputs.selector("4294967295").ids == (4294967295,)


@pytest.mark.parametrize("text", ["", "0", "07", "-1", "1,,2", "1 2", "x", "ALL", "last",
                                  "non_moderator", "4294967296", "\u0663", "1,all"])
def test_selector_rejects_everything_else(text):
    error = rejected(inputs.selector, text)
    assert error.extra["field"] == "path.member"
    assert error.extra["allowed"] == [inputs.SELECTOR_RULE]


def test_selector_is_bounded():
    ids = ",".join(str(n) for n in range(1, inputs.MAX_SELECTED + 2))
    assert "at most" in rejected(inputs.selector, ids).message
    assert len(inputs.selector(",".join(str(n) for n in range(1, 101))).ids) == 100


def test_member_id_is_one_id():
    assert inputs.member_id("12") == 12
    assert rejected(inputs.member_id, "all").extra["field"] == "path.member_id"
    assert rejected(inputs.member_id, "1,2").extra["field"] == "path.member_id"


def test_unknown_action_lists_the_actions():
    error = rejected(inputs.action, "explode", inputs.MEMBER_ACTIONS)
    assert error.extra == {"field": "path.action", "allowed": list(inputs.MEMBER_ACTIONS)}


def test_json_body_rules():
    assert inputs.json_body(b"", "") == {}
    assert inputs.json_body(b"  ", "application/json") == {}
    assert inputs.json_body(b'{"a": 1}', "application/json; charset=utf-8") == {"a": 1}
    assert rejected(inputs.json_body, b"{nope", "application/json").extra["field"] == "body"
    assert rejected(inputs.json_body, b"[1]", "application/json").message == \
        "body: must be a JSON object"
    assert rejected(inputs.json_body, b"a=b", "application/x-www-form-urlencoded").status == 415
    big = b'{"a": "' + b"x" * inputs.MAX_BODY_BYTES + b'"}'
    assert rejected(inputs.json_body, big, "application/json").status == 413


def test_play_source_needs_exactly_one_of_url_or_tone():
    assert inputs.play_source({"tone": "beep:2"}) == inputs.PlaySource(tone=BEEP_TWO)
    assert inputs.play_source({"url": "https://x.test/a.wav"}).url == "https://x.test/a.wav"
    assert rejected(inputs.play_source, {}).extra["allowed"] == ["url", "tone"]
    both = {"tone": "beep:1", "url": "http://x.test/a.wav"}
    assert rejected(inputs.play_source, both).extra["field"] == "body"
    tone = rejected(inputs.play_source, {"tone": "siren"})
    assert tone.extra == {"field": "body.tone", "allowed": ["beep:1", "beep:2"]}
    for url in ("ftp://x.test/a.wav", "x.test/a.wav", "http:///a.wav", "http://x.test/a b.wav",
                "http://x.test/" + "a" * 2048, 5):
        assert rejected(inputs.play_source, {"url": url}).extra["field"] == "body.url"
    unknown = rejected(inputs.play_source, {"tone": "beep:1", "loop": 2})
    assert unknown.extra == {"field": "body.loop", "allowed": ["url", "tone"]}


def test_speak_request():
    assert inputs.speak_request({"text": "hi"}) == inputs.SpeakRequest("hi", "WOMAN")
    assert inputs.speak_request({"text": "hi", "voice": "man"}).voice == "MAN"
    assert rejected(inputs.speak_request, {}).extra["field"] == "body.text"
    assert rejected(inputs.speak_request, {"text": "  "}).extra["field"] == "body.text"
    assert rejected(inputs.speak_request, {"text": "x" * 3001}).extra["field"] == "body.text"
    assert rejected(inputs.speak_request, {"text": 3}).message.endswith("not int")
    voice = rejected(inputs.speak_request, {"text": "hi", "voice": "robot"})
    assert voice.extra == {"field": "body.voice", "allowed": ["WOMAN", "MAN"]}


def test_dtmf_digits():
    assert inputs.dtmf_digits({"digits": "12*#abcd"}) == "12*#ABCD"
    for digits in ("", "12e", "1 2", "x" * 65, "1" * 65):
        error = rejected(inputs.dtmf_digits, {"digits": digits})
        assert error.extra == {"field": "body.digits", "allowed": [inputs.DIGITS_RULE]}


def test_record_format():
    assert inputs.record_format({}) is RecordFormat.MP3
    assert inputs.record_format({"format": "WAV"}) is RecordFormat.WAV
    error = rejected(inputs.record_format, {"format": "ogg"})
    assert error.extra == {"field": "body.format", "allowed": ["mp3", "wav"]}


def test_no_body_means_no_fields():
    inputs.no_body({})
    assert rejected(inputs.no_body, {"quiet": True}).extra["field"] == "body.quiet"


def test_idempotency_key():
    assert inputs.idempotency_key("order-42:mute") == "order-42:mute"
    for key in ("", "has space", "x" * 256, "tab\tkey"):
        assert rejected(inputs.idempotency_key, key).extra["field"] == "header.Idempotency-Key"
