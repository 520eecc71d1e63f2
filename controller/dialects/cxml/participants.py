"""Twilio's Participants create (``POST .../Conferences/{sid or FriendlyName}/Participants.json``)
as a dial: its form parameters checked one by one (errors name the parameter), the
cXML document the answered leg runs (``<Dial><Conference>`` with the parameters as
attributes, so the leg joins exactly as a ``<Conference>`` of the same attributes
would), and the participant call's own status callbacks. Pure.

Parameter                               becomes
From / CallerId, CallerDisplayName      the leg's caller id (CallerId wins, as in Twilio)
To                                      the destination (a number, sip:..., a user)
Timeout (5-600, default 60)             ring time
TimeLimit                               the call's time limit (FreeSWITCH sched_hangup)
Muted, Beep, StartConferenceOnEnter,    <Conference> muted, beep, startConferenceOnEnter,
EndConferenceOnExit, WaitUrl/Method,    endConferenceOnExit, waitUrl/Method,
MaxParticipants, Label, JitterBufferSize maxParticipants, participantLabel, jitterBufferSize
Coaching + CallSidToCoach               <Conference coach>
ConferenceRecord, ConferenceTrim        <Conference record, trim>
ConferenceStatusCallback*               <Conference statusCallback*> (the creator's only)
ConferenceRecordingStatusCallback*      <Conference recordingStatusCallback*>
StatusCallback*, StatusCallbackEvent    the participant call's progress: initiated,
                                        answered, completed (busy, no-answer, failed...)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from controller.dialects.cxml.progress import CALL_EVENTS
from controller.dialects.cxml.schema import CONFERENCE, METHOD, URL, Words, room_name
from controller.model import HttpMethod, Webhook
from controller.xml.values import Int, Invalid

DEFAULT_RING_SECONDS = 60  # Twilio's Timeout default
MAX_TIME_LIMIT = 86_400

# Twilio's parameter -> the <Conference> attribute it sets.
CONFERENCE_PARAMS = {
    "Muted": "muted", "Beep": "beep",
    "StartConferenceOnEnter": "startConferenceOnEnter",
    "EndConferenceOnExit": "endConferenceOnExit",
    "WaitUrl": "waitUrl", "WaitMethod": "waitMethod",
    "MaxParticipants": "maxParticipants",
    "ConferenceRecord": "record", "ConferenceTrim": "trim",
    "ConferenceStatusCallback": "statusCallback",
    "ConferenceStatusCallbackMethod": "statusCallbackMethod",
    "ConferenceStatusCallbackEvent": "statusCallbackEvent",
    "ConferenceRecordingStatusCallback": "recordingStatusCallback",
    "ConferenceRecordingStatusCallbackMethod": "recordingStatusCallbackMethod",
    "ConferenceRecordingStatusCallbackEvent": "recordingStatusCallbackEvent",
    "Label": "participantLabel", "JitterBufferSize": "jitterBufferSize",
    "CallSidToCoach": "coach",
}
# Twilio's ConferenceRecord also takes true/false.
_RECORD_WORDS = {"true": "record-from-start", "false": "do-not-record"}
OWN_PARAMS = ("From", "To", "CallerId", "CallerDisplayName", "Timeout", "TimeLimit",
              "Coaching", "StatusCallback", "StatusCallbackMethod", "StatusCallbackEvent",
              "EarlyMedia")
ACCEPTED = (*OWN_PARAMS, *CONFERENCE_PARAMS)
# Parameters Twilio defines that this controller cannot honour, with the reason.
REFUSED = {
    "Record": "recording the participant's call leg is not supported; record the conference "
              "(ConferenceRecord=record-from-start)",
    "RecordingChannels": "see Record", "RecordingStatusCallback": "see Record",
    "RecordingStatusCallbackMethod": "see Record", "RecordingStatusCallbackEvent": "see Record",
    "RecordingTrack": "see Record",
    "SipAuthUsername": "SIP authentication of dialled legs is the gateway's ([outbound])",
    "SipAuthPassword": "SIP authentication of dialled legs is the gateway's ([outbound])",
    "Region": "this controller is the conference's only region",
    "Byoc": "trunks are chosen by [outbound] gateway",
    "MachineDetection": "answering machine detection is not available",
    "AmdStatusCallback": "answering machine detection is not available",
    "Trim": "see Record (ConferenceTrim trims the conference recording)",
    "Hold": "Participants create has no Hold in Twilio's API; update the participant "
            "(Hold=true) once it has joined",
}


class ParameterError(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class ParticipantDial:
    """What a Participants create asks for."""

    to: str
    from_number: str
    from_name: str
    document: str  # the cXML the answered leg runs
    ring_seconds: int
    time_limit: int
    status_hook: Webhook | None  # the participant call's StatusCallback
    status_events: frozenset[str]
    label: str


def _bool(params: Mapping[str, str], name: str) -> bool | None:
    raw = params.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise ParameterError(name, f"must be true or false, not {raw[:40]!r}")
    return raw.lower() == "true"


def int_param(params: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return Int(low, high).parse(name, raw, None)
    except Invalid as exc:
        raise ParameterError(name, exc.message) from None


def _attr_kind(attribute: str) -> Any:
    return next(a.kind for a in CONFERENCE.attrs if a.xml == attribute)


def participant_dial(params: Mapping[str, str], room: str) -> ParticipantDial:
    """The form of a Participants create (lists already joined with spaces) -> the dial."""
    for name in params:
        if name in REFUSED:
            raise ParameterError(name, REFUSED[name])
        if name not in ACCEPTED:
            raise ParameterError(name, "is not a parameter of Participants create here; it "
                                         "takes " + ", ".join(ACCEPTED))
    for name in ("From", "To"):
        if not params.get(name, "").strip():
            raise ParameterError(name, "is required")
    if _bool(params, "EarlyMedia"):
        raise ParameterError("EarlyMedia", "a dialled leg joins its conference once "
                                             "answered; its early media is not passed on")
    try:
        room = room_name(room)
    except Invalid as exc:
        raise ParameterError("FriendlyName", exc.message) from None

    attributes: dict[str, str] = {}
    for name, attribute in CONFERENCE_PARAMS.items():
        if name not in params:
            continue
        raw = params[name]
        if name == "ConferenceRecord":
            raw = _RECORD_WORDS.get(raw, raw)
        try:
            _attr_kind(attribute).parse(name, raw, None)
        except Invalid as exc:
            raise ParameterError(name, exc.message) from None
        attributes[attribute] = raw
    coaching = _bool(params, "Coaching")
    if coaching and "coach" not in attributes:
        raise ParameterError("CallSidToCoach", "Coaching=true needs the CallSid of the "
                                                 "participant to coach")
    if not coaching and "coach" in attributes:
        raise ParameterError("CallSidToCoach", "needs Coaching=true")

    status_hook, status_events = status_callback(params)
    return ParticipantDial(
        to=params["To"].strip(),
        from_number=(params.get("CallerId") or params["From"]).strip(),
        from_name=params.get("CallerDisplayName", "").strip(),
        document=conference_document(room, attributes),
        ring_seconds=int_param(params, "Timeout", 5, 600, DEFAULT_RING_SECONDS),
        time_limit=int_param(params, "TimeLimit", 1, MAX_TIME_LIMIT, 0),
        status_hook=status_hook, status_events=status_events,
        label=attributes.get("participantLabel", ""),
    )


def conference_document(room: str, attributes: Mapping[str, str]) -> str:
    """``<Response><Dial><Conference ...>room</Conference></Dial></Response>``."""
    response = etree.Element("Response")
    dial = etree.SubElement(response, "Dial")
    conference = etree.SubElement(dial, "Conference", dict(attributes))
    conference.text = room
    return etree.tostring(response, encoding="unicode")


def status_callback(params: Mapping[str, str]) -> tuple[Webhook | None, frozenset[str]]:
    """StatusCallback, StatusCallbackMethod, StatusCallbackEvent (default: completed)."""
    status_events = frozenset({"completed"})
    if "StatusCallbackEvent" in params:
        words = [w for w in params["StatusCallbackEvent"].replace(",", " ").split() if w]
        try:
            Words({w: w for w in CALL_EVENTS}).parse("StatusCallbackEvent", " ".join(words),
                                                     None)
        except Invalid as exc:
            raise ParameterError("StatusCallbackEvent", exc.message) from None
        status_events = frozenset(words)
    status_hook = None
    if params.get("StatusCallback"):
        url = parsed(URL, "StatusCallback", params["StatusCallback"])
        method = parsed(METHOD, "StatusCallbackMethod", params.get("StatusCallbackMethod",
                                                                     "POST"))
        if not url.lower().startswith(("http://", "https://")):
            raise ParameterError("StatusCallback", "must be an absolute http(s) URL")
        status_hook = Webhook(url, HttpMethod(method))
    return status_hook, status_events


def parsed(kind: Any, name: str, raw: str) -> Any:
    try:
        return kind.parse(name, raw, None)
    except Invalid as exc:
        raise ParameterError(name, exc.message) from None
