"""The REST API's errors: one exception type carrying the HTTP status and the JSON body.

Every error the API returns is ``{"error": <code>, "message": <text>}``, plus
``field`` and ``allowed`` when the client sent something we cannot use, so a
client can branch on ``error`` and a person can read ``message``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Error codes, by HTTP status. The OpenAPI document lists the same table.
ERROR_CODES: dict[str, int] = {
    "body_too_deep": 400,
    "unauthorized": 401,
    "not_found": 404,
    "conference_not_found": 404,
    "member_not_found": 404,
    "method_not_allowed": 405,
    "already_recording": 409,
    "not_recording": 409,
    "idempotency_key_in_use": 409,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_input": 422,
    "idempotency_key_reused": 422,
    "internal_error": 500,
    "freeswitch_error": 502,
    "freeswitch_unavailable": 503,
    "cluster_unavailable": 503,
    "freeswitch_timeout": 504,
}


class ApiError(Exception):
    """An answer that is not a success: raised anywhere below a view, rendered once."""

    def __init__(self, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.code = code
        self.status = ERROR_CODES[code]
        self.message = message
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


def invalid(field: str, message: str, allowed: Iterable[str] | None = None) -> ApiError:
    """422 naming the field (``body.text``, ``path.member``, ``header.Idempotency-Key``)."""
    return ApiError(
        "invalid_input", f"{field}: {message}", field=field,
        allowed=list(allowed) if allowed is not None else None,
    )
