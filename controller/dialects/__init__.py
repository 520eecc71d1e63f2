"""Faces: each cloud's way of speaking, as a plug-in the engine finds by name.

A face is a package ``controller/dialects/<name>/`` whose module calls
``register(...)`` with a ``Dialect`` (``controller.dialects.base``). The engine
asks this registry for a dialect by the name in the settings; it never imports
a face itself. Adding a face: its package, and one line in ``BUILTIN``.
"""

from __future__ import annotations

import importlib

from controller.dialects.base import Dialect

BUILTIN = (
    "controller.dialects.plivo.dialect",
    "controller.dialects.telnyx.dialect",
    "controller.dialects.cxml.dialect",
    "controller.dialects.bxml.dialect",
)

_REGISTRY: dict[str, Dialect] = {}
_loaded = False


class UnknownDialect(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def register(dialect: Dialect) -> Dialect:
    if not dialect.name:
        raise ValueError("a dialect needs a name")
    _REGISTRY[dialect.name] = dialect
    return dialect


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN:
            importlib.import_module(module)


def get(name: str) -> Dialect:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownDialect(
            f"unknown dialect {name!r}: one of {', '.join(sorted(_REGISTRY))}") from None


def names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)
