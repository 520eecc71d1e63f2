"""The pytest plugin as an outside project uses it: a separate pytest process, in a directory
outside this repository, that finds the fixtures through the package's entry point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "plivo_app_tests"

pytestmark = pytest.mark.slow


def outside_pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, not another install
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_example_apps_own_suite_passes_with_only_the_plugin(tmp_path):
    project = tmp_path / "standup"
    shutil.copytree(EXAMPLE, project)
    done = outside_pytest(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_a_project_without_conference_app_is_told_what_to_define(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "def test_x(conference_phones):\n    conference_phones.call('1000')\n")
    done = outside_pytest(tmp_path)
    assert done.returncode == 1
    assert "needs a `conference_app` fixture" in done.stdout


def test_callbacks_of_an_app_at_a_url_cannot_be_seen_and_it_says_so(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "@pytest.fixture\n"
        "def conference_app():\n    return 'http://127.0.0.1:9'\n"
        "def test_x(conference_callbacks):\n    pass\n")
    done = outside_pytest(tmp_path)
    assert done.returncode == 1
    assert "conference_callbacks needs conference_app to be a WSGI application" in done.stdout


def test_settings_reach_the_controller(tmp_path):
    # conference_settings overrides a controller setting; a path is taken relative to the app
    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "@pytest.fixture\n"
        "def conference_app():\n"
        "    def app(environ, start_response):\n"
        "        start_response('200 OK', [('Content-Type', 'application/xml')])\n"
        "        return [b'<Response><Speak>via voice</Speak></Response>']\n"
        "    return app\n"
        "@pytest.fixture\n"
        "def conference_settings():\n"
        "    return {'app': {'answer_url': '/voice', 'answer_method': 'GET'}}\n"
        "def test_x(conference_phones, conference_callbacks):\n"
        "    phone = conference_phones.call('1000')\n"
        "    phone.wait_hangup()\n"
        "    [answer] = conference_callbacks.wait_for('/voice')\n"
        "    assert answer.method == 'GET'\n"
        "    assert phone.heard[-1].endswith('via voice')\n")
    done = outside_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

