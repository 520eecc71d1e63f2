"""What clients may send, checked before anything reaches FreeSWITCH. Pure: no I/O.

Every value ends up inside a ``conference ...`` command line, so the rules are
strict on purpose: room names and member ids are matched in full, text is made
one line without ``${`` (FreeSWITCH expands it), and unknown body fields are
errors (a typo must not be silently ignored). Each failure is a 422 naming the
field and, where there is a closed set, the allowed values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from controller.api.errors import ApiError, invalid
from controller.media import BEEP_ONE, BEEP_TWO
from controller.model import RecordFormat

ROOM_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}\Z")
ROOM_NAME_RULE = "1-100 characters of A-Z a-z 0-9 - _ ."
MAX_MEMBER_ID = 0xFFFFFFFF  # mod_conference member ids are uint32
MAX_SELECTED = 100
SELECTOR_RULE = f"a member id, a comma list of at most {MAX_SELECTED} member ids, or all"
MEMBER_ACTIONS = (
    "mute", "unmute", "deaf", "undeaf", "hold", "unhold", "kick", "hangup", "play", "speak", "dtmf",
    "coach", "uncoach",
)
# Member actions that act on one member only (no `all`, no comma list).
SINGLE_MEMBER_ACTIONS = ("coach", "uncoach")
CALL_ACTIONS = ("redirect", "hangup", "play", "speak", "dtmf")
CALL_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}\Z")
CALL_ID_RULE = "1-128 characters of A-Z a-z 0-9 - _ . : (a call UUID or the face's call id)"
METHODS = ("POST", "GET")
ROOM_ACTIONS = (
    "record_start", "record_stop", "record_pause", "record_resume",
    "play", "speak", "stop_playback", "lock", "unlock", "end",
)
TONES = {"beep:1": BEEP_ONE, "beep:2": BEEP_TWO}
VOICES = ("WOMAN", "MAN")
RECORD_FORMATS = tuple(f.value for f in RecordFormat)
MAX_TEXT = 3000
DIGITS = re.compile(r"[0-9*#A-Da-d]{1,64}\Z")
DIGITS_RULE = "1-64 of 0-9 * # A-D"
MAX_URL = 2048
MAX_BODY_BYTES = 64 * 1024
# Our bodies are flat objects; Python's json recurses once per level and a body
# nested a few thousand deep ends in RecursionError, so depth is checked first.
MAX_JSON_DEPTH = 16
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}\Z")
IDEMPOTENCY_KEY_RULE = "1-255 printable ASCII characters, no spaces"


def room_name(text: str) -> str:
    if not ROOM_NAME.match(text):
        raise invalid("path.name", f"{text[:120]!r} is not a room name", [ROOM_NAME_RULE])
    return text


@dataclass(frozen=True)
class Selector:
    """Which members an action targets: explicit ids, or everyone in the room."""

    ids: tuple[int, ...] = ()
    everyone: bool = False


def selector(text: str, field: str = "path.member") -> Selector:
    if text == "all":
        return Selector(everyone=True)
    parts = text.split(",")
    if len(parts) > MAX_SELECTED:
        raise invalid(field, f"at most {MAX_SELECTED} member ids at once", [SELECTOR_RULE])
    ids: list[int] = []
    for part in parts:
        if not part.isascii() or not part.isdigit() or part.startswith("0"):
            raise invalid(field, f"{part[:40]!r} is not a member id", [SELECTOR_RULE])
        value = int(part)
        if value > MAX_MEMBER_ID:
            raise invalid(field, f"{part[:40]} is larger than any member id", [SELECTOR_RULE])
        if value not in ids:
            ids.append(value)
    return Selector(ids=tuple(ids))


def member_id(text: str) -> int:
    chosen = selector(text, field="path.member_id")
    if chosen.everyone or len(chosen.ids) != 1:
        raise invalid("path.member_id", "one member id", ["a member id (1-4294967295)"])
    return chosen.ids[0]


def action(text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise invalid("path.action", f"unknown action {text[:40]!r}", allowed)
    return text


# ------------------------------------------------------------------ bodies
def json_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is an empty object."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError("body_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise ApiError("unsupported_media_type",
                       f"send the body as application/json, not {kind[:80]}")
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise ApiError("body_too_deep", f"body: JSON nested {depth} levels deep; at most "
                       f"{MAX_JSON_DEPTH} levels are accepted", field="body")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("body", f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise invalid("body", "must be a JSON object")
    return value


def json_depth(raw: bytes) -> int:
    """How deeply arrays/objects nest in ``raw`` (brackets inside strings do not count),
    without parsing it: linear, no recursion, whatever the input."""
    depth = deepest = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub(b"", raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for name in body:
        if name not in allowed:
            shown = name if len(name) <= 60 else name[:60] + "..."
            raise invalid(f"body.{shown}", "unknown field", allowed or ["no fields"])


def _string(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    if name not in body or body[name] is None:
        if required:
            raise invalid(f"body.{name}", "is required")
        return None
    value = body[name]
    if not isinstance(value, str):
        raise invalid(f"body.{name}", f"must be a string, not {type(value).__name__}")
    return value


def no_body(body: dict[str, Any]) -> None:
    _only(body, ())


@dataclass(frozen=True)
class PlaySource:
    """Exactly one of: a URL the controller downloads, or a built-in tone."""

    url: str | None = None
    tone: str | None = None  # the FreeSWITCH sound string of the tone


def play_source(body: dict[str, Any], where: str = "body") -> PlaySource:
    """``where``: how errors name the object (``body``, or ``body.sound`` inside a hold)."""
    for name in body:
        if name not in ("url", "tone"):
            shown = name if len(name) <= 60 else name[:60] + "..."
            raise invalid(f"{where}.{shown}", "unknown field", ["url", "tone"])
    url, tone = _field_string(body, "url", where), _field_string(body, "tone", where)
    if (url is None) == (tone is None):
        raise invalid(where, "give exactly one of url or tone", ["url", "tone"])
    if tone is not None:
        if tone not in TONES:
            raise invalid(f"{where}.tone", f"unknown tone {tone[:40]!r}", TONES)
        return PlaySource(tone=TONES[tone])
    assert url is not None
    return PlaySource(url=http_url(url, f"{where}.url"))


def http_url(url: str, field: str) -> str:
    parts = urlsplit(url) if len(url) <= MAX_URL and url.isascii() else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc \
            or any(c.isspace() for c in url):
        raise invalid(field, f"must be an absolute http(s) URL of at most {MAX_URL} "
                      "ASCII characters", ["http://...", "https://..."])
    return url


def _field_string(body: dict[str, Any], name: str, where: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"{where}.{name}", f"must be a string, not {type(value).__name__}")
    return value


def hold_sound(body: dict[str, Any]) -> PlaySource | None:
    """A hold's optional body: ``{"sound": {"url": ...} | {"tone": ...}}``."""
    _only(body, ("sound",))
    sound = body.get("sound")
    if sound is None:
        return None
    if not isinstance(sound, dict):
        raise invalid("body.sound", f"must be an object, not {type(sound).__name__}",
                      ["url", "tone"])
    return play_source(sound, "body.sound")


def heard_by(body: dict[str, Any], coach: int) -> tuple[int, ...]:
    """A coach's ``{"heard_by": [member ids]}``: the only members who will hear it."""
    _only(body, ("heard_by",))
    ids = body.get("heard_by")
    if not isinstance(ids, list) or not ids:
        raise invalid("body.heard_by", "must be a list of 1 to "
                      f"{MAX_SELECTED} member ids", ["[member_id, ...]"])
    if len(ids) > MAX_SELECTED:
        raise invalid("body.heard_by", f"at most {MAX_SELECTED} member ids")
    chosen: list[int] = []
    for n, value in enumerate(ids):
        if isinstance(value, bool) or not isinstance(value, int) \
                or not 0 < value <= MAX_MEMBER_ID:
            raise invalid(f"body.heard_by[{n}]", f"{str(value)[:40]} is not a member id",
                          ["a member id (1-4294967295)"])
        if value == coach:
            raise invalid(f"body.heard_by[{n}]", "the coach cannot be one of those who "
                          "hear it: it is the one they hear")
        if value not in chosen:
            chosen.append(value)
    return tuple(chosen)


def one_member(selected: Selector, action: str) -> int:
    if selected.everyone or len(selected.ids) != 1:
        raise invalid("path.member", f"{action} acts on one member", ["a member id"])
    return selected.ids[0]


def call_id(text: str) -> str:
    if not CALL_ID.match(text):
        raise invalid("path.call_id", f"{text[:120]!r} is not a call id", [CALL_ID_RULE])
    return text


@dataclass(frozen=True)
class RedirectRequest:
    url: str
    method: str


def redirect_request(body: dict[str, Any]) -> RedirectRequest:
    _only(body, ("url", "method"))
    url = _string(body, "url", required=True)
    assert url is not None
    method = (_string(body, "method") or "POST").upper()
    if method not in METHODS:
        raise invalid("body.method", f"unknown method {method[:20]!r}", METHODS)
    return RedirectRequest(http_url(url, "body.url"), method)


@dataclass(frozen=True)
class SpeakRequest:
    text: str
    voice: str


def speak_request(body: dict[str, Any]) -> SpeakRequest:
    _only(body, ("text", "voice"))
    text = _string(body, "text", required=True)
    assert text is not None
    if not text.strip():
        raise invalid("body.text", "must not be empty")
    if len(text) > MAX_TEXT:
        raise invalid("body.text", f"must be at most {MAX_TEXT} characters")
    voice = _string(body, "voice") or "WOMAN"
    if voice.upper() not in VOICES:
        raise invalid("body.voice", f"unknown voice {voice[:40]!r}", VOICES)
    return SpeakRequest(text, voice.upper())


def dtmf_digits(body: dict[str, Any]) -> str:
    _only(body, ("digits",))
    digits = _string(body, "digits", required=True)
    assert digits is not None
    if not DIGITS.match(digits):
        raise invalid("body.digits", f"{digits[:80]!r} is not a digit string", [DIGITS_RULE])
    return digits.upper()


def record_format(body: dict[str, Any]) -> RecordFormat:
    _only(body, ("format",))
    fmt = _string(body, "format") or RecordFormat.MP3.value
    if fmt.lower() not in RECORD_FORMATS:
        raise invalid("body.format", f"unknown format {fmt[:40]!r}", RECORD_FORMATS)
    return RecordFormat(fmt.lower())


def idempotency_key(value: str) -> str:
    if not IDEMPOTENCY_KEY.match(value):
        raise invalid("header.Idempotency-Key", "not a usable key", [IDEMPOTENCY_KEY_RULE])
    return value
