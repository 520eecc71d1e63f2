"""G.711 A-law audio for test phones: a tone to "talk" and digital silence.

Pure functions, no I/O. The encoder follows ITU-T G.711 (segment search on the
13-bit magnitude, even bits inverted with 0x55), so FreeSWITCH decodes exactly
the level we asked for and its talk detection (energy-level) sees it.
"""

from __future__ import annotations

import math

SAMPLE_RATE = 8000
ALAW_SILENCE = 0xD5  # A-law code of sample value 0

_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def alaw_encode_sample(sample: int) -> int:
    """One signed 16-bit linear sample to its A-law byte."""
    if not -32768 <= sample <= 32767:
        raise ValueError(f"sample {sample} is outside the signed 16-bit range")
    value = sample >> 3  # A-law works on 13 bits
    if value >= 0:
        sign = 0x80
    else:
        sign = 0x00
        value = -value - 1
    segment = next((i for i, end in enumerate(_SEGMENT_ENDS) if value <= end), None)
    if segment is None:
        return (0x7F | sign) ^ 0x55  # clip to the largest magnitude
    if segment < 2:
        code = (segment << 4) | ((value >> 1) & 0x0F)
    else:
        code = (segment << 4) | ((value >> segment) & 0x0F)
    return (code | sign) ^ 0x55


def alaw_decode_sample(code: int) -> int:
    """One A-law byte back to a linear sample (for tests and level checks)."""
    if not 0 <= code <= 255:
        raise ValueError(f"A-law code {code} is not a byte")
    code ^= 0x55
    mantissa = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    if segment == 0:
        value = mantissa + 8
    elif segment == 1:
        value = mantissa + 0x108
    else:
        value = (mantissa + 0x108) << (segment - 1)
    return value if code & 0x80 else -value


def tone(frequency: float = 440.0, seconds: float = 1.0, amplitude: int = 8000) -> bytes:
    """A sine tone as A-law bytes; a whole number of 20 ms packets long."""
    if frequency <= 0 or seconds <= 0 or not 0 < amplitude <= 32767:
        raise ValueError("tone needs frequency > 0, seconds > 0 and amplitude 1-32767")
    samples = _whole_packets(seconds)
    return bytes(
        alaw_encode_sample(round(amplitude * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE)))
        for n in range(samples)
    )


def silence(seconds: float = 1.0) -> bytes:
    """Digital silence as A-law bytes; a whole number of 20 ms packets long."""
    if seconds <= 0:
        raise ValueError("silence needs seconds > 0")
    return bytes([ALAW_SILENCE]) * _whole_packets(seconds)


def mean_level(payload: bytes) -> float:
    """Mean absolute linear level of A-law bytes (0 for digital silence)."""
    if not payload:
        return 0.0
    return sum(abs(alaw_decode_sample(b)) for b in payload) / len(payload)


def _whole_packets(seconds: float) -> int:
    per_packet = SAMPLE_RATE // 50  # 160 samples = 20 ms
    return max(1, round(seconds * 50)) * per_packet
