"""The builder writes valid Plivo XML and refuses what the parser would refuse, alike."""

from __future__ import annotations

import pytest
from xml_testing import ANSWER_URL

from controller.dialects.plivo import Response, XmlError, parse_document, parse_sound_document
from controller.model import (
    ConferenceJoin,
    HangupReason,
    HttpMethod,
    RecordFormat,
    Sound,
    SoundKind,
    Speak,
    TranscriptionType,
    Webhook,
)


def test_the_example_from_the_issue():
    response = (
        Response()
        .speak("Welcome")
        .conference("sales", max_members=5, digits_match=["1", "22"],
                    callback_url="https://app.example.com/conf/events")
    )
    assert str(response) == (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        "<Response>\n"
        "  <Speak>Welcome</Speak>\n"
        '  <Conference maxMembers="5" callbackUrl="https://app.example.com/conf/events" '
        'digitsMatch="1,22">sales</Conference>\n'
        "</Response>\n"
    )
    assert response.to_xml() == str(response).encode()
    speak, join = parse_document(response.to_xml(), ANSWER_URL).verbs
    assert speak == Speak("Welcome")
    assert join == ConferenceJoin(
        room="sales",
        max_members=5,
        digits_match=("1", "22"),
        callback=Webhook("https://app.example.com/conf/events", HttpMethod.POST),
        relay_dtmf=False,
    )


def test_every_keyword_is_written_as_its_plivo_attribute():
    xml = str(
        Response()
        .speak("Hi <there> & you", voice="MAN", language="en-GB", loop=2)
        .play("/a.mp3", loop=0)
        .wait(length=5, silence=True, min_silence=1000)
        .wait(beep=True, silence=False)
        .redirect("https://r.example.com/n", method=HttpMethod.GET)
        .conference(
            "room",
            muted=True,
            enter_sound="beep:1",
            exit_sound=Sound(SoundKind.BEEP_TWO),
            start_conference_on_enter=False,
            end_conference_on_exit=True,
            stay_alone=False,
            wait_sound="/hold.xml",
            max_members=20,
            record=True,
            record_file_format=RecordFormat.WAV,
            time_limit=0,
            hangup_on_star=True,
            action="/after",
            method="GET",
            callback_url="/cb",
            callback_method="POST",
            transcription_type=TranscriptionType.AUTO,
            transcription_url="/t",
            transcription_method="GET",
            digits_match=("9", "#1"),
            floor_event=False,
            redirect=False,
            relay_dtmf=False,
        )
        .hangup(reason=HangupReason.BUSY, schedule=30)
    )
    assert xml.splitlines()[2:-1] == [
        '  <Speak voice="MAN" language="en-GB" loop="2">Hi &lt;there&gt; &amp; you</Speak>',
        '  <Play loop="0">/a.mp3</Play>',
        '  <Wait length="5" silence="true" minSilence="1000"/>',
        '  <Wait silence="false" beep="true"/>',
        '  <Redirect method="GET">https://r.example.com/n</Redirect>',
        '  <Conference muted="true" enterSound="beep:1" exitSound="beep:2" '
        'startConferenceOnEnter="false" endConferenceOnExit="true" stayAlone="false" '
        'waitSound="/hold.xml" maxMembers="20" record="true" recordFileFormat="wav" '
        'timeLimit="0" hangupOnStar="true" action="/after" method="GET" callbackUrl="/cb" '
        'callbackMethod="POST" transcriptionType="auto" transcriptionUrl="/t" '
        'transcriptionMethod="GET" digitsMatch="9,#1" floorEvent="false" redirect="false" '
        'relayDTMF="false">room</Conference>',
        '  <Hangup reason="busy" schedule="30"/>',
    ]


# Each builder mistake and the attribute text the parser sees for it.
MISTAKES = [
    (lambda r: r.conference("sales", max_members=0), '<Conference maxMembers="0">r</Conference>'),
    (lambda r: r.conference("sales", max_members=True),
     '<Conference maxMembers="true">r</Conference>'),
    (lambda r: r.conference("sales", muted="yes"), '<Conference muted="yes">r</Conference>'),
    (lambda r: r.conference("sales", muted=1), '<Conference muted="1">r</Conference>'),
    (lambda r: r.conference("sales", wait_sound="ftp://x.example.com/w"),
     '<Conference waitSound="ftp://x.example.com/w">r</Conference>'),
    (lambda r: r.conference("sales", callback_url="/c", digits_match=["1", "x"]),
     '<Conference callbackUrl="/c" digitsMatch="1,x">r</Conference>'),
    (lambda r: r.conference("sales", callback_url="/c", digits_match=[]),
     '<Conference callbackUrl="/c" digitsMatch="">r</Conference>'),
    (lambda r: r.conference("sales", enter_sound="beep:9"),
     '<Conference enterSound="beep:9">r</Conference>'),
    (lambda r: r.speak("hi", voice="MAN", language="da-DK"),
     '<Speak voice="MAN" language="da-DK">hi</Speak>'),
    (lambda r: r.speak("hi", loop=-2), '<Speak loop="-2">hi</Speak>'),
    (lambda r: r.hangup(reason="later"), '<Hangup reason="later"/>'),
    (lambda r: r.hangup(schedule=0), '<Hangup schedule="0"/>'),
    (lambda r: r.redirect("javascript:x()"), "<Redirect>javascript:x()</Redirect>"),
    (lambda r: r.play(""), "<Play></Play>"),
]


@pytest.mark.parametrize("call,element", MISTAKES)
def test_builder_refuses_with_the_parsers_messages(call, element):
    response = Response()
    with pytest.raises(XmlError) as built:
        call(response)
    assert len(response) == 0  # nothing half-written
    with pytest.raises(XmlError) as parsed:
        parse_document(f"<Response>{element}</Response>".encode(), ANSWER_URL)
    built_lines = str(built.value).split("\n")
    parsed_lines = [
        line.split(" ", 1)[1] for line in str(parsed.value).split("\n")
        if "room name" not in line  # the parser's stand-in room "r" is fine; "sales" too
    ]
    assert built_lines == parsed_lines
    assert [p.message for p in built.value.problems] == [
        p.message for p in parsed.value.problems if "room name" not in p.message
    ]
    assert all(p.source_url == "" and p.line is None for p in built.value.problems)


def test_builder_message_format():
    with pytest.raises(XmlError) as info:
        Response().conference("sales", max_members=0)
    assert str(info.value) == '<Conference maxMembers="0">: maxMembers must be an integer 1-20'


def test_builder_room_and_text_rules():
    with pytest.raises(XmlError, match=r"^<Conference>my room</Conference>: room name must be"):
        Response().conference("my room")
    with pytest.raises(XmlError, match=r"^<Speak>a\\x00b</Speak>: Speak text contains characters"):
        Response().speak("a\x00b")
    with pytest.raises(TypeError, match="Conference text must be a str, not int"):
        Response().conference(42)


def test_sound_builder_only_takes_media_verbs():
    response = Response(sound=True).play("https://s.example.com/a.mp3").speak("hold on").wait()
    assert len(parse_sound_document(response.to_xml(), ANSWER_URL).verbs) == 3
    for call in (
        lambda r: r.conference("x"),
        lambda r: r.hangup(),
        lambda r: r.redirect("/x"),
    ):
        with pytest.raises(XmlError, match="is not allowed in a sound document"):
            call(Response(sound=True))


def test_relative_urls_are_written_as_given_and_resolved_by_the_parser():
    xml = Response().redirect("next.xml").to_xml()
    assert b"<Redirect>next.xml</Redirect>" in xml
    (redirect,) = parse_document(xml, "https://app.example.com/ivr/answer").verbs
    assert redirect.url == "https://app.example.com/ivr/next.xml"
