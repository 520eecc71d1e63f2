"""Credentials for the controller's HTTP: basic auth or a bearer token from settings."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import jsonify, request

from controller.config import ApiSettings


def credentials_ok(settings: ApiSettings, authorization: str | None) -> bool:
    if settings.allow_unauthenticated:
        return True
    if not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and settings.token:
        return hmac.compare_digest(value.encode(), settings.token.encode())
    if scheme.lower() == "basic" and settings.username and settings.password:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        return bool(sep) and hmac.compare_digest(user.encode(), settings.username.encode()) \
            and hmac.compare_digest(password.encode(), settings.password.encode())
    return False


def require_credentials(settings: ApiSettings) -> Callable:
    """Decorator: 401 with a JSON error unless the request carries valid credentials."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not credentials_ok(settings, request.headers.get("Authorization")):
                response = jsonify(error="unauthorized",
                                   message="valid basic or bearer credentials are required")
                response.status_code = 401
                response.headers["WWW-Authenticate"] = 'Basic realm="conference-controller"'
                return response
            return view(*args, **kwargs)

        return guarded

    return decorate
