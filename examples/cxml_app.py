"""A moderated conference written only with the official `twilio` SDK, run on this
controller (`[app] dialect = cxml`). Callers wait with music until the host (caller id
HOST) joins; the host's leaving ends the room; room events go to /status.

    CC_APP_DIALECT=cxml CC_APP_ANSWER_URL=http://127.0.0.1:5000/answer \
    CC_CXML_ACCOUNT_SID=AC... CC_CXML_AUTH_TOKEN=... conference-controller run
    python examples/cxml_app.py

Every request is checked with the SDK's RequestValidator, exactly as on Twilio.
"""

from __future__ import annotations

import os

from flask import Flask, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Dial, VoiceResponse

HOST = os.environ.get("HOST_NUMBER", "1001")
validator = RequestValidator(os.environ.get("CC_CXML_AUTH_TOKEN", ""))
app = Flask(__name__)


@app.before_request
def signed() -> None:
    params = request.form.to_dict() if request.method == "POST" else {}
    if not validator.validate(request.url, params, request.headers.get("X-Twilio-Signature", "")):
        abort(403)


@app.post("/answer")
def answer() -> str:
    host = request.form["From"] == HOST
    response = VoiceResponse()
    response.say("Welcome to the meeting.")
    dial = Dial(action="/after", hangup_on_star=True)
    dial.conference("meeting", start_conference_on_enter=host, end_conference_on_exit=host,
                    participant_label="host" if host else request.form["From"],
                    status_callback="/status", status_callback_event="start end join leave",
                    record="record-from-start", recording_status_callback="/recording")
    response.append(dial)
    return str(response)


@app.post("/after")
def after() -> str:
    response = VoiceResponse()
    response.say("The meeting has ended. Goodbye.")
    response.hangup()
    return str(response)


@app.post("/status")
@app.post("/recording")
def events() -> tuple[str, int]:
    app.logger.info("%s", request.form.to_dict())
    return "", 204


if __name__ == "__main__":
    app.run(port=5000)
