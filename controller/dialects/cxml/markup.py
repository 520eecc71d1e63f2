"""Strict, safe parsing of cXML/TwiML ``<Response>`` documents into the neutral model.

Same safety rules as the Plivo parser (size limit before parsing, DOCTYPE refused,
libxml2 without DTDs, entities or network, depth limit, every problem listed with
line and column). What cXML adds is nesting: ``<Gather>`` holds Say/Play/Pause,
``<Dial>`` holds one ``<Conference>``. Attribute names and values follow
SignalWire's and Twilio's references; what this controller cannot honour is
refused with the reason (``schema.REFUSED``), never ignored.

``parse_sound_document`` reads what a ``waitUrl`` returns: a document of Play,
Say, Pause and a final Redirect to the same URL (Twilio's way of looping, which
mod_conference does by itself with its hold music); or, when the body is not
XML at all, an audio file, which is played from that URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from controller.dialects.cxml import schema
from controller.dialects.cxml.join import conference_join
from controller.model import Document, Play, Redirect, Verb
from controller.xml import positions
from controller.xml.errors import XmlError, XmlProblem, show_value
from controller.xml.verbs import MAX_PROBLEMS, PARSER, Issue, VerbSpec, check_verb, locate

DEFAULT_MAX_BYTES = 1_048_576
DEFAULT_MAX_DEPTH = 32
_COMMENT, _PI = etree.Comment, etree.PI
_EMPTY = "empty body: expected a <Response> document"


def parse_document(body: bytes, source_url: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                   max_depth: int = DEFAULT_MAX_DEPTH) -> Document:
    """An answer, action or redirect document fetched from ``source_url``."""
    return _parse(body, source_url, max_bytes, max_depth, schema.ANSWER_VERBS)


def parse_sound_document(body: bytes, source_url: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                         max_depth: int = DEFAULT_MAX_DEPTH) -> Document:
    """What a waitUrl returned: Play/Say/Pause (+ a looping Redirect), or an audio file."""
    if not _looks_like_xml(body):
        # Not markup: an audio file (Twilio plays a waitUrl that returns audio/*).
        return Document((Play(source_url, 1),), source_url)
    document = _parse(body, source_url, max_bytes, max_depth, schema.SOUND_VERBS)
    verbs = list(document.verbs)
    redirects = [v for v in verbs if isinstance(v, Redirect)]
    if redirects:
        if verbs[-1] is not redirects[0] or len(redirects) > 1 or \
                redirects[0].url != source_url:
            raise XmlError([XmlProblem(
                "a wait document may end with one Redirect to its own URL (the hold music "
                "loops by itself); a Redirect elsewhere is not supported", source_url)])
        verbs.pop()
    return Document(tuple(verbs), source_url)


def _looks_like_xml(body: bytes) -> bool:
    head = bytes(body[:512]).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff")) or not head


def _parse(body: bytes, source_url: str, max_bytes: int, max_depth: int,
           verbs: Mapping[str, VerbSpec]) -> Document:
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes, not {type(body).__name__}")
    body = bytes(body)

    def fail(message: str, line: int | None = None, column: int | None = None) -> None:
        raise XmlError([XmlProblem(message, source_url, line, column)])

    if len(body) > max_bytes:
        fail(f"body is {len(body)} bytes; the limit is {max_bytes}")
    if not body.strip():
        fail(_EMPTY)
    text = positions.decode(body)
    doctype = positions.find_doctype(text) if b"DOCTYPE" in body.upper() else None
    if doctype is not None:
        raise XmlError([XmlProblem("DOCTYPE is not allowed (no DTDs or entities in cXML)",
                                   source_url, *doctype, element="!DOCTYPE")])
    try:
        root = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (None, None)
        message = (exc.msg or str(exc)).split(", line ")[0]
        fail(f"not well-formed XML: {message}", line, column)
    tree = root.getroottree()
    if tree.docinfo.doctype:
        fail("DOCTYPE is not allowed (no DTDs or entities in cXML)", 1, 1)
    too_deep = positions.find_too_deep(text, max_depth)
    if too_deep is not None:
        name, line, column = too_deep
        raise XmlError([XmlProblem(f"elements nested deeper than {max_depth} levels",
                                   source_url, line, column, element=name)])
    walker = _Walker(verbs, source_url)
    result = walker.walk(root)
    if walker.pending:
        raise XmlError(locate(walker.pending, root, body, tree.docinfo.encoding, source_url))
    return Document(tuple(result), source_url)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "?"


class _Walker:
    def __init__(self, verbs: Mapping[str, VerbSpec], source_url: str):
        self.verbs = verbs
        self.base = source_url
        self.pending: list[tuple[Any, Issue]] = []

    def problem(self, element: Any, issue: Issue) -> None:
        self.pending.append((element, issue))

    def walk(self, root: Any) -> list[Verb]:
        if root.tag != "Response":
            self.problem(root, Issue(f"the root element must be Response, not {_local(root.tag)}"))
            return []
        for name, value in root.attrib.items():
            self.problem(root, Issue("Response takes no attributes", name, value))
        out: list[Verb] = []
        for child in self._children(root, "Response"):
            if len(self.pending) > MAX_PROBLEMS:
                break
            verb = self._verb(child, self.verbs)
            if verb is not None:
                out.append(verb)
        return out

    def _children(self, element: Any, where: str) -> list[Any]:
        """Element children; stray text, processing instructions and namespaces are problems."""
        if element.text and not element.text.isspace():
            self.problem(element, Issue(f'stray text inside {where}: '
                                        f'"{show_value(element.text.strip())}"'))
        children = []
        for child in element:
            if child.tag is _PI:
                self.problem(element, Issue("processing instructions are not allowed"))
            elif child.tag is not _COMMENT:
                children.append(child)
            if child.tail and not child.tail.isspace():
                self.problem(element, Issue(f'stray text inside {where}: '
                                            f'"{show_value(child.tail.strip())}"'))
        return children

    def _check(self, element: Any, spec: VerbSpec, text: str | None) -> Any:
        raw = dict(element.attrib)
        refused = schema.REFUSED.get(spec.tag, {})
        for name in list(raw):
            why = refused.get(name)
            if why is None:
                why = schema.REFUSED_VALUES.get((spec.tag, name), {}).get(raw[name])
            if why is not None:
                self.problem(element, Issue(why, name, raw.pop(name)))
        value, issues = check_verb(spec, raw, text, self.base)
        for issue in issues:
            self.problem(element, issue)
        return value

    def _unknown(self, element: Any, allowed: Mapping[str, VerbSpec], where: str) -> None:
        name = _local(element.tag)
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            self.problem(element, Issue(f"{name} is in a namespace; cXML has none"))
        elif name in schema.UNSUPPORTED_VERBS:
            self.problem(element, Issue(schema.UNSUPPORTED_VERBS[name]))
        elif name in schema.ANSWER_VERBS:
            self.problem(element, Issue(f"{name} is not allowed in {where}: only "
                                        f"{', '.join(allowed)}"))
        else:
            self.problem(element, Issue(f"unknown element {name}; {where} may contain "
                                        f"{', '.join(allowed)}"))

    def _verb(self, element: Any, allowed: Mapping[str, VerbSpec]) -> Verb | None:
        spec = allowed.get(element.tag)
        if spec is None:
            where = "a wait document (waitUrl)" if allowed is schema.SOUND_VERBS else "Response"
            self._unknown(element, allowed, where)
            return None
        if spec is schema.GATHER:
            return self._gather(element)
        if spec is schema.DIAL:
            return self._dial(element)
        text = element.text
        if len(element):
            for sub in element:
                if sub.tag is not _COMMENT:
                    hint = " (SSML is not supported)" if spec.tag == "Say" else ""
                    self.problem(element, Issue(f"{spec.tag} must not contain elements{hint}"))
                    break
            text = "".join([text or "", *(sub.tail or "" for sub in element)])
        return self._check(element, spec, text)

    def _gather(self, element: Any) -> Verb | None:
        values = self._check(element, schema.GATHER, None if not len(element) else "")
        prompts = []
        for child in self._children(element, "Gather"):
            prompt = self._verb(child, schema.GATHER_CHILDREN) \
                if child.tag in schema.GATHER_CHILDREN else self._unknown(
                    child, schema.GATHER_CHILDREN, "Gather")
            if prompt is not None:
                prompts.append(prompt)
        if values is None:
            return None
        return schema.gather(values, tuple(prompts), self.base)

    def _dial(self, element: Any) -> Verb | None:
        values = self._check(element, schema.DIAL, None if not len(element) else "")
        children = self._children(element, "Dial")
        if element.text and element.text.strip() and not children:
            self.problem(element, Issue(schema.DIAL_NOUNS_REFUSED["Number"]))
            return None
        conference = None
        for child in children:
            name = _local(child.tag)
            if child.tag != "Conference":
                why = schema.DIAL_NOUNS_REFUSED.get(name) or \
                    f"unknown element {name}; Dial may contain Conference"
                self.problem(child, Issue(why))
            elif conference is not None:
                self.problem(child, Issue("Dial may contain one Conference"))
            else:
                conference = self._conference(child)
        if not children and not (element.text or "").strip():
            self.problem(element, Issue("Dial needs a <Conference>"))
        if values is not None and values["record"] is None:
            for name in ("recordingStatusCallback", "recordingStatusCallbackEvent",
                         "recordingStatusCallbackMethod"):
                if name in element.attrib:
                    self.problem(element, Issue(
                        f"{name} reports Dial's recording: give record=\"record-from-answer\" "
                        "(or -dual), or use <Conference record> and its own "
                        "recordingStatusCallback", name, element.attrib[name]))
                    return None
        if values is None or conference is None:
            return None
        return conference_join(values, *conference)

    def _conference(self, element: Any) -> tuple[Mapping[str, Any], str] | None:
        text = element.text
        if len(element):
            self.problem(element, Issue("Conference must not contain elements"))
            text = "".join([text or "", *(sub.tail or "" for sub in element)])
        checked = self._check(element, schema.CONFERENCE, text)
        if checked is None:
            return None
        values, room = checked
        issue = _conference_rules(values, dict(element.attrib))
        if issue is not None:
            self.problem(element, issue)
            return None
        return values, room


def _conference_rules(values: Mapping[str, Any], raw: Mapping[str, str]) -> Issue | None:
    if values["statusCallback"] is not None and values["eventCallbackUrl"] is not None:
        return Issue("give statusCallback or eventCallbackUrl, not both", "eventCallbackUrl",
                     raw.get("eventCallbackUrl"))
    return None
