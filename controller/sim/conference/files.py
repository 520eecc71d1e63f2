"""The room's file queue: play, stop, say, per-member play (conference_file.c).

Nodes are timed media: a node starts after its lead-in, ends when its
duration has passed, and is closed by the room's tick (one per tick, as
conference_thread_run does), which fires play-file-done.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import gevent

from controller.sim import media
from controller.sim.clock import FRAME
from controller.sim.conference.member import Member, tf

if TYPE_CHECKING:
    from controller.sim.channel import Channel

PLAY_FILE_ORIGIN = ("conference_file.c", "conference_file_play", 268)


class FileNode:
    """A file playing (or queued) in the room or to one member."""

    def __init__(
        self,
        path: str,
        duration_ms: float,
        leadin: int,
        async_: bool,
        member_id: int = 0,
        speech: bool = False,
    ) -> None:
        self.path = path
        self.duration_ms = duration_ms
        self.leadin = leadin
        self.async_ = async_
        self.member_id = member_id
        self.speech = speech
        self.done = False
        self.closed = False
        self.started_at: float | None = None  # sim time the audio (after lead-in) began
        self.paused_at: float | None = None
        self.paused_total = 0.0
        self.timer: gevent.Greenlet | None = None

    def played_ms(self, now: float) -> float:
        if self.started_at is None:
            return 0.0
        end = self.paused_at if self.paused_at is not None else now
        ms = max(0.0, (end - self.started_at - self.paused_total) * 1000.0)
        return min(ms, self.duration_ms) if not math.isinf(self.duration_ms) else ms


class RoomFiles:
    """Conference methods for its file queue (mixed into Conference)."""

    def open_media(self, path: str) -> media.Media:
        local = self.core.map_path(path)
        return media.open_media(local, self.sound_prefix and self.core.map_path(self.sound_prefix))

    def file_play(
        self, path: str | None, leadin: int, channel: Channel | None, async_: bool
    ) -> str:
        """conference_file_play: 'ok', 'notfound' or 'false'."""
        if self.destructing or self.destroyed.is_set():
            return "false"
        if not path:
            return "notfound"
        if not self.count:
            return "false"
        if channel is not None:
            from controller.sim.session import expand

            path = expand(channel, path)
        if path.lower().startswith("say:"):
            if not async_:
                return "ok" if self.say(path[4:], leadin) else "false"
        try:
            opened = self.open_media(path)
        except media.MediaNotFound:
            if self.allowed("play-file"):
                self.fire_conf(
                    "play-file",
                    [("File", path), ("Async", tf(async_)), ("Error", "File could not be played")],
                    PLAY_FILE_ORIGIN,
                )
            return "notfound"
        node = FileNode(path, opened.duration_ms, leadin, async_)
        if async_:
            old = self.async_fnode
            self.async_fnode = node
            if old is not None:
                self._close_file(old)
            self._start_node(node)
        else:
            self.fnodes.append(node)
            if len(self.fnodes) == 1:
                self._start_node(node)
        return "ok"

    def _start_node(self, node: FileNode) -> None:
        lead = node.leadin * FRAME
        node.timer = self.core.spawn_later(lead, self._node_audio, node)

    def _node_audio(self, node: FileNode) -> None:
        if node.done:
            return
        node.started_at = self.core.clock.now()
        for member in self.callers():
            if member.has("can_hear") and not member.has("hold"):
                member.channel.hear(node.path)
        if not math.isinf(node.duration_ms):
            node.timer = self.core.spawn_later(
                node.duration_ms / 1000.0 + FRAME, self._node_end, node
            )

    def _node_end(self, node: FileNode) -> None:
        node.done = True
        self._reap_files()

    def _reap_files(self) -> None:
        """The thread's end-of-tick checks: close finished nodes, start the next."""
        if self.async_fnode is not None and self.async_fnode.done:
            node, self.async_fnode = self.async_fnode, None
            self._close_file(node)
        # one node per tick, like conference_thread_run ("if", not "while")
        if self.fnodes and self.fnodes[0].done:
            node = self.fnodes.pop(0)
            if not node.speech:
                self._close_file(node)
            else:
                node.closed = True
            if self.fnodes:
                self._start_node(self.fnodes[0])
            if self.fnodes and self.fnodes[0].done:
                self.core.spawn_later(FRAME, self._reap_files)
        self.poke()

    def _close_file(self, node: FileNode) -> None:
        """conference_file_close: play-file-done / play-file-member-done."""
        if node.closed:
            return
        node.closed = True
        node.done = True
        if node.timer is not None:
            node.timer.kill(block=False)
        if not self.allowed("play-file-done"):
            return
        played = node.played_ms(self.core.clock.now())
        samples = int(played * self.rate / 1000)
        event = self.new_event("play-file-done")
        event.extend(self.data())
        event.extend(
            [
                ("seconds", str(samples // self.rate)),
                ("milliseconds", str(samples // (self.rate // 1000))),
                ("samples", str(samples)),
            ]
        )
        if node.member_id:
            event.add("Action", "play-file-member-done")
            member = self.get_member(node.member_id)
            if member is not None:
                event.extend(self.member_data(member))
        else:
            event.add("Action", "play-file-done")
        event.add("File", node.path)
        if node.async_:
            event.add("Async", "true")
        self.fire(event)

    def file_stop(self, kind: str) -> int:
        """conference_file_stop: nodes are marked done and closed on the next tick."""
        count = 0
        if kind == "all":
            for node in self.fnodes:
                node.done = True
                count += 1
            if self.async_fnode is not None:
                self.async_fnode.done = True
                count += 1
        elif kind == "async":
            if self.async_fnode is not None:
                self.async_fnode.done = True
                count += 1
        elif self.fnodes:
            self.fnodes[0].done = True
            count += 1
        if count:
            self.core.spawn_later(FRAME, self._reap_files)
        return count

    def member_play(self, member: Member, path: str, leadin: int = 0) -> bool:
        """conference_member_play_file (to one member)."""
        if member.has("kicked") or member.channel is None:
            return False
        if path.lower().startswith("say:"):
            return self.member_say(member, path[4:], leadin)
        from controller.sim.session import expand

        path = expand(member.channel, path)
        try:
            opened = self.open_media(path)
        except media.MediaNotFound:
            return False
        node = FileNode(path, opened.duration_ms, leadin, False, member_id=member.id)
        member.fnodes.append(node)
        if len(member.fnodes) == 1:
            self._start_member_node(member, node)
        return True

    def _start_member_node(self, member: Member, node: FileNode) -> None:
        def begin() -> None:
            if node.done:
                return
            node.started_at = self.core.clock.now()
            if member.channel is not None:
                member.channel.hear(node.path)
            if not math.isinf(node.duration_ms):
                node.timer = self.core.spawn_later(node.duration_ms / 1000.0 + FRAME, finish)

        def finish() -> None:
            node.done = True
            self._reap_member_files(member)

        node.timer = self.core.spawn_later(node.leadin * FRAME, begin)

    def _reap_member_files(self, member: Member) -> None:
        while member.fnodes and member.fnodes[0].done:
            node = member.fnodes.pop(0)
            if not node.speech:
                self._close_file(node)
            if member.fnodes:
                self._start_member_node(member, member.fnodes[0])

    def member_stop(self, member: Member, kind: str) -> int:
        count = 0
        if kind == "all":
            for node in member.fnodes:
                node.done = True
                count += 1
        elif member.fnodes:
            member.fnodes[0].done = True
            count = 1
        if count:
            self.core.spawn_later(FRAME, self._reap_member_files, member)
        return count

    def say(self, text: str, leadin: int) -> bool:
        """conference_say: needs a TTS engine and voice in the profile."""
        if not text or not self.count or not (self.tts_engine and self.tts_voice):
            return False
        node = FileNode(f"say:{text}", media.speech_ms(text), leadin, False, speech=True)
        self.fnodes.append(node)
        if len(self.fnodes) == 1:
            self._start_node(node)
        return True

    def member_say(self, member: Member, text: str, leadin: int) -> bool:
        if not text or member.channel is None or not (self.tts_engine and self.tts_voice):
            return False
        node = FileNode(f"say:{text}", media.speech_ms(text), leadin, False, member.id, speech=True)
        member.fnodes.append(node)
        if len(member.fnodes) == 1:
            self._start_member_node(member, node)
        return True
