"""The BXML verbs: their attributes, defaults and limits, as Bandwidth documents them.

Pure data plus ``check``, which turns one element's raw attribute strings into typed
values or a list of ``Issue``s (the parser adds line and column). Values follow
Bandwidth's BXML reference (dev.bandwidth.com/docs/voice/bxml); where it is silent
the strict reading is taken. Booleans are ``true``/``false`` (any case), numbers are
plain decimals, URLs are http(s), absolute or relative to the document's URL.

| verb / attribute                 | allowed                                 | absent means |
|----------------------------------|-----------------------------------------|--------------|
| SpeakSentence text               | 1-3000 characters, no SSML elements     | required     |
| SpeakSentence voice              | a voice of ``VOICES`` (wins over gender, locale) | (gender) |
| SpeakSentence gender             | ``male``, ``female``                    | female       |
| SpeakSentence locale             | a locale of ``VOICES``                  | en_US        |
| PlayAudio text                   | URL                                     | required     |
| PlayAudio username/password      | basic-auth credentials for the URL      | none         |
| Pause duration                   | integer 1-86400 (s)                     | 1            |
| Gather gatherUrl (+Method...)    | URL (+ GET/POST, fallback, credentials) | no request   |
| Gather terminatingDigits         | 1-12 of 0-9 * #                         | none         |
| Gather maxDigits                 | integer 1-50                            | 50           |
| Gather interDigitTimeout         | number 1-60 (s)                         | 5            |
| Gather firstDigitTimeout         | number 0-60 (s)                         | 5            |
| Gather repeatCount               | integer 1-5                             | 1            |
| Redirect redirectUrl (+...)      | URL (+ GET/POST, fallback, credentials) | required     |
| Tag text                         | 0-256 characters (empty clears the tag) |              |
| Conference text                  | 1-100 of ``A-Za-z0-9-_.``               | required     |
| Conference mute, hold            | bool                                    | false        |
| Conference callIdsToCoach        | comma list of call ids (``c-...``)      | none         |
| Conference conferenceEventUrl    | URL                                     | no webhooks  |
| Conference ...Method             | GET, POST                               | POST         |
| Conference tag                   | 0-256 characters                        | none         |
| Conference callbackTimeout       | number 1-25 (s)                         | [webhooks]   |
| StartRecording fileFormat        | wav, mp3 (conference documents only)    | wav          |

Gather's speech attributes (``input``, ``hints``...) and attributes not listed are
refused with a message that names them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.model import HttpMethod, RecordFormat
from controller.xml.values import Bool, Choice, Int, Invalid, Url, choice_of
from controller.xml.verbs import Issue

MAX_TAG_CHARS = 256
MAX_CREDENTIAL_CHARS = 1024
MAX_SPEAK_CHARS = 3000
MAX_PAUSE_SECONDS = 86_400

# Bandwidth's voices: name -> (locale, gender) (SpeakSentence's "Supported Voices").
VOICES: dict[str, tuple[str, str]] = {
    "julie": ("en_US", "female"), "kate": ("en_US", "female"), "susan": ("en_US", "female"),
    "dave": ("en_US", "male"), "paul": ("en_US", "male"),
    "bridget": ("en_UK", "female"), "simon": ("en_UK", "male"),
    "katrin": ("de", "female"), "stefan": ("de", "male"),
    "esperanza": ("es", "female"), "violeta": ("es", "female"), "jorge": ("es", "male"),
    "rosa": ("es_MX", "female"),
    "jolie": ("fr", "female"), "bernard": ("fr", "male"),
    "paola": ("it", "female"), "luca": ("it", "male"),
    "masako": ("ja", "female"), "kenji": ("ja", "male"),
    "nadiya": ("ru", "female"), "anatoli": ("ru", "male"),
}
LOCALES = tuple(dict.fromkeys(locale for locale, _ in VOICES.values()))


@dataclass(frozen=True)
class Number:
    """A plain decimal number (``5``, ``2.5``) within [low, high]."""

    low: float
    high: float

    @property
    def allowed(self) -> tuple[str, ...]:
        return (f"number {self.low:g}-{self.high:g}",)

    def parse(self, name: str, raw: str, base: str | None) -> float:
        if re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,6})?", raw):
            value = float(raw)
            if self.low <= value <= self.high:
                return value
        raise Invalid(f"{name} must be a number {self.low:g}-{self.high:g}", self.allowed)


@dataclass(frozen=True)
class Text:
    """Free text of at most ``limit`` characters, on one line."""

    limit: int

    @property
    def allowed(self) -> tuple[str, ...]:
        return (f"up to {self.limit} characters",)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        if len(raw) > self.limit:
            raise Invalid(f"{name} must be at most {self.limit} characters", self.allowed)
        if any(c in raw for c in "\r\n"):
            raise Invalid(f"{name} must be on one line", self.allowed)
        return raw


@dataclass(frozen=True)
class Keys:
    """DTMF keys, each at most once (terminatingDigits)."""

    allowed: tuple[str, ...] = ("1-12 of 0-9 * #",)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        if re.fullmatch(r"[0-9*#]{1,12}", raw) and len(set(raw)) == len(raw):
            return raw
        raise Invalid(f"{name} must be 1-12 different keys of 0-9, * and #", self.allowed)


@dataclass(frozen=True)
class CallIds:
    """A comma-separated list of call ids (callIdsToCoach)."""

    allowed: tuple[str, ...] = ("comma-separated call ids, e.g. c-1a2b3c4d-...",)

    def parse(self, name: str, raw: str, base: str | None) -> tuple[str, ...]:
        ids = tuple(part.strip() for part in raw.split(","))
        if not raw.strip() or any(not re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", i) for i in ids):
            raise Invalid(f"{name} must be a comma-separated list of call ids", self.allowed)
        return tuple(dict.fromkeys(ids))


METHOD = choice_of(HttpMethod)
URL = Url()
BOOL = Bool()
CREDENTIAL = Text(MAX_CREDENTIAL_CHARS)
TAG = Text(MAX_TAG_CHARS)


@dataclass(frozen=True)
class Spec:
    """One verb: its attributes (name -> (kind, default)), whether it takes text, and
    the Bandwidth attributes this controller does not implement."""

    tag: str
    attrs: Mapping[str, tuple[Any, Any]]
    text: bool = False
    unsupported: tuple[str, ...] = ()


def _hook_attrs(prefix: str, url_name: str) -> dict[str, tuple[Any, Any]]:
    """A webhook's attributes, as BXML names them (``gatherUrl``, ``gatherMethod``...)."""
    return {
        url_name: (URL, None),
        f"{prefix}Method": (METHOD, HttpMethod.POST),
        f"{prefix}FallbackUrl": (URL, None),
        f"{prefix}FallbackMethod": (METHOD, HttpMethod.POST),
        "username": (CREDENTIAL, ""),
        "password": (CREDENTIAL, ""),
        "fallbackUsername": (CREDENTIAL, ""),
        "fallbackPassword": (CREDENTIAL, ""),
        "tag": (TAG, None),
    }


SPEAK_SENTENCE = Spec("SpeakSentence", {
    "voice": (Choice({name: name for name in VOICES}), None),
    "gender": (Choice({"female": "female", "male": "male"}), "female"),
    "locale": (Choice({locale: locale for locale in LOCALES}), "en_US"),
}, text=True)
PLAY_AUDIO = Spec("PlayAudio", {"username": (CREDENTIAL, ""), "password": (CREDENTIAL, "")},
                  text=True)
PAUSE = Spec("Pause", {"duration": (Int(1, MAX_PAUSE_SECONDS), 1)})
HANGUP = Spec("Hangup", {})
TAG_VERB = Spec("Tag", {}, text=True)
REDIRECT = Spec("Redirect", _hook_attrs("redirect", "redirectUrl"))
GATHER = Spec("Gather", {
    **_hook_attrs("gather", "gatherUrl"),
    "terminatingDigits": (Keys(), ""),
    "maxDigits": (Int(1, 50), 50),
    "interDigitTimeout": (Number(1, 60), 5.0),
    "firstDigitTimeout": (Number(0, 60), 5.0),
    "repeatCount": (Int(1, 5), 1),
}, unsupported=("input", "hints", "language", "partialResultCallback",
                "partialResultCallbackMethod", "profanityFilter", "speechModel",
                "speechTimeout"))
CONFERENCE = Spec("Conference", {
    "mute": (BOOL, False),
    "hold": (BOOL, False),
    "callIdsToCoach": (CallIds(), ()),
    "conferenceEventUrl": (URL, None),
    "conferenceEventMethod": (METHOD, HttpMethod.POST),
    "conferenceEventFallbackUrl": (URL, None),
    "conferenceEventFallbackMethod": (METHOD, HttpMethod.POST),
    "username": (CREDENTIAL, ""),
    "password": (CREDENTIAL, ""),
    "fallbackUsername": (CREDENTIAL, ""),
    "fallbackPassword": (CREDENTIAL, ""),
    "tag": (TAG, None),
    "callbackTimeout": (Number(1, 25), None),
}, text=True)
START_RECORDING = Spec("StartRecording", {
    "fileFormat": (choice_of(RecordFormat), RecordFormat.WAV),
}, unsupported=("recordingAvailableUrl", "recordingAvailableMethod", "transcribe",
                "transcriptionAvailableUrl", "transcriptionAvailableMethod", "username",
                "password", "tag", "multiChannel", "detectLanguage", "recordingName"))
STOP_RECORDING = Spec("StopRecording", {}, unsupported=("recordingName",))
PAUSE_RECORDING = Spec("PauseRecording", {})
RESUME_RECORDING = Spec("ResumeRecording", {})

# Where each verb may stand.
CALL_VERBS = {s.tag: s for s in (SPEAK_SENTENCE, PLAY_AUDIO, PAUSE, GATHER, HANGUP, REDIRECT,
                                 TAG_VERB, CONFERENCE)}
GATHER_VERBS = {s.tag: s for s in (SPEAK_SENTENCE, PLAY_AUDIO)}
ROOM_VERBS = {s.tag: s for s in (PLAY_AUDIO, SPEAK_SENTENCE, START_RECORDING, STOP_RECORDING,
                                 PAUSE_RECORDING, RESUME_RECORDING)}
# Bandwidth verbs this controller does not run in a call's document.
UNSUPPORTED_VERBS = frozenset({
    "Bridge", "Forward", "Record", "Ring", "SendDtmf", "StartGather", "StopGather",
    "StartRecording", "StopRecording", "PauseRecording", "ResumeRecording",
    "StartStream", "StopStream", "StartTranscription", "StopTranscription", "Transfer",
    "Connect", "Refer",
})


def _unknown(spec: Spec, name: str, raw: str) -> Issue:
    names = tuple(spec.attrs)
    if name in spec.unsupported:
        return Issue(f"{name} is a Bandwidth attribute this controller does not support",
                     name, raw, names)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75) or [
        n for n in names if n.lower() == name.lower()]
    if close:
        return Issue(f"unknown attribute {name} (did you mean {close[0]}?)", name, raw, names)
    takes = ", ".join(names) if names else "no attributes"
    return Issue(f"unknown attribute {name}; {spec.tag} takes {takes}", name, raw, names)


def check(spec: Spec, raw: Mapping[str, str], base: str | None
          ) -> tuple[dict[str, Any], list[Issue]]:
    """Every attribute parsed (defaults for the absent ones), and every issue found."""
    values = {name: default for name, (_, default) in spec.attrs.items()}
    issues: list[Issue] = []
    for name, value in raw.items():
        entry = spec.attrs.get(name)
        if entry is None:
            issues.append(_unknown(spec, name, value))
            continue
        try:
            values[name] = entry[0].parse(name, value, base)
        except Invalid as exc:
            issues.append(Issue(exc.message, name, value, exc.allowed))
    return values, issues
