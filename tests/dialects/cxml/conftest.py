"""The cXML face end to end: simulator (or a real FreeSWITCH when FS_ESL_HOST is set),
the controller speaking cXML, and a cXML application built with the twilio SDK."""

from __future__ import annotations

import secrets

import pytest
from cxml_testapp import ACCOUNT_SID, AUTH_TOKEN, CxmlApp
from stack import Stack
from twilio.rest import Client


@pytest.fixture
def cxml_app() -> CxmlApp:
    return CxmlApp()


@pytest.fixture
def room_name() -> str:
    return f"cx-{secrets.token_hex(4)}"


@pytest.fixture
def cxml_stack(tmp_path, cxml_app, request):
    settings = {"app": {"dialect": "cxml"},
                "cxml": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}}
    marker = request.node.get_closest_marker("delivery_processes")
    if marker is not None:  # callbacks sent (and signed) by worker processes
        settings["webhooks"] = {"delivery_processes": str(marker.args[0])}
    with Stack(tmp_path, app=cxml_app.app, settings=settings) as running:
        yield running
        running.phones.close()


@pytest.fixture
def client(cxml_stack) -> Client:
    """The official SDK's REST client, its api domain pointed at the controller."""
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = f"http://127.0.0.1:{cxml_stack.http_port}"
    return client
