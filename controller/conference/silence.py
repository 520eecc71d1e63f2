"""Trimming leading and trailing silence from a finished WAV recording (cXML
``trim="trim-silence"``).

``quiet_bounds`` is pure: an RMS scan of 16-bit PCM in short windows, giving the first
and last sample of the span between the first and the last window louder than a
threshold. ``trim_wav`` applies it to a file with the standard library's ``wave``
(``audioop`` is gone from Python 3.13, so the RMS is computed here). mod_conference
writes 16-bit signed little-endian PCM at the conference's rate (its silence is -1,
``memset(..., 255, ...)`` in conference_record.c), which is what this reads; any other
sample width is reported as not trimmable instead of being guessed at.
"""

from __future__ import annotations

import array
import math
import os
import sys
import uuid
import wave

WINDOW_MS = 20  # one FreeSWITCH frame at the usual 20 ms ptime
# RMS above which a window counts as sound: about -50 dBFS. Room noise and comfort noise
# on a PSTN leg stay below it; speech (typically -30 to -10 dBFS) is far above it.
THRESHOLD_RMS = 100.0


class NotTrimmable(Exception):
    """The file is not 16-bit PCM WAV: it is left as it is, and the caller says so."""


def _samples(frames: bytes) -> array.array:
    samples = array.array("h")
    samples.frombytes(frames[: len(frames) - len(frames) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def quiet_bounds(frames: bytes, channels: int, rate: int,
                 threshold: float = THRESHOLD_RMS) -> tuple[int, int]:
    """(first, end) frame indexes of the sound in 16-bit PCM ``frames``; (0, 0) when
    every window is quiet. Windows of ``WINDOW_MS``; all channels count together."""
    samples = _samples(frames)
    frame_count = len(samples) // channels
    window = max(1, rate * WINDOW_MS // 1000)
    loud: list[int] = []
    for start in range(0, frame_count, window):
        chunk = samples[start * channels: min(frame_count, start + window) * channels]
        if chunk and math.sqrt(sum(s * s for s in chunk) / len(chunk)) > threshold:
            loud.append(start)
    if not loud:
        return 0, 0
    return loud[0], min(frame_count, loud[-1] + window)


def trim_wav(path: str, threshold: float = THRESHOLD_RMS) -> int:
    """Rewrite ``path`` without its leading and trailing silence; the new duration in
    milliseconds. The file is replaced atomically (a partial file is never served)."""
    try:
        with wave.open(path, "rb") as source:
            params = source.getparams()
            frames = source.readframes(params.nframes)
    except (wave.Error, EOFError) as exc:
        raise NotTrimmable(f"{path} is not a PCM WAV file: {exc}") from exc
    if params.sampwidth != 2:
        raise NotTrimmable(f"{path} has {params.sampwidth * 8}-bit samples; only 16-bit "
                           "PCM (what FreeSWITCH writes) is trimmed")
    first, end = quiet_bounds(frames, params.nchannels, params.framerate, threshold)
    size = params.nchannels * params.sampwidth
    # A name of its own: in a cluster every controller sees the recording stop and trims
    # it. Trimming is idempotent (the windows of a trimmed file line up with the
    # original's) and the rename atomic, so they all end with the same file and duration.
    temporary = f"{path}.{os.getpid()}.{uuid.uuid4().hex}.trim"
    with wave.open(temporary, "wb") as target:
        target.setnchannels(params.nchannels)
        target.setsampwidth(params.sampwidth)
        target.setframerate(params.framerate)
        target.writeframes(frames[first * size: end * size])
    os.replace(temporary, path)
    return (end - first) * 1000 // params.framerate
