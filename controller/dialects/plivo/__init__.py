"""The Plivo face: Plivo XML (``markup``, ``schema``), our builder for it (``builder``),
Plivo's request parameters (``params``) and V3 signatures (``signature``). The
dialect object itself lives in ``dialect`` and registers on import."""

from controller.dialects.plivo.builder import Response
from controller.dialects.plivo.markup import parse_document, parse_sound_document
from controller.xml.errors import XmlError, XmlProblem

__all__ = ["Response", "XmlError", "XmlProblem", "parse_document", "parse_sound_document"]
