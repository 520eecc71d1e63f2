"""Shared fixtures. gevent patches the stdlib before anything else is imported."""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

CAPTURES = Path(__file__).parent / "data" / "captures"


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    return CAPTURES


def real_freeswitch_configured() -> bool:
    return bool(os.environ.get("FS_ESL_HOST"))

# Test helpers live beside the tests (capture_file, esl/fakefs); make them importable.
import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parent.parent))  # examples/ and bench/
