"""Settings: INI + environment, strict validation, the README table, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from controller.config import ConfigError, describe_settings, load_settings
from controller.logs import log_context, setup_logging

ROOT = Path(__file__).parent.parent


def test_defaults_are_valid_and_typed():
    settings = load_settings(environ={})
    assert settings.freeswitch.esl_port == 8021
    assert settings.webhooks.read_timeout == 10.0
    assert settings.api.allow_unauthenticated is False
    assert dict(settings.app.number_answer_urls) == {}


def test_environment_overrides_the_file(tmp_path):
    ini = tmp_path / "cc.ini"
    ini.write_text("[freeswitch]\nesl_port = 9021\nesl_password = fromfile\n")
    settings = load_settings(str(ini), environ={"CC_FREESWITCH_ESL_PASSWORD": "fromenv"})
    assert settings.freeswitch.esl_port == 9021
    assert settings.freeswitch.esl_password == "fromenv"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CC_FREESWITCH_ESL_PORT": "abc"},
         "freeswitch.esl_port (environment CC_FREESWITCH_ESL_PORT) = 'abc': "
         "must be an integer 1-65535"),
        ({"CC_APP_ANSWER_URL": "ftp://x"},
         "app.answer_url (environment CC_APP_ANSWER_URL) = 'ftp://x': "
         "must be an absolute http:// or https:// URL"),
        ({"CC_API_ALLOW_UNAUTHENTICATED": "maybe"}, "must be true or false"),
        ({"CC_LOG_LEVEL": "loud"}, "must be one of DEBUG, INFO, WARNING, ERROR"),
        ({"CC_APP_NUMBER_ANSWER_URLS": "1000"}, "must be a comma list of <number>=<url>"),
        ({"CC_FREESWITCH_ROOM_PREFIX": "a b"}, "may contain only letters, digits and -_."),
        ({"CC_FREESWITCH_ESL_PASSWORD": ""}, "= <hidden>: must not be empty"),
    ],
)
def test_bad_values_name_the_setting_and_the_accepted_form(environ, message):
    with pytest.raises(ConfigError) as error:
        load_settings(environ=environ)
    assert message in str(error.value)


def test_unknown_sections_and_keys_in_the_file_are_errors(tmp_path):
    ini = tmp_path / "cc.ini"
    ini.write_text("[freeswitch]\nesl_prot = 1\n")
    with pytest.raises(ConfigError, match=r"unknown setting \[freeswitch\] esl_prot"):
        load_settings(str(ini), environ={})
    ini.write_text("[freeswich]\n")
    with pytest.raises(ConfigError, match=r"unknown section \[freeswich\]"):
        load_settings(str(ini), environ={})


def test_the_api_never_starts_open_by_accident():
    with pytest.raises(ConfigError, match="the REST API needs credentials"):
        load_settings(environ={}).validate_security()
    with pytest.raises(ConfigError, match="must be set together"):
        load_settings(environ={"CC_API_USERNAME": "ops"}).validate_security()
    load_settings(environ={"CC_API_TOKEN": "t"}).validate_security()
    load_settings(environ={"CC_API_ALLOW_UNAUTHENTICATED": "true"}).validate_security()


def test_run_refuses_to_start_with_a_bad_setting():
    result = subprocess.run(
        [sys.executable, "-m", "controller.cli", "run"], capture_output=True, text=True,
        env={"CC_FREESWITCH_ESL_PORT": "0", "CC_API_TOKEN": "t", "PATH": "/usr/bin:/bin"},
        cwd=ROOT, timeout=60,
    )
    assert result.returncode == 2
    assert "freeswitch.esl_port" in result.stderr and "1-65535" in result.stderr


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    for key, env, default, doc in describe_settings():
        row = f"| `{key}` | `{env}` | `{default}` | {doc} |"
        assert row in readme, f"README is missing or has a stale row for {key}"


def test_json_log_lines_carry_the_call_context():
    stream = io.StringIO()
    setup_logging("INFO", stream=stream)
    try:
        with log_context(call_uuid="u-1"):
            with log_context(room="sales", member_id="7"):
                logging.getLogger("t").info("joined %s", "sales")
            logging.getLogger("t").warning("left")
    finally:
        setup_logging("WARNING")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["msg"] == "joined sales" and first["call_uuid"] == "u-1"
    assert first["room"] == "sales" and first["member_id"] == "7"
    assert second["call_uuid"] == "u-1" and "room" not in second
    assert second["level"] == "WARNING"
