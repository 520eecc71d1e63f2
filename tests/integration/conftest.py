"""End-to-end fixtures: FreeSWITCH (simulated unless FS_ESL_HOST names a real one), the
controller, and a scriptable application, all on real sockets."""

from __future__ import annotations

import secrets
import time

import gevent
import pytest
from appkit import AppRecorder, conferences
from stack import Stack, real_freeswitch


@pytest.fixture
def recorder() -> AppRecorder:
    return AppRecorder()


@pytest.fixture
def room_suffix() -> str:
    """This test's own suffix for room names. On a real FreeSWITCH rooms outlive a test
    (members leave at its own pace after the phones hang up; a room survives a controller
    restart), so a room name reused by the next test would put it in a room that is not
    empty: extra members, no time limit set (only the room's creator sets it), a
    recording that does not stop when "the last" member leaves."""
    return secrets.token_hex(4)


@pytest.fixture
def room(room_suffix):
    """``room("room1")`` -> this test's room1, a name no other test uses."""

    def name(base: str) -> str:
        return f"{base}-{room_suffix}"

    return name


@pytest.fixture
def stack(tmp_path, recorder, room_suffix):
    with Stack(tmp_path, app=recorder.app) as running:
        yield running
        # Nothing of this test may be left for the next: hang up its phones, then wait
        # until FreeSWITCH has destroyed every room of this test.
        running.phones.close()
        leftovers = _rooms_left(running, room_suffix)
        assert not leftovers, f"rooms still in FreeSWITCH after the test's calls ended: {leftovers}"


def _rooms_left(running: Stack, suffix: str, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        left = [name for name in conferences(running) if name.endswith(f"-{suffix}")]
        if not left or time.monotonic() > deadline:
            return left
        gevent.sleep(0.1)


@pytest.fixture
def sim_only():
    """For assertions only the simulator can make (what a phone heard)."""
    if real_freeswitch():
        pytest.skip("needs the simulator's view of what phones heard")
