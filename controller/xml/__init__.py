"""The markup toolkit every XML dialect shares: safe values, positions, errors.

Everything here is pure: strings in, typed values or an ``XmlError`` out. Each
dialect's own parser lives in its package (``controller/dialects/<name>/``).
"""

from controller.xml.errors import XmlError, XmlProblem

__all__ = ["XmlError", "XmlProblem"]
