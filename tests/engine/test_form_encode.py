"""The callback form encoder must give urlencode's bytes exactly (signatures cover them)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from controller.webhooks import form_encode

CASES = [
    {},
    {"CallUUID": "a1b2c3d4-e5f6-4711-8899-aabbccddeeff", "ConferenceMemberID": "17"},
    {"From": "+15551234567", "CallerName": "Zoë Ünal", "To": "sip:1000@example.com"},
    {"Digits": "1#*", "Text": "a b&c=d", "Percent": "100%", "Tilde": "~._-", "Empty": ""},
    {"na me": "v", "k&": "=", "日本": "語", "slash": "/a/b?c"},
]


@pytest.mark.parametrize("params", CASES)
def test_same_bytes_as_urlencode(params):
    assert form_encode(params) == urlencode(params)


def test_values_that_are_not_strings_follow_urlencode():
    params = {"n": 3, "b": b"x y", "f": 1.5}
    assert form_encode(params) == urlencode(params)
