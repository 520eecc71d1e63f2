"""Strict, safe parsing of Plivo XML `<Response>` documents into the neutral model.

`parse_document` reads answer, action and redirect documents; `parse_sound_document`
reads the documents behind enterSound, exitSound and waitSound, where only Play,
Speak and Wait may appear. Either returns a `Document` or raises one `XmlError`
listing every problem found (see `controller.xml.errors` for the message format).

Safety, in the order it is applied:
- the size limit is checked before anything is parsed; an empty body is refused;
- a DOCTYPE is refused (never stripped): entity tricks (XXE, billion laughs,
  quadratic blowup) need one. libxml2 also runs without DTD loading, entity
  substitution or network access, so even a DOCTYPE the byte check cannot see
  (UTF-16, EBCDIC) is inert, and is refused after parsing;
- nesting deeper than `max_depth` is refused (libxml2 itself stops at 256);
- bytes that do not decode in the declared encoding (UTF-8 when none is
  declared) are refused with lxml's line and column; a BOM is accepted;
- at most `MAX_PROBLEMS` problems are listed (one more line says so), and the
  walk stops there, so a huge broken document costs no more than a small one.

Values follow Plivo's documentation; where it is vague or silent the strict
reading was chosen, marked (strict) below. Booleans are `true`/`false` in any
letter case; every other word is exact. Integers are plain decimal digits.
URLs are http(s), absolute or relative to the document's URL, at most 2048
characters, with a host, no spaces or control characters; `""` is not a URL.
Unknown elements and attributes are errors.

| element / attribute   | allowed                           | absent means | notes |
|-----------------------|-----------------------------------|--------------|-------|
| Response              | verbs only                        |              | [1]   |
| Conference text       | 1-100 of `A-Za-z0-9-_.`           | required     | [2]   |
| muted                 | bool                              | false        |       |
| enterSound, exitSound | `""`, `beep:1`, `beep:2`, URL     | `""` (none)  | [3]   |
| startConferenceOnEnter| bool                              | true         |       |
| endConferenceOnExit   | bool                              | false        |       |
| stayAlone             | bool                              | true         |       |
| waitSound             | URL                               | none         | [3]   |
| maxMembers            | integer 1-20                      | 20           |       |
| record                | bool                              | false        |       |
| recordFileFormat      | `mp3`, `wav`                      | mp3          | [4]   |
| timeLimit             | integer 0-86400 (s)               | 0 (none)     | [5]   |
| hangupOnStar          | bool                              | false        |       |
| action                | URL                               | none         |       |
| method                | `GET`, `POST`                     | POST         | [4]   |
| redirect              | bool                              | true         | [4]   |
| callbackUrl           | URL                               | none         |       |
| callbackMethod        | `GET`, `POST`                     | POST         | [4]   |
| digitsMatch           | patterns of `0-9*#`, comma list   | none         | [6]   |
| floorEvent            | bool                              | false        | [4]   |
| relayDTMF             | bool                              | false        | [7]   |
| transcriptionType     | `auto`, `hybrid`                  | none         | [8]   |
| transcriptionUrl      | URL                               | none         | [8]   |
| transcriptionMethod   | `GET`, `POST`                     | POST         | [8]   |
| sendDigits, recordWhenAlone | refused                     |              | [9]   |
| Speak text            | 1-3000 characters                 | required     | [10]  |
| Speak voice           | `WOMAN`, `MAN`                    | WOMAN        | [10]  |
| Speak language        | the 16 codes of `SPEAK_VOICES`    | en-US        | [10]  |
| loop (Speak, Play)    | integer 0-10000                   | 1            | [11]  |
| Play text             | URL                               | required     |       |
| Wait length           | integer 1-86400 (s)               | 1            |       |
| Wait silence          | bool                              | false        |       |
| Wait minSilence       | integer 1-86400000 (ms)           | 2000         | [12]  |
| Wait beep             | bool                              | false        | [12]  |
| Hangup reason         | `rejected`, `busy`                | none         |       |
| Hangup schedule       | integer 1-86400 (s)               | 0 (now)      |       |
| Redirect text         | URL                               | required     |       |
| Redirect method       | `GET`, `POST`                     | POST         |       |
| GetDigits children    | Speak, Play, Wait (prompts)       | none         | [13]  |
| GetDigits action      | URL                               | required     | [13]  |
| GetDigits method      | `GET`, `POST`                     | POST         |       |
| GetDigits timeout     | integer 1-86400 (s, first key)    | 5            |       |
| GetDigits digitTimeout| integer 1-86400 (s, between keys) | 2            |       |
| finishOnKey           | one of `0-9*#`, `""`, `none`      | `#`          |       |
| numDigits             | integer 1-127                     | 99           | [13]  |
| retries               | integer 1-100 (tries in all)      | 1            | [13]  |
| redirect              | bool                              | true         |       |
| playBeep              | bool                              | false        |       |
| validDigits           | keys of `0-9*#`, no repeats       | all 12       | [13]  |
| invalidDigitsSound    | URL (a sound file)                | none         |       |
| log                   | bool                              | true         | [13]  |
| async (GetDigits)     | refused                           |              | [9]   |
| GetInput children, action, method, finishOnKey, numDigits, redirect, log | as GetDigits | | [14] |
| GetInput inputType    | `dtmf` (`speech` refused)         | required     | [14]  |
| executionTimeout      | integer 5-60 (s, first key)       | 15           | [14]  |
| digitEndTimeout       | `auto`, integer 2-10 (s)          | auto (5 s)   | [14]  |
| speech attributes     | checked, no effect                |              | [15]  |

[1] No attributes and no stray text; comments are ignored; processing
    instructions and namespaced elements are refused. Verbs after a Redirect or
    an unscheduled Hangup are valid Plivo XML and kept (the engine never gets there).
[2] Surrounding whitespace is stripped. Strict: ASCII letters only.
[3] A sound URL's document may hold only Play, Speak and Wait; Plivo fetches it
    with POST. Strict: waitSound="" is refused (omit the attribute instead).
[4] Accepted even where it has no effect (method without action,
    recordFileFormat without record="true"...), as Plivo accepts it.
[5] Plivo caps a conference at 86400 s (its newest page shows that as the
    default); 0 = no limit, as in our DESIGN.
[6] Strict: 1-20 patterns of 1-20 keys, no spaces, empty items or repeats;
    a `*` pattern conflicts with hangupOnStar="true".
[7] DESIGN §3's default. Plivo's pages document true; with true every member
    would get mod_conference's dist-dtmf and hear everyone's digits, which our
    design does not want by default.
[8] Used only with record="true" and both type and URL (else ignored, as
    Plivo does). Plivo's newest page also lists a `manual` type: not supported.
[9] Plivo attributes this controller does not implement.
[10] Stripped text; child elements (SSML) are refused; 3000 is Plivo's Polly
    limit. Polly voices are refused and the language must have the voice
    (pt-PT has only MAN; da-DK, fr-CA, ru-RU, sv-SE only WOMAN).
[11] 0 = until the call ends; the upper cap is ours.
[12] minSilence matters only with silence="true"; beep only without it; with
    a length shorter than minSilence the wait ends at length. All accepted.
[13] Run as FreeSWITCH's play_and_get_digits (controller.gather): the prompts
    play as one sound, a key pressed meanwhile stops them and is the first
    key; a try without valid keys plays invalidDigitsSound and the prompts
    again; after the last try without input the next verb runs, and the action
    is not requested. Action params: Plivo's call parameters plus `Digits`
    (without the finishOnKey key). Strict: action is required (the digits would
    go nowhere); inside GetDigits loop="0" and Wait silence="true" are refused
    (a prompt must end before the input starts); prompts may add up to 100
    sounds. numDigits: FreeSWITCH collects into 128 bytes. The numDigits-th key
    ends the input at once (as on FreeSWITCH): a finishOnKey pressed after it
    is dropped by the next gather, which flushes keys queued before it.
    log="false" keeps the digits out of our logs and off the channel.
[14] GetInput with inputType="dtmf" is GetDigits with one try, every key
    valid and no invalid sound; its action also gets `InputType=dtmf`.
    executionTimeout is the wait for the first key after the prompts;
    digitEndTimeout="auto" waits 5 s between keys (Plivo's auto adapts; ours
    does not). Strict: inputType is required; speech and "dtmf speech" are
    refused (no speech recognition here).
[15] speechEndTimeout (`auto`, 2-10), speechModel (a word), hints (text),
    language (a code such as en-US), interimSpeechResultsCallback (URL) and
    its Method, profanityFilter (bool): checked and accepted without effect,
    as on Plivo, where they apply to speech input only.

"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

from controller.dialects.plivo.schema import (
    ANSWER_VERBS,
    PLIVO_UNSUPPORTED_VERBS,
    SOUND_VERBS,
    Issue,
    VerbSpec,
    check_verb,
    prompt_issue,
)
from controller.model import Document, Verb
from controller.xml import positions
from controller.xml.errors import XmlError, XmlProblem, show_value
from controller.xml.verbs import MAX_PROBLEMS, PARSER
from controller.xml.verbs import local_name as _local_name
from controller.xml.verbs import locate as _locate

DEFAULT_MAX_BYTES = 1_048_576
DEFAULT_MAX_DEPTH = 32
LXML_MAX_DEPTH = 255  # libxml2 refuses depth 256 without XML_PARSE_HUGE

_COMMENT, _PI = etree.Comment, etree.PI
_LXML_POSITION = re.compile(r",? line \d+, column \d+$")
_ANSWER_NAMES = ", ".join(sorted(ANSWER_VERBS))
_SOUND_CONTEXT = "a sound document (enterSound, exitSound, waitSound)"
_EMPTY = "empty body: expected a <Response> document"


def parse_document(
    body: bytes,
    source_url: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Document:
    """Parse an answer, action or redirect document fetched from `source_url`."""
    return _parse(body, source_url, max_bytes, max_depth, ANSWER_VERBS)


def parse_sound_document(
    body: bytes,
    source_url: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Document:
    """Parse a document fetched for enterSound/exitSound/waitSound: Play, Speak, Wait only."""
    return _parse(body, source_url, max_bytes, max_depth, SOUND_VERBS)


def _parse(
    body: bytes,
    source_url: str,
    max_bytes: int,
    max_depth: int,
    verbs: Mapping[str, VerbSpec],
) -> Document:
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError(f"body must be bytes, not {type(body).__name__}")
    if not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive integer, not {max_bytes!r}")
    if not isinstance(max_depth, int) or max_depth < 1:
        raise ValueError(f"max_depth must be a positive integer, not {max_depth!r}")
    max_depth = min(max_depth, LXML_MAX_DEPTH)  # libxml2 refuses anything deeper anyway
    body = bytes(body)

    def fail(message: str, line: int | None = None, column: int | None = None, **kw: Any):
        raise XmlError([XmlProblem(message, source_url, line, column, **kw)])

    if len(body) > max_bytes:
        fail(f"body is {len(body)} bytes; the limit is {max_bytes}")
    if not body or body.isspace():
        fail(_EMPTY)
    if b"<!DOCTYPE" in body:
        _refuse_doctype(body, source_url)

    try:
        root = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError as exc:
        raise XmlError([_syntax_problem(exc, body, source_url, max_depth)]) from None

    tree = root.getroottree()
    if tree.docinfo.doctype:
        _refuse_doctype(body, source_url, tree.docinfo.encoding)
        fail("DOCTYPE is not allowed", 1, 1)  # not found by the scanner: still refused

    walker = _Walker(verbs, source_url, max_depth)
    result = walker.walk(root)
    if walker.pending:
        raise XmlError(_locate(walker.pending, root, body, tree.docinfo.encoding, source_url))
    return Document(tuple(result), source_url)


def _refuse_doctype(body: bytes, source_url: str, encoding: str | None = None) -> None:
    where = positions.find_doctype(positions.decode(body, encoding))
    if where is not None:
        raise XmlError(
            [
                XmlProblem(
                    "DOCTYPE is not allowed (no DTDs or entities in Plivo XML)",
                    source_url,
                    *where,
                    element="!DOCTYPE",
                )
            ]
        )


def _syntax_problem(
    exc: etree.XMLSyntaxError, body: bytes, source_url: str, max_depth: int
) -> XmlProblem:
    message = _LXML_POSITION.sub("", exc.msg or str(exc))
    line, column = exc.position if exc.position else (None, None)
    text = positions.decode(body)
    doctype = positions.find_doctype(text)
    if doctype is not None:  # e.g. an entity bomb libxml2 stopped: name the real cause
        return XmlProblem(
            "DOCTYPE is not allowed (no DTDs or entities in Plivo XML)",
            source_url,
            *doctype,
            element="!DOCTYPE",
        )
    if "Excessive depth" in message:
        found = positions.find_too_deep(text, max_depth)
        if found is not None:
            name, line, column = found
            return _too_deep(name, source_url, line, column, max_depth)
        return XmlProblem(f"nesting deeper than {LXML_MAX_DEPTH} levels", source_url, line, column)
    if exc.code == etree.ErrorTypes.ERR_DOCUMENT_EMPTY and not text.strip():
        return XmlProblem(_EMPTY, source_url)  # e.g. only a BOM and blanks
    if exc.code == etree.ErrorTypes.ERR_INVALID_ENCODING:
        encoding = positions.sniff_encoding(body).upper().replace("-SIG", "")
        message = f"invalid {encoding} bytes (send UTF-8 or declare the real encoding)"
    elif exc.code in (
        etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING,
        etree.ErrorTypes.ERR_UNKNOWN_ENCODING,
    ):
        message = f"unsupported character encoding: {message}"
    else:
        message = f"not well-formed XML: {message}"
    return XmlProblem(message, source_url, line, column)


def _too_deep(
    name: str, source_url: str, line: int | None, column: int | None, max_depth: int
) -> XmlProblem:
    return XmlProblem(
        f"elements nested deeper than {max_depth} levels", source_url, line, column, element=name
    )


class _Walker:
    """Walks a parsed tree into verbs, collecting (element, Issue) pairs on the way."""

    def __init__(self, verbs: Mapping[str, VerbSpec], source_url: str, max_depth: int):
        self.verbs = verbs
        self.base = source_url
        self.max_depth = max_depth
        self.pending: list[tuple[Any, Issue]] = []
        self._too_deep_reported = False

    def problem(self, element: Any, issue: Issue) -> None:
        self.pending.append((element, issue))

    def walk(self, root: Any) -> list[Verb]:
        tag = root.tag
        if tag != "Response":
            shown = _local_name(tag)
            if isinstance(tag, str) and tag.startswith("{"):
                why = f"the root element must be Response without a namespace, not {tag}"
            else:
                why = f"the root element must be Response, not {shown}"
            self.problem(root, Issue(why))
            return []
        for name, value in root.attrib.items():
            self.problem(root, Issue("Response takes no attributes", name, value))
        if root.text and not root.text.isspace():
            shown = show_value(root.text.strip())
            self.problem(root, Issue(f'stray text inside Response: "{shown}"'))
        first = next((c for c in root if isinstance(c.tag, str)), None)
        if self.max_depth < 2 and first is not None:
            self._depth_problem(first)

        out: list[Verb] = []
        for child in root:
            if len(self.pending) > MAX_PROBLEMS:
                break  # enough to act on; do not spend more time on a broken document
            tag = child.tag
            if tag is _COMMENT:
                self._check_tail(child, root)
                continue
            if tag is _PI:
                self.problem(root, Issue("processing instructions are not allowed"))
                self._check_tail(child, root)
                continue
            verb = self._verb(child, tag)
            if verb is not None:
                out.append(verb)
            tail = child.tail
            if tail and not tail.isspace():
                self._check_tail(child, child)
        return out

    def _verb(self, element: Any, tag: Any, depth: int = 2) -> Verb | None:
        spec = self.verbs.get(tag)
        if spec is None:
            self.problem(element, self._unknown_element(tag))
            return None
        if spec.nested:
            return self._with_children(element, spec, depth)
        return self._verb_as(element, spec, depth)

    def _with_children(self, element: Any, spec: VerbSpec, depth: int) -> Verb | None:
        """GetDigits/GetInput: their prompts are verbs of their own, checked as such."""
        children: list[Verb] = []
        broken = False
        text = [element.text or ""]
        for sub in element:
            text.append(sub.tail or "")
            if sub.tag is _COMMENT:
                continue
            if sub.tag is etree.PI or sub.tag not in spec.nested:
                allowed = ", ".join(spec.nested)
                if sub.tag is etree.PI:
                    where, name = element, "processing instructions are"
                elif sub.tag.startswith("{"):
                    where, name = sub, f"{_local_name(sub.tag)} in namespace " \
                                       f"{sub.tag[1:].split('}')[0]} is"
                else:
                    where, name = sub, f"{sub.tag} is"
                self.problem(where, Issue(f"{name} not allowed inside {spec.tag}: it may "
                                          f"contain only {allowed}"))
                self._check_depth(sub, depth + 1)
                broken = True
                continue
            if depth + 1 > self.max_depth:
                self._depth_problem(sub)
                broken = True
                continue
            verb = self._verb_as(sub, ANSWER_VERBS[sub.tag], depth + 1)
            issue = None if verb is None else prompt_issue(verb, spec.tag)
            if issue is not None:
                self.problem(sub, issue)
            if verb is None or issue is not None:
                broken = True
            else:
                children.append(verb)
        verb, issues = check_verb(spec, dict(element.attrib), "".join(text), self.base,
                                  tuple(children))
        for issue in issues:
            self.problem(element, issue)
        return None if broken else verb

    def _verb_as(self, element: Any, spec: VerbSpec, depth: int) -> Verb | None:
        text = element.text
        if len(element):
            text = self._inner_text(element, text, depth + 1)
        verb, issues = check_verb(spec, dict(element.attrib), text, self.base)
        for issue in issues:
            self.problem(element, issue)
        return verb

    def _inner_text(self, element: Any, text: str | None, depth: int = 3) -> str | None:
        """Text of a verb around comments; child elements are problems."""
        parts = [text or ""]
        complained = False
        for sub in element:
            if sub.tag is _COMMENT:
                parts.append(sub.tail or "")
                continue
            if not complained:
                what = "processing instructions" if sub.tag is etree.PI else "elements"
                hint = " (SSML is not supported)" if element.tag == "Speak" else ""
                self.problem(element, Issue(f"{element.tag} must not contain {what}{hint}"))
                complained = True
            self._check_depth(sub, depth)
            parts.append(sub.tail or "")
        return "".join(parts)

    def _check_depth(self, element: Any, depth: int) -> None:
        stack = [(element, depth)]
        while stack and not self._too_deep_reported:
            node, level = stack.pop()
            if not isinstance(node.tag, str):
                continue
            if level > self.max_depth:
                self._depth_problem(node)
                return
            stack.extend((sub, level + 1) for sub in reversed(node))

    def _depth_problem(self, element: Any) -> None:
        if not self._too_deep_reported:
            self._too_deep_reported = True
            self.problem(
                element,
                Issue(f"elements nested deeper than {self.max_depth} levels"),
            )

    def _check_tail(self, node: Any, located_at: Any) -> None:
        tail = node.tail
        if tail and not tail.isspace():
            where = "after this element" if located_at is node else "inside Response"
            shown = show_value(tail.strip())
            self.problem(located_at, Issue(f'stray text {where}: "{shown}"'))

    def _unknown_element(self, tag: Any) -> Issue:
        name = _local_name(tag)
        if isinstance(tag, str) and tag.startswith("{"):
            return Issue(f"{name} is in namespace {tag[1:].split('}')[0]}; Plivo XML has none")
        if self.verbs is SOUND_VERBS and name in ANSWER_VERBS:
            return Issue(f"{name} is not allowed in {_SOUND_CONTEXT}: only Play, Speak and Wait")
        if name in PLIVO_UNSUPPORTED_VERBS:
            return Issue(f"Plivo element {name} is not supported by this controller")
        allowed = "Play, Speak, Wait" if self.verbs is SOUND_VERBS else _ANSWER_NAMES
        return Issue(f"unknown element {name}; a Response may contain {allowed}")
