"""What is known of finished conference recordings, kept beside them so it outlives the
conference and a controller restart: ``<recordings dir>/meta/<conference uuid>/<recording
id>.json``. Grouped by conference, so a conference's recordings are one directory read
(the cXML REST Recordings list and the fetch of an ended conference read it); the
audio files themselves stay ``<recordings dir>/<recording id>.<format>``.

One small JSON file per recording, written to a temporary name and renamed, so a reader
never sees half of one, and several controllers sharing the directory do not collide.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)

META_DIR = "meta"
_SAFE = re.compile(r"[0-9a-fA-F-]{1,64}\Z")  # FreeSWITCH / Python UUIDs


@dataclass(frozen=True)
class FinishedRecording:
    recording_id: str
    conference_uuid: str
    room: str  # the application's room name
    fmt: str  # wav, mp3
    duration_ms: int
    start_ms: int
    end_ms: int
    channels: int = 1
    call_uuid: str = ""  # a call's own recording in the room (StayRecording); "": the room's


def _conference_dir(recordings_dir: str, conference_uuid: str) -> str | None:
    if not _SAFE.match(conference_uuid):
        return None
    return os.path.join(recordings_dir, META_DIR, conference_uuid)


def save(recordings_dir: str, recording: FinishedRecording) -> None:
    """Keep ``recording``'s facts; a failure is logged (the recording itself is fine)."""
    folder = _conference_dir(recordings_dir, recording.conference_uuid)
    if folder is None or not _SAFE.match(recording.recording_id):
        log.warning("recording %s of conference %r: not indexed (unexpected ids)",
                    recording.recording_id, recording.conference_uuid)
        return
    path = os.path.join(folder, f"{recording.recording_id}.json")
    try:
        os.makedirs(folder, exist_ok=True)
        temporary = f"{path}.{os.getpid()}.{uuid.uuid4().hex}.tmp"  # one per writer
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(asdict(recording), out)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("recording %s: its facts could not be kept in %s: %s",
                    recording.recording_id, folder, exc)


def of_conference(recordings_dir: str, conference_uuid: str) -> list[FinishedRecording]:
    """The finished recordings of a conference, oldest first ([] when none or unknown)."""
    folder = _conference_dir(recordings_dir, conference_uuid)
    try:
        names = os.listdir(folder) if folder else []
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        if not name.endswith(".json"):  # skips a writer's temporary file
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as source:
                found.append(FinishedRecording(**json.load(source)))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("recording index %s/%s unreadable: %s", folder, name, exc)
    return sorted(found, key=lambda r: (r.start_ms, r.recording_id))
