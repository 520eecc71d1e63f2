"""What a call needs to carry on after its controller connection is lost. Pure.

Before a member joins a room the controller stores, in the channel variable
``cc_resume``, what must happen when the member leaves (callback and action
URLs). FreeSWITCH keeps the member in the room whatever happens to the
controller; when the member leaves, the dialplan runs ``socket`` again and
whichever controller answers finds the state in the ``connect`` reply
(``variable_cc_resume``) next to FreeSWITCH's own ``conference_member_id``
and ``conference_uuid``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from controller.model import ConferenceJoin, HttpMethod, Webhook

RESUME_VARIABLE = "cc_resume"


@dataclass(frozen=True)
class ResumeState:
    room: str
    action: Webhook | None
    redirect: bool
    callback: Webhook | None


def _hook(hook: Webhook | None) -> list[str] | None:
    return None if hook is None else [hook.method.value, hook.url]


def _unhook(value: object) -> Webhook | None:
    if not value:
        return None
    method, url = value  # type: ignore[misc]
    return Webhook(str(url), HttpMethod(method))


def encode_resume(join: ConferenceJoin) -> str:
    """The ``cc_resume`` value for a member about to join. JSON, with ``$`` escaped:
    FreeSWITCH expands ``${...}`` in every application argument, ``set`` included."""
    text = json.dumps({"v": 1, "room": join.room, "action": _hook(join.action),
                       "redirect": join.redirect, "callback": _hook(join.callback)},
                      separators=(",", ":"), ensure_ascii=True)
    return text.replace("$", "\\u0024")


def decode_resume(value: str) -> ResumeState:
    """Raises ValueError when the value is not one we wrote."""
    try:
        data = json.loads(value)
        if data.get("v") != 1:
            raise ValueError(f"unknown resume version {data.get('v')!r}")
        return ResumeState(room=str(data["room"]), action=_unhook(data.get("action")),
                           redirect=bool(data.get("redirect", True)),
                           callback=_unhook(data.get("callback")))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a resume state: {exc}") from None
