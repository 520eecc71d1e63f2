"""The Plivo verbs: their attributes, defaults, text and cross-attribute rules.

Pure data plus `check_verb`, which turns one element's raw strings into a model
verb or a list of `Issue`s. The parser adds positions to the issues; the builder
runs the very same check on the strings it is about to write. The table of
values and the reasons behind the strict readings is in `controller.xml.plivo`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.model import (
    NO_SOUND,
    ConferenceJoin,
    Gather,
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
from controller.xml.verbs import Attr, Issue, Rules, VerbSpec, check_verb

MAX_LOOP = 10_000
MAX_SECONDS = 86_400


__all__ = ["ANSWER_VERBS", "SOUND_VERBS", "Attr", "Issue", "VerbSpec", "check_verb"]

_PLIVO_UNSUPPORTED = "{name} is a Plivo attribute this controller does not support"
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
    unsupported_message=_PLIVO_UNSUPPORTED,
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

# --- GetDigits, GetInput -----------------------------------------------------

DTMF_KEYS = "1234567890*#"
MAX_DIGITS = 127  # FreeSWITCH's play_and_get_digits collects into char[128]
MAX_RETRIES = 100  # ours
MAX_PROMPT_SOUNDS = 100  # prompt sounds (loops counted) of one GetDigits: ours
AUTO_DIGIT_END_TIMEOUT = 5  # seconds, for digitEndTimeout="auto" (see markup [14])
PROMPT_TAGS = ("Speak", "Play", "Wait")


@dataclass(frozen=True)
class FinishOnKey:
    """One key 0-9, * or #; "" or none: no key ends the input."""

    allowed: tuple[str, ...] = ("one of 0-9 * #", '""', "none")

    def parse(self, name: str, raw: str, base: str | None) -> str:
        if raw in ("", "none"):
            return ""
        if len(raw) == 1 and raw in DTMF_KEYS:
            return raw
        raise Invalid(f'{name} must be one key of 0-9, *, #, or "" or none', self.allowed)

    def to_xml(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class DigitSet:
    """Keys of 0-9 * #, each at most once, at least one."""

    allowed: tuple[str, ...] = ("1-12 of 0-9 * #, no repeats",)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        if raw == "":
            raise Invalid(f"{name} must list at least one key", self.allowed)
        bad = sorted({c for c in raw if c not in DTMF_KEYS})
        if bad:
            raise Invalid(f"{name} may contain only 0-9, * and #, not {''.join(bad)!r}",
                          self.allowed)
        if len(set(raw)) != len(raw):
            raise Invalid(f"{name} lists a key twice", self.allowed)
        return raw

    def to_xml(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class AutoOrInt:
    """``auto`` (None) or an integer low-high."""

    low: int
    high: int

    @property
    def allowed(self) -> tuple[str, ...]:
        return ("auto", f"integer {self.low}-{self.high}")

    def parse(self, name: str, raw: str, base: str | None) -> int | None:
        if raw == "auto":
            return None
        try:
            return Int(self.low, self.high).parse(name, raw, base)
        except Invalid:
            raise Invalid(f"{name} must be auto or an integer {self.low}-{self.high}",
                          self.allowed) from None

    def to_xml(self, value: Any) -> str:
        return "auto" if value is None else str(value)


@dataclass(frozen=True)
class InputType:
    """Plivo's inputType: only ``dtmf`` runs here; speech is refused by name."""

    allowed: tuple[str, ...] = ("dtmf",)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        if raw == "dtmf":
            return raw
        if raw in ("speech", "dtmf speech"):
            raise Invalid(f'{name}="{raw}" is not supported: this controller has no speech '
                          'recognition and collects digits only; use inputType="dtmf"',
                          self.allowed)
        raise Invalid(f'{name} must be dtmf (Plivo also knows speech and "dtmf speech", '
                      "which this controller does not support)", self.allowed)

    def to_xml(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class Pattern:
    """Free text of a given shape (speech attributes we check but do not use)."""

    regex: str
    shown: str

    @property
    def allowed(self) -> tuple[str, ...]:
        return (self.shown,)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        if re.fullmatch(self.regex, raw):
            return raw
        raise Invalid(f"{name} must be {self.shown}", self.allowed)

    def to_xml(self, value: Any) -> str:
        return str(value)


def prompt_issue(prompt: Verb, tag: str) -> Issue | None:
    """A Speak/Play/Wait that cannot be a prompt of ``tag``: the prompts become one sound
    FreeSWITCH plays before it listens, so it must end and cannot listen itself."""
    if isinstance(prompt, (Speak, Play)) and prompt.loop == 0:
        return Issue(f'loop="0" (endless) is not allowed inside {tag}: the prompt must end '
                     "for the input to begin", "loop", "0")
    if isinstance(prompt, Wait) and prompt.silence:
        return Issue(f'silence="true" is not allowed inside {tag}: a prompt waits a fixed '
                     "length", "silence", "true")
    return None


def _prompt_count_issues(children: tuple[Verb, ...], tag: str) -> list[Issue]:
    count = sum(max(1, c.loop) if isinstance(c, (Speak, Play)) else 1 + c.beep
                for c in children if isinstance(c, (Speak, Play, Wait)))
    if count > MAX_PROMPT_SOUNDS:
        return [Issue(f"the prompts of {tag} add up to {count} sounds (loops counted); "
                      f"the limit is {MAX_PROMPT_SOUNDS}")]
    return []


def _action_required(tag: str) -> Rules:
    def rules(raw: Mapping[str, str], values: Mapping[str, Any], failed: set[str]) -> list[Issue]:
        # Strict: without action the digits would go nowhere (Plivo documents no default).
        if "action" not in raw:
            return [Issue(f"{tag} needs an action URL: where the digits are sent")]
        return []

    return rules


def _get_input_rules(
    raw: Mapping[str, str], values: Mapping[str, Any], failed: set[str]
) -> list[Issue]:
    issues = _action_required("GetInput")(raw, values, failed)
    if "inputType" not in raw:
        # Plivo has no default to fall back on; speech is what this controller lacks.
        issues.append(Issue('GetInput needs inputType="dtmf" (the only input type this '
                            "controller supports)"))
    return issues


def _get_digits(values: Mapping[str, Any], prompts: tuple[Verb, ...]) -> Gather:
    return Gather(
        action=_hook(values, "action", "method"),
        prompts=prompts,  # type: ignore[arg-type]  # only Speak/Play/Wait are nested
        timeout=values["timeout"],
        digit_timeout=values["digitTimeout"],
        finish_on_key=values["finishOnKey"],
        num_digits=values["numDigits"],
        valid_digits=values["validDigits"],
        retries=values["retries"],
        redirect=values["redirect"],
        invalid_sound=values["invalidDigitsSound"] or "",
        beep=values["playBeep"],
        log_digits=values["log"],
    )


def _get_input(values: Mapping[str, Any], prompts: tuple[Verb, ...]) -> Gather:
    digit_end = values["digitEndTimeout"]
    return Gather(
        action=_hook(values, "action", "method"),
        prompts=prompts,  # type: ignore[arg-type]
        timeout=values["executionTimeout"],
        digit_timeout=AUTO_DIGIT_END_TIMEOUT if digit_end is None else digit_end,
        finish_on_key=values["finishOnKey"],
        num_digits=values["numDigits"],
        redirect=values["redirect"],
        log_digits=values["log"],
        action_extra=(("InputType", "dtmf"),),
    )


GET_DIGITS = VerbSpec(
    tag="GetDigits",
    attrs=(
        Attr("action", "action", URL, None),
        Attr("method", "method", METHOD, HttpMethod.POST),
        Attr("timeout", "timeout", Int(1, MAX_SECONDS), 5),
        Attr("digitTimeout", "digit_timeout", Int(1, MAX_SECONDS), 2),
        Attr("finishOnKey", "finish_on_key", FinishOnKey(), "#"),
        Attr("numDigits", "num_digits", Int(1, MAX_DIGITS), 99),
        Attr("retries", "retries", Int(1, MAX_RETRIES), 1),
        Attr("redirect", "redirect", BOOL, True),
        Attr("playBeep", "play_beep", BOOL, False),
        Attr("validDigits", "valid_digits", DigitSet(), DTMF_KEYS),
        Attr("invalidDigitsSound", "invalid_digits_sound", URL, None),
        Attr("log", "log", BOOL, True),
    ),
    assemble=_get_digits,
    rules=_action_required("GetDigits"),
    unsupported=("async",),
    unsupported_message=_PLIVO_UNSUPPORTED,
    nested=PROMPT_TAGS,
    nested_rules=_prompt_count_issues,
)

GET_INPUT = VerbSpec(
    tag="GetInput",
    attrs=(
        Attr("action", "action", URL, None),
        Attr("method", "method", METHOD, HttpMethod.POST),
        Attr("inputType", "input_type", InputType(), "dtmf"),
        Attr("executionTimeout", "execution_timeout", Int(5, 60), 15),
        Attr("digitEndTimeout", "digit_end_timeout", AutoOrInt(2, 10), None),
        Attr("finishOnKey", "finish_on_key", FinishOnKey(), "#"),
        Attr("numDigits", "num_digits", Int(1, MAX_DIGITS), 99),
        Attr("log", "log", BOOL, True),
        Attr("redirect", "redirect", BOOL, True),
        # Speech recognition settings: checked, without effect for inputType="dtmf" (as
        # on Plivo, where they apply to speech input only). See markup [15].
        Attr("speechEndTimeout", "speech_end_timeout", AutoOrInt(2, 10), None),
        Attr("speechModel", "speech_model",
             Pattern(r"[A-Za-z0-9_\-]{1,64}", "a model name (letters, digits, _ -)"), None),
        Attr("hints", "hints", Pattern(r"[^\x00-\x1f]{1,10000}", "1-10000 characters"), None),
        Attr("language", "language",
             Pattern(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}", "a language code such as en-US"),
             None),
        Attr("interimSpeechResultsCallback", "interim_speech_results_callback", URL, None),
        Attr("interimSpeechResultsCallbackMethod", "interim_speech_results_callback_method",
             METHOD, HttpMethod.POST),
        Attr("profanityFilter", "profanity_filter", BOOL, False),
    ),
    assemble=_get_input,
    rules=_get_input_rules,
    nested=PROMPT_TAGS,
    nested_rules=_prompt_count_issues,
)

ANSWER_VERBS: dict[str, VerbSpec] = {
    s.tag: s for s in (CONFERENCE, GET_DIGITS, GET_INPUT, HANGUP, PLAY, REDIRECT, SPEAK, WAIT)
}
SOUND_VERBS: dict[str, VerbSpec] = {s.tag: s for s in (PLAY, SPEAK, WAIT)}

# Plivo elements that exist but that this controller does not run.
PLIVO_UNSUPPORTED_VERBS = frozenset(
    {
        "DTMF",
        "Dial",
        "Message",
        "MultiPartyCall",
        "PreAnswer",
        "Record",
        "Stream",
    }
)
