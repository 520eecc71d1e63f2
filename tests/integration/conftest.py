"""End-to-end fixtures: FreeSWITCH (simulated unless FS_ESL_HOST names a real one), the
controller, and a scriptable application, all on real sockets."""

from __future__ import annotations

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
