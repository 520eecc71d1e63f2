"""record_start / record_stop on a single call, and call.recording.saved.

    record_start -> uuid_record <uuid> start <recordings dir>/<recording id>.<format>
    record_stop  -> uuid_record <uuid> stop <that path>
    RECORD_STOP (on stop, at max_length, or when the call hangs up; on the shared
    inbound connection, so one that fires as the call ends is not lost with the call's
    socket) -> call.recording.saved with the URL the controller serves the file at
    (/v1/recordings/<id>.<format>, as for conference recordings).

What is needed to report a recording (the call's ids, its webhook URL) is kept here,
in memory, by recording path, from start to RECORD_STOP.
"""

from __future__ import annotations

import logging
import os
import time
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

import gevent

from controller.conference.events import CallFacts, RecordingFacts
from controller.dialects.base import Payload
from controller.dialects.telnyx import webhooks
from controller.dialects.telnyx.inputs import Fields, TelnyxApiError, invalid, unsupported
from controller.dialects.telnyx.state import CALLS
from controller.freeswitch import channel as fschannel
from controller.freeswitch import record as fsrecord
from controller.model import HttpMethod, Webhook

log = logging.getLogger(__name__)

# Telnyx's max_length: 0 (no limit) to 14400 seconds.
MAX_LENGTH = 14400
# uuid_record records both directions in one channel unless RECORD_STEREO is set, then
# the caller left and what the caller hears right (capture 07b's recordings, README:
# `uuid_setvar <uuid> RECORD_STEREO true` before `uuid_record ... start`).
STEREO_VARIABLE = "RECORD_STEREO"


@dataclass
class CallRecording:
    recording_id: str
    fmt: str
    channels: str
    facts: CallFacts
    hook: Webhook
    client_state: str
    connection_id: str
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))


class CallRecorder:
    def __init__(self, service: Any, api: Any):
        """``api(command) -> reply``: a command on the shared inbound connection."""
        self.service = service
        self.api = api
        self.active: dict[str, CallRecording] = {}  # FreeSWITCH path -> recording
        self._listening = False

    # ------------------------------------------------------------ commands
    def start(self, call: Any, fields: Fields) -> None:
        fields.only(("format", "channels", "max_length", "client_state", "command_id",
                     "recording_track", "play_beep", "timeout_secs"),
                    {"custom_file_name": "recordings are named by their recording_id",
                     "trim": "silence is not trimmed here",
                     "transcription": "no transcription of call recordings here",
                     "transcription_engine": "no transcription of call recordings here",
                     "transcription_language": "no transcription of call recordings here"})
        fmt = fields.choice("format", ("wav", "mp3"), required=True)
        channels = fields.choice("channels", ("single", "dual"), required=True)
        limit = fields.number("max_length", 0, MAX_LENGTH, 0)
        if fields.choice("recording_track", ("both", "inbound", "outbound"), "both") != "both":
            raise unsupported("recording_track", "both directions are recorded")
        if fields.flag("play_beep", False):
            raise unsupported("play_beep", "no beep before call recordings here")
        if fields.number("timeout_secs", 0, 14400, 0):
            raise unsupported("timeout_secs", "recordings do not stop on silence here")
        fields.client_state()
        if any(r.facts.uuid == call.uuid for r in self.active.values()):
            raise invalid("format", "this call is being recorded already: record_stop first")
        rooms = self.service.engine.rooms
        recording_id = str(uuidlib.uuid4())
        path = f"{rooms.recordings_fs_dir.rstrip('/')}/{recording_id}.{fmt}"
        try:
            os.makedirs(rooms.recordings_local_dir, exist_ok=True)
        except OSError as exc:  # FreeSWITCH may still manage; it says so if not
            log.warning("recordings directory %s: %s", rooms.recordings_local_dir, exc)
        state = CALLS.get(call.uuid)
        hook = call.call_hook or Webhook("", HttpMethod.POST)
        self._listen()
        self.active[path] = CallRecording(recording_id, fmt, channels, call.facts, hook,
                                          state.client_state, state.connection_id)
        # Set either way: the variable stays on the channel, so an earlier dual recording
        # must not make this one stereo.
        self.api(fschannel.uuid_setvar(call.uuid, STEREO_VARIABLE,
                                       "true" if channels == "dual" else "false"))
        reply = self.api(fsrecord.uuid_record_start(call.uuid, path, limit))
        if not fsrecord.succeeded(reply):
            self.active.pop(path, None)
            raise TelnyxApiError(422, "90034", "Recording not started",
                                 f"FreeSWITCH did not record the call: {reply.strip()}",
                                 "/call_control_id")

    def stop(self, call: Any, fields: Fields) -> None:
        fields.only(("recording_id", "client_state", "command_id"))
        wanted = fields.text("recording_id", max_len=64)
        fields.client_state()
        paths = [p for p, r in self.active.items() if r.facts.uuid == call.uuid
                 and (wanted is None or r.recording_id == wanted)]
        if not paths:
            raise invalid("recording_id" if wanted else "call_control_id",
                          "no recording of this call is running")
        for path in paths:
            self.api(fsrecord.uuid_record_stop(call.uuid, path))

    # ------------------------------------------------------------ events
    def _listen(self) -> None:
        if self._listening:
            return
        self._listening = True
        queue = self.service.esl.subscribe("telnyx-recordings", [fsrecord.RECORD_STOP])
        gevent.spawn(queue.handle_forever,
                     lambda event: self.stopped(event.get(fsrecord.PATH_HEADER, ""),
                                                event.timestamp_us),
                     "telnyx: RECORD_STOP not reported")

    def stopped(self, path: str, timestamp_us: int) -> None:
        recording = self.active.pop(path, None)
        if recording is None or not recording.hook.url:
            return
        end_ms = timestamp_us // 1000 or int(time.time() * 1000)
        rooms = self.service.engine.rooms
        facts = RecordingFacts(recording.recording_id,
                               rooms.recording_url(recording.recording_id, recording.fmt),
                               duration_ms=max(0, end_ms - recording.started_ms),
                               start_ms=recording.started_ms, end_ms=end_ms)
        state = CALLS.peek(recording.facts.uuid)
        client_state = state.client_state if state is not None else recording.client_state
        fields = webhooks.call_fields(recording.facts, client_state, recording.connection_id)
        fields.update(webhooks.recording_fields(facts))
        fields["channels"] = recording.channels
        body = webhooks.envelope("call.recording.saved", fields, end_ms * 1000,
                                 recording.hook.url)
        self.service.engine.notifier.send(recording.hook, Payload(body, json=True), "telnyx",
                                          f"call:{recording.facts.uuid}")
