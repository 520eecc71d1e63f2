"""The markup toolkit every XML dialect shares: safe values, positions, errors, and the
strict-verb machinery (``verbs``: the safe lxml parser, ``VerbSpec``, ``check_verb``,
``locate``).

Everything here is pure: strings in, typed values or an ``XmlError`` out. Each
dialect's own verbs and document walk live in its package (``controller/dialects/<name>/``).
"""

from controller.xml.errors import XmlError, XmlProblem

__all__ = ["XmlError", "XmlProblem"]
