"""Value kinds of markup attributes: text in, typed value out, or a reason why not.

Pure functions, shared by the parser (strings from a document) and the builder
(Python values turned into the strings they would be written as), so both give
the same message for the same mistake. Nothing here knows about elements or
positions: `Invalid` carries only the rule and the accepted forms.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from controller.model import NO_SOUND, HttpMethod, Sound, SoundKind

MAX_URL_CHARS = 2048
URL_ALLOWED = ("http(s) URL", "URL relative to the document")

# Anything that cannot appear raw in a URL: whitespace, C0/C1 controls, DEL.
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
# The common case, an absolute http(s) URL with a plain host, decided without urlsplit.
_PLAIN_ABSOLUTE_URL = re.compile(
    r"(?i:https?)://[A-Za-z0-9.\-]+(?::([0-9]{1,5}))?(?:[/?#][\x21-\x7e]*)?\Z"
)
_ROOM = re.compile(r"[A-Za-z0-9_.\-]{1,100}\Z")
_DTMF = re.compile(r"[0-9*#]+\Z")


class Invalid(Exception):
    """A value broke a rule: `message` says which, `allowed` what would be accepted."""

    def __init__(self, message: str, allowed: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.allowed = allowed


def either(words: Iterable[str]) -> str:
    """"a or b" for two words, "one of a, b, c" for more."""
    words = list(words)
    if len(words) == 2:
        return f"{words[0]} or {words[1]}"
    return "one of " + ", ".join(words)


@dataclass(frozen=True)
class Bool:
    """`true` or `false`, any letter case."""

    allowed: tuple[str, ...] = ("true", "false")

    def parse(self, name: str, raw: str, base: str | None) -> bool:
        if raw == "true":  # the spelling nearly everyone uses, before lower()
            return True
        if raw == "false":
            return False
        low = raw.lower()
        if low == "true":
            return True
        if low == "false":
            return False
        raise Invalid(f"{name} must be true or false", self.allowed)

    def to_xml(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


@dataclass(frozen=True)
class Int:
    """A plain decimal integer (no sign, no spaces) within [low, high]."""

    low: int
    high: int

    @property
    def allowed(self) -> tuple[str, ...]:
        return (f"integer {self.low}-{self.high}",)

    def parse(self, name: str, raw: str, base: str | None) -> int:
        # isdigit() alone would take other scripts' digits; isascii() rules them out.
        if raw.isascii() and raw.isdigit() and len(raw) <= 10:
            number = int(raw)
            if self.low <= number <= self.high:
                return number
        raise Invalid(f"{name} must be an integer {self.low}-{self.high}", self.allowed)

    def to_xml(self, value: Any) -> str:
        if isinstance(value, bool):  # bool is an int; True must not pass as 1
            return "true" if value else "false"
        return str(value)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of exact (case-sensitive) words, mapped to a value."""

    choices: Mapping[str, Any]

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(self.choices)

    def parse(self, name: str, raw: str, base: str | None) -> Any:
        try:
            return self.choices[raw]
        except KeyError:
            raise Invalid(f"{name} must be {either(self.choices)}", self.allowed) from None

    def to_xml(self, value: Any) -> str:
        if isinstance(value, enum.Enum):
            return str(value.value)
        return str(value)


def choice_of(enum_type: type[enum.Enum]) -> Choice:
    return Choice({member.value: member for member in enum_type})


def parse_url(name: str, raw: str, base: str | None) -> str:
    """An absolute http(s) URL, resolving a relative one against `base`.

    With `base=None` (the builder) a relative URL is checked and kept as written.
    """
    plain = _PLAIN_ABSOLUTE_URL.match(raw)
    if plain and len(raw) <= MAX_URL_CHARS and int(plain.group(1) or 0) <= 65535:
        return raw
    if raw == "":
        raise Invalid(f"{name} must be a URL, not empty", URL_ALLOWED)
    if len(raw) > MAX_URL_CHARS:
        raise Invalid(f"{name} must be a URL of at most {MAX_URL_CHARS} characters", URL_ALLOWED)
    if _URL_FORBIDDEN.search(raw):
        raise Invalid(f"{name} must be a URL without spaces or control characters", URL_ALLOWED)
    has_scheme = _HAS_SCHEME.match(raw)
    if not has_scheme and _COLON_IN_FIRST_SEGMENT.match(raw):
        raise Invalid(_not_a_scheme_message(name, raw), URL_ALLOWED)
    if base is not None and not has_scheme:
        url = _resolve(name, raw, base)  # the common relative forms, without urlsplit
        if url is not None:
            return url
    try:
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme:
            if scheme not in ("http", "https"):
                raise Invalid(
                    f'{name} must be an http or https URL, not "{parts.scheme}:"', URL_ALLOWED
                )
            url = raw
        elif base is None:
            return raw
        else:
            url = urljoin(base, raw)
            parts = urlsplit(url)
        if not parts.hostname:
            raise Invalid(f"{name} must be a URL with a host", URL_ALLOWED)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
    except ValueError:
        raise Invalid(f"{name} is not a valid URL", URL_ALLOWED) from None
    return url


# What urlsplit takes for a scheme: a letter, then letters, digits, "+-.", then ":".
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# A ":" before the first "/", "?" or "#". In a URL with a scheme it ends the scheme; in a
# relative reference it is not allowed (RFC 3986 section 4.2: a first segment holding a colon
# would be mistaken for a scheme). urlsplit only takes RFC scheme characters as a scheme, so
# "tone_stream://..." ("_" is no scheme character) would otherwise be joined to the document
# URL as a relative path: "http://app/tone_stream:/...".
_COLON_IN_FIRST_SEGMENT = re.compile(r"[^/?#]*:")
# FreeSWITCH's own sound sources (its file-format modules' prefixes): named in the message,
# since an author who writes one expects FreeSWITCH to play it.
FREESWITCH_SOUND_SCHEMES = frozenset(
    {"tone_stream", "silence_stream", "local_stream", "file_string", "phrase", "say", "shout"}
)
# A "." or ".." path segment: left to urljoin, which removes them (RFC 3986 5.2.4).
_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:[/?#]|\Z)")


def freeswitch_sound_scheme(raw: str) -> str | None:
    """The FreeSWITCH sound source `raw` names (`tone_stream` for `tone_stream://...`), or None.

    For dialects that let documents name FreeSWITCH sounds directly; `parse_url` rejects them.
    """
    scheme, colon, _ = raw.partition(":")
    if colon and scheme.lower() in FREESWITCH_SOUND_SCHEMES:
        return scheme.lower()
    return None


def _not_a_scheme_message(name: str, raw: str) -> str:
    colon = raw.index(":")
    prefix = raw[: colon + 3] if raw.startswith("//", colon + 1) else raw[: colon + 1]
    if freeswitch_sound_scheme(raw):
        return (
            f'{name} must be an http or https URL, not the FreeSWITCH sound "{prefix}": '
            "serve the sound as a file over http(s)"
        )
    return (
        f'{name} must be an http or https URL or a relative URL; "{prefix}" is neither a URL '
        'scheme (letters, digits, "+", "-", "." only) nor a relative path (no ":" before the '
        'first "/")'
    )


@functools.lru_cache(maxsize=64)
def _base_parts(base: str) -> tuple[str, str, str, str] | None:
    """(origin, directory, URL without query, URL without fragment) of an http(s) base."""
    try:
        parts = urlsplit(base)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 - a bad port makes the base unusable
    except ValueError:
        return None
    path = parts.path or "/"
    # urlsplit lowercases the scheme (and so does urljoin); keep the rest as written.
    without_fragment = (parts.scheme + base[len(parts.scheme) :]).split("#", 1)[0]
    return (
        f"{parts.scheme}://{parts.netloc}",
        path[: path.rfind("/") + 1],
        without_fragment.split("?", 1)[0],
        without_fragment,
    )


def _resolve(name: str, raw: str, base: str) -> str | None:
    """`urljoin(base, raw)` for the common relative forms, fast; None: use urljoin.

    The document's base URL is split once (cached), not once per attribute.
    """
    parts = _base_parts(base)
    if parts is None:
        raise Invalid(
            f"{name} is a relative URL but the document URL is not http(s)", URL_ALLOWED
        )
    if (
        "//" in raw  # another host, or empty segments urljoin collapses
        or _DOT_SEGMENT.search(raw)  # dot segments to remove
        or ";" in raw  # urljoin's own rules for ";params"
        or "?#" in raw  # urljoin drops an empty query or fragment
        or raw.endswith(("?", "#"))
    ):
        return None
    origin, directory, without_query, without_fragment = parts
    first = raw[0]
    if first == "/":
        return origin + raw
    if first == "?":
        return without_query + raw
    if first == "#":
        return without_fragment + raw
    return origin + directory + raw


@dataclass(frozen=True)
class Url:
    allowed: tuple[str, ...] = URL_ALLOWED

    def parse(self, name: str, raw: str, base: str | None) -> str:
        return parse_url(name, raw, base)

    def to_xml(self, value: Any) -> str:
        return str(value)


SOUND_ALLOWED = ('""', "beep:1", "beep:2", *URL_ALLOWED)
BEEP_ONE = Sound(SoundKind.BEEP_ONE)
BEEP_TWO = Sound(SoundKind.BEEP_TWO)


@dataclass(frozen=True)
class SoundAttr:
    """`""` (none), `beep:1`, `beep:2`, or a URL whose Play/Speak/Wait XML is the sound."""

    allowed: tuple[str, ...] = SOUND_ALLOWED

    def parse(self, name: str, raw: str, base: str | None) -> Sound:
        if raw == "":
            return NO_SOUND
        if raw == "beep:1":
            return BEEP_ONE
        if raw == "beep:2":
            return BEEP_TWO
        if raw.lower() == "beep" or raw.lower().startswith("beep:"):  # a typo, not a path
            raise Invalid(f'{name} must be "", beep:1, beep:2 or a URL', self.allowed)
        try:
            url = parse_url(name, raw, base)
        except Invalid as exc:
            raise Invalid(exc.message, self.allowed) from None
        # Plivo fetches sound documents with POST.
        return Sound(SoundKind.URL, url, HttpMethod.POST)

    def to_xml(self, value: Any) -> str:
        if isinstance(value, Sound):
            if value.kind is SoundKind.URL:
                return value.url or ""
            return "" if value.kind is SoundKind.NONE else value.kind.value
        return str(value)


MAX_DIGIT_PATTERNS = 20
MAX_DIGIT_PATTERN_CHARS = 20
_DIGIT_LIST = re.compile(
    rf"[0-9*#]{{1,{MAX_DIGIT_PATTERN_CHARS}}}"
    rf"(?:,[0-9*#]{{1,{MAX_DIGIT_PATTERN_CHARS}}}){{0,{MAX_DIGIT_PATTERNS - 1}}}\Z"
)
DIGITS_ALLOWED = (
    f"comma-separated list of up to {MAX_DIGIT_PATTERNS} patterns, "
    f"each 1-{MAX_DIGIT_PATTERN_CHARS} of 0-9 * #",
)


@dataclass(frozen=True)
class DigitPatterns:
    """A comma-separated list of DTMF patterns; a pattern is literal keys 0-9 * #.

    No spaces, no empty items, no repeats; order is kept (first match wins).
    """

    allowed: tuple[str, ...] = DIGITS_ALLOWED

    def parse(self, name: str, raw: str, base: str | None) -> tuple[str, ...]:
        if _DIGIT_LIST.match(raw):  # the usual case: one regex, then only repeats to check
            patterns = tuple(raw.split(","))
            if len(set(patterns)) == len(patterns):
                return patterns
        return self._explain(name, raw)

    def _explain(self, name: str, raw: str) -> tuple[str, ...]:
        """Find the first broken rule, for the message."""
        if raw == "":
            raise Invalid(f"{name} must list at least one pattern", self.allowed)
        patterns = raw.split(",")
        if len(patterns) > MAX_DIGIT_PATTERNS:
            raise Invalid(f"{name} must list at most {MAX_DIGIT_PATTERNS} patterns", self.allowed)
        seen: set[str] = set()
        for pattern in patterns:
            if pattern == "":
                raise Invalid(f"{name} has an empty pattern (check the commas)", self.allowed)
            if not _DTMF.match(pattern):
                raise Invalid(
                    f'{name} pattern "{pattern}" may contain only 0-9, * and #', self.allowed
                )
            if len(pattern) > MAX_DIGIT_PATTERN_CHARS:
                raise Invalid(
                    f'{name} pattern "{pattern}" is longer than {MAX_DIGIT_PATTERN_CHARS} keys',
                    self.allowed,
                )
            if pattern in seen:
                raise Invalid(f'{name} lists pattern "{pattern}" twice', self.allowed)
            seen.add(pattern)
        return tuple(patterns)

    def to_xml(self, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return ",".join(str(v) for v in value)
        return str(value)


ROOM_ALLOWED = ("1-100 characters of A-Z a-z 0-9 - _ .",)


def parse_room(text: str) -> str:
    """The room name: the element text without surrounding whitespace."""
    room = text.strip()
    if room == "":
        raise Invalid("Conference needs a room name as its text", ROOM_ALLOWED)
    if not _ROOM.match(room):
        raise Invalid(
            "room name must be 1-100 characters of letters, digits, '-', '_' and '.'",
            ROOM_ALLOWED,
        )
    return room


MAX_SPEAK_CHARS = 3000
SPEAK_ALLOWED = (f"text of 1-{MAX_SPEAK_CHARS} characters",)


def parse_speak_text(text: str) -> str:
    said = text.strip()
    if said == "":
        raise Invalid("Speak needs the text to say", SPEAK_ALLOWED)
    if len(said) > MAX_SPEAK_CHARS:
        raise Invalid(f"Speak text must be at most {MAX_SPEAK_CHARS} characters", SPEAK_ALLOWED)
    return said


def parse_text_url(verb: str, text: str, base: str | None) -> str:
    """The URL a Play or Redirect carries as its text."""
    url = text.strip()
    if url == "":
        raise Invalid(f"{verb} needs a URL as its text", URL_ALLOWED)
    return parse_url(f"{verb} URL", url, base)
