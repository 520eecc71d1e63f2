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
    """An application URL and the method to reach it with."""

    url: str
    method: HttpMethod = HttpMethod.POST


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


@dataclass(frozen=True)
class ConferenceJoin:
    """Join a room; everything a Plivo <Conference> can ask for, in neutral terms."""

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


Verb = Speak | Play | Wait | Hangup | Redirect | ConferenceJoin
MEDIA_VERBS = (Play, Speak, Wait)


@dataclass(frozen=True)
class Document:
    """A parsed answer/action document: its verbs in order and where it came from."""

    verbs: tuple[Verb, ...] = field(default_factory=tuple)
    source_url: str = ""
