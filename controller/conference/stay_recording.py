"""One call's own recording while it is in a room (``model.StayRecording``, cXML
``<Dial record>``): ``uuid_record`` on the call from its join to its leaving.

    join  -> uuid_setvar <uuid> cc_stayrec_<id hex> <what to report>
             uuid_setvar <uuid> RECORD_STEREO true|false
             uuid_record <uuid> start <recordings dir>/<recording id>.wav
    leave -> uuid_record <uuid> stop <that path> (del-member); a hang-up stops it too
    RECORD_STOP (inbound connection) -> trim, keep its facts (recording_index), callback

What is needed to report the recording travels as a channel variable: RECORD_STOP
carries the channel's variables (switch_channel.c, switch_channel_event_set_extended_data
lists SWITCH_EVENT_RECORD_STOP among the events given every variable), so a controller
that restarted meanwhile still reports it; the path of a call's running recording is
also kept in memory to stop it at leave. ``record_ms`` is set on the channel before
RECORD_STOP fires (switch_ivr_async.c, record_callback SWITCH_ABC_TYPE_CLOSE ->
send_record_stop_event), which gives the duration.
"""

from __future__ import annotations

import logging
import os
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import gevent

from controller.conference import recording_index, silence
from controller.conference.events import CallStatus, EngineEvent, MemberFacts, RecordingFacts
from controller.freeswitch import channel as fschannel
from controller.freeswitch import record as fsrecord
from controller.model import EventKind, HttpMethod, StayRecording, Webhook

log = logging.getLogger(__name__)

STAY_VAR = "cc_stayrec_"
# uuid_record mixes both directions into one channel unless RECORD_STEREO is set (then
# the call's own audio left, what it hears right): switch_ivr_async.c,
# switch_ivr_record_session_event reads RECORD_STEREO.
STEREO_VARIABLE = "RECORD_STEREO"
ApiCall = Callable[[str], str]


def _hex(recording_id: str) -> str:
    return recording_id.replace("-", "")


def stay_value(dialect: str, spec: StayRecording, member: MemberFacts) -> str:
    """The channel variable: dialect|events|method|trim|channels|member|conference|room|url.
    The URL is last (it may hold '|'); the room name cannot (FreeSWITCH room names)."""
    hook = spec.callback
    events = ",".join(sorted(kind.value for kind in spec.events))
    return "|".join((dialect, events, hook.method.value if hook else "POST",
                     "1" if spec.trim_silence else "0", "2" if spec.dual else "1",
                     member.member_id, member.conference_uuid, member.room,
                     hook.url if hook else ""))


class StayRecorder:
    def __init__(self, esl: Any, notifier: Any, *, recordings_fs_dir: str,
                 recordings_local_dir: str, url_for: Callable[[str, str], str],
                 once: Callable[[str], bool] = lambda key: True):
        self.esl = esl
        self.notifier = notifier
        self.recordings_fs_dir = recordings_fs_dir
        self.recordings_local_dir = recordings_local_dir
        self.url_for = url_for
        self.once = once  # in a cluster: True on the one controller that reports
        self.running: dict[str, tuple[str, str]] = {}  # call uuid -> (path, recording id)
        self._greenlet: gevent.Greenlet | None = None
        self._queue = None

    def start_listening(self) -> None:
        self._queue = self.esl.subscribe("stay-recordings", [fsrecord.RECORD_STOP])
        self._greenlet = gevent.spawn(self._queue.handle_forever, self.stopped,
                                      "stay recording: RECORD_STOP not reported")

    def stop_listening(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        if self._queue is not None:
            self.esl.unsubscribe(self._queue)

    # ------------------------------------------------------------ join / leave
    def start(self, call_uuid: str, member: MemberFacts, spec: StayRecording, dialect: str,
              api: ApiCall) -> None:
        recording_id = str(uuidlib.uuid4())
        path = f"{self.recordings_fs_dir.rstrip('/')}/{recording_id}.wav"
        try:
            os.makedirs(self.recordings_local_dir, exist_ok=True)
        except OSError as exc:  # FreeSWITCH may still manage; it says so if not
            log.warning("recordings directory %s: %s", self.recordings_local_dir, exc)
        api(fschannel.uuid_setvar(call_uuid, f"{STAY_VAR}{_hex(recording_id)}",
                                  stay_value(dialect, spec, member)))
        # Set either way: the variable stays on the channel, so an earlier dual recording
        # must not make this one stereo.
        api(fschannel.uuid_setvar(call_uuid, STEREO_VARIABLE, "true" if spec.dual else "false"))
        reply = api(fsrecord.uuid_record_start(call_uuid, path))
        facts = RecordingFacts(recording_id, self.url_for(recording_id, "wav"),
                               start_ms=int(time.time() * 1000),
                               channels=2 if spec.dual else 1, call_leg=True)
        if not fsrecord.succeeded(reply):
            error = f"FreeSWITCH did not record the call: {reply.strip()}"
            log.error("stay recording of %s: %s", call_uuid, error)
            self._report(EventKind.RECORDING_FAILED, member, call_uuid, spec.callback,
                         spec.events, dialect, RecordingFacts(
                             recording_id, "", error=error, channels=facts.channels,
                             call_leg=True))
            return
        self.running[call_uuid] = (path, recording_id)
        self._report(EventKind.RECORDING_STARTED, member, call_uuid, spec.callback, spec.events,
                     dialect, facts)

    def stop(self, call_uuid: str) -> None:
        """The member left: stop its recording (the call may go on with its action)."""
        running = self.running.pop(call_uuid, None)
        if running is None:
            return
        try:
            self.esl.api(fsrecord.uuid_record_stop(call_uuid, running[0]))
        except Exception as exc:  # the hang-up stops it anyway; RECORD_STOP reports it
            log.warning("stay recording of %s not stopped: %s", call_uuid, exc)

    # ------------------------------------------------------------ RECORD_STOP
    def stopped(self, event: Any) -> None:
        path = event.get(fsrecord.PATH_HEADER, "")
        recording_id = os.path.splitext(os.path.basename(path))[0]
        value = event.get(f"variable_{STAY_VAR}{_hex(recording_id)}")
        if not value:
            return  # not one of ours (another face's call recording)
        fields = value.split("|", 8)
        if len(fields) != 9:
            log.error("stay recording %s: unreadable %s value", recording_id, STAY_VAR)
            return
        dialect, events, method, trim, channels, member_id, conference_uuid, room, url = fields
        call_uuid = event.get("Unique-ID", "")
        if self.running.get(call_uuid, ("",))[0] == path:
            self.running.pop(call_uuid, None)
        try:
            duration_ms = int(event.get("variable_record_ms", "0") or 0)
        except ValueError:
            duration_ms = 0
        end_ms = event.timestamp_us // 1000 or int(time.time() * 1000)
        local = os.path.join(self.recordings_local_dir, f"{recording_id}.wav")
        error = ""
        if os.path.isdir(self.recordings_local_dir) and not os.path.exists(local):
            error = f"FreeSWITCH wrote no file for this recording ({path})"
        elif trim == "1":
            # The media bug's CLOSE closes the file before send_record_stop_event
            # (switch_ivr_async.c record_callback), so it is complete here.
            try:
                duration_ms = silence.trim_wav(local)
            except (OSError, silence.NotTrimmable) as exc:
                error = f"silence could not be trimmed: {exc}"
        facts = RecordingFacts(recording_id, self.url_for(recording_id, "wav"),
                               duration_ms=duration_ms, start_ms=end_ms - duration_ms,
                               end_ms=end_ms, error=error, channels=int(channels),
                               call_leg=True)
        member = MemberFacts(room, conference_uuid, member_id, call_uuid)
        if not error:
            recording_index.save(self.recordings_local_dir, recording_index.FinishedRecording(
                recording_id, conference_uuid, room, "wav", duration_ms, facts.start_ms, end_ms,
                int(channels), call_uuid))
        kind = EventKind.RECORDING_FAILED if error else EventKind.RECORDING_COMPLETED
        wanted = frozenset(EventKind(e) for e in events.split(",") if e)
        hook = Webhook(url, HttpMethod(method)) if url else None
        self._report(kind, member, call_uuid, hook, wanted, dialect, facts,
                     event.timestamp_us)

    def _report(self, kind: EventKind, member: MemberFacts, call_uuid: str,
                hook: Webhook | None, wanted: frozenset[EventKind], dialect: str,
                facts: RecordingFacts, timestamp_us: int = 0) -> None:
        default = kind in (EventKind.RECORDING_COMPLETED, EventKind.RECORDING_FAILED)
        if hook is None or (kind not in wanted if wanted else not default):
            return
        if not self.once(f"stayrec:{facts.recording_id}:{kind.value}"):
            return  # another controller of the cluster reports it
        event = EngineEvent(kind, room=member.room, conference_uuid=member.conference_uuid,
                            member=member, recording=facts, call_status=CallStatus.IN_PROGRESS,
                            timestamp_us=timestamp_us or time.time_ns() // 1000)
        self.notifier.emit(event, hook, dialect, lane=f"stayrec:{call_uuid}")
