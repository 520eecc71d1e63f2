"""A real Flask app on a real port (gevent WSGIServer) for tests that need an HTTP peer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import gevent
from flask import Flask
from gevent.pywsgi import WSGIServer


@contextlib.contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<ephemeral>; yields the base URL."""
    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.address[1]}"
    finally:
        server.stop(timeout=1)
        gevent.sleep(0)
