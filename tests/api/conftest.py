"""Fixtures of the REST API tests."""

from __future__ import annotations

import pytest
from api.live import LiveRoom, live_room


@pytest.fixture
def room(tmp_path) -> LiveRoom:
    """room1 with alice, bob and carol in it (in that join order)."""
    stack, live = live_room(tmp_path)
    try:
        yield live
    finally:
        stack.__exit__(None, None, None)
