"""The cXML (SignalWire / Twilio) verbs: attribute names, value kinds, defaults, and the
neutral verb each element becomes. Pure: ``check_verb`` (the faces' shared machinery,
``controller.xml.verbs``) turns one element's raw strings into a model verb or a list of issues;
``controller.dialects.cxml.markup`` walks the document and adds positions.

Attributes the clouds define but this controller cannot honour are listed in
``REFUSED`` with the reason, so a document using them fails with that reason
instead of running differently from what its author expects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.dialects.cxml import sids
from controller.model import (
    NO_SOUND,
    EventKind,
    Gather,
    Hangup,
    HangupReason,
    HttpMethod,
    Play,
    Redirect,
    Sound,
    SoundKind,
    Speak,
    Wait,
    Webhook,
)
from controller.xml.values import Bool, Choice, Int, Invalid, Url, choice_of, parse_url
from controller.xml.verbs import Attr, Issue, VerbSpec, check_verb

__all__ = ["ANSWER_VERBS", "CONFERENCE", "DIAL", "GATHER_CHILDREN", "REFUSED", "SOUND_VERBS",
           "Issue", "VerbSpec", "check_verb"]

MAX_SECONDS = 86_400
METHOD = choice_of(HttpMethod)
URL = Url()
BOOL = Bool()


# ----------------------------------------------------------------- value kinds
@dataclass(frozen=True)
class Words:
    """A list of words from a fixed set, separated by spaces or commas (Twilio writes
    ``statusCallbackEvent="start end join"``; its SDK joins a list with spaces)."""

    choices: Mapping[str, Any]

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(self.choices)

    def parse(self, name: str, raw: str, base: str | None) -> tuple[Any, ...]:
        words = [w for w in re.split(r"[\s,]+", raw.strip()) if w]
        if not words:
            raise Invalid(f"{name} must list at least one of {', '.join(self.choices)}",
                          self.allowed)
        for word in words:
            if word not in self.choices:
                raise Invalid(f'{name}: "{word}" is not one of {", ".join(self.choices)}',
                              self.allowed)
        return tuple(dict.fromkeys(self.choices[w] for w in words))

    def to_xml(self, value: Any) -> str:
        return value if isinstance(value, str) else " ".join(str(v) for v in value)


TRIM = Choice({"trim-silence": True, "do-not-trim": False})

BEEP_ENTER = Sound(SoundKind.BEEP_ONE)
BEEP_EXIT = Sound(SoundKind.BEEP_TWO)
BEEP = Choice({
    "true": (BEEP_ENTER, BEEP_EXIT),
    "false": (NO_SOUND, NO_SOUND),
    "onEnter": (BEEP_ENTER, NO_SOUND),
    "onExit": (NO_SOUND, BEEP_EXIT),
})


@dataclass(frozen=True)
class CallSid:
    """A CallSid (``CA`` + 32 hex digits): the call a coach is heard by."""

    allowed: tuple[str, ...] = ("CA followed by 32 lower-case hex digits",)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        uuid = sids.uuid_of(raw, sids.CALL)
        if uuid is None:
            raise Invalid(f"{name} must be a CallSid (CA and 32 hex digits)", self.allowed)
        return uuid

    def to_xml(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class WaitUrl:
    """``waitUrl``: a URL, or ``""`` for silence while waiting."""

    allowed: tuple[str, ...] = ('""', *URL.allowed)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        return "" if raw == "" else parse_url(name, raw, base)

    def to_xml(self, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class Label:
    allowed: tuple[str, ...] = ("1-128 printable characters",)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        if not 1 <= len(raw) <= 128 or not raw.isprintable():
            raise Invalid(f"{name} must be 1-128 printable characters", self.allowed)
        return raw

    def to_xml(self, value: Any) -> str:
        return str(value)


# Twilio's and SignalWire's basic voices; both map to the two configured TTS voices.
VOICES = Choice({"man": "MAN", "woman": "WOMAN", "alice": "WOMAN"})
_LANGUAGE = re.compile(r"[a-z]{2,3}-[A-Z]{2}\Z")


@dataclass(frozen=True)
class Language:
    allowed: tuple[str, ...] = ("language-REGION, e.g. en-US",)

    def parse(self, name: str, raw: str, base: str | None) -> str:
        if not _LANGUAGE.match(raw):
            raise Invalid(f"{name} must look like en-US", self.allowed)
        return raw

    def to_xml(self, value: Any) -> str:
        return str(value)


def _hook(values: Mapping[str, Any], url_attr: str, method_attr: str) -> Webhook | None:
    url = values[url_attr]
    return None if url is None else Webhook(url, values[method_attr])


# ----------------------------------------------------------------- media verbs
MAX_SAY_CHARS = 4096


def _say_text(text: str, base: str | None) -> str:
    said = text.strip()
    if not said:
        raise Invalid("Say needs the text to say", (f"text of 1-{MAX_SAY_CHARS} characters",))
    if len(said) > MAX_SAY_CHARS:
        raise Invalid(f"Say text must be at most {MAX_SAY_CHARS} characters",
                      (f"text of 1-{MAX_SAY_CHARS} characters",))
    return said


def _text_url(verb: str) -> Any:
    def parse(text: str, base: str | None) -> str:
        url = text.strip()
        if not url:
            raise Invalid(f"{verb} needs a URL as its text", URL.allowed)
        return parse_url(f"{verb} URL", url, base)

    return parse


SAY = VerbSpec(
    tag="Say",
    attrs=(
        Attr("voice", "voice", VOICES, "WOMAN"),
        Attr("language", "language", Language(), "en-US"),
        Attr("loop", "loop", Int(0, 1000), 1),
    ),
    assemble=lambda v, text: Speak(text, v["voice"], v["language"], v["loop"]),
    text=_say_text,
)

PLAY = VerbSpec(
    tag="Play",
    attrs=(Attr("loop", "loop", Int(0, 1000), 1),),
    assemble=lambda v, url: Play(url, v["loop"]),
    text=_text_url("Play"),
)

PAUSE = VerbSpec(
    tag="Pause",
    attrs=(Attr("length", "length", Int(1, MAX_SECONDS), 1),),
    assemble=lambda v, _: Wait(v["length"]),
)

HANGUP = VerbSpec(tag="Hangup", attrs=(), assemble=lambda v, _: Hangup())

REJECT = VerbSpec(
    tag="Reject",
    attrs=(Attr("reason", "reason", choice_of(HangupReason), HangupReason.REJECTED),),
    assemble=lambda v, _: Hangup(v["reason"]),
)

REDIRECT = VerbSpec(
    tag="Redirect",
    attrs=(Attr("method", "method", METHOD, HttpMethod.POST),),
    assemble=lambda v, url: Redirect(url, v["method"]),
    text=_text_url("Redirect"),
)

# ----------------------------------------------------------------- Gather
GATHER_ATTRS = (
    Attr("action", "action", URL, None),
    Attr("method", "method", METHOD, HttpMethod.POST),
    Attr("timeout", "timeout", Int(1, 600), 5),
    Attr("numDigits", "num_digits", Int(1, 99), 99),
    Attr("finishOnKey", "finish_on_key", Choice({k: k for k in
                                                 ("#", "*", "", *"0123456789")}), "#"),
    Attr("input", "input", Choice({"dtmf": "dtmf"}), "dtmf"),
    Attr("actionOnEmptyResult", "action_on_empty_result", BOOL, False),
)


def gather(values: Mapping[str, Any], prompts: tuple, source_url: str) -> Gather:
    """Twilio: without an action, the digits go to the document's own URL (POST)."""
    action = _hook(values, "action", "method") or Webhook(source_url, values["method"])
    return Gather(
        action=action,
        prompts=prompts,
        timeout=float(values["timeout"]),
        digit_timeout=float(values["timeout"]),
        finish_on_key=values["finishOnKey"],
        num_digits=values["numDigits"],
        skip_action_when_empty=not values["actionOnEmptyResult"],
    )


GATHER = VerbSpec(tag="Gather", attrs=GATHER_ATTRS, assemble=lambda v, _: v)

# ----------------------------------------------------------------- Dial + Conference
DIAL_RECORD = Choice({
    "do-not-record": None, "false": None,
    "true": "mono", "record-from-answer": "mono", "record-from-ringing": "mono",
    "record-from-answer-dual": "dual", "record-from-ringing-dual": "dual",
})

STATUS_EVENT_WORDS = {
    "start": (EventKind.ROOM_STARTED,),
    "end": (EventKind.ROOM_ENDED,),
    "join": (EventKind.MEMBER_JOINED,),
    "leave": (EventKind.MEMBER_LEFT,),
    "mute": (EventKind.MEMBER_MUTED, EventKind.MEMBER_UNMUTED),
    "hold": (EventKind.MEMBER_HELD, EventKind.MEMBER_UNHELD),
    "speaker": (EventKind.SPEAKING_STARTED, EventKind.SPEAKING_STOPPED),
    "modify": (EventKind.MEMBER_COACHING,),
    "announcement": (EventKind.ANNOUNCEMENT_DONE,),
}
RECORDING_EVENT_WORDS = {
    "in-progress": (EventKind.RECORDING_STARTED,),
    "completed": (EventKind.RECORDING_COMPLETED,),
    "absent": (EventKind.RECORDING_FAILED,),
    "failed": (EventKind.RECORDING_FAILED,),
}

DIAL = VerbSpec(
    tag="Dial",
    attrs=(
        Attr("action", "action", URL, None),
        Attr("method", "method", METHOD, HttpMethod.POST),
        Attr("hangupOnStar", "hangup_on_star", BOOL, False),
        Attr("timeLimit", "time_limit", Int(1, MAX_SECONDS), 14_400),
        # The caller's call recorded while it is in the conference: None, "mono" or
        # "dual". With <Conference> the call is answered already, so "from ringing" and
        # "from answer" both begin at the join.
        Attr("record", "record", DIAL_RECORD, None),
        Attr("trim", "trim", TRIM, True),  # Twilio's default for Dial record
        Attr("recordingStatusCallback", "recording_status_callback", URL, None),
        Attr("recordingStatusCallbackMethod", "recording_status_callback_method", METHOD,
             HttpMethod.POST),
        Attr("recordingStatusCallbackEvent", "recording_status_callback_event",
             Words(RECORDING_EVENT_WORDS), None),
        # These concern dialing a number; with <Conference> they have no effect (README).
        Attr("timeout", "timeout", Int(1, 600), 30),
        Attr("callerId", "caller_id", Label(), ""),
        Attr("answerOnBridge", "answer_on_bridge", BOOL, False),
        Attr("ringTone", "ring_tone", Label(), ""),
    ),
    assemble=lambda v, _: v,
)

CONFERENCE = VerbSpec(
    tag="Conference",
    attrs=(
        Attr("muted", "muted", BOOL, False),
        Attr("beep", "beep", BEEP, (BEEP_ENTER, BEEP_EXIT)),
        Attr("startConferenceOnEnter", "start_conference_on_enter", BOOL, True),
        Attr("endConferenceOnExit", "end_conference_on_exit", BOOL, False),
        Attr("waitUrl", "wait_url", WaitUrl(), None),
        Attr("waitMethod", "wait_method", METHOD, HttpMethod.POST),
        Attr("maxParticipants", "max_participants", Int(2, 250), 250),
        Attr("record", "record", Choice({"do-not-record": False, "record-from-start": True}),
             False),
        # Twilio's default: a conference recording's leading and trailing silence is cut.
        Attr("trim", "trim", TRIM, True),
        Attr("coach", "coach", CallSid(), None),
        Attr("statusCallback", "status_callback", URL, None),
        Attr("statusCallbackEvent", "status_callback_event", Words(STATUS_EVENT_WORDS), None),
        Attr("statusCallbackMethod", "status_callback_method", METHOD, HttpMethod.POST),
        Attr("eventCallbackUrl", "event_callback_url", URL, None),
        Attr("recordingStatusCallback", "recording_status_callback", URL, None),
        Attr("recordingStatusCallbackEvent", "recording_status_callback_event",
             Words(RECORDING_EVENT_WORDS), None),
        Attr("recordingStatusCallbackMethod", "recording_status_callback_method", METHOD,
             HttpMethod.POST),
        Attr("participantLabel", "participant_label", Label(), ""),
        Attr("jitterBufferSize", "jitter_buffer_size",
             Choice({w: w for w in ("off", "small", "medium", "large")}), "large"),
    ),
    assemble=lambda v, room: (v, room),
    text=lambda text, base: room_name(text),
)

_ROOM = re.compile(r"[A-Za-z0-9_.\-]{1,100}\Z")


def room_name(text: str) -> str:
    room = text.strip()
    if not room:
        raise Invalid("Conference needs a room name as its text",
                      ("1-100 characters of A-Z a-z 0-9 - _ .",))
    if not _ROOM.match(room):
        raise Invalid("room name must be 1-100 characters of letters, digits, '-', '_' and '.' "
                      "(FreeSWITCH room names; spaces are not allowed)",
                      ("1-100 characters of A-Z a-z 0-9 - _ .",))
    return room


# ----------------------------------------------------------------- what is refused, and why
_SPEECH = "speech recognition is not supported by this controller (DTMF only)"
REFUSED: dict[str, dict[str, str]] = {
    "Play": {"digits": "Play digits (sending DTMF) is not supported by this controller"},
    "Gather": {name: _SPEECH for name in (
        "hints", "language", "partialResultCallback", "partialResultCallbackMethod",
        "profanityFilter", "speechTimeout", "speechModel", "enhanced", "bargeIn", "debug")},
    "Dial": {
        "recordingTrack": "Dial record records both directions (record-from-answer-dual "
                          "puts them in two channels)",
        "sequential": "this controller dials only <Conference>",
        "referUrl": "SIP REFER is not supported",
        "referMethod": "SIP REFER is not supported",
        "events": "this controller dials only <Conference>",
    },
    "Conference": {
        "region": "this controller is the conference's only region",
        "recordingConfigurationId": "recording configurations are not supported",
    },
}
# Values refused with their reason (attribute -> raw value -> reason).
REFUSED_VALUES: dict[tuple[str, str], dict[str, str]] = {
    ("Gather", "input"): {"speech": _SPEECH, "dtmf speech": _SPEECH, "speech dtmf": _SPEECH},
}

ANSWER_VERBS: dict[str, VerbSpec] = {
    s.tag: s for s in (SAY, PLAY, PAUSE, HANGUP, REJECT, REDIRECT, GATHER, DIAL)
}
GATHER_CHILDREN: dict[str, VerbSpec] = {s.tag: s for s in (SAY, PLAY, PAUSE)}
SOUND_VERBS: dict[str, VerbSpec] = {s.tag: s for s in (SAY, PLAY, PAUSE, REDIRECT)}
# cXML elements this controller does not run.
UNSUPPORTED_VERBS = {
    "Record": "Record (voicemail-style recording) is not supported by this controller",
    "Enqueue": "queues are not supported by this controller",
    "Leave": "queues are not supported by this controller",
    "Connect": "Connect (streams, rooms) is not supported by this controller",
    "Start": "Start (streams, transcription) is not supported by this controller",
    "Stop": "Stop (streams) is not supported by this controller",
    "Pay": "Pay is not supported by this controller",
    "Refer": "SIP REFER is not supported by this controller",
    "Echo": "Echo is not supported by this controller",
    "Sms": "messages are not supported by this controller",
    "Message": "messages are not supported by this controller",
    "Prompt": "Pay is not supported by this controller",
}
DIAL_NOUNS_REFUSED = {
    "Number": "this controller dials only <Conference> (a number: use the REST Participants "
              "create of the conference)",
    "Sip": "this controller dials only <Conference>",
    "Client": "this controller dials only <Conference>",
    "Queue": "queues are not supported by this controller",
    "Sim": "this controller dials only <Conference>",
    "Application": "this controller dials only <Conference>",
}
