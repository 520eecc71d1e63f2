"""The OpenAPI 3 document of the REST API, built from the same tables the code checks.

Served at ``/v1/openapi.json``. Action names, tones, voices, formats, patterns
and error codes come from ``controller.api.inputs`` and ``errors``, so the
document cannot drift from what the views accept.
"""

from __future__ import annotations

from typing import Any

from controller import __version__
from controller.api import inputs
from controller.api.errors import ERROR_CODES
from controller.http import RECORDING_FILE_PATTERN

JSON = "application/json"
_MEMBER_ID_PATTERN = "[1-9][0-9]{0,9}"
NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,100}$"
SELECTOR_PATTERN = (rf"^(all|{_MEMBER_ID_PATTERN}"
                    rf"(,{_MEMBER_ID_PATTERN}){{0,{inputs.MAX_SELECTED - 1}}})$")
MEMBER_ID_PATTERN = rf"^{_MEMBER_ID_PATTERN}$"
DIGITS_PATTERN = r"^[0-9*#A-Da-d]{1,64}$"
IDEMPOTENCY_PATTERN = r"^[\x21-\x7e]{1,255}$"
CALL_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"

DESCRIPTION = """\
Act on live conferences: list rooms and members; mute, deafen, hold (with a hold sound),
coach, kick, hang up, play to or speak to members; record, play, speak, lock and end rooms.
Act on live calls: list them; redirect, hang up, play or speak to them, send them DTMF.

**Credentials**: every endpoint needs HTTP basic or bearer credentials (`api.username` /
`api.password` or `api.token` in the controller's settings).

**Room names** are the application's names (the `<Conference>` text); the controller adds
its configured prefix when it talks to FreeSWITCH.

**Members** are chosen by mod_conference member id (`member_id` in the listings), a comma
list of ids, or `all`. Member actions answer per member: `ok`, `not_found` (the member
has left) or `failed` (FreeSWITCH's reply in `message`). The answer is 200 when at least
one member was acted on, 404 `member_not_found` when none of them is in the room.

`kick` and `end` take members out of the room and their calls go on with the rest of
their XML (the `<Conference>` action URL runs); `hangup` ends the call.

**Coaching**: `coach` makes one member heard only by the members in `heard_by` (the others
stop hearing it; it still hears everyone), kept so as members come and go, until
`uncoach`. **Hold**: a held member neither hears nor is heard; a `sound` plays to it alone.

**Calls** are named by FreeSWITCH's call UUID or by the call id of the application's face
(the same for Plivo). Commands answer 202: the call acts on them itself, at once for
`redirect`, `hangup` and `dtmf` (a call in a room leaves it first for `redirect` and
`hangup`, without its action URL), and for `play` and `speak` as soon as what it is playing
ends (in a room: to that member only, at once).

**Idempotency-Key** (POST): the same key with the same request (method, path, JSON
body) answers the first response again, with `Idempotency-Replayed: true`, and runs the
command once; a request with the same key still running is waited for. The same key with a
different request is a 422 `idempotency_key_reused`. Keys are kept in this controller
process's memory for `api.idempotency_ttl` seconds (24 h by default), at most 10,000 of
them (the oldest go first); a restart forgets them. Answers that may not have run
(500, 503, 504) are not kept.

**Errors** are JSON: `{"error": code, "message": text}`, with `field` and `allowed` for
bad input (422). 404 for an unknown room or member, 503 when FreeSWITCH is unreachable,
504 when it does not answer in time, 502 when it refuses a command.
"""


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], required: list[str] | None = None,
            **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "additionalProperties": False}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def _schemas() -> dict[str, Any]:
    recording = _object({
        "recording_id": {"type": "string", "description": "also the file name"},
        "format": {"type": "string", "description": "file extension (mp3 or wav)"},
        "url": {"type": "string", "nullable": True,
                "description": "where the file is served once the recording stops "
                               "(null for recordings this controller did not start)"},
        "paused": {"type": "boolean"},
    }, ["recording_id", "format", "url", "paused"])
    conference_props = {
        "name": {"type": "string", "example": "room1"},
        "conference_uuid": {"type": "string"},
        "member_count": {"type": "integer", "minimum": 0},
        "running_time": {"type": "integer", "minimum": 0, "description": "seconds"},
        "started_at": {"type": "string", "format": "date-time"},
        "locked": {"type": "boolean"},
        "recording": {"type": "boolean"},
        "recordings": {"type": "array", "items": _ref("Recording")},
    }
    member = _object({
        "member_id": {"type": "integer", "minimum": 1},
        "call_uuid": {"type": "string"},
        "caller_id_name": {"type": "string"},
        "caller_id_number": {"type": "string"},
        "muted": {"type": "boolean"},
        "deaf": {"type": "boolean"},
        "on_hold": {"type": "boolean"},
        "talking": {"type": "boolean"},
        "has_floor": {"type": "boolean"},
        "moderator": {"type": "boolean"},
        "end_conference_on_exit": {"type": "boolean"},
        "joined_at": {"type": "string", "format": "date-time"},
    }, ["member_id", "call_uuid", "caller_id_name", "caller_id_number", "muted", "deaf",
        "on_hold", "talking", "has_floor", "moderator", "end_conference_on_exit", "joined_at"])
    member_result = _object({
        "member_id": {"type": "integer", "minimum": 1},
        "status": {"type": "string", "enum": ["ok", "not_found", "failed"]},
        "message": {"type": "string"},
    }, ["member_id", "status"])
    return {
        "Error": _object({
            "error": {"type": "string", "enum": sorted(ERROR_CODES)},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "what was wrong: body.<name>, "
                      "path.<name> or header.<name>"},
            "allowed": {"type": "array", "items": {"type": "string"}},
            "results": {"type": "array", "items": _ref("MemberResult")},
            "recordings": {"type": "array", "items": _ref("Recording")},
        }, ["error", "message"]),
        "Recording": recording,
        "Conference": _object(conference_props, list(conference_props)),
        "ConferenceDetail": _object(
            {**conference_props, "members": {"type": "array", "items": _ref("Member")}},
            [*conference_props, "members"]),
        "ConferenceList": _object(
            {"conferences": {"type": "array", "items": _ref("Conference")}}, ["conferences"]),
        "Member": member,
        "MemberResult": member_result,
        "MemberActionResult": _object({
            "conference": {"type": "string"},
            "action": {"type": "string", "enum": list(inputs.MEMBER_ACTIONS)},
            "results": {"type": "array", "items": _ref("MemberResult")},
        }, ["conference", "action", "results"]),
        "NoBody": {"type": "object", "maxProperties": 0, "additionalProperties": False,
                   "description": "no fields (an empty body is the same)"},
        "PlayRequest": {
            **_object({
                "url": {"type": "string", "format": "uri", "maxLength": inputs.MAX_URL,
                        "pattern": "^https?://",
                        "description": "a .wav or .mp3 file; the controller downloads it"},
                "tone": {"type": "string", "enum": list(inputs.TONES)},
            }),
            "oneOf": [{"required": ["url"]}, {"required": ["tone"]}],
            "description": "exactly one of url or tone",
        },
        "SpeakRequest": _object({
            "text": {"type": "string", "minLength": 1, "maxLength": inputs.MAX_TEXT,
                     "description": "one line is spoken; quotes, backslashes, braces and "
                                    "'${' are dropped"},
            "voice": {"type": "string", "enum": list(inputs.VOICES), "default": "WOMAN"},
        }, ["text"]),
        "DtmfRequest": _object({
            "digits": {"type": "string", "pattern": DIGITS_PATTERN,
                       "description": "sent to the member's phone (not to the room)"},
        }, ["digits"]),
        "RecordStartRequest": _object({
            "format": {"type": "string", "enum": list(inputs.RECORD_FORMATS), "default": "mp3"},
        }),
        "HoldRequest": _object({
            "sound": {**_ref("PlayRequest"),
                      "description": "played to the held members only, while held"},
        }),
        "CoachRequest": _object({
            "heard_by": {"type": "array", "minItems": 1, "maxItems": inputs.MAX_SELECTED,
                         "items": {"type": "integer", "minimum": 1,
                                   "maximum": inputs.MAX_MEMBER_ID},
                         "description": "member ids of the only members who hear the coach "
                                        "(not the coach itself)"},
        }, ["heard_by"]),
        "CoachResult": _object({
            "conference": {"type": "string"},
            "action": {"type": "string", "enum": list(inputs.SINGLE_MEMBER_ACTIONS)},
            "member_id": {"type": "integer", "minimum": 1},
            "coaching": {"type": "boolean"},
            "heard_by": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        }, ["conference", "action", "member_id", "coaching", "heard_by"]),
        "RedirectRequest": _object({
            "url": {"type": "string", "format": "uri", "maxLength": inputs.MAX_URL,
                    "pattern": "^https?://",
                    "description": "the new document, requested in the call's dialect"},
            "method": {"type": "string", "enum": list(inputs.METHODS), "default": "POST"},
        }, ["url"]),
        "Call": _object(_CALL_PROPERTIES, list(_CALL_PROPERTIES)),
        "CallList": _object({"calls": {"type": "array", "items": _ref("Call")}}, ["calls"]),
        "CallCommandResult": _object({
            "call_id": {"type": "string"},
            "uuid": {"type": "string"},
            "action": {"type": "string", "enum": list(inputs.CALL_ACTIONS)},
            "status": {"type": "string", "enum": ["accepted"]},
        }, ["call_id", "uuid", "action", "status"]),
    }


_CALL_PROPERTIES: dict[str, Any] = {
    "uuid": {"type": "string", "description": "FreeSWITCH's call UUID"},
    "call_id": {"type": "string", "description": "the call id of the call's face"},
    "dialect": {"type": "string", "description": "the face the call's application speaks"},
    "from": {"type": "string"},
    "caller_name": {"type": "string"},
    "to": {"type": "string"},
    "direction": {"type": "string"},
    "room": {"type": "string", "nullable": True, "description": "the room it is in, if any"},
    "member_id": {"type": "integer", "minimum": 1, "nullable": True},
}


def _room_action_results() -> dict[str, dict[str, Any]]:
    base = {"conference": {"type": "string"},
            "action": {"type": "string", "enum": list(inputs.ROOM_ACTIONS)}}

    def result(extra: dict[str, Any]) -> dict[str, Any]:
        return _object({**base, **extra}, [*base, *extra])

    recordings = {"recordings": {"type": "array", "items": _ref("Recording")}}
    return {
        "record_start": result({"recording": _ref("Recording")}),
        "record_stop": result(recordings),
        "record_pause": result(recordings),
        "record_resume": result(recordings),
        "play": result({"status": {"type": "string", "enum": ["playing"]}}),
        "speak": result({"status": {"type": "string", "enum": ["playing"]}}),
        "stop_playback": result({"stopped_files": {"type": "integer", "minimum": 0}}),
        "lock": result({"locked": {"type": "boolean"}}),
        "unlock": result({"locked": {"type": "boolean"}}),
        "end": result({
            "ended": {"type": "boolean"},
            "members": {"type": "array", "items": _object({
                "member_id": {"type": "integer", "minimum": 1},
                "status": {"type": "string", "enum": ["ok", "not_found", "failed"]},
            }, ["member_id", "status"])},
        }),
    }


_ROOM_ACTION_DOCS = {
    "record_start": ("Start recording the room", "RecordStartRequest",
                     "Answers the recording id and the URL the file is served at "
                     "(`/v1/recordings/<id>.<format>`) once the recording stops. 409 if the "
                     "room is already being recorded."),
    "record_stop": ("Stop recording the room", None,
                    "Stops every recording of the room; 409 if there is none. Stopping is "
                    "asynchronous in FreeSWITCH: the recording leaves the room's listing, and "
                    "its URL serves the file, once FreeSWITCH has closed the file."),
    "record_pause": ("Pause the room's recording", None, "409 if the room is not recorded."),
    "record_resume": ("Resume the room's recording", None, "409 if the room is not recorded."),
    "play": ("Play a file or tone to the room", "PlayRequest",
             "Queued behind anything the room is already playing."),
    "speak": ("Speak text to the room", "SpeakRequest",
              "Text to speech with the controller's TTS engine (media.tts_engine)."),
    "stop_playback": ("Stop what is playing to the room", None,
                      "Stops the file playing and everything queued."),
    "lock": ("Lock the room", None, "Nobody new can join."),
    "unlock": ("Unlock the room", None, ""),
    "end": ("End the conference", None,
            "Every member leaves the room; their calls go on with the rest of their XML."),
}

_MEMBER_ACTION_DOCS = {
    "mute": ("Mute members", None, "They still hear the room."),
    "unmute": ("Unmute members", None, ""),
    "deaf": ("Deafen members", None, "They no longer hear the room."),
    "undeaf": ("Undeafen members", None, ""),
    "hold": ("Put members on hold", "HoldRequest",
             "They neither hear nor are heard; the optional `sound` plays to them alone "
             "(it stops at unhold)."),
    "unhold": ("Take members off hold", None, ""),
    "kick": ("Take members out of the room", None,
             "The call goes on with the rest of its XML (the action URL runs)."),
    "hangup": ("Hang members' calls up", None, "The calls end."),
    "play": ("Play a file or tone to members", "PlayRequest", "Only they hear it."),
    "speak": ("Speak text to members", "SpeakRequest", "Only they hear it."),
    "dtmf": ("Send DTMF digits to members' phones", "DtmfRequest", ""),
    "coach": ("Make a member a coach", "CoachRequest",
              "Only the members in `heard_by` hear it from now on (members who join later "
              "do not); it still hears everyone. One member id, not a list."),
    "uncoach": ("Stop a member's coaching", None, "Everyone hears it again."),
}
_OPTIONAL_BODIES = ("hold",)

_CALL_ACTION_DOCS = {
    "redirect": ("Redirect a call", "RedirectRequest",
                 "Stops what the call is doing (a call in a room leaves it; its action URL "
                 "is not requested) and runs the document at `url`."),
    "hangup": ("Hang a call up", None, "In a room, the member leaves first."),
    "play": ("Play a file or tone to a call", "PlayRequest",
             "In a room, to that member only; otherwise after what is playing."),
    "speak": ("Speak text to a call", "SpeakRequest",
              "In a room, to that member only; otherwise after what is playing."),
    "dtmf": ("Send DTMF digits to a call's phone", "DtmfRequest", ""),
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref("Error")}}}


def _common_errors(*statuses: int) -> dict[str, Any]:
    texts = {
        401: "no or wrong credentials",
        404: "unknown conference, member or call (error names which)",
        409: "conflict: already or not recording, or the Idempotency-Key is still in use",
        413: "body larger than 64 KiB",
        415: "body is not JSON",
        422: "bad input: `field` names it, `allowed` lists the values; or an "
             "Idempotency-Key reused for a different request",
        500: "unexpected failure (logged by the controller)",
        502: "FreeSWITCH refused the command or answered something unexpected",
        503: "FreeSWITCH is not reachable",
        504: "FreeSWITCH did not answer in time",
    }
    return {str(status): _error(texts[status]) for status in statuses}


def _ok(description: str, schema: dict[str, Any], replayable: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if replayable:
        answer["headers"] = {"Idempotency-Replayed": {
            "description": "`true` when this is the stored answer to an earlier request "
                           "with the same Idempotency-Key",
            "schema": {"type": "string", "enum": ["true"]}}}
    return answer


def _post(summary: str, body: str | None, description: str, operation_id: str,
          ok_status: int, ok_schema: dict[str, Any], tag: str,
          errors: tuple[int, ...], body_optional: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "operationId": operation_id,
        "tags": [tag],
        "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
        "requestBody": {
            "required": body is not None and not body_optional,
            "content": {JSON: {"schema": _ref(body or "NoBody")}},
        },
        "responses": {
            str(ok_status): _ok("done", ok_schema, replayable=True),
            **_common_errors(*errors),
        },
    }
    return operation


def build_openapi() -> dict[str, Any]:
    reads = (401, 404, 422, 500, 502, 503, 504)
    writes = (401, 404, 409, 413, 415, 422, 500, 502, 503, 504)
    paths: dict[str, Any] = {
        "/v1/openapi.json": {"get": {
            "summary": "This document", "operationId": "getOpenApi", "tags": ["meta"],
            "responses": {"200": {"description": "the OpenAPI document",
                                  "content": {JSON: {"schema": {"type": "object"}}}},
                          **_common_errors(401, 500)},
        }},
        "/v1/conferences": {"get": {
            "summary": "Live conferences", "operationId": "listConferences",
            "tags": ["conferences"],
            "responses": {"200": _ok("every live room", _ref("ConferenceList")),
                          **_common_errors(401, 500, 502, 503, 504)},
        }},
        "/v1/conferences/{name}": {
            "parameters": [{"$ref": "#/components/parameters/ConferenceName"}],
            "get": {
                "summary": "One conference with its members", "operationId": "getConference",
                "tags": ["conferences"],
                "responses": {"200": _ok("the room", _ref("ConferenceDetail")),
                              **_common_errors(*reads)},
            },
        },
        "/v1/conferences/{name}/members/{member_id}": {
            "parameters": [{"$ref": "#/components/parameters/ConferenceName"},
                           {"$ref": "#/components/parameters/MemberId"}],
            "get": {
                "summary": "One member", "operationId": "getMember", "tags": ["members"],
                "responses": {"200": _ok("the member", _ref("Member")),
                              **_common_errors(*reads)},
            },
        },
        "/v1/calls": {"get": {
            "summary": "Live calls", "operationId": "listCalls", "tags": ["calls"],
            "responses": {"200": _ok("every live call", _ref("CallList")),
                          **_common_errors(401, 500)},
        }},
        "/v1/calls/{call_id}": {
            "parameters": [{"$ref": "#/components/parameters/CallId"}],
            "get": {
                "summary": "One live call", "operationId": "getCall", "tags": ["calls"],
                "responses": {"200": _ok("the call", _ref("Call")),
                              **_common_errors(401, 404, 422, 500)},
            },
        },
        "/v1/recordings/{file}": {"get": {
            "summary": "A recording's audio", "operationId": "getRecording",
            "tags": ["recordings"],
            "description": "The file a room recording wrote: `<recording_id>.<format>`, the "
                           "`url` of a Recording and the RecordUrl of the record callback. "
                           "Supports conditional and range requests.",
            "parameters": [{
                "name": "file", "in": "path", "required": True,
                "description": "`<recording_id>.<format>`, format mp3 or wav",
                "schema": {"type": "string", "pattern": RECORDING_FILE_PATTERN},
                "example": "0b6a4d6e-6f1e-4d39-9a53-0a3f3c1c1f7e.wav",
            }],
            "responses": {
                "200": {"description": "the audio", "content": {
                    media: {"schema": {"type": "string", "format": "binary"}}
                    for media in ("audio/mpeg", "audio/wav")}},
                **_common_errors(401, 500),
                "404": _error("no such recording (not recorded here, or not a "
                              "`<recording_id>.<format>` name)"),
            },
        }},
    }
    room_results = _room_action_results()
    for action in inputs.ROOM_ACTIONS:
        summary, body, description = _ROOM_ACTION_DOCS[action]
        paths[f"/v1/conferences/{{name}}/{action}"] = {
            "parameters": [{"$ref": "#/components/parameters/ConferenceName"}],
            "post": _post(summary, body, description, f"room_{action}",
                          201 if action == "record_start" else 200, room_results[action],
                          "conferences", writes),
        }
    for action in inputs.MEMBER_ACTIONS:
        summary, body, description = _MEMBER_ACTION_DOCS[action]
        result = ("CoachResult" if action in inputs.SINGLE_MEMBER_ACTIONS
                  else "MemberActionResult")
        paths[f"/v1/conferences/{{name}}/members/{{member}}/{action}"] = {
            "parameters": [{"$ref": "#/components/parameters/ConferenceName"},
                           {"$ref": "#/components/parameters/MemberSelector"}],
            "post": _post(summary, body, description, f"member_{action}", 200,
                          _ref(result), "members", writes,
                          body_optional=action in _OPTIONAL_BODIES),
        }
    call_errors = (401, 404, 409, 413, 415, 422, 500)
    for action in inputs.CALL_ACTIONS:
        summary, body, description = _CALL_ACTION_DOCS[action]
        paths[f"/v1/calls/{{call_id}}/{action}"] = {
            "parameters": [{"$ref": "#/components/parameters/CallId"}],
            "post": _post(summary, body, description, f"call_{action}", 202,
                          _ref("CallCommandResult"), "calls", call_errors),
        }
    paths.setdefault("/v1/calls", {})["post"] = _dial_operation()
    return {
        "openapi": "3.0.3",
        "info": {"title": "Conference controller REST API", "version": __version__,
                 "description": DESCRIPTION},
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "tags": [{"name": "conferences"}, {"name": "members"}, {"name": "calls"},
                 {"name": "recordings"}, {"name": "meta"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic"},
                "bearerAuth": {"type": "http", "scheme": "bearer"},
            },
            "parameters": {
                "ConferenceName": {
                    "name": "name", "in": "path", "required": True,
                    "description": f"the room name ({inputs.ROOM_NAME_RULE})",
                    "schema": {"type": "string", "pattern": NAME_PATTERN}, "example": "room1",
                },
                "MemberSelector": {
                    "name": "member", "in": "path", "required": True,
                    "description": inputs.SELECTOR_RULE,
                    "schema": {"type": "string", "pattern": SELECTOR_PATTERN}, "example": "all",
                },
                "MemberId": {
                    "name": "member_id", "in": "path", "required": True,
                    "description": "a member id",
                    "schema": {"type": "string", "pattern": MEMBER_ID_PATTERN}, "example": "1",
                },
                "CallId": {
                    "name": "call_id", "in": "path", "required": True,
                    "description": inputs.CALL_ID_RULE,
                    "schema": {"type": "string", "pattern": CALL_ID_PATTERN},
                },
                "IdempotencyKey": {
                    "name": "Idempotency-Key", "in": "header", "required": False,
                    "description": inputs.IDEMPOTENCY_KEY_RULE + "; see the API description",
                    "schema": {"type": "string", "pattern": IDEMPOTENCY_PATTERN},
                },
            },
            "schemas": {**_schemas(), **_dial_schemas()},
        },
    }


def _dial_operation() -> dict[str, Any]:
    """``POST /v1/calls`` (controller/api/dial.py)."""
    operation = _post(
        "Dial out", "DialRequest",
        "Rings `to` and returns at once with the call's uuid. When the callee answers, the "
        "call fetches `answer_url` (Direction `outbound`) and runs like an inbound call; its "
        "end is reported to `hangup_url` (default: the configured hangup URL) with its "
        "HangupCause. A call never answered is reported there once, with FreeSWITCH's "
        "cause: USER_BUSY, NO_ANSWER (after `ring_timeout`), NORMAL_TEMPORARY_FAILURE, "
        "ORIGINATOR_CANCEL...", "dial", 201, _ref("DialResult"), "calls",
        (401, 409, 413, 415, 422, 500, 503))
    operation["requestBody"]["content"][JSON]["examples"] = {"sip": {"value": {
        "to": "sip:alice@127.0.0.1:5090", "from": "+15551230000",
        "answer_url": "http://127.0.0.1:9/answer"}}}
    return operation


def _dial_schemas() -> dict[str, Any]:
    from controller.api.dial import METHODS
    from controller.dialer import MAX_RING_SECONDS, MAX_TIME_LIMIT_SECONDS

    url = {"type": "string", "format": "uri", "maxLength": inputs.MAX_URL}
    return {
        "DialRequest": {
            "type": "object", "additionalProperties": False,
            "required": ["to", "answer_url"],
            "properties": {
                "to": {"type": "string", "minLength": 1, "maxLength": 256, "description":
                       "`sip:user@host[:port]`, `user/<id>` or a bare id (a SIP user "
                       "registered on FreeSWITCH), `gateway/<name>/<number>`, or a phone "
                       "number (dialled through the configured gateway)"},
                "from": {"type": "string", "maxLength": 64,
                         "description": "caller ID number (default: the configured one)"},
                "caller_name": {"type": "string", "maxLength": 64,
                                "description": "caller ID name"},
                "answer_url": {**url, "description": "fetched when the callee answers"},
                "answer_method": {"type": "string", "enum": list(METHODS)},
                "hangup_url": {**url, "description": "told when the call ends or fails"},
                "hangup_method": {"type": "string", "enum": list(METHODS)},
                "ring_timeout": {"type": "integer", "minimum": 1,
                                 "maximum": MAX_RING_SECONDS,
                                 "description": "seconds of ringing before NO_ANSWER"},
                "time_limit": {"type": "integer", "minimum": 1,
                               "maximum": MAX_TIME_LIMIT_SECONDS,
                               "description": "seconds after the answer the call is hung "
                                              "up (ALLOTTED_TIMEOUT)"},
            },
        },
        "DialResult": {
            "type": "object", "required": ["call_uuid", "status", "to", "from"],
            "properties": {
                "call_uuid": {"type": "string", "description": "the call's uuid"},
                "status": {"type": "string", "enum": ["ringing"]},
                "to": {"type": "string"},
                "from": {"type": "string"},
            },
        },
    }
