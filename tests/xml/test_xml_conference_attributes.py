"""<Conference>: every attribute's accepted values, boundaries and exact refusals."""

from __future__ import annotations

import pytest
from xml_testing import conference, conference_problems

from controller.model import (
    NO_SOUND,
    ConferenceJoin,
    HttpMethod,
    RecordFormat,
    Sound,
    SoundKind,
    TranscriptionType,
    Webhook,
)

AT = "answer.xml:2:3"


def test_absent_attributes_take_plivos_documented_defaults():
    join = conference("")
    assert join == ConferenceJoin(
        room="room-1",
        muted=False,
        enter_sound=NO_SOUND,
        exit_sound=NO_SOUND,
        start_on_enter=True,
        end_on_exit=False,
        stay_alone=True,
        wait_sound=None,
        max_members=20,
        record=False,
        record_format=RecordFormat.MP3,
        time_limit=0,
        hangup_on_star=False,
        action=None,
        redirect=True,
        callback=None,
        transcription_type=None,
        transcription=None,
        digits_match=(),
        floor_event=False,
        relay_dtmf=False,  # DESIGN §3 (Plivo's pages say true; see plivo.py note [7])
    )


def test_every_attribute_at_once():
    join = conference(
        'muted="true" enterSound="beep:1" exitSound="beep:2" startConferenceOnEnter="false" '
        'endConferenceOnExit="true" stayAlone="false" waitSound="/hold.xml" maxMembers="5" '
        'record="true" recordFileFormat="wav" timeLimit="600" hangupOnStar="true" '
        'action="next.xml" method="GET" redirect="false" callbackUrl="https://cb.example.com/e" '
        'callbackMethod="GET" transcriptionType="hybrid" transcriptionUrl="/t" '
        'transcriptionMethod="GET" digitsMatch="1,#22" floorEvent="true" relayDTMF="false"',
        room="sales.room_2-b",
    )
    assert join == ConferenceJoin(
        room="sales.room_2-b",
        muted=True,
        enter_sound=Sound(SoundKind.BEEP_ONE),
        exit_sound=Sound(SoundKind.BEEP_TWO),
        start_on_enter=False,
        end_on_exit=True,
        stay_alone=False,
        wait_sound=Webhook("https://app.example.com/hold.xml", HttpMethod.POST),
        max_members=5,
        record=True,
        record_format=RecordFormat.WAV,
        time_limit=600,
        hangup_on_star=True,
        action=Webhook("https://app.example.com/plivo/next.xml", HttpMethod.GET),
        redirect=False,
        callback=Webhook("https://cb.example.com/e", HttpMethod.GET),
        transcription_type=TranscriptionType.HYBRID,
        transcription=Webhook("https://app.example.com/t", HttpMethod.GET),
        digits_match=("1", "#22"),
        floor_event=True,
        relay_dtmf=False,
    )


# --- booleans -----------------------------------------------------------------

BOOLEANS = [
    ("muted", "muted"),
    ("startConferenceOnEnter", "start_on_enter"),
    ("endConferenceOnExit", "end_on_exit"),
    ("stayAlone", "stay_alone"),
    ("record", "record"),
    ("hangupOnStar", "hangup_on_star"),
    ("relayDTMF", "relay_dtmf"),
]


@pytest.mark.parametrize("attr,field", BOOLEANS)
@pytest.mark.parametrize(
    "raw,expected",
    [("true", True), ("false", False), ("TRUE", True), ("False", False), ("tRuE", True)],
)
def test_boolean_words_in_any_case(attr, field, raw, expected):
    assert getattr(conference(f'{attr}="{raw}"'), field) is expected


@pytest.mark.parametrize("attr,field", BOOLEANS)
@pytest.mark.parametrize("raw", ["yes", "1", "0", "", " true", "true ", "on", "t"])
def test_boolean_refusals(attr, field, raw):
    assert conference_problems(f'{attr}="{raw}"') == [
        f'{AT} <Conference {attr}="{raw}">: {attr} must be true or false'
    ]


def test_boolean_attributes_that_need_another_one():
    assert conference('floorEvent="TRUE" callbackUrl="/e"').floor_event is True
    assert conference('redirect="false" action="/a"').redirect is False


# --- integers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,expected", [("1", 1), ("2", 2), ("19", 19), ("20", 20), ("007", 7)]
)
def test_max_members_range(raw, expected):
    assert conference(f'maxMembers="{raw}"').max_members == expected


@pytest.mark.parametrize(
    "raw,expected", [("0", 0), ("1", 1), ("3600", 3600), ("86400", 86400)]
)
def test_time_limit_range(raw, expected):
    assert conference(f'timeLimit="{raw}"').time_limit == expected


BAD_INTEGERS = ["abc", "", " 5", "5 ", "+5", "5.0", "1e3", "\u0663", "99999999999", "0x10"]


@pytest.mark.parametrize("raw", ["0", "21", "-1", "100", *BAD_INTEGERS])
def test_max_members_refusals(raw):
    assert conference_problems(f'maxMembers="{raw}"') == [
        f'{AT} <Conference maxMembers="{raw}">: maxMembers must be an integer 1-20'
    ]


@pytest.mark.parametrize("raw", ["-1", "86401", "100000", *BAD_INTEGERS])
def test_time_limit_refusals(raw):
    assert conference_problems(f'timeLimit="{raw}"') == [
        f'{AT} <Conference timeLimit="{raw}">: timeLimit must be an integer 0-86400'
    ]


# --- words ----------------------------------------------------------------------


@pytest.mark.parametrize("raw,expected", [("mp3", RecordFormat.MP3), ("wav", RecordFormat.WAV)])
def test_record_file_format(raw, expected):
    assert conference(f'record="true" recordFileFormat="{raw}"').record_format is expected


@pytest.mark.parametrize("raw", ["MP3", "ogg", "", "wav "])
def test_record_file_format_refusals(raw):
    assert conference_problems(f'record="true" recordFileFormat="{raw}"') == [
        f'{AT} <Conference recordFileFormat="{raw}">: recordFileFormat must be mp3 or wav'
    ]


METHODS = [
    ("method", 'action="/a"', "action"),
    ("callbackMethod", 'callbackUrl="/c"', "callback"),
    (
        "transcriptionMethod",
        'record="true" transcriptionType="auto" transcriptionUrl="/t"',
        "transcription",
    ),
]


@pytest.mark.parametrize("attr,needs,field", METHODS)
@pytest.mark.parametrize("raw", ["GET", "POST"])
def test_methods(attr, needs, field, raw):
    assert getattr(conference(f'{attr}="{raw}" {needs}'), field).method is HttpMethod(raw)


@pytest.mark.parametrize("attr,needs,field", METHODS)
def test_methods_default_to_post(attr, needs, field):
    assert getattr(conference(needs), field).method is HttpMethod.POST


@pytest.mark.parametrize("attr,needs,field", METHODS)
@pytest.mark.parametrize("raw", ["get", "PUT", "", "POST "])
def test_method_refusals(attr, needs, field, raw):
    assert conference_problems(f'{attr}="{raw}" {needs}') == [
        f'{AT} <Conference {attr}="{raw}">: {attr} must be GET or POST'
    ]


@pytest.mark.parametrize("raw", ["auto", "hybrid"])
def test_transcription_types(raw):
    join = conference(f'record="true" transcriptionType="{raw}" transcriptionUrl="/t"')
    assert join.transcription_type is TranscriptionType(raw)


@pytest.mark.parametrize("raw", ["manual", "AUTO", ""])
def test_transcription_type_refusals(raw):
    attrs = f'record="true" transcriptionType="{raw}" transcriptionUrl="/t"'
    assert conference_problems(attrs) == [
        f'{AT} <Conference transcriptionType="{raw}">: transcriptionType must be auto or hybrid'
    ]


# --- URLs -----------------------------------------------------------------------

URLS = [
    ("action", "action"),
    ("callbackUrl", "callback"),
    ("waitSound", "wait_sound"),
]


@pytest.mark.parametrize("attr,field", URLS)
@pytest.mark.parametrize(
    "raw,expected",
    [
        ("https://other.example.com/x?a=1&b=2#ct=2", "https://other.example.com/x?a=1&b=2#ct=2"),
        ("HTTP://Example.COM:8080/X", "HTTP://Example.COM:8080/X"),
        ("http://user:secret@h.example.com/", "http://user:secret@h.example.com/"),
        ("http://[::1]:8080/p", "http://[::1]:8080/p"),
        ("/next", "https://app.example.com/next"),
        ("next.xml", "https://app.example.com/plivo/next.xml"),
        ("../up", "https://app.example.com/up"),
        ("?step=2", "https://app.example.com/plivo/answer.xml?step=2"),
        ("//cdn.example.com/x", "https://cdn.example.com/x"),
    ],
)
def test_urls_absolute_or_resolved_against_the_document(attr, field, raw, expected):
    raw_xml = raw.replace("&", "&amp;")
    assert getattr(conference(f'{attr}="{raw_xml}"'), field).url == expected


URL_REFUSALS = [
    ("", "must be a URL, not empty"),
    ("javascript:alert(1)", 'must be an http or https URL, not "javascript:"'),
    ("file:///etc/passwd", 'must be an http or https URL, not "file:"'),
    ("ftp://files.example.com/a", 'must be an http or https URL, not "ftp:"'),
    ("data:text/xml,<r/>", 'must be an http or https URL, not "data:"'),
    ("http://", "must be a URL with a host"),
    ("https:/only-path", "must be a URL with a host"),
    ("http://h.example.com:99999/", "is not a valid URL"),
    ("http://[::1/", "is not a valid URL"),
    ("http://h.example.com/a b", "must be a URL without spaces or control characters"),
    ("http://h.example.com/\t", "must be a URL without spaces or control characters"),
    ("https://h.example.com/" + "a" * 2030, "must be a URL of at most 2048 characters"),
]


@pytest.mark.parametrize("attr,field", URLS)
@pytest.mark.parametrize("raw,rule", URL_REFUSALS)
def test_url_refusals(attr, field, raw, rule):
    raw_xml = raw.replace("<", "&lt;").replace("\t", "&#9;")
    shown = raw.replace("\t", "\\t")
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    assert conference_problems(f'{attr}="{raw_xml}"') == [
        f'{AT} <Conference {attr}="{shown}">: {attr} {rule}'
    ]


def test_relative_url_needs_an_http_document_url():
    from xml_testing import problems

    body = b'<Response><Conference action="/next">r</Conference></Response>'
    assert problems(body, url="file:///srv/answer.xml") == [
        'answer.xml:1:11 <Conference action="/next">: '
        "action is a relative URL but the document URL is not http(s)"
    ]


# --- sounds -----------------------------------------------------------------------


@pytest.mark.parametrize("attr,field", [("enterSound", "enter_sound"), ("exitSound", "exit_sound")])
@pytest.mark.parametrize(
    "raw,expected",
    [
        ("", NO_SOUND),
        ("beep:1", Sound(SoundKind.BEEP_ONE)),
        ("beep:2", Sound(SoundKind.BEEP_TWO)),
        ("/sounds/enter.xml", Sound(SoundKind.URL, "https://app.example.com/sounds/enter.xml")),
        ("https://s.example.com/e", Sound(SoundKind.URL, "https://s.example.com/e")),
    ],
)
def test_sounds(attr, field, raw, expected):
    sound = getattr(conference(f'{attr}="{raw}"'), field)
    assert sound == expected
    assert sound.method is HttpMethod.POST  # Plivo fetches sound documents with POST


@pytest.mark.parametrize("attr", ["enterSound", "exitSound"])
@pytest.mark.parametrize("raw", ["beep:3", "BEEP:1", "beep:", "beep", "beep:1 "])
def test_sound_refusals(attr, raw):
    assert conference_problems(f'{attr}="{raw}"') == [
        f'{AT} <Conference {attr}="{raw}">: {attr} must be "", beep:1, beep:2 or a URL'
    ]


def test_sound_url_refusal_names_the_url_rule():
    assert conference_problems('enterSound="ftp://x.example.com/s"') == [
        f'{AT} <Conference enterSound="ftp://x.example.com/s">: '
        'enterSound must be an http or https URL, not "ftp:"'
    ]


# --- digitsMatch ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("1", ("1",)),
        ("1,22,#9", ("1", "22", "#9")),
        ("*1,#,0", ("*1", "#", "0")),
        ("1" * 20, ("1" * 20,)),
        (",".join(str(n) for n in range(10, 30)), tuple(str(n) for n in range(10, 30))),
    ],
)
def test_digits_match(raw, expected):
    assert conference(f'callbackUrl="/c" digitsMatch="{raw}"').digits_match == expected


@pytest.mark.parametrize(
    "raw,rule",
    [
        ("", "digitsMatch must list at least one pattern"),
        ("1,", "digitsMatch has an empty pattern (check the commas)"),
        ("1,,2", "digitsMatch has an empty pattern (check the commas)"),
        ("1, 2", 'digitsMatch pattern " 2" may contain only 0-9, * and #'),
        ("12a", 'digitsMatch pattern "12a" may contain only 0-9, * and #'),
        ("\u0661", 'digitsMatch pattern "\u0661" may contain only 0-9, * and #'),
        ("1" * 21, f'digitsMatch pattern "{"1" * 21}" is longer than 20 keys'),
        ("1,2,1", 'digitsMatch lists pattern "1" twice'),
        (",".join(str(n) for n in range(10, 31)), "digitsMatch must list at most 20 patterns"),
    ],
)
def test_digits_match_refusals(raw, rule):
    shown = raw if len(raw) <= 60 else raw[:59] + "…"
    assert conference_problems(f'callbackUrl="/c" digitsMatch="{raw}"') == [
        f'{AT} <Conference digitsMatch="{shown}">: {rule}'
    ]


# --- the room name ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text,room",
    [
        ("a", "a"),
        ("Sales.Room_2-b", "Sales.Room_2-b"),
        ("x" * 100, "x" * 100),
        ("\n    my-room\n  ", "my-room"),
        ("<![CDATA[cdata-room]]>", "cdata-room"),
    ],
)
def test_room_names(text, room):
    assert conference("", room=text).room == room


ROOM_RULE = "room name must be 1-100 characters of letters, digits, '-', '_' and '.'"


@pytest.mark.parametrize(
    "text,shown",
    [
        ("my room", "my room"),
        ("room!", "room!"),
        ("a@b", "a@b"),
        ("s\u00e4le", "s\u00e4le"),
        ("x" * 101, "x" * 59 + "…"),
    ],
)
def test_room_name_refusals(text, shown):
    assert conference_problems("", room=text) == [
        f"{AT} <Conference>{shown}</Conference>: {ROOM_RULE}"
    ]


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_room_name_is_required(text):
    assert conference_problems("", room=text) == [
        f"{AT} <Conference>: Conference needs a room name as its text"
    ]


def test_room_name_may_not_hide_elements():
    # Text inside a child element is not the room name; only the text around it is.
    assert conference_problems("", room="<b>x</b>") == [
        f"{AT} <Conference>: Conference must not contain elements",
        f"{AT} <Conference>: Conference needs a room name as its text",
    ]
    assert conference("", room="my-<!-- a comment -->room").room == "my-room"


# --- attributes without their partner: accepted, as Plivo accepts them ----------


@pytest.mark.parametrize(
    "attrs",
    [
        'method="GET"',
        'redirect="false"',
        'callbackMethod="GET"',
        'digitsMatch="1"',
        'floorEvent="true"',
        'recordFileFormat="wav"',
        'record="false" recordFileFormat="wav"',
        'transcriptionType="auto"',
        'record="true" transcriptionUrl="/t" transcriptionMethod="GET"',
        'record="true" transcriptionMethod="GET"',
    ],
)
def test_attributes_without_their_partner_are_accepted(attrs):
    assert conference(attrs).room == "room-1"


def test_a_method_without_its_url_still_parses_to_no_webhook():
    join = conference('method="GET" callbackMethod="GET" record="false" recordFileFormat="wav"')
    assert join.action is None and join.callback is None
    assert join.record is False and join.record_format is RecordFormat.WAV


def test_star_cannot_both_leave_and_match():
    assert conference_problems('hangupOnStar="true" callbackUrl="/c" digitsMatch="1,*"') == [
        f'{AT} <Conference digitsMatch="1,*">: '
        'digitsMatch pattern "*" conflicts with hangupOnStar="true"'
    ]
    # Longer patterns that start with * are fine: the digit machine waits for more keys.
    join = conference('hangupOnStar="true" callbackUrl="/c" digitsMatch="*1"')
    assert join.digits_match == ("*1",)


def test_a_broken_partner_is_not_reported_as_missing():
    assert conference_problems('action="ftp://x.example.com/a" method="GET"') == [
        f'{AT} <Conference action="ftp://x.example.com/a">: '
        'action must be an http or https URL, not "ftp:"'
    ]


# --- unknown attributes -----------------------------------------------------------


def test_unknown_attribute_close_to_a_real_one():
    assert conference_problems('maxmembers="5"') == [
        f'{AT} <Conference maxmembers="5">: unknown attribute maxmembers (did you mean maxMembers?)'
    ]


def test_unknown_attribute_lists_what_is_accepted():
    (line,) = conference_problems('color="red"')
    assert line.startswith(
        f'{AT} <Conference color="red">: unknown attribute color; Conference takes muted, '
        "enterSound, exitSound, startConferenceOnEnter,"
    )
    assert line.endswith("floorEvent, redirect, relayDTMF")


@pytest.mark.parametrize("attr", ["sendDigits", "recordWhenAlone"])
def test_plivo_attributes_this_controller_does_not_do(attr):
    assert conference_problems(f'{attr}="1"') == [
        f'{AT} <Conference {attr}="1">: '
        f"{attr} is a Plivo attribute this controller does not support"
    ]
