"""REST control API for live conferences (Flask blueprint mounted at /v1)."""

from controller.api.routes import create_blueprint

__all__ = ["create_blueprint"]
