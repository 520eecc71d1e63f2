"""The strict-verb machinery the markup faces share (Plivo, cXML, BXML): the safe lxml
parser, verb specifications (``VerbSpec``: attributes, text, rules), ``check_verb``
(one element's raw strings -> a model verb or every ``Issue``), and ``locate`` (issues
-> ``XmlProblem``s with line and column). Pure.

A face's own module lists its verbs (``controller/dialects/<name>/schema.py``) and
walks its documents (``markup.py``) with these.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lxml import etree

from controller.model import Verb
from controller.xml import positions
from controller.xml.errors import XmlProblem
from controller.xml.values import Invalid

MAX_PROBLEMS = 100  # listed per document; the walk stops soon after

PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    attribute_defaults=False,
    huge_tree=False,
    # Never collect_ids=False: lxml stores XML_SKIP_IDS in libxml2's loadsubset,
    # and any non-zero loadsubset makes libxml2 load an external DTD from a local
    # path (test_xml_hostile's FIFO test hangs with it).
    strip_cdata=True,
    recover=False,
)


class Kind(Protocol):
    allowed: tuple[str, ...]

    def parse(self, name: str, raw: str, base: str | None) -> Any: ...

    def to_xml(self, value: Any) -> str: ...


@dataclass(frozen=True)
class Attr:
    """One attribute: its XML name, builder keyword, value kind and default."""

    xml: str
    kwarg: str
    kind: Kind
    default: Any = None


@dataclass(frozen=True)
class Issue:
    """A problem with one element, before it is given a position."""

    message: str
    attribute: str | None = None
    value: str | None = None
    allowed: tuple[str, ...] = ()


# (raw attributes present, parsed values with defaults, names that failed) -> issues
Rules = Callable[[Mapping[str, str], Mapping[str, Any], "set[str]"], list[Issue]]
# (parsed values incl. defaults, parsed text) -> model verb
Assemble = Callable[[Mapping[str, Any], Any], Verb]
# (element text, base URL) -> parsed text value; raises Invalid
TextParser = Callable[[str, "str | None"], Any]
# (the nested verbs, the element's tag) -> issues about them as a whole
NestedRules = Callable[[tuple[Verb, ...], str], list[Issue]]


def no_rules(raw: Mapping[str, str], values: Mapping[str, Any], failed: set[str]) -> list[Issue]:
    return []


def no_nested_rules(children: tuple[Verb, ...], tag: str) -> list[Issue]:
    return []


@dataclass(frozen=True)
class VerbSpec:
    tag: str
    attrs: tuple[Attr, ...]
    assemble: Assemble
    text: TextParser | None = None  # None: the element takes no text
    rules: Rules = no_rules
    unsupported: tuple[str, ...] = ()  # the cloud's attributes this controller does not do
    # Said of an ``unsupported`` attribute ({name}: the attribute).
    unsupported_message: str = "{name} is an attribute this controller does not support"
    # Elements it may contain (Plivo's GetDigits: its prompts); the assembled children are
    # passed to ``assemble`` in place of the text, which such an element does not take.
    nested: tuple[str, ...] = ()
    nested_rules: NestedRules = no_nested_rules
    defaults: dict[str, Any] = field(init=False, repr=False, compare=False)
    parsers: dict[str, Callable[[str, str, str | None], Any]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "defaults", {a.xml: a.default for a in self.attrs})
        # Bound parse functions looked up once: this loop is the parser's hot path.
        object.__setattr__(self, "parsers", {a.xml: a.kind.parse for a in self.attrs})


def _unknown_attribute(spec: VerbSpec, name: str, raw: str) -> Issue:
    names = [a.xml for a in spec.attrs]
    if name in spec.unsupported:
        message = spec.unsupported_message.format(name=name)
    else:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.75) or [
            n for n in names if n.lower() == name.lower()
        ]
        if close:
            message = f"unknown attribute {name} (did you mean {close[0]}?)"
        else:
            takes = ", ".join(names) if names else "no attributes"
            message = f"unknown attribute {name}; {spec.tag} takes {takes}"
    return Issue(message, name, raw, tuple(names))


def check_verb(
    spec: VerbSpec,
    raw: Mapping[str, str],
    text: str | None,
    base: str | None,
    children: tuple[Verb, ...] = (),
) -> tuple[Verb | None, list[Issue]]:
    """Validate one element's attributes and text; the verb, or every issue found.

    `base` is the document URL relative URLs resolve against (None: keep them).
    `children`: the verbs nested in an element that takes some (``spec.nested``),
    already checked one by one.
    """
    values = dict(spec.defaults)  # a value that fails to parse keeps its default
    issues: list[Issue] = []
    failed: set[str] = set()
    parsers = spec.parsers
    for name, value in raw.items():
        parse = parsers.get(name)
        if parse is None:
            issues.append(_unknown_attribute(spec, name, value))
            failed.add(name)
            continue
        try:
            values[name] = parse(name, value, base)
        except Invalid as exc:
            issues.append(Issue(exc.message, name, value, exc.allowed))
            failed.add(name)

    body = None
    if spec.text is None:
        if text and not text.isspace():
            issues.append(Issue(f"{spec.tag} takes no text", None, text.strip()))
    else:
        try:
            body = spec.text(text or "", base)
        except Invalid as exc:
            issues.append(Issue(exc.message, None, (text or "").strip() or None, exc.allowed))

    # Rules run on whatever did parse, so one pass reports every problem.
    if spec.rules is not no_rules:
        issues.extend(spec.rules(raw, values, failed))
    if spec.nested:
        issues.extend(spec.nested_rules(children, spec.tag))
        body = children
    if issues:
        return None, issues
    return spec.assemble(values, body), []


def local_name(tag: Any) -> str:
    if not isinstance(tag, str):
        return "?"
    return tag.rsplit("}", 1)[-1]


def locate(
    pending: list[tuple[Any, Issue]],
    root: Any,
    body: bytes,
    encoding: str | None,
    source_url: str,
) -> list[XmlProblem]:
    """Turn pending issues into problems with line and column (error path only)."""
    listed = pending[:MAX_PROBLEMS]
    wanted = {element for element, _ in listed if element is not None}
    # The n-th start tag in the text is the n-th element in document order.
    order: dict[Any, int] = {}
    for index, element in enumerate(root.iter(etree.Element)):
        if element in wanted:
            order[element] = index
            if len(order) == len(wanted):
                break
    tags = positions.start_tags(
        positions.decode(body, encoding), max(order.values(), default=-1) + 1
    )
    problems = []
    for element, issue in listed:
        line = column = name = None
        if element is not None:
            name = local_name(element.tag)
            line = element.sourceline  # where lxml saw the start tag end
            index = order.get(element)
            if index is not None and index < len(tags):
                tag_name, tag_line, tag_column = tags[index]
                # Trust the scanner only where it agrees with lxml; else no column.
                if tag_name.rsplit(":", 1)[-1] == name and tag_line <= (line or tag_line):
                    line, column = tag_line, tag_column
        problems.append(
            XmlProblem(
                issue.message,
                source_url,
                line,
                column,
                element=name,
                attribute=issue.attribute,
                value=issue.value,
                allowed=issue.allowed,
            )
        )
    if len(pending) > MAX_PROBLEMS:
        problems.append(
            XmlProblem(
                f"more problems not listed: stopped after {MAX_PROBLEMS}", source_url
            )
        )
    return problems
