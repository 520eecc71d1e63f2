"""What changes per face in the controller benchmarks: the controller's settings, the
document the bench app answers, and how the app reads each face's member-event webhook.

    plivo    <Response><Conference callbackUrl=...>        (today's figures, unchanged)
    cxml     <Response><Dial><Conference statusCallback=... statusCallbackEvent="join leave">
    bxml     <Response><Conference conferenceEventUrl=...>
    telnyx   no markup: the app answers call.initiated with REST commands (answer, then
             conference create or join; bench/app.py)

Every face reports a member joining its room with its own webhook (Plivo's ``enter``
callback, cXML's ``participant-join``, BXML's ``conferenceMemberJoin``, Telnyx's
``conference.participant.joined``). ``member_event`` turns each into the one shape the
benchmarks read: (action, FreeSWITCH call UUID, EventTimestamp µs or 0, member id), so
one latency is measured the same way for every face. Pure apart from key generation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import quoteattr

from controller.dialects.bxml import ids as bxml_ids
from controller.dialects.cxml import sids as cxml_sids
from controller.dialects.telnyx import ids as telnyx_ids

FACES = ("plivo", "cxml", "bxml", "telnyx")
DEFAULT_FACE = "plivo"
DIGITS = ["1", "2", "3"]  # what callback_latency presses (Plivo); each is its own match

# The neutral actions the benchmarks count, from each face's own event names.
CXML_ACTIONS = {"participant-join": "enter", "participant-leave": "exit"}
BXML_ACTIONS = {"conferenceMemberJoin": "enter", "conferenceMemberExit": "exit"}
TELNYX_ACTIONS = {"conference.participant.joined": "enter",
                  "conference.participant.left": "exit"}

# The faces' credentials in the benchmark: what production sets, so signing is counted.
CXML_ACCOUNT_SID = "AC" + "be" * 16
CXML_AUTH_TOKEN = "bench-cxml-auth-token"
BXML_ACCOUNT_ID = "9900000"
BXML_APPLICATION_ID = "bench-bxml-application"
TELNYX_API_KEY = "KEY-bench-telnyx"

MemberEvent = tuple[str, str, int, str]  # action, call UUID, EventTimestamp µs (0: none), member


def check_face(face: str) -> str:
    if face not in FACES:
        raise ValueError(f"unknown face {face!r}; known: {', '.join(FACES)}")
    return face


def controller_settings(face: str, app_url: str) -> dict[str, str]:
    """CC_* variables that make the controller speak ``face`` (plivo: none, as before)."""
    check_face(face)
    if face == "plivo":
        return {}
    settings = {"CC_APP_DIALECT": face}
    if face == "cxml":
        settings.update(CC_CXML_ACCOUNT_SID=CXML_ACCOUNT_SID, CC_CXML_AUTH_TOKEN=CXML_AUTH_TOKEN)
    elif face == "bxml":
        settings.update(CC_BXML_ACCOUNT_ID=BXML_ACCOUNT_ID,
                        CC_BXML_APPLICATION_ID=BXML_APPLICATION_ID)
    else:
        from controller.dialects.telnyx.signing import new_private_key

        settings.update(
            CC_TELNYX_API_KEY=TELNYX_API_KEY,
            CC_TELNYX_WEBHOOK_URL=f"{app_url}/webhooks",
            CC_TELNYX_SIGNING_KEY=new_private_key(),  # Telnyx signs every webhook
            # Telnyx reports the end of a call with call.hangup, not an answer-time URL.
            CC_APP_HANGUP_URL="",
        )
    return settings


def dialled_number(face: str, form: Mapping[str, str], body: Mapping[str, Any] | None) -> str:
    """The number a call dialled, from the face's answer request (the room's name)."""
    if face == "bxml":
        return str((body or {}).get("to") or "")
    return str(form.get("To") or "")


def answer_document(face: str, profile: str, room: str, callbacks_url: str) -> bytes | None:
    """The document for a call into ``room``; None for an unknown profile.

    ``join`` and ``latency`` differ only for Plivo (``latency`` adds floorEvent and
    digitsMatch for callback_latency's floor and digits drive); the other faces report
    their member-join webhook in both.
    """
    if profile not in ("join", "latency"):
        return None
    check_face(face)
    if face == "plivo":
        from controller.dialects.plivo.builder import Response

        document = Response()
        if profile == "join":
            document.conference(room, callback_url=callbacks_url)
        else:
            document.conference(room, callback_url=callbacks_url, floor_event=True,
                                digits_match=DIGITS)
        return document.to_xml()
    name = _text(room)
    url = quoteattr(callbacks_url)
    if face == "cxml":
        return (f'<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Conference '
                f'statusCallback={url} statusCallbackEvent="join leave">{name}</Conference>'
                f"</Dial></Response>").encode()
    if face == "bxml":
        return (f'<?xml version="1.0" encoding="UTF-8"?><Response><Conference '
                f"conferenceEventUrl={url}>{name}</Conference></Response>").encode()
    return None  # telnyx: no markup


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def member_event(face: str, form: Mapping[str, str],
                 body: Mapping[str, Any] | None) -> MemberEvent | None:
    """One member-event webhook in the benchmarks' shape; None for other webhooks."""
    if face == "plivo":
        return (form.get("ConferenceAction", ""), form.get("CallUUID", ""),
                int(form.get("EventTimestamp") or 0), form.get("ConferenceMemberID", ""))
    if face == "cxml":
        action = CXML_ACTIONS.get(form.get("StatusCallbackEvent", ""))
        uuid = cxml_sids.uuid_of(form.get("CallSid", ""), cxml_sids.CALL)
        # Timestamp is RFC 2822 (whole seconds): latency is taken from the tap's stamps.
        return (action, uuid, 0, "") if action and uuid else None
    if face == "bxml":
        body = body or {}
        action = BXML_ACTIONS.get(str(body.get("eventType", "")))
        uuid = bxml_ids.call_uuid(str(body.get("callId", "")))
        return (action, uuid, 0, "") if action and uuid else None
    data = (body or {}).get("data") or {}
    action = TELNYX_ACTIONS.get(str(data.get("event_type", "")))
    payload = data.get("payload") or {}
    uuid = telnyx_ids.call_uuid(str(payload.get("call_control_id", "")))
    return (action, uuid, 0, "") if action and uuid else None
