"""Who hears whom in a live room, read from FreeSWITCH itself (works on the simulator and
on a real FreeSWITCH): ``json_list`` flags (a held member neither hears nor is heard,
capture 07a) and ``relate <id>`` (``A -> C NOSPEAK``: C does not hear A, capture 07b)."""

from __future__ import annotations

import json
import re
from typing import Any

RELATION = re.compile(r"^(\d+) -> (\d+) (SPEAK|NOSPEAK) (HEAR|NOHEAR)", re.M)


def members(stack: Any, fs_room: str) -> dict[int, dict]:
    text = stack.api(f"conference {fs_room} json_list").strip()
    if not text.startswith("["):
        return {}
    return {m["id"]: m for conf in json.loads(text) for m in conf.get("members", [])
            if m.get("type") == "caller"}


def hearing(stack: Any, fs_room: str) -> set[tuple[int, int]]:
    """Every (listener, speaker) pair where the listener hears the speaker."""
    listed = members(stack, fs_room)
    blocked: set[tuple[int, int]] = set()
    for member_id in listed:
        for a, b, speak, hear in RELATION.findall(
                stack.api(f"conference {fs_room} relate {member_id}")):
            if speak == "NOSPEAK":
                blocked.add((int(b), int(a)))  # b no longer hears a
            if hear == "NOHEAR":
                blocked.add((int(a), int(b)))  # a no longer hears b
    return {(listener, speaker) for listener, lm in listed.items()
            for speaker, sm in listed.items()
            if listener != speaker and lm["flags"].get("can_hear") and sm["flags"].get("can_speak")
            and (listener, speaker) not in blocked}
