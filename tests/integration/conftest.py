"""End-to-end fixtures: FreeSWITCH (simulated unless FS_ESL_HOST names a real one), the
controller, and a scriptable application, all on real sockets."""

from __future__ import annotations

import json

import pytest
from appkit import AppRecorder
from stack import Stack, real_freeswitch


@pytest.fixture
def recorder() -> AppRecorder:
    return AppRecorder()


@pytest.fixture
def stack(tmp_path, recorder):
    with Stack(tmp_path, app=recorder.app) as running:
        yield running


@pytest.fixture
def sim_only():
    """For assertions only the simulator can make (what a phone heard)."""
    if real_freeswitch():
        pytest.skip("needs the simulator's view of what phones heard")


def conferences(stack: Stack) -> dict[str, dict]:
    """FreeSWITCH's own listing (works on the simulator and on a real FreeSWITCH)."""
    text = stack.api("conference json_list").strip()
    if not text.startswith("["):
        return {}
    return {conf["conference_name"]: conf for conf in json.loads(text)}


def member_of(stack: Stack, room: str, uuid: str) -> dict | None:
    conf = conferences(stack).get(room)
    if conf is None:
        return None
    return next((m for m in conf.get("members", []) if m.get("uuid") == uuid), None)
