"""pytest plugin: test a conference application against the controller, offline.

Installed with the package (entry point ``pytest11: conference_controller``), so
``pip install conference-controller`` is all a project needs. Define one fixture,
``conference_app``, returning your WSGI application (Flask, Django's
``get_wsgi_application()``, ...) or the base URL of one already running; then:

    def test_lobby(conference_stack, conference_phones, conference_callbacks):
        alice = conference_phones.call("1000", caller_id="alice")
        conference_callbacks.wait_for("/callbacks", ConferenceAction="enter", From="alice")
        alice.send_dtmf("1")
        alice.start_talking(); alice.stop_talking()
        alice.hangup()
        assert "Welcome" in " ".join(alice.heard)

Fixtures (all function-scoped; each test gets its own simulator and controller):

``conference_app``       yours to define: a WSGI callable or a URL string
``conference_settings``  override to change controller settings, e.g.
                         ``{"app": {"answer_url": "/voice"}}`` (a path is relative to
                         your app) or ``{"app": {"dialect": ...}}``; default ``{}``
``conference_stack``     the running stack (controller.testing.stack.Stack):
                         ``.rest("GET", "/v1/conferences")``, ``.api_base``,
                         ``.auth_headers``, ``.app_url``, ``.sim``
``conference_phones``    places calls: ``.call(number, caller_id=..., caller_name=...)``
                         returns a phone with ``send_dtmf``, ``start_talking``,
                         ``stop_talking``, ``hangup``, ``wait_answered``,
                         ``wait_hangup``, ``heard`` (what FreeSWITCH played to it)
``conference_callbacks`` every request your app answered
                         (controller.testing.recorder.RecordingApp): ``wait_for(path,
                         count=1, timeout=15, **fields)``, ``at(path, **fields)``
``held_port``            ``held_port()`` returns a loopback port for a server your test
                         starts in another process (it must bind with SO_REUSEADDR), kept
                         from outgoing connections until the test ends where the system
                         allows it (controller.testing.stack.hold_port)

The controller runs in the test process on gevent, so the plugin patches the
standard library with gevent as pytest loads it. A project that does not want
that in some run disables the plugin: ``pytest -p no:conference_controller``.
"""

from __future__ import annotations

from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all()

from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from controller.testing.recorder import RecordingApp  # noqa: E402
from controller.testing.stack import ReservedPort, Stack, hold_port  # noqa: E402


@pytest.fixture
def conference_app() -> Any:
    """Override in your conftest.py: return your WSGI app, or the URL of a running one."""
    pytest.fail(
        "the conference_controller plugin needs a `conference_app` fixture: define one in "
        "your conftest.py returning your WSGI application (or its base URL)",
        pytrace=False,
    )


@pytest.fixture
def conference_settings() -> dict[str, dict[str, str]]:
    """Override to change controller settings: {section: {name: value}}."""
    return {}


@pytest.fixture
def conference_stack(conference_app: Any, conference_settings: dict[str, dict[str, str]],
                     tmp_path: Path) -> Iterator[Stack]:
    """The simulator, the controller and your application, all on loopback."""
    if conference_app is None or not (callable(conference_app) or
                                      isinstance(conference_app, str)):
        pytest.fail(f"conference_app must be a WSGI callable or a URL string, got "
                    f"{conference_app!r}", pytrace=False)
    with Stack(tmp_path, app=conference_app, settings=conference_settings) as stack:
        yield stack


@pytest.fixture
def conference_phones(conference_stack: Stack) -> Any:
    """Places calls into the simulated FreeSWITCH; every call is hung up after the test."""
    return conference_stack.phones


@pytest.fixture
def conference_callbacks(conference_stack: Stack) -> RecordingApp:
    """Every request your application answered (answer, callbacks, actions, hangup)."""
    if conference_stack.requests is None:
        pytest.fail("conference_callbacks needs conference_app to be a WSGI application: "
                    "requests to an application at a URL cannot be seen", pytrace=False)
    return conference_stack.requests


@pytest.fixture
def held_port() -> Iterator[Callable[[], int]]:
    """``held_port()``: a port for a server another process binds later (picking a free
    port and binding it later lets an outgoing connection take it in between)."""
    ports: list[ReservedPort] = []

    def hold() -> int:
        ports.append(hold_port())
        return ports[-1].port

    yield hold
    for port in ports:
        port.close()
