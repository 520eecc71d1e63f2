"""Telnyx's identifiers for our calls and rooms. Pure.

A call's ``call_control_id`` is ``v3:<FreeSWITCH UUID>`` (Telnyx's own are
``v3:...`` tokens the application treats as opaque), so it needs no table and
survives a controller restart; ``call_leg_id`` and ``call_session_id`` are the
UUID itself (a call here is one leg). A conference's id is FreeSWITCH's
``Conference-Unique-ID``.
"""

from __future__ import annotations

PREFIX = "v3:"


def call_control_id(call_uuid: str) -> str:
    return f"{PREFIX}{call_uuid}" if call_uuid else ""


def call_uuid(control_id: str) -> str:
    """The FreeSWITCH UUID behind a call_control_id ("" if it is not one of ours)."""
    return control_id[len(PREFIX):] if control_id.startswith(PREFIX) else ""
