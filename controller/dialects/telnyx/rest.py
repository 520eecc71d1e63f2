"""Telnyx's REST shapes under /v2: call commands and conferences.

    POST /v2/calls/{call_control_id}/actions/<action>
    POST /v2/conferences                        GET /v2/conferences[?filter[name]=..]
    GET  /v2/conferences/{id}                   GET /v2/conferences/{id}/participants
    POST /v2/conferences/{id}/actions/<action>

``Authorization: Bearer <[telnyx] api_key>``. Answers are ``{"data": {...}}``;
errors ``{"errors": [...]}`` (controller.dialects.telnyx.inputs). A ``command_id``
seen before for the same call or conference answers as the first time did and
does nothing (Telnyx: "subsequent commands with the same command_id ... are
ignored").
"""

from __future__ import annotations

import collections
import dataclasses
import hmac
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from controller.calls import HangupCall, RunOnCall, SendDigits
from controller.dialects.telnyx import callcontrol, transfer
from controller.dialects.telnyx.conferences import ConferenceFace
from controller.dialects.telnyx.dialing import NOT_HERE as TelnyxDialerNotHere
from controller.dialects.telnyx.dialing import TelnyxDialer, dial_answer
from controller.dialects.telnyx.ids import call_control_id, call_uuid
from controller.dialects.telnyx.inputs import (
    Fields,
    TelnyxApiError,
    call_gone,
    invalid,
    parse_body,
    unsupported,
)
from controller.dialects.telnyx.recording import CallRecorder
from controller.dialects.telnyx.state import CALLS
from controller.dialects.telnyx.transfer import TransferLeg
from controller.dialer import DialError, destination_text, parse_destination
from controller.freeswitch.apps import MAX_GATHER_DIGITS
from controller.freeswitch.originate import OriginateError, bridge_variable_value
from controller.model import Gather, Play, Speak

log = logging.getLogger(__name__)

OK = {"data": {"result": "ok"}}
# Telnyx's reject causes -> FreeSWITCH hangup causes (sofia sends 603, 404, 503, 486 for
# them: switch_core_session.c's cause-to-SIP table as used by mod_sofia).
REJECT_CAUSES = {"CALL_REJECTED": "CALL_REJECTED", "USER_BUSY": "USER_BUSY",
                 "NOT_FOUND": "UNALLOCATED_NUMBER",
                 "TEMPORARILY_UNAVAILABLE": "NORMAL_TEMPORARY_FAILURE"}
LANGUAGE_FREE = ("payload_type", "service_level", "language")
COMMAND_MEMORY = 10_000
CALL_ACTIONS = ("answer", "hangup", "reject", "speak", "playback_start", "playback_stop",
                "send_dtmf", "client_state_update", "transfer", "record_start", "record_stop",
                "gather", "gather_using_speak")


class CommandIds:
    """(resource, command_id) -> the first answer, oldest forgotten first."""

    def __init__(self) -> None:
        self._answers: collections.OrderedDict[tuple[str, str], tuple[int, Any]] = (
            collections.OrderedDict())

    def get(self, key: tuple[str, str]) -> tuple[int, Any] | None:
        return self._answers.get(key)

    def keep(self, key: tuple[str, str], answer: tuple[int, Any]) -> None:
        self._answers[key] = answer
        while len(self._answers) > COMMAND_MEMORY:
            self._answers.popitem(last=False)


def _json(status: int, body: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def freeswitch_api(service: Any, command: str) -> str:
    """One command on the shared inbound connection; its failure is a 503, not a 500."""
    from controller.esl import EslError

    try:
        return service.esl.api(command)
    except EslError as exc:
        raise TelnyxApiError(503, "10007", "FreeSWITCH unavailable",
                             f"FreeSWITCH did not take the command: {exc}") from None


def gather_verb(fields: Fields, first_key: str) -> tuple[Gather, int]:
    """A Telnyx gather's digit rules as the engine's Gather (no prompt, one try), and its
    minimum_digits (run_gather takes one digit or more; fewer than the minimum is
    reported as status invalid). ``first_key``: the field that bounds the wait for the
    first digit (gather: initial_timeout_millis; gather_using_speak: timeout_millis,
    Telnyx's wait after the prompt)."""
    minimum = fields.number("minimum_digits", 1, 128, 1)
    maximum = fields.number("maximum_digits", 1, 128, 128)
    if maximum < minimum:
        raise invalid("maximum_digits", f"{maximum} is less than minimum_digits ({minimum})")
    first_ms = fields.number(first_key, 1000, 120_000, 5000)
    if first_key != "timeout_millis":
        # gather's overall timeout_millis (default 60 s): the first digit waits no longer.
        first_ms = min(first_ms, fields.number("timeout_millis", 1000, 600_000, 60_000))
    between_ms = fields.number("inter_digit_timeout_millis", 1000, 120_000, 5000)
    terminator = fields.text("terminating_digit", max_len=1)
    if terminator is not None and terminator not in "0123456789*#":
        raise invalid("terminating_digit", "one of 0-9 * #")
    valid = fields.text("valid_digits", max_len=12)
    if valid is not None and (not valid or any(c not in "0123456789*#" for c in valid)):
        raise invalid("valid_digits", "some of 0-9 * # (A-D are not collected here)")
    return Gather(action=None, timeout=first_ms / 1000, digit_timeout=between_ms / 1000,
                  finish_on_key="#" if terminator is None else terminator,
                  # FreeSWITCH collects at most 127 (apps.MAX_GATHER_DIGITS: its digit
                  # buffer); Telnyx's maximum 128 collects one fewer here.
                  num_digits=min(maximum, MAX_GATHER_DIGITS), valid_digits=valid or "0123456789#*",
                  retries=1), minimum


def speak_media(fields: Fields, loop: bool = False) -> Speak:
    text = fields.text("payload", required=True)
    if fields.body.get("payload_type", "text") != "text":
        raise unsupported("payload_type", "only text (no SSML)")
    voice = fields.text("voice", required=True)
    language = fields.text("language") or "en-US"
    fields.text("service_level")
    # Telnyx voices: "male", "female" or a provider voice; this controller's TTS has a
    # man's and a woman's voice ([media] tts_voice_man / tts_voice_woman).
    return Speak(text, voice="MAN" if voice.lower() == "male" else "WOMAN",
                 language=language, loop=fields.loop() if loop else 1)


class CallCommands:
    """/v2/calls/{id}/actions/<action>: each becomes a command on the call's greenlet."""

    def __init__(self, service: Any):
        self.service = service
        self.dialing = TelnyxDialer(service)
        self.recorder = CallRecorder(service, lambda command: freeswitch_api(service, command))

    def session(self, control_id: str) -> Any:
        uuid = call_uuid(control_id)
        # find: in a cluster, a call another controller runs is forwarded there
        call = self.service.engine.calls.find(uuid) if uuid else None
        if call is None or call.session.hungup.is_set():
            raise call_gone(control_id)
        return call

    def run(self, control_id: str, action: str, fields: Fields) -> dict:
        if action not in CALL_ACTIONS:
            raise TelnyxApiError(404, "10005", "Resource not found",
                                 f"no call action {action[:40]!r}; known: "
                                 + ", ".join(CALL_ACTIONS))
        handler = getattr(self, f"_{action}")
        uuid = call_uuid(control_id)
        if action == "hangup" and uuid and self.service.dialer.get(uuid) is not None:
            # A dialled call still ringing: cancelled (call.hangup originator_cancel).
            fields.only(("client_state", "command_id"))
            fields.client_state()
            if self.dialing.cancel(uuid):
                return OK
        if action == "hangup" and uuid in transfer.ACTIVE:
            fields.only(("client_state", "command_id"))  # a transfer's new leg
            fields.client_state()
            if transfer.hang_up(self.service, uuid):
                return OK
        if uuid and self._taken_over(uuid):
            return self._command_taken_over(uuid, action, fields)
        call = self.session(control_id)
        state = CALLS.get(call.uuid)
        kept = state.journaled()
        handler(call, fields)
        new_state = fields.body.get("client_state") if action != "client_state_update" else None
        if new_state is not None:
            state.client_state = new_state
        if state.journaled() != kept:
            journal_again = getattr(call, "journal_again", None)  # a session of this process
            if journal_again is not None:
                journal_again()  # so a restarted controller reports the call with it
        return OK

    def _taken_over(self, uuid: str) -> bool:
        """A call this controller took over from the journal after a restart: still up in
        FreeSWITCH (watched by controller.recovery) but on no socket of ours."""
        engine = self.service.engine
        recovery = engine.recovery
        return (recovery is not None and uuid in recovery.watched
                and engine.calls.get(uuid) is None)

    def _command_taken_over(self, uuid: str, action: str, fields: Fields) -> dict:
        """Only hangup reaches a taken-over call (uuid_kill on the inbound connection; the
        recovery reports its call.hangup); its room's actions still work through
        /v2/conferences. Anything else needs the call's own socket."""
        if action != "hangup":
            raise TelnyxApiError(
                422, "90034", "Call not controllable",
                f"{action}: call {uuid} is up but the controller lost its connection to it "
                "(it restarted while the call was in a conference); only hangup and the "
                "conference's actions reach it now", "/call_control_id")
        fields.only(("client_state", "command_id"))
        new_state = fields.client_state()
        state = CALLS.get(uuid)
        if new_state is not None:
            state.client_state = new_state
        state.ended_by_app = True
        from controller.freeswitch import channel

        reply = freeswitch_api(self.service, channel.uuid_kill(uuid, "NORMAL_CLEARING"))
        if not reply.startswith("+OK"):
            raise call_gone(call_control_id(uuid))
        return OK

    # Each action checks its own body first; nothing reaches the call unless it is valid.
    def _answer(self, call: Any, fields: Fields) -> None:
        fields.only(("client_state", "command_id", "webhook_url", "webhook_url_method"))
        fields.client_state()
        url = fields.text("webhook_url")
        fields.choice("webhook_url_method", ("POST",))  # Telnyx's GET webhooks: not here
        if url:
            CALLS.get(call.uuid).webhook_url = url
            call.call_hook = call.dialect.call_event_hook(call.settings, call.facts)
        call.submit(RunOnCall(callcontrol.answer, "answer"))

    def _hangup(self, call: Any, fields: Fields) -> None:
        fields.only(("client_state", "command_id"))
        fields.client_state()
        CALLS.get(call.uuid).ended_by_app = True
        call.submit(HangupCall("NORMAL_CLEARING"))

    def _reject(self, call: Any, fields: Fields) -> None:
        fields.only(("cause", "client_state", "command_id"))
        cause = fields.choice("cause", tuple(REJECT_CAUSES), required=True)
        fields.client_state()
        if call.answered:
            raise invalid("cause", "the call is answered already: hang it up instead")
        CALLS.get(call.uuid).ended_by_app = True
        call.submit(HangupCall(REJECT_CAUSES[cause]))

    def _speak(self, call: Any, fields: Fields) -> None:
        fields.only(("payload", "voice", "client_state", "command_id", *LANGUAGE_FREE, "loop"),
                    {"stop": "speech queues behind what plays; use playback_stop",
                     "target_legs": "calls here are single legs",
                     "voice_settings": "voices are [media] tts_voice_man/woman"})
        media = speak_media(fields, loop=True)
        fields.client_state()
        self._needs_answer(call)
        call.submit(RunOnCall(callcontrol.speak(media), "speak"))

    def _playback_start(self, call: Any, fields: Fields) -> None:
        fields.only(("audio_url", "loop", "overlay", "client_state", "command_id",
                     "cache_audio", "audio_type"),
                    {"media_name": "no media storage here: give audio_url",
                     "playback_content": "give audio_url",
                     "stop": "use playback_stop", "target_legs": "calls here are single legs"})
        url = fields.text("audio_url", required=True)
        if fields.flag("overlay", False):
            raise unsupported("overlay", "one playback at a time per call")
        fields.flag("cache_audio", True)
        fields.choice("audio_type", ("mp3", "wav"))
        fields.client_state()
        self._needs_answer(call)
        call.submit(RunOnCall(callcontrol.playback(Play(url, fields.loop())), "playback_start"))

    def _playback_stop(self, call: Any, fields: Fields) -> None:
        fields.only(("client_state", "command_id", "stop", "overlay"))
        if fields.choice("stop", ("current", "all"), "all") and fields.flag("overlay", False):
            raise unsupported("overlay", "there is no overlay playback here")
        fields.client_state()
        from controller.freeswitch import channel

        # uuid_break on the shared inbound connection: it stops what plays without
        # touching the call's own socket (capture 07e: `uuid_break <uuid> all` -> +OK).
        CALLS.get(call.uuid).media_stopped = True
        freeswitch_api(self.service, channel.uuid_break(call.uuid))

    def _send_dtmf(self, call: Any, fields: Fields) -> None:
        fields.only(("digits", "duration_millis", "client_state", "command_id"))
        digits = fields.text("digits", required=True, max_len=64)
        if not all(c in "0123456789*#ABCDabcdwW" for c in digits):
            raise invalid("digits", "only 0-9 * # A-D and w/W (pauses)")
        fields.number("duration_millis", 100, 500)
        fields.client_state()
        self._needs_answer(call)
        call.submit(SendDigits(digits))

    def _client_state_update(self, call: Any, fields: Fields) -> None:
        fields.only(("client_state",))
        state = fields.client_state()
        if state is None:
            raise TelnyxApiError(422, "10004", "Missing required parameter",
                                 "client_state is required", "/client_state")
        CALLS.get(call.uuid).client_state = state

    def _transfer(self, call: Any, fields: Fields) -> None:
        """Dial ``to`` from the call itself and bridge the two once it answers
        (controller.dialects.telnyx.transfer: FreeSWITCH's ``bridge`` run on the call).
        Unanswered: the new leg's call.hangup, and this call goes on taking commands."""
        fields.only(("to", "from", "from_display_name", "timeout_secs", "time_limit_secs",
                     "webhook_url", "webhook_url_method", "client_state",
                     "target_leg_client_state", "command_id", "park_after_unbridge"),
                    {k: v for k, v in TelnyxDialerNotHere.items() if k != "link_to"})
        park = fields.choice("park_after_unbridge", ("self",))
        target_state = fields.client_state("target_leg_client_state") or ""
        fields.client_state()
        # The new leg's caller id defaults to the transferred call's (Telnyx: "from ...
        # will default to the from number of the original call"), else [outbound]'s.
        caller = (fields.body.get("from") or call.facts.caller_number
                  or self.service.settings.outbound.caller_id_number)
        if not caller:
            raise TelnyxApiError(422, "10004", "Missing required parameter",
                                 "from is required: the transferred call has no caller "
                                 "number and [outbound] caller_id_number is empty", "/from")
        wanted = self.dialing.request(Fields({
            "connection_id": CALLS.get(call.uuid).connection_id or "transfer",
            "to": fields.body.get("to"),
            "from": caller,
            **{k: fields.body[k] for k in ("from_display_name", "timeout_secs",
                                          "time_limit_secs", "webhook_url",
                                          "webhook_url_method") if k in fields.body},
            "client_state": target_state or None,
        }))
        try:
            destination = parse_destination(wanted["to"], self.service.settings)
        except DialError as exc:
            raise invalid("to", exc.message) from None
        for name, value in (("from", wanted["from"]),
                            ("from_display_name", wanted["from_display_name"])):
            try:
                bridge_variable_value(value, name)
            except OriginateError as exc:
                raise invalid(name, str(exc)) from None
        wanted["to"] = destination_text(destination)
        self._needs_answer(call)
        leg = TransferLeg(self.service, self.dialing, wanted, destination, park == "self")
        call.submit(RunOnCall(leg.step, "transfer"))

    def _record_start(self, call: Any, fields: Fields) -> None:
        if not call.answered:  # uuid_record would pre-answer it (switch_ivr_async.c)
            raise TelnyxApiError(422, "90034", "Call not answered",
                                 "answer the call before recording it", "/call_control_id")
        self.recorder.start(call, fields)

    def _record_stop(self, call: Any, fields: Fields) -> None:
        self.recorder.stop(call, fields)

    def _gather(self, call: Any, fields: Fields) -> None:
        fields.only(("minimum_digits", "maximum_digits", "timeout_millis",
                     "inter_digit_timeout_millis", "initial_timeout_millis",
                     "terminating_digit", "valid_digits", "gather_id", "client_state",
                     "command_id"))
        fields.text("gather_id", max_len=128)
        verb, minimum = gather_verb(fields, first_key="initial_timeout_millis")
        fields.client_state()
        self._needs_answer(call)
        call.submit(RunOnCall(callcontrol.gather(verb, minimum), "gather"))

    def _gather_using_speak(self, call: Any, fields: Fields) -> None:
        fields.only(("payload", "voice", "language", "payload_type", "service_level",
                     "minimum_digits", "maximum_digits", "maximum_tries", "timeout_millis",
                     "inter_digit_timeout_millis", "terminating_digit", "valid_digits",
                     "client_state", "command_id"),
                    {"invalid_payload": "no spoken invalid prompt here: the prompt is "
                                        "repeated after invalid input",
                     "voice_settings": "voices are [media] tts_voice_man/woman"})
        prompt = speak_media(fields)
        verb, minimum = gather_verb(fields, first_key="timeout_millis")
        tries = fields.number("maximum_tries", 1, 10, 3)
        fields.client_state()
        self._needs_answer(call)
        verb = dataclasses.replace(verb, prompts=(prompt,), retries=tries)
        call.submit(RunOnCall(callcontrol.gather(verb, minimum), "gather_using_speak"))

    @staticmethod
    def _needs_answer(call: Any) -> None:
        if not call.answered and not any(
                isinstance(c, RunOnCall) and c.what == "answer" for c in call.commands):
            raise TelnyxApiError(422, "90034", "Call not answered",
                                 "answer the call before this command", "/call_control_id")


def create_blueprint(service: Any) -> Blueprint:
    blueprint = Blueprint("telnyx", __name__, url_prefix="/v2")
    api_key = service.settings.telnyx.api_key
    # In a cluster (controller.cluster.commands) the answers are shared by every controller.
    cluster = getattr(service, "cluster", None)
    commands = cluster.command_ids() if cluster is not None else CommandIds()
    calls = CallCommands(service)
    conferences = ConferenceFace(service)

    @blueprint.before_request
    def authenticate() -> Response | None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
            error = TelnyxApiError(401, "10009", "Authentication failed",
                                   "send Authorization: Bearer <api key> ([telnyx] api_key)")
            return _json(401, error.body())
        return None

    def fields() -> Fields:
        return Fields(parse_body(request.get_data(cache=True)[: 64 * 1024 + 1]))

    def once(resource: str, body: Fields, run: Callable[[], tuple[int, Any]]) -> Response:
        command_id = body.body.get("command_id")
        if command_id is not None and not isinstance(command_id, str):
            raise invalid("command_id", "must be a string")
        key = (resource, command_id) if command_id else None
        if key is not None and (seen := commands.get(key)) is not None:
            return _json(*seen)
        answer = run()
        if key is not None:
            commands.keep(key, answer)
        return _json(*answer)

    @blueprint.post("/calls/<control_id>/actions/<action>")
    def call_action(control_id: str, action: str) -> Response:
        body = fields()
        return once(control_id, body, lambda: (200, calls.run(control_id, action, body)))

    # Telnyx's "Update client state" is a PUT (the SDK's calls.actions.update_client_state,
    # telnyx/resources/calls/actions.py: self._put(".../actions/client_state_update")).
    @blueprint.put("/calls/<control_id>/actions/client_state_update")
    def update_client_state(control_id: str) -> Response:
        body = fields()
        return once(control_id, body, lambda: (200, calls.run(control_id,
                                                              "client_state_update", body)))

    @blueprint.post("/calls")
    def dial() -> Response:
        body = fields()
        wanted = calls.dialing.request(body)

        def run() -> tuple[int, Any]:
            call_uuid, _ = calls.dialing.dial(wanted)
            return 200, dial_answer(call_uuid, wanted["client_state"])

        return once("dial", body, run)

    @blueprint.post("/conferences")
    def create_conference() -> Response:
        body = fields()
        return once("conferences", body, lambda: (200, conferences.create(body)))

    @blueprint.get("/conferences")
    def list_conferences() -> Response:
        return _json(200, conferences.listing(request.args))

    @blueprint.get("/conferences/<conference_id>")
    def get_conference(conference_id: str) -> Response:
        return _json(200, {"data": conferences.view(conferences.record(conference_id))})

    @blueprint.get("/conferences/<conference_id>/participants")
    def participants(conference_id: str) -> Response:
        return _json(200, conferences.participants(conference_id, request.args))

    @blueprint.post("/conferences/<conference_id>/actions/<action>")
    def conference_action(conference_id: str, action: str) -> Response:
        body = fields()
        return once(f"conf:{conference_id}", body,
                    lambda: (200, conferences.action(conference_id, action, body)))

    @blueprint.errorhandler(TelnyxApiError)
    def telnyx_error(error: TelnyxApiError) -> Response:
        return _json(error.status, error.body())

    @blueprint.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        from werkzeug.exceptions import HTTPException

        if isinstance(error, HTTPException):
            return _json(error.code or 500, TelnyxApiError(
                error.code or 500, "10015", error.name, error.description or error.name).body())
        log.exception("telnyx api: %s %s failed", request.method, request.path)
        return _json(500, TelnyxApiError(500, "10007", "Unexpected error",
                                         f"unexpected {type(error).__name__}; see the "
                                         "controller's log").body())

    return blueprint
