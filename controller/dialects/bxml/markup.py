"""Strict, safe parsing of BXML ``<Response>`` documents into the neutral model.

``parse_call_document`` reads what a call runs (answer, redirect and gather
documents); ``parse_room_document`` reads what a conference runs (BXML returned to
a conference webhook, or put with the REST API), where Bandwidth allows only
PlayAudio, SpeakSentence, StartRecording, StopRecording, PauseRecording and
ResumeRecording. Either returns the document or raises one ``XmlError`` listing
every problem with its line and column; a document with a verb that may not stand
where it is, is refused whole (as Bandwidth does).

Safety as in the Plivo face: size checked first, no DOCTYPE (so no entities), libxml2
without DTD loading or network, depth limited, bytes checked against the encoding.
Attribute values: ``controller.dialects.bxml.schema``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from lxml import etree

from controller.dialects.bxml import ids
from controller.dialects.bxml.schema import (
    CALL_VERBS,
    GATHER_VERBS,
    MAX_SPEAK_CHARS,
    ROOM_VERBS,
    UNSUPPORTED_VERBS,
    VOICES,
    Issue,
    Spec,
    check,
)
from controller.model import (
    ConferenceJoin,
    Document,
    EventKind,
    Gather,
    Hangup,
    PauseRoomRecording,
    Play,
    Redirect,
    ResumeRoomRecording,
    RoomHooks,
    RoomScript,
    SetTag,
    Speak,
    StartRoomRecording,
    StopRoomRecording,
    Wait,
    Webhook,
)
from controller.xml import positions
from controller.xml.errors import XmlError, XmlProblem
from controller.xml.values import Invalid, parse_room, parse_text_url
from controller.xml.verbs import MAX_PROBLEMS, PARSER

DEFAULT_MAX_BYTES = 65_536  # Bandwidth: "The maximum size of a BXML document is 64 KB"
DEFAULT_MAX_DEPTH = 32
MAX_MEMBERS = 20  # Bandwidth: at most 20 calls in a conference
MAX_CONFERENCE_SECONDS = 86_400  # Bandwidth: a conference lasts at most 24 hours
# What a conference's creator hears about (Bandwidth's conference webhooks).
ROOM_EVENTS = frozenset({
    EventKind.ROOM_CREATED, EventKind.MEMBER_JOINED, EventKind.MEMBER_LEFT,
    EventKind.ROOM_ENDED, EventKind.RECORDING_COMPLETED, EventKind.RECORDING_FAILED,
})
ROOM_CONTEXT = ("a conference's BXML (only PlayAudio, SpeakSentence, StartRecording, "
                "StopRecording, PauseRecording and ResumeRecording)")

_LXML_POSITION = re.compile(r",? line \d+, column \d+$")


def parse_call_document(body: bytes, source_url: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                        max_depth: int = DEFAULT_MAX_DEPTH) -> Document:
    walker = _Walker(source_url, room=False)
    verbs = _parse(body, source_url, max_bytes, max_depth, walker)
    return Document(tuple(verbs), source_url)


def parse_room_document(body: bytes, source_url: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                        max_depth: int = DEFAULT_MAX_DEPTH) -> RoomScript:
    walker = _Walker(source_url, room=True)
    verbs = _parse(body, source_url, max_bytes, max_depth, walker)
    return RoomScript(tuple(verbs), source_url)


def _parse(body: bytes, source_url: str, max_bytes: int, max_depth: int,
           walker: _Walker) -> list[Any]:
    body = bytes(body)

    def fail(message: str, line: int | None = None, column: int | None = None) -> None:
        raise XmlError([XmlProblem(message, source_url, line, column)])

    if len(body) > max_bytes:
        fail(f"body is {len(body)} bytes; the limit is {max_bytes}")
    if not body.strip():
        fail("empty body: expected a <Response> document")
    text = positions.decode(body)
    doctype = positions.find_doctype(text) if b"<!DOCTYPE" in body else None
    if doctype is not None:
        fail("DOCTYPE is not allowed (no DTDs or entities in BXML)", *doctype)
    try:
        root = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        fail(f"not well-formed XML: {_LXML_POSITION.sub('', exc.msg or str(exc))}", line, column)
    if root.getroottree().docinfo.doctype:
        fail("DOCTYPE is not allowed (no DTDs or entities in BXML)", 1, 1)
    too_deep = _too_deep(root, max_depth)
    if too_deep is not None:
        raise XmlError(_locate([(too_deep, Issue(
            f"elements nested deeper than {max_depth} levels"))], root, text, source_url))
    verbs = walker.walk(root)
    if walker.pending:
        raise XmlError(_locate(walker.pending, root, text, source_url))
    return verbs


class _Walker:
    def __init__(self, source_url: str, room: bool):
        self.base = source_url
        self.room = room
        self.verbs = ROOM_VERBS if room else CALL_VERBS
        self.pending: list[tuple[Any, Issue]] = []

    def problem(self, element: Any, issue: Issue) -> None:
        self.pending.append((element, issue))

    def walk(self, root: Any) -> list[Any]:
        if root.tag != "Response":
            self.problem(root, Issue(f"the root element must be Response, not {_name(root)}"))
            return []
        for name, value in root.attrib.items():
            self.problem(root, Issue("Response takes no attributes", name, value))
        self._no_text(root, "Response")
        out: list[Any] = []
        for child in root:
            if len(self.pending) > MAX_PROBLEMS:
                break
            if child.tag is etree.Comment:
                continue
            if not isinstance(child.tag, str):
                self.problem(root, Issue("processing instructions are not allowed"))
                continue
            out.extend(self._verb(child))
        return out

    def _no_text(self, element: Any, what: str) -> None:
        texts = [element.text] + [c.tail for c in element]
        stray = next((t.strip() for t in texts if t and not t.isspace()), None)
        if stray:
            self.problem(element, Issue(f'stray text inside {what}: "{stray[:60]}"'))

    def _verb(self, element: Any, inside: str = "") -> list[Any]:
        tag = element.tag
        allowed = GATHER_VERBS if inside == "Gather" else self.verbs
        spec = allowed.get(tag)
        if spec is None:
            self.problem(element, self._not_here(tag, inside))
            return []
        values, issues = check(spec, dict(element.attrib), self.base)
        for issue in issues:
            self.problem(element, issue)
        text = self._text(element, spec)
        if issues:
            return []
        try:
            return self._build(spec, values, text, element)
        except Invalid as exc:
            self.problem(element, Issue(exc.message, None, (text or "").strip() or None,
                                        exc.allowed))
            return []

    def _not_here(self, tag: str, inside: str) -> Issue:
        if inside == "Gather":
            return Issue(f"{tag} is not allowed inside Gather: only SpeakSentence and PlayAudio")
        if self.room:
            return Issue(f"{tag} is not valid in {ROOM_CONTEXT}")
        if tag in UNSUPPORTED_VERBS:
            return Issue(f"Bandwidth verb {tag} is not supported in a call's BXML by this "
                         "controller")
        return Issue(f"unknown element {tag}; a Response may contain "
                     f"{', '.join(sorted(CALL_VERBS))}")

    def _text(self, element: Any, spec: Spec) -> str | None:
        """The element's text; child elements are problems (Gather's are its verbs)."""
        if spec.tag == "Gather":
            self._no_text(element, "Gather")
            return None
        children = [c for c in element if c.tag is not etree.Comment]
        if children:
            hint = " (SSML is not supported by this controller)" \
                if spec.tag == "SpeakSentence" else ""
            self.problem(element, Issue(f"{spec.tag} must not contain elements{hint}"))
        text = (element.text or "") + "".join(c.tail or "" for c in element)
        if not spec.text and text.strip():
            self.problem(element, Issue(f"{spec.tag} takes no text", None, text.strip()[:60]))
        return text

    # ------------------------------------------------------------ model
    def _build(self, spec: Spec, v: dict[str, Any], text: str | None, element: Any) -> list[Any]:
        tag = spec.tag
        if tag == "SpeakSentence":
            return [_speak(v, text or "")]
        if tag == "PlayAudio":
            url = parse_text_url("PlayAudio", text or "", self.base)
            return [Play(_with_credentials(url, v["username"], v["password"]))]
        if tag == "Pause":
            return [Wait(v["duration"])]
        if tag == "Hangup":
            return [Hangup()]
        if tag == "Tag":
            value = (text or "").strip()
            if len(value) > 256:
                raise Invalid("Tag must be at most 256 characters", ("up to 256 characters",))
            return [SetTag(value or None)]
        if tag == "Redirect":
            hook = _hook(v, "redirectUrl", "redirect")
            if hook is None:
                raise Invalid("Redirect needs redirectUrl", ("redirectUrl=URL",))
            return [*_tag(v), Redirect(hook.url, hook.method, hook)]
        if tag == "Gather":
            prompts = []
            for child in element:
                if child.tag is etree.Comment:
                    continue
                if not isinstance(child.tag, str):
                    self.problem(element, Issue("processing instructions are not allowed"))
                    continue
                prompts.extend(self._verb(child, inside="Gather"))
            return [*_tag(v), Gather(
                action=_hook(v, "gatherUrl", "gather"), prompts=tuple(prompts),
                timeout=v["firstDigitTimeout"], digit_timeout=v["interDigitTimeout"],
                finish_on_key=v["terminatingDigits"], num_digits=v["maxDigits"],
                retries=v["repeatCount"],
                # Bandwidth sends the gather event even when nothing was pressed.
                skip_action_when_empty=False)]
        if tag == "Conference":
            return [self._conference(v, text or "", element)]
        if tag == "StartRecording":
            return [StartRoomRecording(v["fileFormat"])]
        if tag == "StopRecording":
            return [StopRoomRecording()]
        if tag == "PauseRecording":
            return [PauseRoomRecording()]
        if tag == "ResumeRecording":
            return [ResumeRoomRecording()]
        raise AssertionError(tag)

    def _conference(self, v: dict[str, Any], text: str, element: Any) -> ConferenceJoin:
        room = parse_room(text)
        coached = []
        for value in v["callIdsToCoach"]:
            uuid = ids.call_uuid(value)
            if uuid is None:
                raise Invalid(f"callIdsToCoach: {value} is not a call id of this controller "
                              "(the callId of its webhooks, c-...)", ("c-<8 hex>-<uuid>",))
            coached.append(uuid)
        hooks = None
        if v["conferenceEventUrl"] is not None:
            hook = Webhook(
                v["conferenceEventUrl"], v["conferenceEventMethod"], v["username"],
                v["password"], v["conferenceEventFallbackUrl"] or "",
                v["conferenceEventFallbackMethod"], v["fallbackUsername"],
                v["fallbackPassword"], timeout=v["callbackTimeout"])
            hooks = RoomHooks(hook, ROOM_EVENTS, v["tag"] or "")
        return ConferenceJoin(
            room=room, muted=v["mute"], hold=v["hold"], coach=tuple(coached),
            single_coach=bool(coached), max_members=MAX_MEMBERS,
            time_limit=MAX_CONFERENCE_SECONDS, room_hooks=hooks)


def _speak(v: dict[str, Any], text: str) -> Speak:
    said = " ".join(text.split())
    if not said:
        raise Invalid("SpeakSentence needs the text to say", ("text",))
    if len(said) > MAX_SPEAK_CHARS:
        raise Invalid(f"SpeakSentence text must be at most {MAX_SPEAK_CHARS} characters",
                      (f"1-{MAX_SPEAK_CHARS} characters",))
    # Bandwidth: a voice names its locale and gender, and then gender and locale are ignored.
    locale, gender = VOICES[v["voice"]] if v["voice"] else (v["locale"], v["gender"])
    language = {"en_UK": "en-GB"}.get(locale, locale.replace("_", "-"))
    return Speak(said, "MAN" if gender == "male" else "WOMAN", language)


def _with_credentials(url: str, username: str, password: str) -> str:
    """The URL with its basic-auth credentials (the media download sends them as an
    Authorization header: controller.webhooks turns URL credentials into one)."""
    if not username:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = quote(username, safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


def _hook(v: dict[str, Any], url_name: str, prefix: str) -> Webhook | None:
    url = v[url_name]
    if url is None:
        return None
    return Webhook(url, v[f"{prefix}Method"], v["username"], v["password"],
                   v[f"{prefix}FallbackUrl"] or "", v[f"{prefix}FallbackMethod"],
                   v["fallbackUsername"], v["fallbackPassword"])


def _tag(v: dict[str, Any]) -> list[SetTag]:
    """A verb's tag attribute sets the call's tag for this and every later request."""
    return [] if v["tag"] is None else [SetTag(v["tag"] or None)]


def _too_deep(root: Any, max_depth: int) -> Any | None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            return element
        stack.extend((child, depth + 1) for child in element if isinstance(child.tag, str))
    return None


def _name(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "?"


def _locate(pending: list[tuple[Any, Issue]], root: Any, text: str,
            source_url: str) -> list[XmlProblem]:
    """Issues with line and column: the n-th start tag of the text is the n-th element."""
    order = {element: index for index, element in enumerate(root.iter(etree.Element))}
    tags = positions.start_tags(text, max((order.get(e, 0) for e, _ in pending), default=0) + 1)
    problems = []
    for element, issue in pending[:MAX_PROBLEMS]:
        line, column = element.sourceline, None
        index = order.get(element)
        if index is not None and index < len(tags) and tags[index][0] == _name(element):
            line, column = tags[index][1], tags[index][2]
        problems.append(XmlProblem(issue.message, source_url, line, column,
                                   element=_name(element), attribute=issue.attribute,
                                   value=issue.value, allowed=issue.allowed))
    if len(pending) > MAX_PROBLEMS:
        problems.append(XmlProblem(f"more problems not listed: stopped after {MAX_PROBLEMS}",
                                   source_url))
    return problems
