"""REST control API for live conferences and dialling out (Flask blueprints mounted at /v1)."""

from typing import Any

from flask import Blueprint

from controller.api.dial import create_dial_blueprint
from controller.api.routes import create_blueprint as create_conference_blueprint

__all__ = ["create_blueprint"]


def create_blueprint(service: Any) -> Blueprint:
    """The whole /v1 API: conferences and calls (routes.py), dialling out (dial.py)."""
    blueprint = create_conference_blueprint(service)
    blueprint.register_blueprint(create_dial_blueprint(service))
    return blueprint
