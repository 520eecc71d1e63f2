"""Fault tests: the product on real sockets while something breaks (a silent or killed
FreeSWITCH, a killed controller, a slow or failing application, hostile input)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))

from appkit import AppRecorder  # noqa: E402
from stack import real_freeswitch  # noqa: E402


@pytest.fixture
def recorder() -> AppRecorder:
    return AppRecorder()


@pytest.fixture(autouse=True)
def simulator_only():
    if real_freeswitch():
        pytest.skip("fault tests break the FreeSWITCH they run on: simulator only")
