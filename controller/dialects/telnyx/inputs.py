"""Request bodies of Telnyx's REST API, checked field by field. Pure.

Every error is a ``TelnyxApiError`` rendered as Telnyx renders errors:
``{"errors": [{"code", "title", "detail", "source": {"pointer": "/<field>"}}]}``
(codes from Telnyx's general API error table: 10004 missing parameter, 10005 not
found, 10009 authentication, 10015 bad request, 90018 call ended). A field this
controller cannot honour is refused by name, never ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

MAX_BODY_BYTES = 64 * 1024


class TelnyxApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str, pointer: str = ""):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail, self.pointer = (
            status, code, title, detail, pointer)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "title": self.title, "detail": self.detail}
        if self.pointer:
            error["source"] = {"pointer": self.pointer}
        return {"errors": [error]}


def invalid(field: str, detail: str) -> TelnyxApiError:
    return TelnyxApiError(422, "10015", "Invalid parameter", f"{field}: {detail}", f"/{field}")


def unsupported(field: str, why: str) -> TelnyxApiError:
    return TelnyxApiError(422, "10015", "Unsupported parameter",
                          f"{field} is not supported by this controller: {why}", f"/{field}")


def not_found(what: str) -> TelnyxApiError:
    return TelnyxApiError(404, "10005", "Resource not found", what)


def call_gone(control_id: str) -> TelnyxApiError:
    return TelnyxApiError(422, "90018", "Call has already ended",
                          f"call {control_id!r} has ended or never existed", "/call_control_id")


def parse_body(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        raise TelnyxApiError(413, "10015", "Bad Request",
                             f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise TelnyxApiError(400, "10015", "Bad Request",
                             f"the body is not JSON: {str(exc)[:200]}") from None
    if not isinstance(body, dict):
        raise TelnyxApiError(422, "10015", "Bad Request", "the body must be a JSON object")
    return body


class Fields:
    """One request body: typed getters that name the field in every error, and a check
    that nothing else was sent."""

    def __init__(self, body: Mapping[str, Any]):
        self.body = body
        self.used: set[str] = set()

    def only(self, allowed: Iterable[str], unsupported_why: Mapping[str, str] = {}) -> None:
        allowed = set(allowed)
        for name in self.body:
            if name in unsupported_why:
                raise unsupported(name, unsupported_why[name])
            if name not in allowed:
                raise invalid(name[:60], "unknown or unsupported field; known: "
                              + ", ".join(sorted(allowed)))

    def _get(self, name: str, required: bool) -> Any:
        self.used.add(name)
        value = self.body.get(name)
        if value is None and required:
            raise TelnyxApiError(422, "10004", "Missing required parameter",
                                 f"{name} is required", f"/{name}")
        return value

    def text(self, name: str, required: bool = False, max_len: int = 4000) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(name, "must be a string")
        if required and not value.strip():
            raise invalid(name, "must not be empty")
        if len(value) > max_len:
            raise invalid(name, f"must be at most {max_len} characters")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self._get(name, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise invalid(name, "must be true or false")
        return value

    def number(self, name: str, lo: int, hi: int, default: int | None = None) -> int | None:
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(name, f"must be an integer {lo}-{hi}")
        if not lo <= value <= hi:
            raise invalid(name, f"must be an integer {lo}-{hi} (got {value})")
        return value

    def choice(self, name: str, allowed: Iterable[str], default: str | None = None,
               required: bool = False) -> str | None:
        allowed = tuple(allowed)
        value = self.text(name, required)
        if value is None:
            return default
        if value not in allowed:
            raise invalid(name, f"{value[:40]!r} is not one of {', '.join(allowed)}")
        return value

    def client_state(self, name: str = "client_state") -> str | None:
        value = self.text(name, max_len=4096)
        if value is None:
            return None
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(name, "must be base64 (Telnyx passes client_state back as "
                                "given, base64-encoded)") from None
        return value

    def id_list(self, name: str, required: bool = False) -> list[str] | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(name, "must be a list of call_control_id strings")
        return value

    def loop(self, name: str = "loop") -> int:
        """Telnyx's loop: a count, or "infinity" (0 here: until the call ends)."""
        value = self._get(name, False)
        if value is None:
            return 1
        if value == "infinity":
            return 0
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            raise invalid(name, 'must be a count 1-100 or "infinity"')
        return value
