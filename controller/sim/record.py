"""``uuid_record``: recording one channel (mod_commands.c session_record_function on
switch_ivr_async.c's record media bug), as FreeSWITCH runs it.

    uuid_record <uuid> start <path> [<limit>]  -> +OK Success / -ERR Cannot locate session!
                                                  / -ERR Cannot record session!
    uuid_record <uuid> stop <path>|all         -> +OK Success / -ERR Cannot stop record session!

Source (signalwire/freeswitch master): the arguments are split on spaces into at most 5
(mod_commands.c, ``switch_separate_string(mycmd, ' ', argv, 5)``; fewer than 3 is the
usage). ``switch_ivr_record_session_event`` pre-answers the channel and refuses one
without media ("Media not enabled on channel"), opens the file, and adds the media bug
(its private data keyed by the path, so ``stop <path>`` finds it). The bug's INIT fires
RECORD_START with the channel's data and ``Record-File-Path`` (record_callback); its
CLOSE (``stop``, ``stop all``, the limit, or the channel hanging up) sets
``record_samples``/``record_seconds``/``record_ms`` on the channel and fires RECORD_STOP
the same way (send_record_stop_event). Capture 03i shows that a *conference* recording
fires neither; these are the channel's own recordings.

The file written is the conference recorder's (audiofile.py): silence of the recorded
length, WAV or MP3 by extension.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.sim.conference import audiofile
from controller.sim.fsutil import atoi, separate_string

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.core import Core

SYNTAX = "<uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]"
START_ORIGIN = ("switch_ivr_async.c", "record_callback", 1482)
STOP_ORIGIN = ("switch_ivr_async.c", "send_record_stop_event", 1241)
SAMPLE_RATE = 8000


@dataclass
class ChannelRecording:
    path: str  # as given: the bug's key and Record-File-Path
    local_path: str
    started: float  # simulated seconds
    done: bool = False


def _recordings(channel: Channel) -> dict[str, ChannelRecording]:
    found = getattr(channel, "sim_recordings", None)
    if found is None:
        found = channel.sim_recordings = {}
        # The media bugs close when the channel goes down (switch_core_media_bug_remove_all
        # at hangup): each fires its RECORD_STOP.
        channel.on_down.append(lambda ch: stop_all(ch))
    return found


def uuid_record(core: Core, arg: str, session: Channel | None) -> str:
    argv = separate_string(arg, " ", 5) if arg else []
    if len(argv) < 3 or not all(argv[:3]):
        return f"-USAGE: {SYNTAX}\n"
    uuid, action, path = argv[:3]
    channel = core.find_channel(uuid)
    if channel is None:
        return "-ERR Cannot locate session!\n"
    action = action.lower()
    if action == "start":
        return "+OK Success\n" if start(core, channel, path, atoi(argv[3]) if len(argv) > 3
                                        else 0) else "-ERR Cannot record session!\n"
    if action == "stop":
        return "+OK Success\n" if stop(channel, path) else "-ERR Cannot stop record session!\n"
    if action in ("pause", "resume", "mask", "unmask"):
        return f"-ERR Cannot {action} recording session!\n"  # not simulated
    return f"-USAGE: {SYNTAX}\n"


def start(core: Core, channel: Channel, path: str, limit: int) -> bool:
    if channel.down or not channel.pre_answer():
        return False
    local = core.map_path(path)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
        with open(local, "wb") as fh:  # switch_core_file_open: the file exists at once
            fh.write(audiofile.render(local, 0, [], "", ""))
    except OSError:
        return False
    recording = ChannelRecording(path, local, core.clock.now())
    _recordings(channel)[path] = recording
    event = channel.new_event("RECORD_START", origin=START_ORIGIN)
    event.extend([("Record-File-Path", path)])
    core.bus.fire(event)
    if limit > 0:
        core.spawn_later(limit, _close, channel, recording)
    return True


def stop(channel: Channel, path: str) -> bool:
    recordings = _recordings(channel)
    if path.lower() == "all":
        for recording in list(recordings.values()):
            _close(channel, recording)
        return True
    recording = recordings.get(path)
    if recording is None:
        return False
    _close(channel, recording)
    return True


def stop_all(channel: Channel) -> None:
    for recording in list(_recordings(channel).values()):
        _close(channel, recording)


def _close(channel: Channel, recording: ChannelRecording) -> None:
    if recording.done:
        return
    recording.done = True
    _recordings(channel).pop(recording.path, None)
    core = channel.core
    ms = max(0.0, (core.clock.now() - recording.started) * 1000.0)
    try:
        with open(recording.local_path, "wb") as fh:
            fh.write(audiofile.render(recording.local_path, ms, [], "", ""))
    except OSError:
        pass
    samples = int(ms * SAMPLE_RATE / 1000)
    channel.set_var("record_samples", str(samples))
    channel.set_var("record_seconds", str(samples // SAMPLE_RATE))
    channel.set_var("record_ms", str(samples // (SAMPLE_RATE // 1000)))
    event = channel.new_event("RECORD_STOP", origin=STOP_ORIGIN)
    event.extend([("Record-File-Path", recording.path)])
    core.bus.fire(event)
