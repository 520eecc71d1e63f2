"""cJSON's printers, byte for byte (pure).

FreeSWITCH prints ``json_list`` with ``cJSON_Print`` (tabs, ``"key":\\tvalue``)
or ``cJSON_PrintUnformatted`` and JSON events unformatted. Python's ``json``
module formats differently and cannot keep duplicate keys, which FreeSWITCH
events do have, so objects here are lists of ``(key, value)`` pairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Union

JValue = Union[None, bool, int, float, str, "JObject", list]


class JObject(list):
    """An ordered JSON object that may repeat keys: a list of (key, value)."""

    def __init__(self, pairs: Iterable[tuple[str, JValue]] = ()) -> None:
        super().__init__(pairs)

    def add(self, key: str, value: JValue) -> JObject:
        self.append((key, value))
        return self


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _string(text: str) -> str:
    if not _NEEDS_ESCAPE.search(text):  # the common case, at C speed
        return f'"{text}"'
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 32:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _number(value: float) -> str:
    if isinstance(value, bool):
        raise TypeError("bool is not a number")
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.17g}"


def _print(value: JValue, formatted: bool, depth: int) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, JObject) or isinstance(value, dict):
        pairs = value.items() if isinstance(value, dict) else value
        return _print_object(list(pairs), formatted, depth)
    if isinstance(value, list):
        sep = ", " if formatted else ","
        return "[" + sep.join(_print(item, formatted, depth + 1) for item in value) + "]"
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def _print_object(pairs: list, formatted: bool, depth: int) -> str:
    depth += 1
    if not formatted:
        return "{" + ",".join(f"{_string(k)}:{_print(v, False, depth)}" for k, v in pairs) + "}"
    indent = "\t" * depth
    body = "".join(
        f"{indent}{_string(k)}:\t{_print(v, True, depth)}{',' if i < len(pairs) - 1 else ''}\n"
        for i, (k, v) in enumerate(pairs)
    )
    return "{\n" + body + "\t" * (depth - 1) + "}"


def dumps(value: JValue, formatted: bool = True) -> str:
    """cJSON_Print (formatted) or cJSON_PrintUnformatted."""
    return _print(value, formatted, 0)
