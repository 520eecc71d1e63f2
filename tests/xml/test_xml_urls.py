"""URL resolution: the fast paths must agree with urljoin, the standard's oracle."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.xml.values import Invalid, SoundAttr, freeswitch_sound_scheme, parse_url

BASES = [
    "https://app.example.com/plivo/answer.xml?call=1#top",
    "https://app.example.com",
    "http://app.example.com:8080/a/b/",
    "HTTPS://User:pw@App.Example.com/x;p?q",
    "http://[::1]:9000/deep/er/path",
]

relative = st.text(st.sampled_from("ab/.?#%=&;:-_~1"), min_size=1, max_size=16).filter(
    lambda s: ":" not in s.split("/")[0].split("?")[0].split("#")[0]  # not a scheme
)


@settings(derandomize=True, deadline=None, database=None, max_examples=500)
@given(st.sampled_from(BASES), relative)
def test_relative_urls_resolve_exactly_like_urljoin(base, raw):
    expected = urljoin(base, raw)
    if not _usable(expected):
        with pytest.raises(Invalid):
            parse_url("action", raw, base)
        return
    assert parse_url("action", raw, base) == expected


def _usable(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError:
        return False
    return bool(parts.hostname)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("/x", "https://app.example.com/x"),
        ("x", "https://app.example.com/plivo/x"),
        ("?n=2", "https://app.example.com/plivo/answer.xml?n=2"),
        ("#f", "https://app.example.com/plivo/answer.xml?call=1#f"),
        ("./x/../y", "https://app.example.com/plivo/y"),
        ("//cdn.example.com/s.mp3", "https://cdn.example.com/s.mp3"),
    ],
)
def test_relative_forms(raw, expected):
    assert parse_url("action", raw, BASES[0]) == expected


# ------------------------------------------- scheme-like prefixes that are not schemes
#
# RFC 3986 schemes are letters, digits, "+", "-" and "."; urlsplit takes nothing else for a
# scheme, so before this check "tone_stream://%(300,0,1000)" was joined to the document URL
# as a relative path ("https://app.example.com/plivo/tone_stream:/%(300,0,1000)"), fetched,
# and the caller waited in silence.


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("tone_stream://%(300,0,1000)", '"tone_stream://"'),
        ("silence_stream://500", '"silence_stream://"'),
        ("local_stream://moh", '"local_stream://"'),
        ("TONE_STREAM://%(300,0,1000)", '"TONE_STREAM://"'),
        ("file_string://a.wav!b.wav", '"file_string://"'),
    ],
)
@pytest.mark.parametrize("base", [BASES[0], None])
def test_freeswitch_sounds_are_rejected_by_name(raw, shown, base):
    with pytest.raises(Invalid) as info:
        parse_url("Play URL", raw, base)
    assert info.value.message == (
        f"Play URL must be an http or https URL, not the FreeSWITCH sound {shown}: "
        "serve the sound as a file over http(s)"
    )
    assert info.value.allowed == ("http(s) URL", "URL relative to the document")


@pytest.mark.parametrize("raw", ["my_app:thing", "1st:x", "a~b:c", "%41:x"])
@pytest.mark.parametrize("base", [BASES[0], None])
def test_colon_in_the_first_segment_is_neither_scheme_nor_path(raw, base):
    with pytest.raises(Invalid) as info:
        parse_url("action", raw, base)
    prefix = raw[: raw.index(":") + 1]
    assert f'"{prefix}" is neither a URL scheme' in info.value.message
    assert 'letters, digits, "+", "-", "." only' in info.value.message


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("a/b:c", "https://app.example.com/plivo/a/b:c"),  # a colon after the first "/"
        ("?t=1:2", "https://app.example.com/plivo/answer.xml?t=1:2"),
        ("#x:y", "https://app.example.com/plivo/answer.xml?call=1#x:y"),
        ("//cdn.example.com:8443/s.mp3", "https://cdn.example.com:8443/s.mp3"),
        ("https://cdn.example.com/tone_stream:x", "https://cdn.example.com/tone_stream:x"),
    ],
)
def test_colons_elsewhere_still_resolve(raw, expected):
    assert parse_url("action", raw, BASES[0]) == expected == urljoin(BASES[0], raw)


def test_sound_attribute_rejects_freeswitch_sound_with_sound_forms():
    with pytest.raises(Invalid) as info:
        SoundAttr().parse("waitSound", "tone_stream://%(2000,4000,440,480);loops=-1", BASES[0])
    assert 'not the FreeSWITCH sound "tone_stream://"' in info.value.message
    assert info.value.allowed == SoundAttr().allowed


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("tone_stream://%(1,0,2)", "tone_stream"),
        ("Silence_Stream://10", "silence_stream"),
        ("https://x/y", None),
        ("tone_stream", None),
        ("my_app:x", None),
    ],
)
def test_freeswitch_sound_scheme(raw, expected):
    assert freeswitch_sound_scheme(raw) == expected


# Through Plivo's parser: the problem names line, column, element, attribute and value.


def test_play_of_a_tone_stream_is_a_located_parse_error():
    from xml_testing import problems

    lines = problems("<Response>\n  <Play>tone_stream://%(300,0,1000)</Play>\n</Response>")
    assert lines == [
        "answer.xml:2:3 <Play>tone_stream://%(300,0,1000)</Play>: Play URL must be an http or "
        'https URL, not the FreeSWITCH sound "tone_stream://": serve the sound as a file over '
        "http(s)"
    ]


def test_wait_sound_tone_stream_is_a_located_parse_error():
    from xml_testing import problems

    lines = problems(
        '<Response>\n  <Conference waitSound="tone_stream://%(2000,4000,440,480)">r</Conference>'
        "\n</Response>"
    )
    assert lines == [
        'answer.xml:2:3 <Conference waitSound="tone_stream://%(2000,4000,440,480)">: waitSound '
        'must be an http or https URL, not the FreeSWITCH sound "tone_stream://": serve the '
        "sound as a file over http(s)"
    ]
