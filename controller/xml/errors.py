"""Errors of the markup dialects: one exception carrying every problem of a document.

Each problem renders as one line an application developer can act on::

    answer.xml:4:3 <Conference maxMembers="abc">: maxMembers must be an integer 1-20

The file label is the last non-empty path segment of the document's URL (query
and fragment dropped); a URL without a path falls back to its host, and a
source that is not a URL at all is shown whole. Line and column are 1-based and
point at the `<` of the element concerned. Problems found by the builder have
no source, so they start at the element: `<Conference maxMembers="0">: ...`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

_SHOWN_VALUE_CHARS = 60


def source_label(source_url: str) -> str:
    """The short name of a document used in messages (see the module docstring)."""
    try:
        parts = urlsplit(source_url)
    except ValueError:
        return source_url
    segments = [s for s in parts.path.split("/") if s]
    if segments:
        return segments[-1]
    return parts.hostname or source_url


def show_value(value: str) -> str:
    """A value made safe for a one-line message: escaped, quoted by the caller, truncated."""
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    shown = "".join(out)
    if len(shown) > _SHOWN_VALUE_CHARS:
        shown = shown[: _SHOWN_VALUE_CHARS - 1] + "…"
    return shown


@dataclass(frozen=True)
class XmlProblem:
    """One thing wrong with a document, located as precisely as the input allows.

    `message` is the rule that was broken ("maxMembers must be an integer 1-20");
    `str(problem)` adds the location in front of it. `allowed` lists the accepted
    values or forms, empty when the problem is not about a value.
    """

    message: str
    source_url: str = ""
    line: int | None = None
    column: int | None = None
    element: str | None = None
    attribute: str | None = None
    value: str | None = None
    allowed: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        """`label:line:column`, or as much of it as is known."""
        label = source_label(self.source_url) if self.source_url else ""
        if self.line is None:
            return label
        where = f"{label}:{self.line}" if label else f"{self.line}"
        if self.column is not None:
            where += f":{self.column}"
        return where

    @property
    def subject(self) -> str:
        """The element (and attribute with its value) the problem is about."""
        if self.element is None:
            return ""
        if self.attribute is None:
            if self.value is None:
                return f"<{self.element}>"
            # A problem with the element's text shows that text as its content.
            return f"<{self.element}>{show_value(self.value)}</{self.element}>"
        value = "" if self.value is None else show_value(self.value)
        return f'<{self.element} {self.attribute}="{value}">'

    def __str__(self) -> str:
        head = " ".join(part for part in (self.location, self.subject) if part)
        return f"{head}: {self.message}" if head else self.message


class XmlError(ValueError):
    """A document (or a builder call) was rejected; `problems` holds every reason."""

    def __init__(self, problems: list[XmlProblem] | tuple[XmlProblem, ...]):
        if not problems:
            raise ValueError("XmlError needs at least one problem")
        self.problems: tuple[XmlProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def source_url(self) -> str:
        return self.problems[0].source_url

    def __reduce__(self) -> tuple[type, tuple[tuple[XmlProblem, ...]]]:
        # ValueError pickles its args; rebuild from the problems instead.
        return (type(self), (self.problems,))
