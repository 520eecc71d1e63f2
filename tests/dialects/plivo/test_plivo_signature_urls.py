"""The V3 signature over URLs of every shape, checked by the official SDK against the URL
as the application sees it (Flask/werkzeug rebuild ``request.url`` from the request
line and Host header). The end-to-end suite checks the same over real HTTP."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from plivo.utils import validate_v3_signature

from controller.dialects.plivo.signature import NONCE_HEADER, SIGNATURE_HEADER, sign

TOKEN = "MzQ1NjdhYmNkZWYxMjM0NTY3ODlhYmNkZWYxMjM0"
FORM = {"CallUUID": "c0ffee", "From": "+15551234", "Digits": "12#", "CallerName": "Zoë A"}

# (URL configured in the document, URL the application sees)
URLS = [
    ("https://app.example.com/pin", "https://app.example.com/pin"),
    ("https://app.example.com/pin?step=2&b=x%20y", "https://app.example.com/pin?step=2&b=x%20y"),
    ("http://app.example.com", "http://app.example.com/"),
    ("http://App.Example.com:80/a", "http://app.example.com/a"),
    ("https://app.example.com:443/a?x=1", "https://app.example.com/a?x=1"),
    ("http://user:secret@app.example.com:8080/hook", "http://app.example.com:8080/hook"),
    ("http://app.example.com/a;v=1/b;p?q=1", "http://app.example.com/a;v=1/b;p?q=1"),
]


@pytest.mark.parametrize(("configured", "received"), URLS)
def test_post_form_signature_validates_with_the_sdk(configured, received):
    headers = sign(TOKEN, "POST", configured, FORM)
    assert validate_v3_signature("POST", received, headers[NONCE_HEADER], TOKEN,
                                 headers[SIGNATURE_HEADER], dict(FORM))
    assert not validate_v3_signature("POST", received, headers[NONCE_HEADER], TOKEN + "x",
                                     headers[SIGNATURE_HEADER], dict(FORM))
    assert not validate_v3_signature("POST", received, headers[NONCE_HEADER], TOKEN,
                                     headers[SIGNATURE_HEADER], dict(FORM, Digits="13#"))


@pytest.mark.parametrize(("configured", "received"), URLS)
def test_get_query_signature_validates_with_the_sdk(configured, received):
    # ASCII values: the SDK (plivo 4.x) cannot check a GET whose query holds non-ASCII
    # text (it parses the query as bytes; parse_qs then fails to re-encode "ë" as ASCII).
    form = dict(FORM, CallerName="Zoe A")
    separator = "&" if "?" in configured else "?"
    sent = configured + separator + urlencode(form)
    seen = received + ("&" if "?" in received else "?") + urlencode(form)
    headers = sign(TOKEN, "GET", sent, {})
    assert validate_v3_signature("GET", seen, headers[NONCE_HEADER], TOKEN,
                                 headers[SIGNATURE_HEADER], {})
    tampered = seen.replace("Digits=12", "Digits=13")
    assert not validate_v3_signature("GET", tampered, headers[NONCE_HEADER], TOKEN,
                                     headers[SIGNATURE_HEADER], {})


def test_an_empty_post_signs_the_url_alone():
    headers = sign(TOKEN, "POST", "https://app.example.com/x?a=1", {})
    assert validate_v3_signature("POST", "https://app.example.com/x?a=1", headers[NONCE_HEADER],
                                 TOKEN, headers[SIGNATURE_HEADER], {})
