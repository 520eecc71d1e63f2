"""The only glue an application needs: tell the conference_controller plugin what to test."""

import pytest
from app import create_app


@pytest.fixture
def conference_app():
    return create_app()
