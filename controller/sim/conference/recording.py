"""Conference recordings: the recorder node, its thread, the file it leaves (conference_record.c).

A recording is a member without a channel (it takes a member id, 03i); its
file is written when it stops, as a real WAV or MP3 (audiofile.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from controller.sim.conference import audiofile
from controller.sim.conference.member import Member, tf

if TYPE_CHECKING:
    from controller.sim.conference.room import Conference


class Recorder:
    """conference_record_t plus its thread: a file being recorded from the mix."""

    def __init__(self, conference: Conference, path: str, local_path: str, autorec: bool) -> None:
        self.conference = conference
        self.path = path
        self.local_path = local_path
        self.autorec = autorec
        self.member: Member | None = None
        self.started_at = 0.0
        self.paused_since: float | None = None
        self.paused_total = 0.0
        self.loud: list[tuple[float, float]] = []  # (start_ms, end_ms) in file time
        self.loud_open: float | None = None
        self.finished = False
        self.opened = False

    def file_ms(self, now: float) -> float:
        end = self.paused_since if self.paused_since is not None else now
        return max(0.0, (end - self.started_at - self.paused_total) * 1000.0)


class RoomRecording:
    """Conference methods for recordings (mixed into Conference)."""

    def start_recording(self, path: str, autorec: bool = False) -> Recorder:
        """conference_record_launch_thread: the node is listed at once, the thread starts next."""
        rec = Recorder(self, path, self.core.map_path(path), autorec)
        self.records.insert(0, rec)
        self.core.spawn(self._record_thread_start, rec)
        return rec

    def _record_thread_start(self, rec: Recorder) -> None:
        """conference_record_thread_run up to its loop: open, start-recording, join."""
        if rec.finished or self.destroyed.is_set():
            return
        member = Member(self.core.next_member_id(), None, {"can_hear", "nochannel", "running"})
        rec.member = member
        member.recorder = rec
        try:
            os.makedirs(os.path.dirname(os.path.abspath(rec.local_path)), exist_ok=True)
            with open(rec.local_path, "wb") as fh:
                fh.write(
                    audiofile.render(
                        rec.local_path,
                        0,
                        [],
                        f"Conference {self.name}",
                        "FreeSWITCH mod_conference Software Conference Module",
                    )
                )
            rec.opened = True
        except OSError:
            rec.opened = False
        if not rec.opened:
            if self.allowed("record"):
                self.fire_conf(
                    "start-recording",
                    [("Path", rec.path), ("Error", "File could not be opened for recording")],
                )
            rec.finished = True
            if rec in self.records:
                self.records.remove(rec)
            self.record_count -= 1
            # conference_record.c jumps to `end:`, which still fires stop-recording.
            self.fire_conf(
                "stop-recording",
                [
                    ("Path", rec.path),
                    ("Other-Recordings", tf(self.record_count > 0)),
                    ("Samples-Out", "0"),
                    ("Samplerate", str(self.rate)),
                    ("Milliseconds-Elapsed", "0"),
                ],
            )
            return
        rec.started_at = self.core.clock.now()
        if self.allowed("record"):
            self.fire_conf("start-recording", [("Path", rec.path)])
        self.add_member(member)
        self._talk_span(True)
        if self.count + self.count_ghosts == 0:
            self.poke()

    def finish_recording(self, rec: Recorder) -> None:
        """The record thread ends: write the file, fire stop-recording.

        FreeSWITCH 1.11.1, conference_record.c conference_record_thread_run: the loop
        runs while the member runs and ``count + count_ghosts > 0`` (line 331), so the
        last member's del-member ends it; then the file is closed and stop-recording
        fired (427-431) with conference_event_add_data, which merges the room's
        variables, e.g. the controller's ``cc_rec_*`` (conference_event.c 752-754).
        conference-destroy comes after it: the conference thread waits for the write
        lock (mod_conference.c 844) that this thread's read lock (record.c 173, released
        at 474) holds back; _maybe_finish_destroy keeps that order. Capture 03i.
        """
        if rec.finished:
            return
        rec.finished = True
        now = self.core.clock.now()
        if rec.loud_open is not None:
            rec.loud.append((rec.loud_open, rec.file_ms(now)))
            rec.loud_open = None
        if rec.member is None:  # the thread never started: nothing was recorded
            if rec in self.records:
                self.records.remove(rec)
            self.record_count -= 1
            self._maybe_finish_destroy()
            return
        self.del_member(rec.member)
        rec.member.flags.discard("running")
        ms = rec.file_ms(now)
        size = 0
        try:
            data = audiofile.render(
                rec.local_path,
                ms,
                rec.loud,
                f"Conference {self.name}",
                "FreeSWITCH mod_conference Software Conference Module",
            )
            with open(rec.local_path, "wb") as fh:
                fh.write(data)
            size = len(data)
        except OSError:
            pass
        self.record_count -= 1
        samples = int(ms * self.rate / 1000)
        self.fire_conf(
            "stop-recording",
            [
                ("Path", rec.path),
                ("Other-Recordings", tf(self.record_count > 0)),
                ("Samples-Out", str(samples)),
                ("Samplerate", str(self.rate)),
                ("Milliseconds-Elapsed", str(samples // (self.rate // 1000))),
                ("Record-File-Size", str(size) if size else ""),
            ],
        )
        if rec.autorec and self.auto_recording:
            self.auto_recording -= 1
        if rec in self.records:
            self.records.remove(rec)
        self._maybe_finish_destroy()
