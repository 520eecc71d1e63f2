"""Build Plivo XML documents from Python, validated exactly as the parser would.

    xml = (
        Response()
        .speak("Welcome")
        .conference("sales", max_members=5, digits_match=["1", "22"],
                    callback_url="https://app.example.com/conf/events")
        .to_xml()
    )

Keyword arguments are the snake_case names of the Plivo attributes; None (the
default) leaves an attribute out so Plivo's default applies. Booleans are
Python bools, numbers ints, enums or their words, `digits_match` a list of
patterns. Each call checks its element with the parser's own rules and raises
`XmlError` with the parser's message, e.g.
`<Conference maxMembers="0">: maxMembers must be an integer 1-20`.
Relative URLs are allowed and written as given; the parser resolves them
against the URL the document is served from.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from controller.dialects.plivo.schema import ANSWER_VERBS, SOUND_VERBS, Issue, check_verb
from controller.model import HangupReason, HttpMethod, RecordFormat, Sound, TranscriptionType
from controller.xml.errors import XmlError, XmlProblem

_SOUND_ONLY = "is not allowed in a sound document (enterSound, exitSound, waitSound)"


class Response:
    """A Plivo `<Response>` under construction; verbs are added in call order.

    `sound=True` builds a document for enterSound/exitSound/waitSound, where
    only Play, Speak and Wait are allowed.
    """

    def __init__(self, *, sound: bool = False):
        self._verbs = SOUND_VERBS if sound else ANSWER_VERBS
        self._root = etree.Element("Response")

    # --- verbs --------------------------------------------------------------

    def speak(
        self,
        text: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        loop: int | None = None,
    ) -> Response:
        return self._add("Speak", text, {"voice": voice, "language": language, "loop": loop})

    def play(self, url: str, *, loop: int | None = None) -> Response:
        return self._add("Play", url, {"loop": loop})

    def wait(
        self,
        *,
        length: int | None = None,
        silence: bool | None = None,
        min_silence: int | None = None,
        beep: bool | None = None,
    ) -> Response:
        return self._add(
            "Wait",
            None,
            {"length": length, "silence": silence, "min_silence": min_silence, "beep": beep},
        )

    def hangup(
        self, *, reason: HangupReason | str | None = None, schedule: int | None = None
    ) -> Response:
        return self._add("Hangup", None, {"reason": reason, "schedule": schedule})

    def redirect(self, url: str, *, method: HttpMethod | str | None = None) -> Response:
        return self._add("Redirect", url, {"method": method})

    def conference(
        self,
        room: str,
        *,
        muted: bool | None = None,
        enter_sound: Sound | str | None = None,
        exit_sound: Sound | str | None = None,
        start_conference_on_enter: bool | None = None,
        end_conference_on_exit: bool | None = None,
        stay_alone: bool | None = None,
        wait_sound: str | None = None,
        max_members: int | None = None,
        record: bool | None = None,
        record_file_format: RecordFormat | str | None = None,
        time_limit: int | None = None,
        hangup_on_star: bool | None = None,
        action: str | None = None,
        method: HttpMethod | str | None = None,
        callback_url: str | None = None,
        callback_method: HttpMethod | str | None = None,
        transcription_type: TranscriptionType | str | None = None,
        transcription_url: str | None = None,
        transcription_method: HttpMethod | str | None = None,
        digits_match: list[str] | tuple[str, ...] | str | None = None,
        floor_event: bool | None = None,
        redirect: bool | None = None,
        relay_dtmf: bool | None = None,
    ) -> Response:
        given = dict(locals())
        del given["self"], given["room"]
        return self._add("Conference", room, given)

    # --- output -------------------------------------------------------------

    def to_xml(self) -> bytes:
        """The document as UTF-8 bytes with an XML declaration."""
        return etree.tostring(self._root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def __str__(self) -> str:
        return self.to_xml().decode("utf-8")

    def __len__(self) -> int:
        return len(self._root)

    # --- the one place that checks and writes ----------------------------------

    def _add(self, tag: str, text: str | None, given: dict[str, Any]) -> Response:
        spec = self._verbs.get(tag)
        if spec is None:
            message = f"{tag} {_SOUND_ONLY}: only Play, Speak and Wait"
            raise XmlError([XmlProblem(message, element=tag)])
        if text is not None and not isinstance(text, str):
            raise TypeError(f"{tag} text must be a str, not {type(text).__name__}")
        raw = {
            attr.xml: attr.kind.to_xml(given[attr.kwarg])
            for attr in spec.attrs
            if given.get(attr.kwarg) is not None
        }
        _, issues = check_verb(spec, raw, text, None)
        if issues:
            raise XmlError([_problem(tag, issue) for issue in issues])
        try:
            element = etree.Element(tag, raw)
            if text is not None:
                element.text = text
        except ValueError:
            # lxml refuses NUL and other characters XML 1.0 cannot carry.
            issue = Issue(f"{tag} text contains characters XML cannot carry", None, text)
            raise XmlError([_problem(tag, issue)]) from None
        self._root.append(element)
        return self


def _problem(tag: str, issue: Issue) -> XmlProblem:
    return XmlProblem(
        issue.message,
        element=tag,
        attribute=issue.attribute,
        value=issue.value,
        allowed=issue.allowed,
    )
