"""Plivo's V3 webhook signature, as Plivo signs its requests and its SDK checks them
(``plivo.utils.validate_v3_signature``). Pure.

The signed string is the URL without its query, then, for GET, ``?`` and every
query parameter (the URL's own and ours) as ``name=value`` sorted by name and
joined with ``&``; for POST, the URL's own query the same way, then the form
parameters sorted by name as ``namevalue`` with no separators (a ``?`` before
them, and a ``.`` between the URL's query and them when there is one). Then
``.`` and a nonce. The signature is base64(HMAC-SHA256(auth token, that)), sent
in ``X-Plivo-Signature-V3`` with the nonce in ``X-Plivo-Signature-V3-Nonce``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qs, urlparse, urlunparse

SIGNATURE_HEADER = "X-Plivo-Signature-V3"
NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"


def _query_map(query: str) -> dict[str, list[str]]:
    return parse_qs(query, keep_blank_values=True)


def _sorted_query(params: Mapping[str, list[str]]) -> str:
    return "&".join("&".join(f"{name}={value}" for value in sorted(params[name]))
                    for name in sorted(params))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _as_received(url: str) -> tuple[str, str]:
    """(base URL, query) of ``url`` as the application sees the request: the URL it
    rebuilds from the request line and Host header (Flask's ``request.url``) has no
    user:password, an empty path as ``/``, no default port, and a lower-case scheme and
    host. The SDK drops ``;params`` from the last path segment (it rebuilds the URL from
    ``urlparse`` without them), so they are dropped here too."""
    parts = urlparse(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunparse((scheme, netloc, parts.path or "/", "", "", "")), parts.query


def signed_string(method: str, url: str, params: Mapping[str, str]) -> str:
    """What Plivo signs for a request to ``url`` (as sent) carrying ``params`` (GET: the
    query parameters, already in ``url``; POST: the form)."""
    base, raw_query = _as_received(url)
    query = _query_map(raw_query)
    if method.upper() == "GET":
        text = _sorted_query(query)
        return f"{base}?{text}" if text else base
    form = "".join(f"{name}{params[name]}" for name in sorted(params))
    text = _sorted_query(query)
    if text and form:
        return f"{base}?{text}.{form}"
    if text:
        return f"{base}?{text}"
    return f"{base}?{form}" if form else base


def sign(auth_token: str, method: str, url: str, params: Mapping[str, str],
         nonce: str | None = None) -> dict[str, str]:
    """The two headers of a signed request."""
    nonce = nonce or secrets.token_hex(10)
    message = f"{signed_string(method, url, params)}.{nonce}".encode()
    digest = hmac.new(auth_token.encode(), message, hashlib.sha256).digest()
    return {SIGNATURE_HEADER: base64.b64encode(digest).decode(), NONCE_HEADER: nonce}
