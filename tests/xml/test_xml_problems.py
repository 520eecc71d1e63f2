"""Reporting: every problem of a document at once, each with the right line:column."""

from __future__ import annotations

import pickle

import pytest
from xml_testing import ANSWER_URL, problems

from controller.dialects.plivo import XmlError, XmlProblem, parse_document
from controller.dialects.plivo.markup import MAX_PROBLEMS
from controller.xml.errors import source_label


def test_all_problems_of_a_document_with_their_positions():
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Response>\n"
        '  <Speak voice="ROBOT">Hello</Speak>\n'
        "\t<Conference maxMembers=\"abc\"\n"
        '              timeLimit="-5">my room</Conference>\n'
        "  <!-- <Fake/> in a comment is not an element -->\n"
        '  <Wait length="0"/><Dial>123</Dial> <Hangup reason="x"/>\n'
        "  <Play><![CDATA[ftp://a/<b>]]></Play>\n"
        "</Response>\n"
    )
    assert problems(body) == [
        'answer.xml:3:3 <Speak voice="ROBOT">: voice must be WOMAN or MAN',
        'answer.xml:4:2 <Conference maxMembers="abc">: maxMembers must be an integer 1-20',
        'answer.xml:4:2 <Conference timeLimit="-5">: timeLimit must be an integer 0-86400',
        "answer.xml:4:2 <Conference>my room</Conference>: room name must be 1-100 characters "
        "of letters, digits, '-', '_' and '.'",
        'answer.xml:7:3 <Wait length="0">: length must be an integer 1-86400',
        "answer.xml:7:21 <Dial>: Plivo element Dial is not supported by this controller",
        'answer.xml:7:38 <Hangup reason="x">: reason must be rejected or busy',
        "answer.xml:8:3 <Play>ftp://a/<b></Play>: "
        'Play URL must be an http or https URL, not "ftp:"',
    ]


def test_problem_fields_for_programs():
    with pytest.raises(XmlError) as info:
        body = b'<Response>\n <Conference maxMembers="0">r</Conference></Response>'
        parse_document(body, ANSWER_URL)
    (problem,) = info.value.problems
    assert problem == XmlProblem(
        message="maxMembers must be an integer 1-20",
        source_url=ANSWER_URL,
        line=2,
        column=2,
        element="Conference",
        attribute="maxMembers",
        value="0",
        allowed=("integer 1-20",),
    )
    assert info.value.source_url == ANSWER_URL
    assert isinstance(info.value, ValueError)


def test_allowed_values_are_listed():
    with pytest.raises(XmlError) as info:
        parse_document(
            b'<Response><Conference record="true" recordFileFormat="ogg" enterSound="x:y">r'
            b"</Conference></Response>",
            ANSWER_URL,
        )
    assert [p.allowed for p in info.value.problems] == [
        ("mp3", "wav"),
        ('""', "beep:1", "beep:2", "http(s) URL", "URL relative to the document"),
    ]


def test_a_start_tag_over_several_lines_is_located_at_its_opening():
    body = '<Response>\n  <Wait\n    length="0"\n  />\n</Response>'
    assert problems(body) == ['answer.xml:2:3 <Wait length="0">: length must be an integer 1-86400']


def test_lines_are_counted_at_newlines_like_libxml2_does():
    body = '<Response>\r\n  <Speak loop="x">Hi</Speak>\r  <Wait length="y"/>\r\n</Response>'
    # A lone CR does not start a line for libxml2, so it does not for us either.
    wait_column = body.index("<Wait") - body.index("\n")
    assert problems(body) == [
        'answer.xml:2:3 <Speak loop="x">: loop must be an integer 0-10000',
        f'answer.xml:2:{wait_column} <Wait length="y">: length must be an integer 1-86400',
    ]


def test_columns_are_characters_after_non_ascii_text_and_tricky_markup():
    body = (
        "<Response><Speak>h\u00e9\u00e9\u00e9 \u2603</Speak><Wait beep=\"no\"/>"
        '<Play loop="1">https://x.example.com/a?b=1&amp;c=&gt;</Play>'
        "<?pi <Fake/>?><Speak loop=\"z\">ok</Speak></Response>"
    )
    assert problems(body) == [
        f'answer.xml:1:{body.index("<Wait") + 1} <Wait beep="no">: beep must be true or false',
        "answer.xml:1:1 <Response>: processing instructions are not allowed",
        f'answer.xml:1:{body.index("<Speak loop") + 1} <Speak loop="z">: '
        "loop must be an integer 0-10000",
    ]
    assert body.index("<Wait") + 1 == 32  # characters, not the 37 bytes of UTF-8


def test_attribute_values_may_hold_angle_brackets():
    body = '<Response><Speak voice="&gt;>" language=">">a</Speak><Wait length="q"/></Response>'
    lines = problems(body)
    assert lines[-1] == (
        f'answer.xml:1:{body.index("<Wait") + 1} <Wait length="q">: '
        "length must be an integer 1-86400"
    )


def test_the_root_must_be_response():
    assert problems(b"<Respond><Speak>x</Speak></Respond>") == [
        "answer.xml:1:1 <Respond>: the root element must be Response, not Respond"
    ]
    assert problems(b'<Response xmlns="urn:x"><Speak>x</Speak></Response>') == [
        "answer.xml:1:1 <Response>: the root element must be Response without a namespace, "
        "not {urn:x}Response"
    ]


def test_response_itself():
    body = '<Response version="2">\n  hello <Speak>x</Speak> there\n  <!-- c -->tail\n</Response>'
    assert problems(body) == [
        'answer.xml:1:1 <Response version="2">: Response takes no attributes',
        'answer.xml:1:1 <Response>: stray text inside Response: "hello"',
        'answer.xml:2:9 <Speak>: stray text after this element: "there"',
        'answer.xml:1:1 <Response>: stray text inside Response: "tail"',
    ]


def test_unknown_and_unsupported_elements():
    body = (
        "<Response>\n<Foo/>\n<Record/>\n<x:Speak xmlns:x='urn:y'>a</x:Speak>\n</Response>"
    )
    assert problems(body) == [
        "answer.xml:2:1 <Foo>: unknown element Foo; a Response may contain "
        "Conference, GetDigits, GetInput, Hangup, Play, Redirect, Speak, Wait",
        "answer.xml:3:1 <Record>: Plivo element Record is not supported by this controller",
        "answer.xml:4:1 <Speak>: Speak is in namespace urn:y; Plivo XML has none",
    ]


def test_empty_response_is_a_valid_document():
    assert parse_document(b"<Response/>", ANSWER_URL).verbs == ()
    assert parse_document(b"<Response>\n  <!-- nothing -->\n</Response>", ANSWER_URL).verbs == ()


def test_source_url_is_kept_on_the_document():
    document = parse_document(b"<Response/>", "https://a.example.com/x.xml?y=1")
    assert document.source_url == "https://a.example.com/x.xml?y=1"


@pytest.mark.parametrize(
    "url,label",
    [
        ("https://app.example.com/plivo/answer.xml?x=1#f", "answer.xml"),
        ("https://app.example.com/plivo/answer/", "answer"),
        ("https://app.example.com/", "app.example.com"),
        ("https://app.example.com", "app.example.com"),
        ("not a url", "not a url"),
    ],
)
def test_file_label_is_the_last_path_segment(url, label):
    assert source_label(url) == label
    (line,) = problems(b"<Response><Foo/></Response>", url=url)
    assert line.startswith(f"{label}:1:11 <Foo>:")


def test_values_are_shown_on_one_line_and_shortened():
    body = '<Response><Speak voice="a&#10;b&quot;c\\d">x</Speak></Response>'
    assert problems(body) == [
        'answer.xml:1:11 <Speak voice="a\\nb\\"c\\\\d">: voice must be WOMAN or MAN'
    ]


def test_error_pickles_with_its_problems():
    with pytest.raises(XmlError) as info:
        parse_document(b"<Response><Foo/><Bar/></Response>", ANSWER_URL)
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.problems == info.value.problems
    assert str(copy) == str(info.value)


def test_an_error_needs_a_problem():
    with pytest.raises(ValueError):
        XmlError([])


def test_very_many_problems_are_capped():
    body = b"<Response>" + b"<Foo/>" * (MAX_PROBLEMS + 5) + b"</Response>"
    lines = problems(body)
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-2].startswith(f"answer.xml:1:{11 + (MAX_PROBLEMS - 1) * 6} <Foo>:")
    assert lines[-1] == f"answer.xml: more problems not listed: stopped after {MAX_PROBLEMS}"
