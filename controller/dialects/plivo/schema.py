"""The Plivo verbs: their attributes, defaults, text and cross-attribute rules.

Pure data plus `check_verb`, which turns one element's raw strings into a model
verb or a list of `Issue`s. The parser adds positions to the issues; the builder
runs the very same check on the strings it is about to write. The table of
values and the reasons behind the strict readings is in `controller.xml.plivo`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from controller.model import (
    NO_SOUND,
    ConferenceJoin,
    Hangup,
    HangupReason,
    HttpMethod,
    Play,
    RecordFormat,
    Redirect,
    Speak,
    TranscriptionType,
    Verb,
    Wait,
    Webhook,
)
from controller.xml.values import (
    Bool,
    Choice,
    DigitPatterns,
    Int,
    Invalid,
    SoundAttr,
    Url,
    choice_of,
    parse_room,
    parse_speak_text,
    parse_text_url,
)

MAX_LOOP = 10_000
MAX_SECONDS = 86_400


class Kind(Protocol):
    allowed: tuple[str, ...]

    def parse(self, name: str, raw: str, base: str | None) -> Any: ...

    def to_xml(self, value: Any) -> str: ...


@dataclass(frozen=True)
class Attr:
    """One attribute: its XML name, builder keyword, value kind and Plivo default."""

    xml: str
    kwarg: str
    kind: Kind
    default: Any = None


@dataclass(frozen=True)
class Issue:
    """A problem with one element, before it is given a position."""

    message: str
    attribute: str | None = None
    value: str | None = None
    allowed: tuple[str, ...] = ()


# (raw attributes present, parsed values with defaults, names that failed) -> issues
Rules = Callable[[Mapping[str, str], Mapping[str, Any], "set[str]"], list[Issue]]
# (parsed values incl. defaults, parsed text) -> model verb
Assemble = Callable[[Mapping[str, Any], Any], Verb]
# (element text, base URL) -> parsed text value; raises Invalid
TextParser = Callable[[str, "str | None"], Any]


def _no_rules(raw: Mapping[str, str], values: Mapping[str, Any], failed: set[str]) -> list[Issue]:
    return []


@dataclass(frozen=True)
class VerbSpec:
    tag: str
    attrs: tuple[Attr, ...]
    assemble: Assemble
    text: TextParser | None = None  # None: the element takes no text
    rules: Rules = _no_rules
    unsupported: tuple[str, ...] = ()  # Plivo attributes this controller does not do
    defaults: dict[str, Any] = field(init=False, repr=False, compare=False)
    parsers: dict[str, Callable[[str, str, str | None], Any]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", {a.xml: a.default for a in self.attrs})
        # Bound parse functions looked up once: this loop is the parser's hot path.
        object.__setattr__(self, "parsers", {a.xml: a.kind.parse for a in self.attrs})


METHOD = choice_of(HttpMethod)
URL = Url()
BOOL = Bool()


def _hook(values: Mapping[str, Any], url_attr: str, method_attr: str) -> Webhook | None:
    url = values[url_attr]
    return None if url is None else Webhook(url, values[method_attr])


# --- Conference -------------------------------------------------------------

def _conference_rules(
    raw: Mapping[str, str], values: Mapping[str, Any], failed: set[str]
) -> list[Issue]:
    # Attributes that have no effect without a partner (method without action,
    # recordFileFormat without record...) are accepted, as Plivo accepts them:
    # refusing a document Plivo runs would send a real caller to the error path.
    issues = []
    if values["hangupOnStar"] and "*" in values["digitsMatch"]:
        issues.append(
            Issue(
                'digitsMatch pattern "*" conflicts with hangupOnStar="true"',
                "digitsMatch",
                raw["digitsMatch"],
            )
        )
    return issues


def _conference(values: Mapping[str, Any], room: str) -> ConferenceJoin:
    wait = values["waitSound"]
    return ConferenceJoin(
        room=room,
        muted=values["muted"],
        enter_sound=values["enterSound"],
        exit_sound=values["exitSound"],
        start_on_enter=values["startConferenceOnEnter"],
        end_on_exit=values["endConferenceOnExit"],
        stay_alone=values["stayAlone"],
        # Plivo fetches the waitSound document with POST.
        wait_sound=None if wait is None else Webhook(wait, HttpMethod.POST),
        max_members=values["maxMembers"],
        record=values["record"],
        record_format=values["recordFileFormat"],
        time_limit=values["timeLimit"],
        hangup_on_star=values["hangupOnStar"],
        action=_hook(values, "action", "method"),
        redirect=values["redirect"],
        callback=_hook(values, "callbackUrl", "callbackMethod"),
        transcription_type=values["transcriptionType"],
        transcription=_hook(values, "transcriptionUrl", "transcriptionMethod"),
        digits_match=values["digitsMatch"],
        floor_event=values["floorEvent"],
        relay_dtmf=values["relayDTMF"],
    )


CONFERENCE = VerbSpec(
    tag="Conference",
    attrs=(
        Attr("muted", "muted", BOOL, False),
        Attr("enterSound", "enter_sound", SoundAttr(), NO_SOUND),
        Attr("exitSound", "exit_sound", SoundAttr(), NO_SOUND),
        Attr("startConferenceOnEnter", "start_conference_on_enter", BOOL, True),
        Attr("endConferenceOnExit", "end_conference_on_exit", BOOL, False),
        Attr("stayAlone", "stay_alone", BOOL, True),
        Attr("waitSound", "wait_sound", URL, None),
        Attr("maxMembers", "max_members", Int(1, 20), 20),
        Attr("record", "record", BOOL, False),
        Attr("recordFileFormat", "record_file_format", choice_of(RecordFormat), RecordFormat.MP3),
        Attr("timeLimit", "time_limit", Int(0, MAX_SECONDS), 0),
        Attr("hangupOnStar", "hangup_on_star", BOOL, False),
        Attr("action", "action", URL, None),
        Attr("method", "method", METHOD, HttpMethod.POST),
        Attr("callbackUrl", "callback_url", URL, None),
        Attr("callbackMethod", "callback_method", METHOD, HttpMethod.POST),
        Attr("transcriptionType", "transcription_type", choice_of(TranscriptionType), None),
        Attr("transcriptionUrl", "transcription_url", URL, None),
        Attr("transcriptionMethod", "transcription_method", METHOD, HttpMethod.POST),
        Attr("digitsMatch", "digits_match", DigitPatterns(), ()),
        Attr("floorEvent", "floor_event", BOOL, False),
        Attr("redirect", "redirect", BOOL, True),
        Attr("relayDTMF", "relay_dtmf", BOOL, False),
    ),
    assemble=_conference,
    text=lambda text, base: parse_room(text),
    rules=_conference_rules,
    unsupported=("sendDigits", "recordWhenAlone"),
)

# --- Speak ------------------------------------------------------------------

# Plivo's basic voices per language (Polly voices and SSML are not supported).
SPEAK_VOICES: dict[str, tuple[str, ...]] = {
    "da-DK": ("WOMAN",),
    "nl-NL": ("WOMAN", "MAN"),
    "en-AU": ("WOMAN", "MAN"),
    "en-GB": ("WOMAN", "MAN"),
    "en-US": ("WOMAN", "MAN"),
    "fr-FR": ("WOMAN", "MAN"),
    "fr-CA": ("WOMAN",),
    "de-DE": ("WOMAN", "MAN"),
    "it-IT": ("WOMAN", "MAN"),
    "pl-PL": ("WOMAN", "MAN"),
    "pt-PT": ("MAN",),
    "pt-BR": ("WOMAN", "MAN"),
    "ru-RU": ("WOMAN",),
    "es-ES": ("WOMAN", "MAN"),
    "es-US": ("WOMAN", "MAN"),
    "sv-SE": ("WOMAN",),
}


def _speak_rules(
    raw: Mapping[str, str], values: Mapping[str, Any], failed: set[str]
) -> list[Issue]:
    voice, language = values["voice"], values["language"]
    if failed & {"voice", "language"} or voice in SPEAK_VOICES[language]:
        return []
    other = SPEAK_VOICES[language][0]
    attr = "language" if "language" in raw else "voice"
    return [
        Issue(
            f'{language} has no {voice} voice; use voice="{other}"',
            attr,
            raw[attr],
            SPEAK_VOICES[language],
        )
    ]


SPEAK = VerbSpec(
    tag="Speak",
    attrs=(
        Attr("voice", "voice", Choice({"WOMAN": "WOMAN", "MAN": "MAN"}), "WOMAN"),
        Attr("language", "language", Choice({code: code for code in SPEAK_VOICES}), "en-US"),
        Attr("loop", "loop", Int(0, MAX_LOOP), 1),
    ),
    assemble=lambda v, text: Speak(text, v["voice"], v["language"], v["loop"]),
    text=lambda text, base: parse_speak_text(text),
    rules=_speak_rules,
)

# --- Play, Wait, Hangup, Redirect -------------------------------------------

PLAY = VerbSpec(
    tag="Play",
    attrs=(Attr("loop", "loop", Int(0, MAX_LOOP), 1),),
    assemble=lambda v, url: Play(url, v["loop"]),
    text=lambda text, base: parse_text_url("Play", text, base),
)


def _wait_rules(
    raw: Mapping[str, str], values: Mapping[str, Any], failed: set[str]
) -> list[Issue]:
    # Plivo accepts minSilence without silence, beep with silence and a length
    # shorter than minSilence (the wait simply ends at `length`); so do we.
    return []


WAIT = VerbSpec(
    tag="Wait",
    attrs=(
        Attr("length", "length", Int(1, MAX_SECONDS), 1),
        Attr("silence", "silence", BOOL, False),
        Attr("minSilence", "min_silence", Int(1, MAX_SECONDS * 1000), 2000),
        Attr("beep", "beep", BOOL, False),
    ),
    assemble=lambda v, _: Wait(v["length"], v["silence"], v["minSilence"], v["beep"]),
    rules=_wait_rules,
)

HANGUP = VerbSpec(
    tag="Hangup",
    attrs=(
        Attr("reason", "reason", choice_of(HangupReason), None),
        # Absent means now; Plivo documents only values > 0 for the attribute.
        Attr("schedule", "schedule", Int(1, MAX_SECONDS), 0),
    ),
    assemble=lambda v, _: Hangup(v["reason"], v["schedule"]),
)

REDIRECT = VerbSpec(
    tag="Redirect",
    attrs=(Attr("method", "method", METHOD, HttpMethod.POST),),
    assemble=lambda v, url: Redirect(url, v["method"]),
    text=lambda text, base: parse_text_url("Redirect", text, base),
)

ANSWER_VERBS: dict[str, VerbSpec] = {
    s.tag: s for s in (CONFERENCE, HANGUP, PLAY, REDIRECT, SPEAK, WAIT)
}
SOUND_VERBS: dict[str, VerbSpec] = {s.tag: s for s in (PLAY, SPEAK, WAIT)}

# Plivo elements that exist but that this controller does not run.
PLIVO_UNSUPPORTED_VERBS = frozenset(
    {
        "DTMF",
        "Dial",
        "GetDigits",
        "GetInput",
        "Message",
        "MultiPartyCall",
        "PreAnswer",
        "Record",
        "Stream",
    }
)


def _unknown_attribute(spec: VerbSpec, name: str, raw: str) -> Issue:
    names = [a.xml for a in spec.attrs]
    if name in spec.unsupported:
        message = f"{name} is a Plivo attribute this controller does not support"
    else:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.75) or [
            n for n in names if n.lower() == name.lower()
        ]
        if close:
            message = f"unknown attribute {name} (did you mean {close[0]}?)"
        else:
            takes = ", ".join(names) if names else "no attributes"
            message = f"unknown attribute {name}; {spec.tag} takes {takes}"
    return Issue(message, name, raw, tuple(names))


def check_verb(
    spec: VerbSpec, raw: Mapping[str, str], text: str | None, base: str | None
) -> tuple[Verb | None, list[Issue]]:
    """Validate one element's attributes and text; the verb, or every issue found.

    `base` is the document URL relative URLs resolve against (None: keep them).
    """
    values = dict(spec.defaults)  # a value that fails to parse keeps its default
    issues: list[Issue] = []
    failed: set[str] = set()
    parsers = spec.parsers
    for name, value in raw.items():
        parse = parsers.get(name)
        if parse is None:
            issues.append(_unknown_attribute(spec, name, value))
            failed.add(name)
            continue
        try:
            values[name] = parse(name, value, base)
        except Invalid as exc:
            issues.append(Issue(exc.message, name, value, exc.allowed))
            failed.add(name)

    body = None
    if spec.text is None:
        if text and not text.isspace():
            issues.append(Issue(f"{spec.tag} takes no text", None, text.strip()))
    else:
        try:
            body = spec.text(text or "", base)
        except Invalid as exc:
            issues.append(Issue(exc.message, None, (text or "").strip() or None, exc.allowed))

    # Rules run on whatever did parse, so one pass reports every problem.
    if spec.rules is not _no_rules:
        issues.extend(spec.rules(raw, values, failed))
    if issues:
        return None, issues
    return spec.assemble(values, body), []
