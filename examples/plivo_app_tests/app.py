"""A small conference application, as an outside project would write it: plain Flask,
Plivo XML by hand, no import from the controller.

    1000  the "standup" room; the app keeps who is in it from the callbacks
    2000  a vote: press 1 or 2 in room "vote" (digits reach /events)
    other numbers: a spoken refusal, then hang up
"""

from __future__ import annotations

from flask import Flask, Response, request

XML = "application/xml"


def create_app() -> Flask:
    app = Flask("standup")
    app.config["present"] = set()  # caller ids in the standup room right now
    app.config["votes"] = {}  # caller id -> digit

    @app.post("/answer")
    def answer() -> Response:
        number = request.form.get("To", "")
        if number == "1000":
            body = ('<Speak>Good morning.</Speak>'
                    '<Conference callbackUrl="/events" action="/bye">standup</Conference>')
        elif number == "2000":
            body = ('<Conference callbackUrl="/events" digitsMatch="1,2" hangupOnStar="true" '
                    'action="/bye">vote</Conference>')
        else:
            body = '<Speak>This number is not in service.</Speak><Hangup/>'
        return Response(f"<Response>{body}</Response>", mimetype=XML)

    @app.post("/events")
    def events() -> Response:
        form = request.form
        caller, action = form.get("From", ""), form.get("ConferenceAction")
        if action == "enter" and form.get("ConferenceName") == "standup":
            app.config["present"].add(caller)
        elif action == "exit":
            app.config["present"].discard(caller)
        elif action == "digits":
            app.config["votes"][caller] = form.get("ConferenceDigitsMatch")
        return Response(status=204)

    @app.post("/bye")
    def bye() -> Response:
        return Response("<Response><Speak>Goodbye.</Speak></Response>", mimetype=XML)

    @app.post("/hangup")
    def hangup() -> Response:
        return Response(status=204)

    return app
