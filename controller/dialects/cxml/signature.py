"""X-Twilio-Signature / X-SignalWire-Signature, as Twilio signs its requests and its SDK's
``twilio.request_validator.RequestValidator`` checks them. Pure.

The signed string is the URL as sent (for GET it holds every parameter in its
query), then, for a form POST, each parameter name followed by its value, sorted
by name, with no separators. The signature is base64(HMAC-SHA1(auth token, that)).
SignalWire's compatibility API signs the same way and sends it in both headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

TWILIO_HEADER = "X-Twilio-Signature"
SIGNALWIRE_HEADER = "X-SignalWire-Signature"


def signed_string(url: str, form: Mapping[str, str]) -> str:
    return url + "".join(f"{name}{form[name]}" for name in sorted(form))


def signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    digest = hmac.new(auth_token.encode(), signed_string(url, form).encode(), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def sign(auth_token: str, url: str, form: Mapping[str, str]) -> dict[str, str]:
    """Both headers of a signed request (``form``: the POST form; empty for GET)."""
    value = signature(auth_token, url, form)
    return {TWILIO_HEADER: value, SIGNALWIRE_HEADER: value}
