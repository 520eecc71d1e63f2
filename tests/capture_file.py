"""Reader for the capture record format (tests/data/captures/README.md).

``>>> <epoch>`` then the exact bytes sent (ending in a blank line, plus a body
if the command had Content-Length); ``<<< <epoch>`` then exactly one received
frame (headers, blank line, Content-Length body) followed by one extra LF
added by the recorder; ``### ...`` lines are annotations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    direction: str  # "sent", "received" or "note"
    at: float
    data: bytes  # exact wire bytes (for notes: the annotation text)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1].strip())
    return 0


def read_capture(path: Path) -> list[Record]:
    raw = path.read_bytes()
    records: list[Record] = []
    pos = 0
    while pos < len(raw):
        eol = raw.find(b"\n", pos)
        eol = len(raw) if eol < 0 else eol
        line = raw[pos:eol]
        pos = eol + 1
        if line.startswith(b"###"):
            records.append(Record("note", 0.0, line[3:].strip()))
        elif line.startswith(b">>> ") or line.startswith(b"<<< "):
            at = float(line[4:].strip())
            end_head = raw.find(b"\n\n", pos)
            if end_head < 0:
                raise ValueError(f"{path.name}: unterminated frame at byte {pos}")
            head = raw[pos:end_head]
            length = _content_length(head)
            frame_end = end_head + 2 + length
            data = raw[pos:frame_end]
            if line.startswith(b">>>"):
                records.append(Record("sent", at, data))
                pos = frame_end
            else:
                records.append(Record("received", at, data))
                pos = frame_end + 1  # the recorder's extra LF
        elif not line.strip():
            continue
        else:
            raise ValueError(f"{path.name}: unexpected line {line[:60]!r}")
    return records
