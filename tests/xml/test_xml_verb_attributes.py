"""Speak, Play, Wait, Hangup, Redirect: accepted values, boundaries and exact refusals."""

from __future__ import annotations

import pytest
from xml_testing import ANSWER_URL, verb_doc, verb_problems

from controller.dialects.plivo import parse_document
from controller.dialects.plivo.schema import SPEAK_VOICES
from controller.model import Hangup, HangupReason, HttpMethod, Play, Redirect, Speak, Wait

AT = "answer.xml:2:3"


def verb(element: str):
    (only,) = parse_document(verb_doc(element).encode(), ANSWER_URL).verbs
    return only


# --- Speak --------------------------------------------------------------------


def test_speak_defaults():
    assert verb("<Speak>Hello there</Speak>") == Speak("Hello there", "WOMAN", "en-US", 1)


def test_speak_text_is_stripped_but_keeps_its_inside():
    said = verb("<Speak>\n   Hello,\n   world &amp; all  \n</Speak>")
    assert said.text == "Hello,\n   world & all"


@pytest.mark.parametrize(
    "language,voice", [(lang, v) for lang, voices in SPEAK_VOICES.items() for v in voices]
)
def test_speak_every_documented_language_and_voice(language, voice):
    said = verb(f'<Speak voice="{voice}" language="{language}">Hi</Speak>')
    assert (said.voice, said.language) == (voice, language)


@pytest.mark.parametrize("raw,loop", [("0", 0), ("1", 1), ("10000", 10000)])
def test_speak_loop(raw, loop):
    assert verb(f'<Speak loop="{raw}">Hi</Speak>').loop == loop


@pytest.mark.parametrize(
    "attrs,shown,rule",
    [
        ('voice="woman"', 'voice="woman"', "voice must be WOMAN or MAN"),
        ('voice="Polly.Joanna"', 'voice="Polly.Joanna"', "voice must be WOMAN or MAN"),
        ('language="en-us"', 'language="en-us"', "language must be one of da-DK, nl-NL, "
         "en-AU, en-GB, en-US, fr-FR, fr-CA, de-DE, it-IT, pl-PL, pt-PT, pt-BR, ru-RU, es-ES, "
         "es-US, sv-SE"),
        ('loop="-1"', 'loop="-1"', "loop must be an integer 0-10000"),
        ('loop="10001"', 'loop="10001"', "loop must be an integer 0-10000"),
        ('language="pt-PT"', 'language="pt-PT"', 'pt-PT has no WOMAN voice; use voice="MAN"'),
        ('voice="MAN" language="sv-SE"', 'language="sv-SE"',
         'sv-SE has no MAN voice; use voice="WOMAN"'),
        ('voice="MAN" language="ru-RU"', 'language="ru-RU"',
         'ru-RU has no MAN voice; use voice="WOMAN"'),
        ('lang="en-US"', 'lang="en-US"',
         "unknown attribute lang; Speak takes voice, language, loop"),
    ],
)
def test_speak_refusals(attrs, shown, rule):
    assert verb_problems(f"<Speak {attrs}>Hi</Speak>") == [f"{AT} <Speak {shown}>: {rule}"]


def test_speak_text_limits():
    assert len(verb(f"<Speak>{'a' * 3000}</Speak>").text) == 3000
    assert verb_problems(f"<Speak>{'a' * 3001}</Speak>") == [
        f"{AT} <Speak>{'a' * 59}…</Speak>: Speak text must be at most 3000 characters"
    ]
    assert verb_problems("<Speak>  </Speak>") == [f"{AT} <Speak>: Speak needs the text to say"]
    assert verb_problems("<Speak/>") == [f"{AT} <Speak>: Speak needs the text to say"]


def test_speak_refuses_ssml():
    assert verb_problems('<Speak voice="MAN">Hello <break time="1s"/> you</Speak>') == [
        f"{AT} <Speak>: Speak must not contain elements (SSML is not supported)"
    ]


# --- Play ---------------------------------------------------------------------


def test_play():
    assert verb("<Play>https://cdn.example.com/a.mp3</Play>") == Play(
        "https://cdn.example.com/a.mp3", 1
    )
    assert verb('<Play loop="0">\n  /music/hold.wav\n</Play>') == Play(
        "https://app.example.com/music/hold.wav", 0
    )


@pytest.mark.parametrize(
    "element,problem",
    [
        ("<Play/>", "<Play>: Play needs a URL as its text"),
        ("<Play>  </Play>", "<Play>: Play needs a URL as its text"),
        ("<Play>ftp://x.example.com/a.mp3</Play>",
         "<Play>ftp://x.example.com/a.mp3</Play>: "
         'Play URL must be an http or https URL, not "ftp:"'),
        ("<Play>https://x.example.com/a b.mp3</Play>",
         "<Play>https://x.example.com/a b.mp3</Play>: "
         "Play URL must be a URL without spaces or control characters"),
        ('<Play loop="x">https://x.example.com/a.mp3</Play>',
         '<Play loop="x">: loop must be an integer 0-10000'),
        ('<Play volume="2">https://x.example.com/a.mp3</Play>',
         '<Play volume="2">: unknown attribute volume; Play takes loop'),
    ],
)
def test_play_refusals(element, problem):
    assert verb_problems(element) == [f"{AT} {problem}"]


# --- Wait ---------------------------------------------------------------------


def test_wait_defaults_and_values():
    assert verb("<Wait/>") == Wait(1, False, 2000, False)
    assert verb('<Wait length="86400"/>').length == 86400
    assert verb('<Wait length="10" silence="true" minSilence="3000"/>') == Wait(10, True, 3000)
    assert verb('<Wait length="3" silence="TRUE"/>') == Wait(3, True, 2000)
    assert verb('<Wait length="5" beep="true"/>') == Wait(5, False, 2000, True)
    assert verb('<Wait length="2" silence="true" minSilence="1"/>').min_silence == 1


@pytest.mark.parametrize(
    "attrs,shown,rule",
    [
        ('length="0"', 'length="0"', "length must be an integer 1-86400"),
        ('length="86401"', 'length="86401"', "length must be an integer 1-86400"),
        ('silence="maybe"', 'silence="maybe"', "silence must be true or false"),
        ('beep="1"', 'beep="1"', "beep must be true or false"),
        ('length="9" silence="true" minSilence="0"', 'minSilence="0"',
         "minSilence must be an integer 1-86400000"),
    ],
)
def test_wait_refusals(attrs, shown, rule):
    assert verb_problems(f"<Wait {attrs}/>") == [f"{AT} <Wait {shown}>: {rule}"]


@pytest.mark.parametrize(
    "attrs,expected",
    [
        ('minSilence="500"', Wait(1, False, 500, False)),
        ('length="9" silence="true" beep="true"', Wait(9, True, 2000, True)),
        ('silence="true"', Wait(1, True, 2000, False)),  # ends at length, as on Plivo
    ],
)
def test_wait_combinations_plivo_accepts(attrs, expected):
    assert verb(f"<Wait {attrs}/>") == expected


def test_wait_takes_no_text():
    assert verb_problems("<Wait>5</Wait>") == [f"{AT} <Wait>5</Wait>: Wait takes no text"]


# --- Hangup -------------------------------------------------------------------


def test_hangup():
    assert verb("<Hangup/>") == Hangup(None, 0)
    assert verb('<Hangup reason="busy"/>') == Hangup(HangupReason.BUSY)
    assert verb('<Hangup reason="rejected" schedule="1"/>') == Hangup(HangupReason.REJECTED, 1)
    assert verb('<Hangup schedule="86400"/>').schedule == 86400


@pytest.mark.parametrize(
    "attrs,rule",
    [
        ('reason="Busy"', "reason must be rejected or busy"),
        ('reason="normal"', "reason must be rejected or busy"),
        ('schedule="0"', "schedule must be an integer 1-86400"),
        ('schedule="86401"', "schedule must be an integer 1-86400"),
    ],
)
def test_hangup_refusals(attrs, rule):
    assert verb_problems(f"<Hangup {attrs}/>") == [f"{AT} <Hangup {attrs}>: {rule}"]


# --- Redirect -----------------------------------------------------------------


def test_redirect():
    assert verb("<Redirect>/next</Redirect>") == Redirect("https://app.example.com/next")
    assert verb('<Redirect method="GET">https://o.example.com/n</Redirect>') == Redirect(
        "https://o.example.com/n", HttpMethod.GET
    )


@pytest.mark.parametrize(
    "element,problem",
    [
        ("<Redirect/>", "<Redirect>: Redirect needs a URL as its text"),
        ('<Redirect method="PUT">/n</Redirect>',
         '<Redirect method="PUT">: method must be GET or POST'),
        ("<Redirect>javascript:alert(1)</Redirect>",
         '<Redirect>javascript:alert(1)</Redirect>: Redirect URL must be an http or https URL, '
         'not "javascript:"'),
    ],
)
def test_redirect_refusals(element, problem):
    assert verb_problems(element) == [f"{AT} {problem}"]


def test_verbs_after_redirect_are_kept():
    body = b"<Response><Redirect>/n</Redirect><Speak>never</Speak></Response>"
    assert [type(v) for v in parse_document(body, ANSWER_URL).verbs] == [Redirect, Speak]
