"""A Bandwidth conference app with a coach, written only with Bandwidth's SDK.

    CC_APP_DIALECT=bxml CC_APP_ANSWER_URL=http://127.0.0.1:5000/answer \
    CC_BXML_ACCOUNT_ID=9900001 CC_BXML_USERNAME=user CC_BXML_PASSWORD=pass \
        conference-controller run
    .venv/bin/python examples/bxml_app.py

Agents and customers meet in one conference; a caller from SUPERVISOR coaches the
agent who called first (only that agent hears the supervisor). Every conference
webhook arrives as JSON with the room's tag; the reply to a member's join is BXML the
conference runs for everyone. On Bandwidth the same code runs unchanged but for the
base URLs and credentials.
"""

from __future__ import annotations

from bandwidth.models import ConferenceMemberJoinCallback, InitiateCallback
from bandwidth.models.bxml import Conference, Response, SpeakSentence
from flask import Flask, request

ROOM = "support-room"
SUPERVISOR = "1999"
app = Flask(__name__)
agents: list[str] = []  # call ids of the agents, in the order they called


@app.post("/answer")
def answer() -> str:
    call = InitiateCallback.from_dict(request.get_json())
    coach = None
    if call.var_from == SUPERVISOR and agents:
        coach = agents[0]
    elif call.var_from != SUPERVISOR:
        agents.append(call.call_id)
    return Response([
        SpeakSentence("Joining the support room.", voice="julie"),
        Conference(ROOM, conference_event_url="/conference", tag="support",
                   call_ids_to_coach=coach, callback_timeout="5"),
    ]).to_bxml()


@app.post("/conference")
def conference_event() -> tuple[str, int] | str:
    event = request.get_json()
    if event["eventType"] == "conferenceMemberJoin":
        joined = ConferenceMemberJoinCallback.from_dict(event)
        return Response([SpeakSentence(f"{joined.var_from} joined.")]).to_bxml()
    return "", 204


if __name__ == "__main__":
    app.run(port=5000)
