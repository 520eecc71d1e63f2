"""JSON log lines on stderr, each carrying the call/room/member it belongs to.

The context lives in a ``contextvars.ContextVar``; greenlet gives every greenlet
its own context, so a call's greenlet tags all its lines without passing a
logger around. ``log_context(call_uuid=...)`` adds fields for a block.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

# The default is never mutated: every change sets a new dict.
_EMPTY: dict[str, Any] = {}
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "log_context", default=_EMPTY  # noqa: B039
)

# Attributes every LogRecord has; anything else passed via `extra=` is emitted.
_RECORD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (e.g. call_uuid, room, member_id) to every line logged inside."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**fields: Any) -> None:
    """Add fields for the rest of the current greenlet (e.g. the member id once known)."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def current_log_context() -> dict[str, Any]:
    return dict(_context.get())


# One encoder for every line: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


def _line_encoder() -> Callable[[dict[str, Any]], str]:
    """``_ENCODER.encode`` without its per-call set-up: ``JSONEncoder.iterencode`` builds a
    C encoder for every object it encodes (a third of the encoding cost of a log line);
    this one is built once, from the same settings. The C encoder's constructor is not a
    public API: unless it exists and gives exactly ``_ENCODER``'s text, ``_ENCODER.encode``
    is used. No circular-reference check (a log line holds no containers of its own; one
    in an ``extra=`` value raises RecursionError instead of ValueError, both reported by
    the handler's handleError, as before)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _ENCODER.encode
    try:
        encoder = make(None, str, json.encoder.encode_basestring, None, ": ", ", ",
                       False, False, True)
        sample = {"s": "é\n\"", "n": 1, "f": 1.5, "b": True, "z": None, "l": [1, {"x": ()}],
                  "o": RuntimeError("x")}
        if "".join(encoder(sample, 0)) != _ENCODER.encode(sample):
            return _ENCODER.encode
    except Exception:  # noqa: BLE001 - another Python's signature: the public way
        return _ENCODER.encode

    def encode(line: dict[str, Any]) -> str:
        return "".join(encoder(line, 0))

    return encode


_encode = _line_encoder()


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Lines are logged per call and per member event (at
    INFO), so this runs on the hot path: the seconds part of the stamp is formatted
    once per second and the encoder is made once (~32 -> ~15 us per line measured)."""

    def __init__(self) -> None:
        super().__init__()
        # (second, its text) as one tuple: a native thread (the outbox's pool) logging
        # at the same moment sees either the old pair or the new one, never a mix
        self._second: tuple[int, str] = (-1, "")

    def _stamp(self, record: logging.LogRecord) -> str:
        second, text = self._second
        if int(record.created) != second:  # strftime + gmtime cost more than the rest
            second = int(record.created)
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self._stamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_context.get())
        attributes = vars(record)
        # Nearly every record carries only LogRecord's own attributes: one C-level subset
        # test instead of a Python loop over its ~20 names (half the cost of the loop).
        if not attributes.keys() <= _RECORD_ATTRS:
            for key, value in attributes.items():
                if key not in _RECORD_ATTRS and not key.startswith("_"):
                    line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _encode(line)


class JsonLineHandler(logging.StreamHandler):
    """A StreamHandler that takes its lock once per line, not twice.

    ``Handler.handle`` holds the lock around ``emit`` (the formatting included) and
    ``StreamHandler.emit`` takes it again to flush: with gevent's patched ``threading``
    each acquire/release pair is Python code, a fifth of a line's cost. Here the line
    is formatted first (the formatter keeps no state a concurrent line could tear) and
    written and flushed under one acquire; what reaches the stream is the same."""

    def handle(self, record: logging.LogRecord) -> Any:
        passed = self.filter(record)
        if isinstance(passed, logging.LogRecord):  # Python 3.12: a filter may replace it
            record = passed
        if not passed:
            return passed
        try:
            text = self.format(record) + self.terminator
            with self.lock:
                stream = self.stream
                stream.write(text)
                if hasattr(stream, "flush"):
                    stream.flush()
        except RecursionError:  # as StreamHandler.emit (bpo-36272)
            raise
        except Exception:  # noqa: BLE001 - as StreamHandler.emit: report, never raise
            self.handleError(record)
        return passed


def setup_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route all logging to one JSON handler (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_conference_controller", False):
            root.removeHandler(handler)
    handler = JsonLineHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._conference_controller = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # The Logging HOWTO's "Optimization": our JSON lines carry no source position, thread
    # or process, so records need not look them up (the caller's frame walk and a thread
    # lookup per line were a tenth of the CPU of a callback's one log line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # werkzeug and urllib3 are chatty at INFO and say nothing a caller needs.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
