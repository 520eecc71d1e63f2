"""URL resolution: the fast paths must agree with urljoin, the standard's oracle."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.xml.values import Invalid, parse_url

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
