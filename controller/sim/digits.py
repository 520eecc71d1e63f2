"""The digit machine behind ``bind_digit_action`` (switch_ivr_dmachine, pure logic).

Bindings live in realms; binding one makes its realm active. Each fed digit
is checked against the active realm: an exact match with nothing longer
possible fires at once, a prefix of a longer binding waits for the digit
timeout, and digits no binding can ever match are given back at once.
Time is passed in explicitly so the caller owns the timers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_DIGITS = 255  # DMACHINE_MAX_DIGIT_LEN - 1


@dataclass
class Binding:
    digits: str
    action: Any  # opaque to the machine (the binding's string/value/targets)
    is_regex: bool = False
    first_match: bool = False
    is_priority: bool = False
    matched_regex: bool = False

    def regex_matches(self, digits: str) -> bool:
        try:
            return re.search(self.digits, digits) is not None
        except re.error:
            return False


@dataclass
class Realm:
    name: str
    bindings: list[Binding] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What the machine decided after a digit or a timeout check."""

    kind: str  # "match", "nomatch" or "wait"
    digits: str = ""
    binding: Binding | None = None


WAIT = Outcome("wait")


class DigitMachine:
    def __init__(self, digit_timeout_ms: int = 1500, input_timeout_ms: int = 0) -> None:
        self.digit_timeout_ms = digit_timeout_ms
        self.input_timeout_ms = input_timeout_ms
        self.realms: dict[str, Realm] = {}
        self.realm: Realm | None = None
        self.digits = ""
        self.last_digit_ms = 0.0
        self.max_digit_len = 0

    def bind(self, realm: str, digits: str, action: Any, is_priority: bool = False) -> None:
        """switch_ivr_dmachine_bind; re-binding the same digits replaces the action."""
        realm = realm or "default"
        head = self.realms.setdefault(realm, Realm(realm))
        for existing in head.bindings:
            plain = digits[1:] if digits.startswith("~") else digits
            if (existing.is_regex and existing.digits == plain) or existing.digits == digits:
                existing.action = action
                return
        spec = digits
        binding = Binding(digits="", action=action, is_priority=is_priority)
        if spec.startswith("="):
            binding.first_match = True
            spec = spec[1:]
        if spec.startswith("~"):
            binding.is_regex = True
            spec = spec[1:].split("~~", 1)[0]
        binding.digits = spec
        head.bindings.append(binding)
        if self.realm is not head:
            self.realm = head
        if binding.is_regex:
            self.max_digit_len = MAX_DIGITS
        elif self.max_digit_len != MAX_DIGITS:
            self.max_digit_len = max(self.max_digit_len, len(digits))

    def set_realm(self, realm: str) -> bool:
        """switch_ivr_dmachine_set_realm: an unknown realm is an error, nothing changes."""
        head = self.realms.get(realm)
        if head is None:
            return False
        self.realm = head
        return True

    def clear_realm(self, realm: str) -> None:
        head = self.realms.pop(realm, None)
        if head is not None and self.realm is head:
            self.realm = None

    # ------------------------------------------------------------ matching
    def feed(self, digit: str, now_ms: float) -> Outcome:
        if len(self.digits) >= self.max_digit_len:
            return WAIT  # "dmachine overflow error!": FreeSWITCH drops the digit
        self.digits += digit
        self.last_digit_ms = now_ms
        return self._ping(False)

    def check_timeout(self, now_ms: float) -> Outcome:
        """switch_ivr_dmachine_ping on the media thread: decide by timeout."""
        if not self.digits:
            return WAIT
        timed_out = self.digit_timeout_ms and now_ms - self.last_digit_ms > self.digit_timeout_ms
        return self._ping(bool(timed_out))

    def deadline_ms(self) -> float | None:
        if not self.digits or not self.digit_timeout_ms:
            return None
        return self.last_digit_ms + self.digit_timeout_ms + 1

    def _ping(self, is_timeout: bool) -> Outcome:
        best, exact = self._check(is_timeout)
        if best == "never":
            is_timeout = True
        if best == "exact" or (best == "both" and is_timeout):
            return self._finish(Outcome("match", self.digits, exact))
        if is_timeout:
            return self._finish(Outcome("nomatch", self.digits))
        if best == "none" and len(self.digits) == self.max_digit_len:
            return self._finish(Outcome("nomatch", self.digits))
        return WAIT

    def _finish(self, outcome: Outcome) -> Outcome:
        self.digits = ""
        return outcome

    def _check(self, is_timeout: bool) -> tuple[str, Binding | None]:
        """switch_ivr_dmachine_check_match: (none|never|partial|both|exact, binding)."""
        realm, digits = self.realm, self.digits
        if not digits or realm is None:
            return "none", None
        pmatches = rmatches = ematches = 0
        for b in realm.bindings:
            if b.is_regex:
                b.matched_regex = b.regex_matches(digits)
                rmatches += 1
                pmatches += 1
                if b.matched_regex and b.first_match:
                    break
            elif b.digits.startswith(digits):
                pmatches += 1
                if len(digits) == len(b.digits):
                    ematches += 1
        best = "none"
        exact = partial = both = None
        for b in realm.bindings:
            if b.is_regex:
                if b.matched_regex:
                    only = realm.bindings[0] is b and len(realm.bindings) == 1
                    if b.first_match or (b.is_priority and not ematches) or is_timeout or only:
                        best, exact = "exact", b
                        break
                    best = "partial"
                continue
            pmatch = b.digits.startswith(digits)
            if (
                exact is None
                and pmatch
                and (b.first_match or not rmatches or b.is_priority or is_timeout)
                and b.digits == digits
            ):
                best, exact = "exact", b
                if b.first_match or b.is_priority or len(digits) == self.max_digit_len:
                    break
            if not (both and partial) and len(b.digits) != len(digits) and pmatch:
                if exact is not None:
                    best, both = "both", b
                else:
                    best, partial = "partial", b
            if both and exact and partial:
                break
        if not pmatches:
            best = "never"
        if is_timeout and both is not None:
            return "exact", exact
        return best, exact
