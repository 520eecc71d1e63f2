"""Webhook signatures: HMAC-SHA256 over the URL and the sorted parameters.

The signed string is the full request URL as sent (for GET it already holds
every parameter in its query string), a newline, then the POST form
parameters as ``name=value`` sorted by name and joined with ``&`` (empty for
GET). Applications verify with ``verify_signature``::

    from controller.signing import verify_signature, SIGNATURE_HEADER
    params = request.form.to_dict() if request.method == "POST" else {}
    ok = verify_signature(secret, request.url, params, request.headers[SIGNATURE_HEADER])
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Conference-Signature"


def signing_string(url: str, params: Mapping[str, str]) -> bytes:
    pairs = "&".join(f"{name}={params[name]}" for name in sorted(params))
    return f"{url}\n{pairs}".encode()


def sign(secret: str, url: str, params: Mapping[str, str]) -> str:
    """Hex HMAC-SHA256 signature for a request to ``url`` carrying ``params``."""
    return hmac.new(secret.encode(), signing_string(url, params), hashlib.sha256).hexdigest()


def verify_signature(secret: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """True when ``signature`` was made with ``secret`` for exactly this URL and parameters."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign(secret, url, params), signature.strip().lower())
