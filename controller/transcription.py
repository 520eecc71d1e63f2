"""Pluggable transcription of recordings.

A transcriber is any callable ``(audio_path: str, kind: str) -> str`` named in
settings as ``module:callable`` (``[transcription] engine``). With none
configured the controller still answers every transcription request: it
logs why and sends the callback with an error, so nobody waits forever.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

Transcriber = Callable[[str, str], str]

NO_ENGINE = "no transcription engine is configured ([transcription] engine)"


class TranscriptionError(Exception):
    pass


def load_transcriber(spec: str) -> Transcriber | None:
    """``package.module:callable`` -> the callable; empty -> None. Fails loudly at start-up."""
    if not spec:
        return None
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise TranscriptionError(f"transcription engine {spec!r} must look like module:callable")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TranscriptionError(f"cannot import transcription engine {spec!r}: {exc}") from None
    engine = getattr(module, attribute, None)
    if not callable(engine):
        raise TranscriptionError(f"transcription engine {spec!r} is not callable")
    return engine
