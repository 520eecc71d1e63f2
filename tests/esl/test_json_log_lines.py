"""The controller's JSON log lines (controller.logs), through its cheaper record path:
the one-lock handler and the prebuilt encoder must write exactly what logging's own
StreamHandler writes with the same formatter, for every kind of record."""

from __future__ import annotations

import io
import json
import logging

import pytest

from controller.logs import JsonFormatter, JsonLineHandler, log_context


def _emit_both(emit) -> tuple[str, str]:
    """The same records through JsonLineHandler and through logging.StreamHandler."""
    ours_stream, stdlib_stream = io.StringIO(), io.StringIO()
    ours, stdlib = JsonLineHandler(ours_stream), logging.StreamHandler(stdlib_stream)
    logger = logging.getLogger("tests.esl.json_log_lines")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    for handler in (ours, stdlib):
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    try:
        emit(logger)
    finally:
        logger.removeHandler(ours)
        logger.removeHandler(stdlib)
    return ours_stream.getvalue(), stdlib_stream.getvalue()


def _without_stamps(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        assert line.pop("ts").endswith("Z")
    return lines


def _records(logger: logging.Logger) -> None:
    with log_context(call_uuid="a6e32a59-3b57-4b26-8019-b2bb1bccda30", room="sales"):
        logger.info("joined %s as member %s", "conf-sales", 7)
        logger.warning("caller name %r", "Zoë \"O'Brien\"\n100%")
        logger.info("with extras", extra={"member_id": "7", "sizes": [1, 2.5, None],
                                          "obj": object, "_hidden": 1})
        try:
            raise ValueError("bad digit")
        except ValueError:
            logger.exception("failed")
    logger.debug("no context %d%%", 5)


def test_lines_are_the_ones_logging_own_handler_writes():
    ours, stdlib = _emit_both(_records)
    assert ours.count("\n") == 5
    assert _without_stamps(ours) == _without_stamps(stdlib)
    first, second, third, fourth, fifth = _without_stamps(ours)
    assert first == {"level": "INFO", "logger": "tests.esl.json_log_lines",
                     "msg": "joined conf-sales as member 7",
                     "call_uuid": "a6e32a59-3b57-4b26-8019-b2bb1bccda30", "room": "sales"}
    assert second["msg"] == "caller name 'Zoë \"O\\'Brien\"\\n100%'"
    assert third["member_id"] == "7" and third["sizes"] == [1, 2.5, None]
    assert third["obj"] == "<class 'object'>" and "_hidden" not in third
    assert fourth["level"] == "ERROR" and "ValueError: bad digit" in fourth["exc"]
    assert fifth == {"level": "DEBUG", "logger": "tests.esl.json_log_lines", "msg": "no context 5%"}


def test_non_ascii_is_written_as_is():
    ours, _ = _emit_both(lambda logger: logger.info("sala %s", "año ☎"))
    assert '"msg": "sala año ☎"' in ours


def test_a_filter_that_drops_a_record_drops_its_line():
    stream = io.StringIO()
    handler = JsonLineHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(lambda record: "secret" not in record.getMessage())
    logger = logging.getLogger("tests.esl.json_log_lines.filtered")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("a secret")
        logger.warning("public")
    finally:
        logger.removeHandler(handler)
    assert [json.loads(line)["msg"] for line in stream.getvalue().splitlines()] == ["public"]


class _BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("disk full")


def test_a_failing_stream_is_reported_not_raised(capsys: pytest.CaptureFixture[str]):
    handler = JsonLineHandler(_BrokenStream())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.esl.json_log_lines.broken")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("lost line")  # must not raise into the caller
    finally:
        logger.removeHandler(handler)
    assert "OSError: disk full" in capsys.readouterr().err
