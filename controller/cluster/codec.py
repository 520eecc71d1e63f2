"""The engine's neutral model objects as JSON, so one controller can hand a call's
Conference verb to another (``controller.cluster.moves``). Pure.

Dataclasses and enums of ``controller.model`` and ``controller.conference.events``
only: a name outside those modules is refused on decoding, so what is read from the
shared store can never build anything else.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from controller import model
from controller.conference import events

_MODULES = {module.__name__: module for module in (model, events)}


class CodecError(ValueError):
    pass


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return {"$enum": _name(type(value)), "value": value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$dc": _name(type(value)),
                "fields": {f.name: _encode(getattr(value, f.name))
                           for f in dataclasses.fields(value)}}
    if isinstance(value, frozenset):
        return {"$frozenset": [_encode(v) for v in value]}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise CodecError(f"cannot encode a {type(value).__name__}")


def _name(cls: type) -> str:
    if cls.__module__ not in _MODULES:
        raise CodecError(f"{cls.__module__}.{cls.__qualname__} is not a model type")
    return f"{cls.__module__}:{cls.__qualname__}"


def _type(name: str) -> type:
    module, _, qualname = name.partition(":")
    found = getattr(_MODULES.get(module), qualname, None) if "." not in qualname else None
    if not isinstance(found, type) or not (dataclasses.is_dataclass(found)
                                           or issubclass(found, enum.Enum)):
        raise CodecError(f"unknown model type {name!r}")
    return found


def _decode(data: Any) -> Any:
    if isinstance(data, list):
        return [_decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "$enum" in data:
        return _type(data["$enum"])(data["value"])
    if "$dc" in data:
        cls = _type(data["$dc"])
        return cls(**{name: _decode(v) for name, v in data["fields"].items()})
    if "$frozenset" in data:
        return frozenset(_decode(v) for v in data["$frozenset"])
    if "$tuple" in data:
        return tuple(_decode(v) for v in data["$tuple"])
    if "$dict" in data:
        return {_decode(k): _decode(v) for k, v in data["$dict"]}
    raise CodecError(f"unexpected object with keys {sorted(data)[:5]}")


def dumps(value: Any) -> str:
    return json.dumps(_encode(value), separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    try:
        return _decode(json.loads(text))
    except (json.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise CodecError(f"cannot decode a model object: {exc}") from None
