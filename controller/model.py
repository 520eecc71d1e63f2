"""Dialect-neutral call verbs.

Every markup dialect (Plivo XML now; cXML/TwiML, BXML or a REST join later)
parses into these frozen objects, and the engine only ever sees these. Nothing
here knows XML, HTTP or FreeSWITCH. URLs are absolute (resolved by the parser
against the document's own URL), numbers are numbers, modes are enums.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class HttpMethod(str, enum.Enum):
    GET = "GET"
    POST = "POST"


@dataclass(frozen=True)
class Webhook:
    """An application URL and how to reach it: method, and where a cloud offers them,
    basic-auth credentials, a fallback URL (tried when this one fails) with its own
    credentials, and a timeout of its own (seconds; None: the configured one)."""

    url: str
    method: HttpMethod = HttpMethod.POST
    username: str = ""
    password: str = ""
    fallback_url: str = ""
    fallback_method: HttpMethod = HttpMethod.POST
    fallback_username: str = ""
    fallback_password: str = ""
    timeout: float | None = None

    @property
    def fallback(self) -> Webhook | None:
        if not self.fallback_url:
            return None
        return Webhook(self.fallback_url, self.fallback_method, self.fallback_username,
                       self.fallback_password, timeout=self.timeout)


class SoundKind(str, enum.Enum):
    NONE = "none"
    BEEP_ONE = "beep:1"
    BEEP_TWO = "beep:2"
    URL = "url"  # a URL whose document (Play/Speak/Wait only) becomes the sound


@dataclass(frozen=True)
class Sound:
    kind: SoundKind = SoundKind.NONE
    url: str | None = None  # set only when kind is URL
    method: HttpMethod = HttpMethod.POST

    @property
    def is_none(self) -> bool:
        return self.kind is SoundKind.NONE


NO_SOUND = Sound()


class RecordFormat(str, enum.Enum):
    MP3 = "mp3"
    WAV = "wav"


class TranscriptionType(str, enum.Enum):
    AUTO = "auto"
    HYBRID = "hybrid"


class HangupReason(str, enum.Enum):
    REJECTED = "rejected"
    BUSY = "busy"


@dataclass(frozen=True)
class Speak:
    text: str
    voice: str = "WOMAN"
    language: str = "en-US"
    loop: int = 1  # 0 = until the call ends


@dataclass(frozen=True)
class Play:
    url: str
    loop: int = 1  # 0 = until the call ends


@dataclass(frozen=True)
class Wait:
    length: int = 1  # seconds
    silence: bool = False
    min_silence: int = 2000  # ms, with silence=true
    beep: bool = False


@dataclass(frozen=True)
class Hangup:
    reason: HangupReason | None = None
    schedule: int = 0  # seconds; 0 = now


@dataclass(frozen=True)
class Redirect:
    url: str
    method: HttpMethod = HttpMethod.POST
    # The whole webhook when the markup gives more than a URL and a method (credentials,
    # a fallback URL, a timeout: BXML's redirectFallbackUrl, username...).
    hook: Webhook | None = None


@dataclass(frozen=True)
class SetTag:
    """Set (or clear, with None) the call's tag: a string the face sends with every later
    request about this call (BXML's <Tag> and the tag attributes of its verbs)."""

    tag: str | None = None


class EventKind(str, enum.Enum):
    """The neutral event vocabulary (DESIGN §8): what the engine reports. Each dialect
    maps these to its cloud's names, or drops what its cloud does not send."""

    ROOM_CREATED = "room.created"
    ROOM_STARTED = "room.started"  # the conference really begins: a starter is in
    ROOM_ENDED = "room.ended"
    MEMBER_JOINED = "member.joined"
    MEMBER_LEFT = "member.left"
    MEMBER_MUTED = "member.muted"
    MEMBER_UNMUTED = "member.unmuted"
    MEMBER_HELD = "member.held"
    MEMBER_UNHELD = "member.unheld"
    MEMBER_COACHING = "member.coaching"  # coaching on or off (EngineEvent.coaching)
    SPEAKING_STARTED = "member.speaking.started"
    SPEAKING_STOPPED = "member.speaking.stopped"
    FLOOR_CHANGED = "member.floor"  # this member got the floor
    DIGITS_MATCHED = "member.digits"
    ANNOUNCEMENT_DONE = "room.announcement.done"
    RECORDING_STARTED = "recording.started"
    RECORDING_PAUSED = "recording.paused"
    RECORDING_RESUMED = "recording.resumed"
    RECORDING_COMPLETED = "recording.completed"
    RECORDING_FAILED = "recording.failed"
    TRANSCRIPTION_DONE = "transcription.done"
    CALL_INITIATED = "call.initiated"
    CALL_RINGING = "call.ringing"
    CALL_ANSWERED = "call.answered"
    CALL_ENDED = "call.ended"


MEMBER_STATE_EVENTS = frozenset({
    EventKind.MEMBER_MUTED, EventKind.MEMBER_UNMUTED, EventKind.MEMBER_HELD,
    EventKind.MEMBER_UNHELD, EventKind.SPEAKING_STARTED, EventKind.SPEAKING_STOPPED,
    EventKind.MEMBER_COACHING,
})
RECORDING_EVENTS = frozenset({
    EventKind.RECORDING_STARTED, EventKind.RECORDING_PAUSED, EventKind.RECORDING_RESUMED,
    EventKind.RECORDING_COMPLETED, EventKind.RECORDING_FAILED,
})


@dataclass(frozen=True)
class RoomHooks:
    """Room-level webhooks: they belong to the room's creator (first member wins, as every
    cloud documents) and receive the events in ``events`` for every member; ``tag``
    travels with each of them (Bandwidth's tag, Telnyx's client_state)."""

    hook: Webhook
    events: frozenset[EventKind] = frozenset()
    tag: str = ""


@dataclass(frozen=True)
class StayRecording:
    """Record this call, what it says and what it hears, while it is in the room (cXML
    ``<Dial record>``): FreeSWITCH's ``uuid_record`` on the call from its join to its
    leaving. ``dual``: two channels (the caller left, what it hears right)."""

    dual: bool = False
    callback: Webhook | None = None
    events: frozenset[EventKind] = frozenset()  # empty: completed and failed
    trim_silence: bool = False


@dataclass(frozen=True)
class ConferenceJoin:
    """Join a room; every seed attribute of the four clouds, in neutral terms.

    Member-level: ``callback`` receives this member's joined/left/digits events, its
    floor events when ``floor_event``, and any of ``callback_events``; recordings this
    member starts report to ``recording_callback`` (or ``callback``), limited to
    ``recording_events`` when that is not empty. Room-level: ``room_hooks`` and
    ``record`` belong to the creator; later members' are ignored.
    """

    room: str
    muted: bool = False
    enter_sound: Sound = NO_SOUND
    exit_sound: Sound = NO_SOUND
    start_on_enter: bool = True
    end_on_exit: bool = False
    stay_alone: bool = True
    wait_sound: Webhook | None = None  # URL with Play/Speak/Wait played while waiting
    max_members: int = 20
    record: bool = False
    record_format: RecordFormat = RecordFormat.MP3
    time_limit: int = 0  # seconds; 0 = no limit
    hangup_on_star: bool = False
    action: Webhook | None = None
    redirect: bool = True
    callback: Webhook | None = None
    transcription_type: TranscriptionType | None = None
    transcription: Webhook | None = None
    digits_match: tuple[str, ...] = ()
    floor_event: bool = False
    relay_dtmf: bool = False
    callback_events: frozenset[EventKind] = frozenset()
    recording_callback: Webhook | None = None
    recording_events: frozenset[EventKind] = frozenset()
    record_min_members: int = 1  # cXML record-from-start: begins once two are in
    # Leading and trailing silence cut from the finished recording before it is reported
    # (cXML trim="trim-silence"); WAV only (controller.conference.silence).
    trim_silence: bool = False
    stay_recording: StayRecording | None = None  # this call's own recording while in the room
    room_hooks: RoomHooks | None = None
    hold: bool = False  # join on hold (hears nothing, is not heard)
    hold_sound: str = ""  # played to the member while held
    coach: tuple[str, ...] = ()  # call ids: only these members hear this one
    label: str = ""  # the application's name for this member (cXML participantLabel)
    member_time_limit: int = 0  # seconds this member may stay (cXML Dial timeLimit); 0 = none
    wait_music: bool = True  # False: silence while waiting for a starter (cXML waitUrl="")
    # A room has one coach at a time: this member's coaching ends any other's (Bandwidth).
    single_coach: bool = False


@dataclass(frozen=True)
class Gather:
    """Collect DTMF digits, playing ``prompts`` (Play/Speak/Wait) meanwhile, then request
    ``action`` with the digits (Plivo GetDigits/GetInput, cXML Gather, BXML Gather)."""

    action: Webhook | None = None
    prompts: tuple[Speak | Play | Wait, ...] = ()
    timeout: float = 5.0  # seconds for the first digit
    digit_timeout: float = 2.0  # seconds between digits
    finish_on_key: str = "#"  # "" = none
    num_digits: int = 99  # stop after this many digits
    valid_digits: str = "1234567890*#"
    retries: int = 1  # tries in all: prompts, then input; again after no or invalid input
    redirect: bool = True  # the action's document replaces the rest of this one
    # Nothing pressed: go on with the next verb (Plivo, cXML) instead of requesting action.
    skip_action_when_empty: bool = True
    invalid_sound: str = ""  # URL of a sound played after a try without valid input
    beep: bool = False  # a beep after the prompts, before the input
    log_digits: bool = True  # False: the digits never appear in our logs (PINs)
    # Fixed parameters the face adds to the action request (Plivo GetInput: InputType).
    action_extra: tuple[tuple[str, str], ...] = ()


Verb = Speak | Play | Wait | Hangup | Redirect | ConferenceJoin | Gather | SetTag
MEDIA_VERBS = (Play, Speak, Wait)


@dataclass(frozen=True)
class Document:
    """A parsed answer/action document: its verbs in order and where it came from."""

    verbs: tuple[Verb, ...] = field(default_factory=tuple)
    source_url: str = ""


# ---------------------------------------------------------------- inside a room
# Verbs a room runs for all its members (BXML returned to a conference webhook): media
# heard by every member, and the room's recording.


@dataclass(frozen=True)
class StartRoomRecording:
    format: RecordFormat = RecordFormat.WAV


@dataclass(frozen=True)
class StopRoomRecording:
    pass


@dataclass(frozen=True)
class PauseRoomRecording:
    pass


@dataclass(frozen=True)
class ResumeRoomRecording:
    pass


RoomVerb = (Play | Speak | StartRoomRecording | StopRoomRecording | PauseRoomRecording
            | ResumeRoomRecording)


@dataclass(frozen=True)
class RoomScript:
    """Verbs to run inside a room, in order, one after the other."""

    verbs: tuple[RoomVerb, ...] = ()
    source_url: str = ""
