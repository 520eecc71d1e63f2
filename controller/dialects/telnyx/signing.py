"""Ed25519 webhook signatures as Telnyx makes them (PyNaCl).

Telnyx signs ``<timestamp>|<body>`` with its private key and sends the base64
signature in ``telnyx-signature-ed25519`` and the Unix time in
``telnyx-timestamp``; the application verifies with the public key (the SDK's
``client.webhooks.unwrap``: telnyx/resources/webhooks.py). Here the key pair is
ours: ``[telnyx] signing_key`` holds the private key, ``conference-controller
keys`` prints the public key to give the application.
"""

from __future__ import annotations

import base64
import time

from nacl.signing import SigningKey

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"


def signing_key(private_key_b64: str) -> SigningKey:
    """The key from its base64 form: a 32-byte seed, or libsodium's 64-byte secret key
    (seed followed by the public key)."""
    raw = base64.b64decode(private_key_b64, validate=True)
    if len(raw) == 64:
        raw = raw[:32]
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 private key is 32 bytes, not {len(raw)}")
    return SigningKey(raw)


def public_key(private_key_b64: str) -> str:
    """The base64 public key the application verifies with."""
    return base64.b64encode(bytes(signing_key(private_key_b64).verify_key)).decode()


def new_private_key() -> str:
    return base64.b64encode(bytes(SigningKey.generate())).decode()


def sign(private_key_b64: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers for one request; made at each attempt, so the timestamp is fresh
    (the SDK refuses signatures more than 300 s away from its clock)."""
    timestamp = str(int(time.time() if now is None else now))
    signed = signing_key(private_key_b64).sign(timestamp.encode() + b"|" + body)
    return {SIGNATURE_HEADER: base64.b64encode(signed.signature).decode(),
            TIMESTAMP_HEADER: timestamp}
