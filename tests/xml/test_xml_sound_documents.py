"""Documents behind enterSound/exitSound/waitSound: Play, Speak and Wait only."""

from __future__ import annotations

import pytest

from controller.dialects.plivo import XmlError, parse_sound_document
from controller.model import Play, Speak, Wait

SOUND_URL = "https://app.example.com/sounds/hold.xml"


def sound_problems(body: bytes) -> list[str]:
    with pytest.raises(XmlError) as info:
        parse_sound_document(body, SOUND_URL)
    return str(info.value).split("\n")


def test_play_speak_and_wait_are_accepted():
    body = (
        b"<Response>\n"
        b'  <Play loop="0">music/hold.mp3</Play>\n'
        b'  <Speak voice="MAN" language="en-GB">Please hold</Speak>\n'
        b'  <Wait length="2"/>\n'
        b"</Response>"
    )
    document = parse_sound_document(body, SOUND_URL)
    assert document.verbs == (
        Play("https://app.example.com/sounds/music/hold.mp3", 0),
        Speak("Please hold", "MAN", "en-GB", 1),
        Wait(2),
    )
    assert document.source_url == SOUND_URL


def test_an_empty_response_is_no_sound():
    assert parse_sound_document(b"<Response/>", SOUND_URL).verbs == ()


@pytest.mark.parametrize(
    "element", ["<Conference>r</Conference>", "<Hangup/>", "<Redirect>/x</Redirect>"]
)
def test_call_control_verbs_are_refused(element):
    tag = element[1:].split(">")[0].split("/")[0]
    assert sound_problems(f"<Response>\n  {element}\n</Response>".encode()) == [
        f"hold.xml:2:3 <{tag}>: {tag} is not allowed in a sound document "
        "(enterSound, exitSound, waitSound): only Play, Speak and Wait"
    ]


def test_unknown_elements_name_what_a_sound_document_may_hold():
    assert sound_problems(b"<Response><Dance/></Response>") == [
        "hold.xml:1:11 <Dance>: unknown element Dance; a Response may contain Play, Speak, Wait"
    ]


def test_sound_documents_are_checked_like_any_other():
    body = b'<Response><Play loop="-1">/a.mp3</Play><Speak/></Response>'
    assert sound_problems(body) == [
        'hold.xml:1:11 <Play loop="-1">: loop must be an integer 0-10000',
        f"hold.xml:1:{body.index(b'<Speak') + 1} <Speak>: Speak needs the text to say",
    ]
    assert sound_problems(b"") == ["hold.xml: empty body: expected a <Response> document"]
    assert sound_problems(b"<!DOCTYPE r><Response/>") == [
        "hold.xml:1:1 <!DOCTYPE>: DOCTYPE is not allowed (no DTDs or entities in Plivo XML)"
    ]
    assert sound_problems(b"<Response/>" * 3)[0].startswith("hold.xml:1:12: not well-formed")


def test_limits_apply():
    with pytest.raises(XmlError, match="body is 11 bytes; the limit is 10"):
        parse_sound_document(b"<Response/>", SOUND_URL, max_bytes=10)
    with pytest.raises(XmlError, match="nested deeper than 1 levels"):
        parse_sound_document(b"<Response><Wait/></Response>", SOUND_URL, max_depth=1)
