"""How long a media string plays, as FreeSWITCH would open it (pure, file reads only).

Supported: ``tone_stream://`` (``%(on,off,freq...)`` segments, ``L=<n>;``
repeat prefixes, ``;loops=<n>``), ``silence_stream://<ms>[,<level>]``,
``file_string://a!b`` (the parts in sequence), ``say:`` text and WAV/MP3
files (duration from their headers). ``{var=val}`` parameter prefixes are
stripped. Anything else, or a file that does not exist, cannot be opened:
``playback`` then answers ``FILE NOT FOUND`` and ``conference play`` fails.
"""

from __future__ import annotations

import math
import os
import re
import struct
from dataclasses import dataclass

from controller.sim.fsutil import separate_string

FOREVER = math.inf
SPEECH_MS_PER_CHAR = 65  # a TTS engine speaks ~15 characters per second


class MediaNotFound(Exception):
    """The media string names nothing FreeSWITCH could open."""


@dataclass(frozen=True)
class Media:
    """An opened media string: its length in ms (inf for endless loops)."""

    path: str
    duration_ms: float
    loops: int = 1


def strip_params(path: str) -> tuple[dict[str, str], str]:
    """Split ``{a=b,c=d}file`` into its parameters and the file."""
    params: dict[str, str] = {}
    while path.startswith("{") and "}" in path:
        inner, _, path = path[1:].partition("}")
        for item in inner.split(","):
            key, _, value = item.partition("=")
            if key:
                params[key.strip()] = value.strip()
    return params, path


def tone_stream_ms(spec: str) -> float:
    """Length of a teletone script (switch_ivr_gentones semantics, simplified to timing)."""
    body = spec
    loops = 1
    m = re.search(r";loops=(-?\d+)", body)
    if m:
        loops = int(m.group(1))
        body = body[: m.start()] + body[m.end() :]
    total = 0.0
    repeat = 1
    for part in body.split(";"):
        part = part.strip()
        if not part:
            continue
        rep = re.fullmatch(r"[Ll]=(-?\d+)", part)
        if rep:
            repeat = int(rep.group(1))
            continue
        segment = 0.0
        for on_off in re.findall(r"%\(\s*(-?\d+)\s*,\s*(-?\d+)", part):
            segment += max(0, int(on_off[0])) + max(0, int(on_off[1]))
        if repeat < 0:
            return FOREVER
        total += segment * max(repeat, 1)
        repeat = 1
    if loops < 0:
        return FOREVER if total > 0 else 0.0
    return total * max(loops, 1)


def wav_duration_ms(path: str) -> float:
    """Duration from a RIFF/WAVE header (fmt + data chunks)."""
    with open(path, "rb") as fh:
        header = fh.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            raise MediaNotFound(f"{path}: not a RIFF/WAVE file")
        byte_rate = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                raise MediaNotFound(f"{path}: no data chunk")
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = fh.read(size)
                byte_rate = struct.unpack("<I", fmt[8:12])[0]
                if size % 2:
                    fh.read(1)
            elif cid == b"data":
                if not byte_rate:
                    raise MediaNotFound(f"{path}: data before fmt")
                return size * 1000.0 / byte_rate
            else:
                fh.seek(size + (size % 2), os.SEEK_CUR)


_MPEG_BITRATES = {  # (version_id, layer 3) -> kbps by index
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    0: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mp3_duration_ms(path: str) -> float:
    """Sum of MPEG audio Layer III frame durations (after an optional ID3v2 tag)."""
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        pos = 10 + size
    total = 0.0
    frames = 0
    while pos + 4 <= len(data):
        b1, b2 = data[pos + 1], data[pos + 2]
        if data[pos] != 0xFF or (b1 & 0xE0) != 0xE0:
            break
        version = (b1 >> 3) & 0x3
        layer = (b1 >> 1) & 0x3
        if version == 1 or layer != 1:
            break
        bitrate = _MPEG_BITRATES[version][(b2 >> 4) & 0xF] * 1000
        rate_idx = (b2 >> 2) & 0x3
        if not bitrate or rate_idx == 3:
            break
        rate = _MPEG_RATES[version][rate_idx]
        padding = (b2 >> 1) & 1
        samples = 1152 if version == 3 else 576
        length = samples // 8 * bitrate // rate + padding
        total += samples * 1000.0 / rate
        frames += 1
        pos += length
    if not frames:
        raise MediaNotFound(f"{path}: no MPEG audio frames")
    return total


def open_media(path: str, sound_prefix: str | None = None) -> Media:
    """switch_core_file_open, timing only. Raises MediaNotFound like a failed open."""
    params, target = strip_params(path.strip())
    raw_loops = params.get("loops", "1").strip().lower()
    if raw_loops in ("inf", "infinite"):
        loops = -1
    else:
        loops = int(raw_loops) if re.fullmatch(r"-?\d+", raw_loops) else 1
    if target.startswith("tone_stream://"):
        ms = tone_stream_ms(target[len("tone_stream://") :])
    elif target.startswith("silence_stream://"):
        arg = target[len("silence_stream://") :].split(",")[0].split(";")[0]
        value = int(arg) if arg.strip().lstrip("-").isdigit() else 0
        ms = FOREVER if value < 0 else float(value)
    elif target.startswith("file_string://"):
        ms = 0.0
        for part in target[len("file_string://") :].split("!"):
            if part:
                ms += open_media(part, sound_prefix).duration_ms
    elif target.startswith("tts://"):
        # mod_dptools tts_file_open: exactly engine|voice|document (any engine
        # is taken as loaded in the simulator)
        parts = separate_string(target[len("tts://") :], "|", 3)
        if len(parts) != 3 or not all(parts):
            raise MediaNotFound(f"{target}: a tts:// file needs engine|voice|text")
        ms = speech_ms(parts[2])
    elif target.startswith("say:"):
        ms = max(500.0, len(target) * SPEECH_MS_PER_CHAR)
    else:
        ms = _file_ms(target, sound_prefix)
    if loops < 0:
        ms = FOREVER
    elif loops > 1:
        ms *= loops
    return Media(path, ms, loops)


def _file_ms(target: str, sound_prefix: str | None) -> float:
    if "://" in target and not target.startswith("/"):
        raise MediaNotFound(f"{target}: no module for this stream type in the simulator")
    path = target
    if not os.path.isabs(path) and sound_prefix:
        path = os.path.join(sound_prefix, path)
    if not os.path.isfile(path):
        raise MediaNotFound(f"{path}: no such file")
    lowered = path.lower()
    if lowered.endswith(".wav"):
        return wav_duration_ms(path)
    if lowered.endswith(".mp3"):
        return mp3_duration_ms(path)
    raise MediaNotFound(f"{path}: the simulator reads only .wav and .mp3 files")


def speech_ms(text: str) -> float:
    """How long a TTS engine takes to say ``text``."""
    return max(500.0, len(text) * SPEECH_MS_PER_CHAR)
