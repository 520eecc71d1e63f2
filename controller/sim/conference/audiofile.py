"""The audio files a conference recording leaves on disk (pure byte builders).

``.wav``: RIFF/WAVE, 8 kHz 16-bit mono PCM, the conference's rate. Frames
where nobody spoke hold the value mod_conference writes for silence
(``memset(…, 255, …)``, i.e. -1); while someone talks a quiet 440 Hz tone
stands in for the mixed voices, so a recording is audibly non-empty.

``.mp3``: an ID3v2.3 tag (title/artist as mod_conference sets them) followed
by MPEG-2.5 Layer III frames at 8 kHz mono, 8 kbit/s. The frames carry no
audio data (side information all zero), which every decoder plays as
silence; the frame count gives the right duration.
"""

from __future__ import annotations

import array
import math
import struct

RATE = 8000
SILENCE = -1  # mod_conference record thread: memset(data_buf, 255, …)
MP3_FRAME_SAMPLES = 576
MP3_FRAME_BYTES = 72  # 72 * 8000 bit/s / 8000 Hz, no padding
MP3_HEADER = bytes([0xFF, 0xE3, 0x18, 0xC0])  # MPEG-2.5, Layer III, no CRC, 8 kbit/s, 8 kHz, mono


def render_pcm(duration_ms: float, loud: list[tuple[float, float]]) -> bytes:
    """16-bit little-endian samples; ``loud`` = (start_ms, end_ms) spans of speech."""
    total = max(0, int(round(duration_ms * RATE / 1000)))
    samples = array.array("h", [SILENCE]) * total
    # 440 Hz fits a whole number of cycles in one second: tile that second.
    second = array.array(
        "h", (int(3000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(RATE))
    )
    for start_ms, end_ms in loud:
        first = max(0, int(start_ms * RATE / 1000))
        last = min(total, int(end_ms * RATE / 1000))
        pos = first
        while pos < last:
            offset = pos % RATE
            take = min(last - pos, RATE - offset)
            samples[pos : pos + take] = second[offset : offset + take]
            pos += take
    if array.array("h", [1]).tobytes() != b"\x01\x00":
        samples.byteswap()
    return samples.tobytes()


def render_wav(duration_ms: float, loud: list[tuple[float, float]]) -> bytes:
    data = render_pcm(duration_ms, loud)
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(data)) + data


def _id3_frame(frame_id: str, text: str) -> bytes:
    payload = b"\x00" + text.encode("latin-1", "replace")
    return frame_id.encode() + struct.pack(">I", len(payload)) + b"\x00\x00" + payload


def _syncsafe(size: int) -> bytes:
    return bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])


def render_mp3(duration_ms: float, title: str, artist: str) -> bytes:
    frames = _id3_frame("TIT2", title) + _id3_frame("TPE1", artist)
    tag = b"ID3\x03\x00\x00" + _syncsafe(len(frames)) + frames
    count = int(round(duration_ms * RATE / 1000 / MP3_FRAME_SAMPLES))
    frame = MP3_HEADER + bytes(MP3_FRAME_BYTES - len(MP3_HEADER))
    return tag + frame * count


def render(
    path: str, duration_ms: float, loud: list[tuple[float, float]], title: str, artist: str
) -> bytes:
    """The bytes for ``path`` by its extension (anything not .mp3 is written as WAV)."""
    if path.lower().endswith(".mp3"):
        return render_mp3(duration_ms, title, artist)
    return render_wav(duration_ms, loud)
