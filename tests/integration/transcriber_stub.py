"""A transcription engine for tests: proves the engine got the recording file itself."""

from __future__ import annotations

import os


def transcribe(audio_path: str, kind: str) -> str:
    with open(audio_path, "rb") as handle:
        magic = handle.read(4)
    return f"{kind} transcript of {os.path.getsize(audio_path)} bytes starting {magic!r}"
