"""Documents written with the official ``plivo`` SDK's ``plivoxml`` builders: every
attribute a builder can emit is either accepted (and lands in the model) or refused with
a message naming it, with line and column; GetDigits/GetInput parse into ``Gather``."""

from __future__ import annotations

import inspect

import pytest
from plivo import plivoxml

from controller.dialects.plivo.markup import parse_document
from controller.model import ConferenceJoin, Gather, HttpMethod, Play, Speak, Wait
from controller.xml.errors import XmlError

BASE = "https://app.example.com/voice/answer"

# A plausible value for each keyword the SDK's builders take (Plivo's own examples).
SAMPLES = {
    "action": "https://app.example.com/next", "method": "GET", "timeout": 7,
    "digit_timeout": 3, "finish_on_key": "*", "num_digits": 6, "retries": 3,
    "redirect": False, "play_beep": True, "valid_digits": "0123456789",
    "invalid_digits_sound": "https://app.example.com/invalid.mp3", "log": False,
    "input_type": "dtmf", "execution_timeout": 20, "digit_end_timeout": 4,
    "speech_end_timeout": 3, "speech_model": "default", "hints": "sales,support",
    "language": "en-US", "interim_speech_results_callback": "https://app.example.com/interim",
    "interim_speech_results_callback_method": "GET", "profanity_filter": True,
    "muted": True, "enter_sound": "beep:1", "exit_sound": "beep:2",
    "start_conference_on_enter": False, "end_conference_on_exit": True, "stay_alone": False,
    "wait_sound": "https://app.example.com/wait.xml", "max_members": 5, "record": True,
    "record_file_format": "wav", "time_limit": 600, "hangup_on_star": True,
    "callback_url": "https://app.example.com/events", "callback_method": "GET",
    "digits_match": "12,99", "floor_event": True, "relay_dtmf": True, "send_digits": "1w2",
    "record_when_alone": True, "transcription_type": "auto",
    "transcription_url": "https://app.example.com/transcribed",
    "transcription_method": "GET", "voice": "MAN", "loop": 2, "length": 3, "silence": True,
    "min_silence": 500, "beep": True, "reason": "busy", "schedule": 30,
}
# What this controller refuses, with the words its message must contain.
REFUSED = {
    ("Conference", "sendDigits"): "does not support",
    ("Conference", "recordWhenAlone"): "does not support",
}
CONTENT = {"ConferenceElement": "room-1", "SpeakElement": "Hello there",
           "PlayElement": "https://app.example.com/a.mp3",
           "RedirectElement": "https://app.example.com/other"}
ELEMENTS = ["ConferenceElement", "GetDigitsElement", "GetInputElement", "SpeakElement",
            "PlayElement", "WaitElement", "RedirectElement", "HangupElement"]
NEEDED = {"GetDigitsElement": {"action": SAMPLES["action"]},
          "GetInputElement": {"action": SAMPLES["action"], "input_type": "dtmf"}}


def keywords(name: str) -> list[str]:
    cls = getattr(plivoxml, name)
    return [k for k in inspect.signature(cls.__init__).parameters if k not in ("self", "content")]


CASES = [(name, keyword) for name in ELEMENTS for keyword in keywords(name)]


def build(name: str, **given) -> bytes:
    cls = getattr(plivoxml, name)
    kwargs = dict(NEEDED.get(name, {}), **given)
    element = cls(CONTENT[name], **kwargs) if name in CONTENT else cls(**kwargs)
    return plivoxml.ResponseElement().add(element).to_string().encode()


@pytest.mark.parametrize(("name", "keyword"), CASES, ids=[f"{n}.{k}" for n, k in CASES])
def test_every_attribute_a_builder_emits_is_accepted_or_named_in_a_refusal(name, keyword):
    assert keyword in SAMPLES, f"no sample value for {name}({keyword}=...)"
    body = build(name, **{keyword: SAMPLES[keyword]})
    tag = getattr(plivoxml, name)._name
    attribute = next(a for a in getattr(plivoxml, name)(
        *([CONTENT[name]] if name in CONTENT else []), **{keyword: SAMPLES[keyword]}
    ).to_dict())
    refusal = REFUSED.get((tag, attribute))
    if refusal is None:
        document = parse_document(body, BASE)
        assert len(document.verbs) == 1
    else:
        with pytest.raises(XmlError) as error:
            parse_document(body, BASE)
        text = str(error.value)
        assert f'<{tag} {attribute}="' in text and refusal in text, text
        assert text.startswith("answer:2:"), text  # the element's line, and its column


def test_get_digits_from_the_builder_becomes_a_gather_with_its_prompts():
    get_digits = plivoxml.GetDigitsElement(
        action="/pin", method="GET", timeout=7, digit_timeout=3, finish_on_key="none",
        num_digits=4, retries=3, redirect=False, play_beep=True, valid_digits="0123456789",
        invalid_digits_sound="/sounds/invalid.mp3", log=False)
    get_digits.add_speak("Enter your PIN", voice="MAN", language="en-GB", loop=2)
    get_digits.add_play("https://app.example.com/tone.mp3")
    get_digits.add_wait(length=2, beep=True)
    body = plivoxml.ResponseElement().add(get_digits).to_string().encode()
    [gather] = parse_document(body, BASE).verbs
    assert isinstance(gather, Gather)
    assert gather.action.url == "https://app.example.com/pin"
    assert gather.action.method is HttpMethod.GET
    assert (gather.timeout, gather.digit_timeout, gather.finish_on_key) == (7, 3, "")
    assert (gather.num_digits, gather.retries, gather.redirect) == (4, 3, False)
    assert gather.beep and not gather.log_digits
    assert gather.valid_digits == "0123456789"
    assert gather.invalid_sound == "https://app.example.com/sounds/invalid.mp3"
    assert gather.prompts == (Speak("Enter your PIN", "MAN", "en-GB", 2),
                              Play("https://app.example.com/tone.mp3"),
                              Wait(2, beep=True))
    assert gather.action_extra == ()


def test_get_input_dtmf_from_the_builder_becomes_a_gather_sending_input_type():
    get_input = plivoxml.GetInputElement(action="/in", input_type="dtmf", execution_timeout=30,
                                         digit_end_timeout=4, num_digits=8)
    get_input.add_speak("Your account number")
    body = plivoxml.ResponseElement().add(get_input).to_string().encode()
    [gather] = parse_document(body, BASE).verbs
    assert (gather.timeout, gather.digit_timeout, gather.num_digits) == (30, 4, 8)
    assert gather.action_extra == (("InputType", "dtmf"),)
    assert gather.retries == 1 and gather.valid_digits == "1234567890*#"


@pytest.mark.parametrize("input_type", ["speech", "dtmf speech"])
def test_speech_input_is_refused_by_name(input_type):
    get_input = plivoxml.GetInputElement(action="/in", input_type=input_type)
    body = plivoxml.ResponseElement().add(get_input).to_string().encode()
    with pytest.raises(XmlError) as error:
        parse_document(body, BASE)
    text = str(error.value)
    assert f'<GetInput inputType="{input_type}">' in text
    assert "no speech recognition" in text and 'use inputType="dtmf"' in text


@pytest.mark.parametrize(("given", "words"), [
    ({"timeout": 0}, 'timeout="0">: timeout must be an integer 1-86400'),
    ({"num_digits": 0}, "numDigits must be an integer 1-127"),
    ({"num_digits": 128}, "numDigits must be an integer 1-127"),
    ({"retries": 0}, "retries must be an integer 1-100"),
    ({"finish_on_key": "##"}, 'finishOnKey must be one key of 0-9, *, #, or "" or none'),
    ({"valid_digits": "12a"}, "validDigits may contain only 0-9, * and #, not 'a'"),
    ({"valid_digits": "11"}, "validDigits lists a key twice"),
    ({"method": "PUT"}, "method must be GET or POST"),
    ({"invalid_digits_sound": "tone_stream://%(100,0,400)"}, "the FreeSWITCH sound"),
])
def test_bad_get_digits_values_are_named(given, words):
    get_digits = plivoxml.GetDigitsElement(action="/pin")
    for key, value in given.items():
        setattr(get_digits, key, value)  # the SDK converts as its setters do
    body = plivoxml.ResponseElement().add(get_digits).to_string().encode()
    with pytest.raises(XmlError) as error:
        parse_document(body, BASE)
    assert words in str(error.value)
    assert str(error.value).startswith("answer:2:")  # line 2, with a column


def test_a_word_that_is_no_boolean_is_named():
    # The SDK turns any Python value into true/false; hand-written XML need not.
    with pytest.raises(XmlError) as error:
        parse_document(b'<Response><GetDigits action="/x" playBeep="yes"/></Response>', BASE)
    assert 'answer:1:11 <GetDigits playBeep="yes">: playBeep must be true or false' in str(
        error.value)


def test_nested_elements_other_than_prompts_and_endless_prompts_are_refused():
    body = (b'<Response>\n<GetDigits action="/x">\n<Speak loop="0">Hi</Speak>\n'
            b'<Wait silence="true"/>\n<Hangup/>\n</GetDigits>\n</Response>')
    with pytest.raises(XmlError) as error:
        parse_document(body, BASE)
    lines = str(error.value).splitlines()
    assert any(line.startswith("answer:3:1 <Speak loop=\"0\">: loop=\"0\" (endless) is not "
                               "allowed inside GetDigits") for line in lines), lines
    assert any(line.startswith('answer:4:1 <Wait silence="true">') for line in lines), lines
    assert any(line.startswith("answer:5:1 <Hangup>: Hangup is not allowed inside GetDigits")
               for line in lines), lines


def test_get_digits_and_get_input_need_an_action_and_get_input_an_input_type():
    with pytest.raises(XmlError) as error:
        parse_document(b"<Response><GetDigits/><GetInput/></Response>", BASE)
    text = str(error.value)
    assert "GetDigits needs an action URL" in text and "GetInput needs an action URL" in text
    assert 'GetInput needs inputType="dtmf"' in text


def test_a_conference_built_by_the_sdk_keeps_its_attributes():
    conference = plivoxml.ConferenceElement(
        "sales", muted=True, max_members=5, callback_url="/events", callback_method="GET",
        digits_match="12,99", action="/after", method="GET", redirect=False)
    body = plivoxml.ResponseElement().add(conference).to_string().encode()
    [join] = parse_document(body, BASE).verbs
    assert isinstance(join, ConferenceJoin)
    assert join.room == "sales" and join.muted and join.max_members == 5
    assert join.callback.url == "https://app.example.com/events"
    assert join.digits_match == ("12", "99") and not join.redirect
