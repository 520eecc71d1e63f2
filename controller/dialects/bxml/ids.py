"""Bandwidth-shaped ids for FreeSWITCH's UUIDs, and back. Pure.

Bandwidth names a call ``c-<8 hex>-<uuid>`` and a conference ``conf-<8 hex>-<uuid>``.
Ours keep that shape and are derived from FreeSWITCH's own UUIDs: the 8 hex digits are a
checksum of the UUID, so an id is recognised (and the UUID recovered) without a table,
and a mistyped id is told apart from a call that ended.
"""

from __future__ import annotations

import hashlib
import re

_ID = re.compile(r"(c|conf|r)-([0-9a-f]{8})-([0-9A-Za-z-]{1,64})\Z")


def _check(uuid: str) -> str:
    return hashlib.sha256(uuid.encode()).hexdigest()[:8]


def _make(prefix: str, uuid: str) -> str:
    return f"{prefix}-{_check(uuid)}-{uuid}"


def _parse(prefix: str, value: str) -> str | None:
    match = _ID.match(value)
    if match is None or match.group(1) != prefix or _check(match.group(3)) != match.group(2):
        return None
    return match.group(3)


def call_id(call_uuid: str) -> str:
    return _make("c", call_uuid)


def call_uuid(value: str) -> str | None:
    """The FreeSWITCH UUID of one of our call ids; None when ``value`` is not one."""
    return _parse("c", value)


def conference_id(conference_uuid: str) -> str:
    return _make("conf", conference_uuid)


def conference_uuid(value: str) -> str | None:
    return _parse("conf", value)


def recording_id(recording_uuid: str) -> str:
    return _make("r", recording_uuid)


def recording_uuid(value: str) -> str | None:
    return _parse("r", value)
