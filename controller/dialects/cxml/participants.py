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

from controller.dialects.cxml.schema import CONFERENCE, METHOD, URL, Words, room_name
from controller.dialer import Outcome
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
CALL_EVENTS = ("initiated", "answered", "completed")
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
    "Trim": "trim-silence needs post-processing this controller does not do",
    "Hold": "Participants create has no Hold in Twilio's API; update the participant "
            "(Hold=true) once it has joined",
}


class ParticipantError(ValueError):
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
        raise ParticipantError(name, f"must be true or false, not {raw[:40]!r}")
    return raw.lower() == "true"


def _int(params: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return Int(low, high).parse(name, raw, None)
    except Invalid as exc:
        raise ParticipantError(name, exc.message) from None


def _attr_kind(attribute: str) -> Any:
    return next(a.kind for a in CONFERENCE.attrs if a.xml == attribute)


def participant_dial(params: Mapping[str, str], room: str) -> ParticipantDial:
    """The form of a Participants create (lists already joined with spaces) -> the dial."""
    for name in params:
        if name in REFUSED:
            raise ParticipantError(name, REFUSED[name])
        if name not in ACCEPTED:
            raise ParticipantError(name, "is not a parameter of Participants create here; it "
                                         "takes " + ", ".join(ACCEPTED))
    for name in ("From", "To"):
        if not params.get(name, "").strip():
            raise ParticipantError(name, "is required")
    if _bool(params, "EarlyMedia"):
        raise ParticipantError("EarlyMedia", "a dialled leg joins its conference once "
                                             "answered; its early media is not passed on")
    try:
        room = room_name(room)
    except Invalid as exc:
        raise ParticipantError("FriendlyName", exc.message) from None

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
            raise ParticipantError(name, exc.message) from None
        attributes[attribute] = raw
    coaching = _bool(params, "Coaching")
    if coaching and "coach" not in attributes:
        raise ParticipantError("CallSidToCoach", "Coaching=true needs the CallSid of the "
                                                 "participant to coach")
    if not coaching and "coach" in attributes:
        raise ParticipantError("CallSidToCoach", "needs Coaching=true")

    status_events = frozenset({"completed"})
    if "StatusCallbackEvent" in params:
        words = [w for w in params["StatusCallbackEvent"].replace(",", " ").split() if w]
        if "ringing" in words:
            raise ParticipantError("StatusCallbackEvent", "ringing cannot be reported: the "
                                   "controller learns only whether the call was answered")
        try:
            Words({w: w for w in CALL_EVENTS}).parse("StatusCallbackEvent", " ".join(words),
                                                     None)
        except Invalid as exc:
            raise ParticipantError("StatusCallbackEvent", exc.message) from None
        status_events = frozenset(words)
    status_hook = None
    if params.get("StatusCallback"):
        try:
            url = URL.parse("StatusCallback", params["StatusCallback"], None)
            method = METHOD.parse("StatusCallbackMethod",
                                  params.get("StatusCallbackMethod", "POST"), None)
        except Invalid as exc:
            raise ParticipantError("StatusCallback" if "Method" not in exc.message
                                   else "StatusCallbackMethod", exc.message) from None
        if not url.lower().startswith(("http://", "https://")):
            raise ParticipantError("StatusCallback", "must be an absolute http(s) URL")
        status_hook = Webhook(url, HttpMethod(method))
    return ParticipantDial(
        to=params["To"].strip(),
        from_number=(params.get("CallerId") or params["From"]).strip(),
        from_name=params.get("CallerDisplayName", "").strip(),
        document=conference_document(room, attributes),
        ring_seconds=_int(params, "Timeout", 5, 600, DEFAULT_RING_SECONDS),
        time_limit=_int(params, "TimeLimit", 1, MAX_TIME_LIMIT, 0),
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


# The participant call's CallStatus for a dial that was not answered (Twilio's words).
UNANSWERED_STATUS = {Outcome.BUSY: "busy", Outcome.NO_ANSWER: "no-answer",
                     Outcome.FAILED: "failed", Outcome.CANCELLED: "canceled"}
