"""Simulator settings, validated up front so a bad value fails with its name."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# The capture setup (captures README, "Setup used"): profile default with
# energy-level 100, comfort-noise and no caller controls; waitmod adds MOH and
# the conference flag wait-mod.
DEFAULT_PROFILES: dict[str, dict[str, str]] = {
    "default": {
        "rate": "8000",
        "interval": "20",
        "energy-level": "100",
        "comfort-noise": "true",
        "caller-controls": "none",
    },
    "waitmod": {
        "rate": "8000",
        "interval": "20",
        "energy-level": "100",
        "comfort-noise": "true",
        "caller-controls": "none",
        "moh-sound": "tone_stream://%(2000,4000,440,480);loops=-1",
        "conference-flags": "wait-mod",
    },
}

# caller-controls groups: digits -> action (conference.conf.xml <caller-controls>)
DEFAULT_CALLER_CONTROLS: dict[str, dict[str, str]] = {
    "default": {
        "0": "mute",
        "*": "deaf mute",
        "#": "hangup",
        "1": "vol talk dn",
        "2": "vol talk zero",
        "3": "vol talk up",
        "4": "vol listen dn",
        "5": "vol listen zero",
        "6": "vol listen up",
        "7": "energy dn",
        "8": "energy equ",
        "9": "energy up",
    },
    "capctl": {"1": "event", "0": "mute", "#": "hangup"},
}


class SimConfigError(ValueError):
    """A simulator setting has a value it cannot use."""


def _guess_hostname() -> str:
    try:
        return socket.gethostname() or "localhost"
    except OSError:
        return "localhost"


@dataclass
class SimConfig:
    esl_host: str = "127.0.0.1"
    esl_port: int = 8021
    password: str = "ClueCon"
    outbound_host: str = "127.0.0.1"
    outbound_port: int = 8084
    outbound_mode: str = "async full"  # the words after host:port in `socket`
    # The product dialplan (freeswitch-conf/dialplan/phones.xml): `socket` again when the
    # first one returns with the call up, then an error tone and a hangup. False: the
    # capture setup's plain `socket` extension.
    product_dialplan: bool = False
    recordings_dir: str = "./var/recordings"
    sounds_dir: str = ""  # where relative sound paths are looked up (sound_prefix)
    profiles: dict[str, dict[str, str]] = field(default_factory=lambda: dict(DEFAULT_PROFILES))
    caller_controls: dict[str, dict[str, str]] = field(
        default_factory=lambda: dict(DEFAULT_CALLER_CONTROLS)
    )
    time_scale: float = 1.0
    heartbeat_interval: float = 20.0
    control_host: str = "127.0.0.1"
    control_port: int | None = None  # HTTP control for `sim call`; None: off
    hostname: str = field(default_factory=_guess_hostname)
    ipv4: str = "127.0.0.1"
    ipv6: str = "::1"
    global_vars: dict[str, str] = field(default_factory=dict)
    # FreeSWITCH path prefix -> local directory (like a container volume), for
    # recordings and sounds named with FreeSWITCH's own paths
    path_map: dict[str, str] = field(default_factory=dict)
    first_command_timeout: float = 25.0  # mod_event_socket read_packet(…, 25)
    first_member_id: int = 1  # where mod_conference's global member counter starts

    def validate(self) -> SimConfig:
        """Check every field; return self so it can be chained."""
        problems: list[str] = []
        for name in ("esl_port", "outbound_port"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= 65535:
                problems.append(f"{name} must be an integer 0-65535, got {value!r}")
        if self.control_port is not None and (
            not isinstance(self.control_port, int) or not 0 <= self.control_port <= 65535
        ):
            problems.append(
                f"control_port must be an integer 0-65535 or None, got {self.control_port!r}"
            )
        if not isinstance(self.password, str) or not self.password or "\n" in self.password:
            problems.append("password must be a non-empty single-line string")
        if not _positive(self.time_scale):
            problems.append(f"time_scale must be a number > 0, got {self.time_scale!r}")
        if not _positive(self.heartbeat_interval):
            problems.append(
                "heartbeat_interval must be a number of seconds > 0, "
                f"got {self.heartbeat_interval!r}"
            )
        if not _positive(self.first_command_timeout):
            problems.append("first_command_timeout must be a number of seconds > 0")
        if not isinstance(self.first_member_id, int) or self.first_member_id < 1:
            problems.append(
                f"first_member_id must be an integer >= 1, got {self.first_member_id!r}"
            )
        words = self.outbound_mode.split()
        if any(w not in ("async", "full") for w in words):
            problems.append(
                f"outbound_mode may contain only 'async' and 'full', got {self.outbound_mode!r}"
            )
        if not isinstance(self.path_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.path_map.items()
        ):
            problems.append("path_map must map path prefixes (str) to local directories (str)")
        problems += _check_nested("profiles", self.profiles)
        problems += _check_nested("caller_controls", self.caller_controls)
        if "default" not in self.profiles:
            problems.append("profiles must define the 'default' profile")
        if problems:
            raise SimConfigError("invalid simulator settings: " + "; ".join(problems))
        return self

    def frozen_profiles(self) -> MappingProxyType:
        return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.profiles.items()})


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _check_nested(name: str, value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [f"{name} must be a dict of dicts of strings"]
    problems = []
    for key, inner in value.items():
        if not isinstance(key, str) or not isinstance(inner, dict):
            problems.append(f"{name}[{key!r}] must be a dict of strings")
            continue
        for k, v in inner.items():
            if not isinstance(k, str) or not isinstance(v, str):
                problems.append(f"{name}[{key!r}][{k!r}] must map a string to a string")
    return problems
