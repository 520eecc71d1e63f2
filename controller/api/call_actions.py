"""Live calls over the REST API: list them, and give one a command.

Calls are the engine's registry (``controller.calls.CallRegistry``), found by
FreeSWITCH UUID or by their face's call id. A command never touches the call's
socket here: it is handed to the call's own greenlet (``CallSession.submit``),
which acts on it at once (redirect and hang up interrupt what the call is doing;
inside a room the member leaves first) or as soon as the current verb ends
(play and speak outside a room). So commands answer 202: accepted, not done.
"""

from __future__ import annotations

from typing import Any

from controller.api import inputs
from controller.api.errors import ApiError, invalid
from controller.calls import HangupCall, PlayToCall, RedirectCall, SendDigits
from controller.media import BEEP_ONE, BEEP_TWO
from controller.model import HttpMethod, Play, Speak, Webhook

# The tones a PlayRequest may name, as the Play the engine plays (controller.call).
_TONE_PLAYS = {BEEP_ONE: Play(BEEP_ONE), BEEP_TWO: Play(BEEP_TWO)}


class CallActions:
    def __init__(self, service: Any):
        self.service = service

    @property
    def calls(self) -> Any:
        return self.service.engine.calls

    def _call(self, call_id: str) -> Any:
        call = self.calls.get(call_id)
        if call is None or call.facts is None or call.session.hungup.is_set():
            raise ApiError("not_found", f"no live call {call_id!r}")
        return call

    # ------------------------------------------------------------ reads
    def list_calls(self) -> list[dict[str, Any]]:
        views = [call_view(call) for call in self.calls
                 if call.facts is not None and not call.session.hungup.is_set()]
        return sorted(views, key=lambda view: view["uuid"])

    def call_detail(self, call_id: str) -> dict[str, Any]:
        return call_view(self._call(call_id))

    # ------------------------------------------------------------ commands
    def command(self, call_id: str, action: str, body: dict[str, Any]
                ) -> tuple[int, dict[str, Any]]:
        call = self._call(call_id)
        if action == "redirect":
            request = inputs.redirect_request(body)
            command: Any = RedirectCall(hook=Webhook(request.url, HttpMethod(request.method)))
        elif action == "hangup":
            inputs.no_body(body)
            command = HangupCall()
        elif action == "speak":
            speak = inputs.speak_request(body)
            command = PlayToCall(Speak(speak.text, voice=speak.voice))
        elif action == "play":
            source = inputs.play_source(body)
            if source.tone is not None:
                command = PlayToCall(_TONE_PLAYS[source.tone])
            else:
                command = PlayToCall(Play(source.url))
        elif action == "dtmf":
            command = SendDigits(inputs.dtmf_digits(body))
        else:  # the view checked the action; this is a bug, not bad input
            raise ValueError(f"call action {action!r} has no handler")
        if action == "speak" and not command.media.text.strip():
            raise invalid("body.text", "must not be empty")
        call.submit(command)
        return 202, {"call_id": call.call_id, "uuid": call.uuid, "action": action,
                     "status": "accepted"}


def call_view(call: Any) -> dict[str, Any]:
    facts = call.facts
    member = call.member.member if call.member is not None else None
    return {
        "uuid": facts.uuid,
        "call_id": facts.call_id or facts.uuid,
        "dialect": facts.dialect,
        "from": facts.caller_number,
        "caller_name": facts.caller_name,
        "to": facts.destination,
        "direction": facts.direction,
        "room": member.room if member is not None else None,
        "member_id": int(member.member_id) if member is not None else None,
    }
