"""Markup dialects: parse, validate and build call documents (Plivo XML first).

Everything here is pure: bytes and strings in, `controller.model` objects or an
`XmlError` out. No HTTP, no ESL.
"""

from controller.xml.builder import Response
from controller.xml.errors import XmlError, XmlProblem
from controller.xml.plivo import parse_document, parse_sound_document

__all__ = ["Response", "XmlError", "XmlProblem", "parse_document", "parse_sound_document"]
