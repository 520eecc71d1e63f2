"""A conference member: a caller, or the recorder node a recording adds (conference_member_t)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import gevent

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.conference.files import FileNode
    from controller.sim.conference.recording import Recorder
    from controller.sim.conference.room import Conference


def tf(value: bool) -> str:
    """FreeSWITCH's "true"/"false" header values."""
    return "true" if value else "false"


class Member:
    """A caller (channel set) or a recording node (channel None) in a room."""

    def __init__(self, member_id: int, channel: Channel | None, flags: set[str]) -> None:
        self.id = member_id
        self.channel = channel
        self.flags = flags
        self.conference: Conference | None = None
        self.energy_level = 0
        self.volume_in = 0
        self.volume_out = 0
        self.score = 0
        self.join_time = 0.0
        self.last_talking = 0.0
        self.fnodes: list[FileNode] = []
        self.controls: Any = None
        self.kicked_sound: str | None = None
        self.dtmf_out: deque[str] = deque()
        self.relationships: dict[int, set[str]] = {}
        self.audio_since: float | None = None  # sim time the phone's speech began
        self.talk_started: float | None = None
        self.talk_frames_gate = 0
        self.stop_timer: gevent.Greenlet | None = None
        self.recorder: Recorder | None = None

    def has(self, flag: str) -> bool:
        return flag in self.flags

    @property
    def running(self) -> bool:
        return "running" in self.flags

    @property
    def is_caller(self) -> bool:
        return self.channel is not None

    def poke(self) -> None:
        if self.channel is not None:
            self.channel.poke()
