"""``<Dial>`` + ``<Conference>`` attribute values -> the neutral ``ConferenceJoin``. Pure.

Attribute                       neutral
Dial action/method              action (the request after leaving the room)
Dial hangupOnStar               hangup_on_star
Dial timeLimit (default 14400)  member_time_limit (this call's stay, not the room's)
Dial record (-dual), trim,      stay_recording: this call recorded while in the room
  recordingStatusCallback*        (uuid_record; trim default trim-silence, as Twilio's)
Conference muted                muted
beep true/false/onEnter/onExit  enter_sound / exit_sound (FreeSWITCH beeps)
startConferenceOnEnter          start_on_enter (false: muted with hold music until a starter)
endConferenceOnExit             end_on_exit
waitUrl/waitMethod              wait_sound (a cXML wait document or an audio file);
                                waitUrl="" -> wait_music False (silence)
maxParticipants                 max_members
record=record-from-start        record + record_min_members 2 (begins once two are in), WAV
Conference trim                 trim_silence (default trim-silence, as Twilio's)
recordingStatusCallback*        recording_callback / recording_events
statusCallback*/eventCallbackUrl room_hooks (the room's creator's; later members' ignored)
coach                           coach (the coached call: only it hears this member)
participantLabel                label
jitterBufferSize                no effect: FreeSWITCH's jitter buffer is the SIP profile's
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.model import (
    ConferenceJoin,
    EventKind,
    RecordFormat,
    RoomHooks,
    StayRecording,
    Webhook,
)

# Twilio's defaults when statusCallback is given without statusCallbackEvent, and
# the events eventCallbackUrl (its older attribute) reports.
DEFAULT_STATUS_EVENTS = frozenset({EventKind.ROOM_STARTED, EventKind.ROOM_ENDED})
DEFAULT_RECORDING_EVENTS = frozenset({EventKind.RECORDING_COMPLETED, EventKind.RECORDING_FAILED})


def _events(words: tuple | None, default: frozenset[EventKind]) -> frozenset[EventKind]:
    if words is None:
        return default
    return frozenset(kind for kinds in words for kind in kinds)


def conference_join(dial: Mapping[str, Any], conference: Mapping[str, Any],
                    room: str) -> ConferenceJoin:
    enter_sound, exit_sound = conference["beep"]
    status_url = conference["statusCallback"] or conference["eventCallbackUrl"]
    room_hooks = None
    if status_url is not None:
        room_hooks = RoomHooks(
            Webhook(status_url, conference["statusCallbackMethod"]),
            _events(conference["statusCallbackEvent"], DEFAULT_STATUS_EVENTS))
    recording_callback = None
    if conference["recordingStatusCallback"] is not None:
        recording_callback = Webhook(conference["recordingStatusCallback"],
                                     conference["recordingStatusCallbackMethod"])
    stay_recording = None
    if dial["record"] is not None:
        hook = dial["recordingStatusCallback"]
        stay_recording = StayRecording(
            dual=dial["record"] == "dual",
            callback=Webhook(hook, dial["recordingStatusCallbackMethod"]) if hook else None,
            events=_events(dial["recordingStatusCallbackEvent"], DEFAULT_RECORDING_EVENTS),
            trim_silence=dial["trim"])
    wait_url = conference["waitUrl"]
    action = None
    if dial["action"] is not None:
        action = Webhook(dial["action"], dial["method"])
    return ConferenceJoin(
        room=room,
        muted=conference["muted"],
        enter_sound=enter_sound,
        exit_sound=exit_sound,
        start_on_enter=conference["startConferenceOnEnter"],
        end_on_exit=conference["endConferenceOnExit"],
        wait_sound=Webhook(wait_url, conference["waitMethod"]) if wait_url else None,
        wait_music=wait_url != "",
        max_members=conference["maxParticipants"],
        record=conference["record"],
        record_format=RecordFormat.WAV,
        record_min_members=2,
        trim_silence=conference["trim"],
        hangup_on_star=dial["hangupOnStar"],
        member_time_limit=dial["timeLimit"],
        action=action,
        recording_callback=recording_callback,
        recording_events=_events(conference["recordingStatusCallbackEvent"],
                                 DEFAULT_RECORDING_EVENTS),
        room_hooks=room_hooks,
        coach=(conference["coach"],) if conference["coach"] else (),
        label=conference["participantLabel"],
        stay_recording=stay_recording,
    )
