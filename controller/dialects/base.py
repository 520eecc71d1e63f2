"""What a face supplies to the engine. The engine calls these; it never names a face.

A dialect turns the engine's neutral requests and events into its cloud's wire
(parameter names, form or JSON bodies, signatures) and its cloud's markup into
the neutral model. Methods a face has no use for keep the defaults here (a
face without markup, such as Telnyx Call Control, refuses to parse).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.conference.events import (
    CallFacts,
    CallStatus,
    EngineEvent,
    MemberFacts,
    RecordingFacts,
)
from controller.model import Document, Webhook


class Purpose(str, enum.Enum):
    """Why the engine requests a document or notifies the application about a call."""

    ANSWER = "answer"  # the call arrived: what should it do?
    REDIRECT = "redirect"  # <Redirect> or a live redirect
    ACTION = "action"  # a verb ended (left a room, gathered digits): what next?
    SOUND = "sound"  # a URL behind an enter/exit/wait sound
    HANGUP = "hangup"  # the call ended (answer-time hangup URL)


@dataclass(frozen=True)
class Payload:
    """A request body: form fields (GET: query parameters) or a JSON object."""

    fields: Mapping[str, Any]
    json: bool = False
    # A webhook whose reply the face acts on: the name of the handler it registered in
    # ``attach`` (``Webhooks.reply_handlers``); "": the reply is not read.
    reply: str = ""


@dataclass(frozen=True)
class RequestContext:
    """What the engine knows when it requests a document or notifies the application."""

    purpose: Purpose
    call: CallFacts
    status: CallStatus
    member: MemberFacts | None = None
    recording: RecordingFacts | None = None
    digits: str | None = None  # gathered digits (None: not a gather result)
    terminator: str = ""  # the key that ended the gather ("": none, e.g. max digits reached)
    hangup_cause: str = ""
    error: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    tag: str | None = None  # the call's tag (SetTag), for faces that send one
    times: CallTimes | None = None  # HANGUP: FreeSWITCH's times of the call, when known


@dataclass(frozen=True)
class CallTimes:
    """FreeSWITCH's times of a call's channel, µs since the epoch (0: not happened or not
    known): Caller-Channel-Created-Time, -Answered-Time and -Hangup-Time of its events
    (07d_originate_to_socket_outbound.txt: the connect reply and CHANNEL_HANGUP_COMPLETE)."""

    created_us: int = 0
    answered_us: int = 0
    hangup_us: int = 0


def channel_times(fields: Any, known: CallTimes | None = None) -> CallTimes:
    """The times an event (anything with ``get(header)``) shows, over those ``known``."""
    known = known or CallTimes()

    def read(name: str, before: int) -> int:
        value = fields.get(f"Caller-Channel-{name}-Time") or ""
        return int(value) if value.isdigit() and int(value) > 0 else before

    return CallTimes(read("Created", known.created_us), read("Answered", known.answered_us),
                     read("Hangup", known.hangup_us))


class UnsupportedMarkup(Exception):
    """This face has no markup (its calls take REST commands)."""


class Dialect:
    """Base class of every face; subclasses override what their cloud does differently."""

    name: str = ""
    # False: the face has no markup; its calls fetch no document and wait, parked, for
    # live commands (CallSession.await_command) until they hang up.
    has_markup: bool = True
    # Events a call of this face needs on its socket besides the engine's (e.g. DTMF).
    session_events: tuple[str, ...] = ()
    # Extra request headers a document fetch expects (e.g. Accept for JSON faces).
    document_headers: Mapping[str, str] = {}

    # ------------------------------------------------------------ markup
    def parse_document(self, body: bytes, source_url: str, *, max_bytes: int,
                       max_depth: int) -> Document:
        raise UnsupportedMarkup(f"the {self.name} face has no markup")

    def parse_sound_document(self, body: bytes, source_url: str, *, max_bytes: int,
                             max_depth: int) -> Document:
        raise UnsupportedMarkup(f"the {self.name} face has no markup")

    # ------------------------------------------------------------ requests
    def call_id(self, call_uuid: str) -> str:
        """The face's own id for a call (default: FreeSWITCH's UUID)."""
        return call_uuid

    def request_payload(self, context: RequestContext) -> Payload:
        """Body of an answer/redirect/action/sound/hangup request."""
        raise NotImplementedError

    def event_payload(self, event: EngineEvent, hook: Webhook) -> Payload | None:
        """Body of the webhook reporting ``event`` to ``hook``; None: this cloud does not
        report this event to this kind of hook."""
        raise NotImplementedError

    def call_event_hook(self, settings: Any, call: CallFacts) -> Webhook | None:
        """Where this call's call-level events (``call.initiated``, ``call.ringing``,
        ``call.answered``, ``call.ended``) go, each as ``event_payload`` makes it; None
        (the default): this face reports none, and the engine builds none."""
        return None

    def call_state(self, call_uuid: str) -> dict[str, str]:
        """What this face keeps about a call beyond the engine's facts, as short strings
        for the call journal (so a restarted controller reports the call as the face
        would have); {} (the default): nothing."""
        return {}

    def restore_call_state(self, call_uuid: str, state: Mapping[str, str]) -> None:
        """A journalled call taken over by this (restarted) controller: ``state`` is what
        ``call_state`` gave for it. The default keeps nothing."""

    def idle_event(self, call: Any, event: Any) -> None:
        """An event of a call that waits for commands (faces without markup only; the
        call's own greenlet calls this): report it if the cloud does (e.g. DTMF)."""

    # ------------------------------------------------------------ signatures
    def signature_headers(self, settings: Any, method: str, url: str, payload: Payload,
                          body: bytes) -> dict[str, str]:
        """Headers that prove the request comes from us, made at each attempt (a
        signature may cover a timestamp). ``url`` is the URL as sent (GET: with its
        query), ``body`` the bytes sent (empty for GET)."""
        return {}

    # ------------------------------------------------------------ service
    def attach(self, service: Any) -> None:
        """Called once per controller service, before it starts (before the outbox is sent
        again): a face that handles webhook replies registers its handlers here
        (``service.webhooks.reply_handlers``)."""

    # ------------------------------------------------------------ REST
    def rest_blueprint(self, service: Any) -> Any:
        """A Flask blueprint with the cloud's REST shapes, or None."""
        return None
