"""What a scripted call should do, validated from untrusted JSON (control server, CLI).

Pure logic: no I/O. Every problem names the field and the value it got.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DTMF_DIGITS = "0123456789*#ABCDabcd"


class CallSpecError(ValueError):
    """A call request has a field the simulator cannot use."""


@dataclass(frozen=True)
class CallSpec:
    number: str
    caller_id: str = "1000"
    caller_name: str | None = None
    dtmf: str = ""  # digits pressed once answered (after dtmf_after)
    dtmf_after: float = 1.0  # simulated seconds between the answer and the first digit
    dtmf_gap: float = 0.2
    talk: float = 0.0  # simulated seconds of speech, after the digits
    hangup_after: float | None = None  # simulated seconds after the answer; None: stay up
    answer_timeout: float = 30.0  # wall seconds to wait for the answer before giving up


_FIELDS = {
    "number",
    "caller_id",
    "caller_name",
    "dtmf",
    "dtmf_after",
    "dtmf_gap",
    "talk",
    "hangup_after",
    "answer_timeout",
}


def parse_call_spec(data: Any, where: str = "call request") -> CallSpec:
    """Validate a decoded JSON object into a CallSpec, or raise CallSpecError."""
    if not isinstance(data, dict):
        raise CallSpecError(f"{where}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise CallSpecError(f"{where}: unknown field(s) {unknown}; known: {sorted(_FIELDS)}")
    number = _sip_user(data, "number", where, required=True)
    caller_id = _sip_user(data, "caller_id", where) or "1000"
    caller_name = data.get("caller_name")
    if caller_name is not None and (
        not isinstance(caller_name, str) or "\n" in caller_name or '"' in caller_name
    ):
        raise CallSpecError(
            f"{where}: field 'caller_name' must be a one-line string without '\"', "
            f"got {caller_name!r}"
        )
    dtmf = data.get("dtmf", "")
    if not isinstance(dtmf, str) or any(c not in DTMF_DIGITS for c in dtmf):
        raise CallSpecError(
            f"{where}: field 'dtmf' must be a string of DTMF digits (0-9 * # A-D), got {dtmf!r}"
        )
    hangup_after = data.get("hangup_after")
    return CallSpec(
        number=number,
        caller_id=caller_id,
        caller_name=caller_name or None,
        dtmf=dtmf,
        dtmf_after=_seconds(data, "dtmf_after", where, 1.0),
        dtmf_gap=_seconds(data, "dtmf_gap", where, 0.2),
        talk=_seconds(data, "talk", where, 0.0),
        hangup_after=None if hangup_after is None else _seconds(data, "hangup_after", where, 0.0),
        answer_timeout=_seconds(data, "answer_timeout", where, 30.0, minimum=0.001),
    )


def _sip_user(data: dict, name: str, where: str, required: bool = False) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or any(c.isspace() or c in '<>"@;:' for c in value):
        raise CallSpecError(
            f"{where}: field {name!r} must be a non-empty SIP user part "
            f'(no spaces or <>"@;:), got {value!r}'
        )
    return value


def _seconds(data: dict, name: str, where: str, default: float, minimum: float = 0.0) -> float:
    value = data.get(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value >= minimum
        or value != value
        or value > 86400
    ):
        raise CallSpecError(
            f"{where}: field {name!r} must be a number of seconds between {minimum:g} and 86400, "
            f"got {value!r}"
        )
    return float(value)
