"""Bandwidth's Voice REST API shapes, under ``/api/v2/accounts/{accountId}`` (point the
SDK's ``Configuration(host=...)`` at ``<controller>/api/v2``).

Basic auth with ``[bxml] username``/``password``; the account must be ``[bxml]
account_id``. Errors are Bandwidth's ``{"type", "description"}`` bodies with its
statuses (400 validation, 401, 404, 409 for a call or conference that is not live).

    POST /calls                                create a call (dial out; answerUrl's BXML)
    POST /calls/{callId}                       update a call: redirect, state=completed
    GET  /conferences?name=                    live conferences
    GET  /conferences/{id}                     one, with its active members
    POST /conferences/{id}                     status=completed, or redirectUrl
    PUT  /conferences/{id}/bxml                BXML run inside the conference
    GET  /conferences/{id}/members/{callId}    a member
    PUT  /conferences/{id}/members/{callId}    mute, hold, callIdsToCoach
    GET  /conferences/{id}/recordings          recordings of the conference
    GET  /conferences/{id}/recordings/{rid}    their metadata
    GET  /conferences/{id}/recordings/{rid}/media
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file

from controller.api.inputs import MAX_JSON_DEPTH, json_depth
from controller.calls import HangupCall, RedirectCall
from controller.conference import recording_index
from controller.conference.events import RecordingFacts
from controller.conference.rooms import RoomError
from controller.dialects.base import Payload
from controller.dialects.bxml import ids, markup, outbound, params
from controller.dialects.bxml.dialect import ROOM_REPLY
from controller.dialects.bxml.schema import CREDENTIAL, METHOD, URL
from controller.dialer import DialError, DialUnavailable
from controller.esl import EslError
from controller.freeswitch import conference as fsconf
from controller.freeswitch import replies
from controller.model import HttpMethod, Webhook
from controller.xml.errors import XmlError
from controller.xml.values import Invalid

MAX_BODY = 65_536


class ApiError(Exception):
    def __init__(self, status: int, kind: str, description: str):
        super().__init__(description)
        self.status, self.kind, self.description = status, kind, description


def _error(status: int, kind: str, description: str) -> Response:
    response = jsonify(type=kind, description=description)
    response.status_code = status
    return response


def create_blueprint(service: Any, dialect: Any) -> Blueprint | None:
    settings = service.settings.bxml
    if not settings.username:
        return None  # the Bandwidth REST API is off without credentials
    bp = Blueprint("bxml_rest", __name__, url_prefix="/api/v2/accounts/<account_id>")
    rooms = service.rooms
    base_url = service.settings.http.public_base_url.rstrip("/")
    recordings = dialect.recordings

    @bp.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error(exc.status, exc.kind, exc.description)

    def guarded(view: Callable) -> Callable:
        @wraps(view)
        def check(account_id: str, **kwargs: Any) -> Any:
            if not _credentials_ok(request.headers.get("Authorization", ""), settings):
                response = _error(401, "authentication-error",
                                  "valid basic credentials ([bxml] username/password) needed")
                response.headers["WWW-Authenticate"] = 'Basic realm="bxml"'
                return response
            if account_id != settings.account_id:
                return _error(404, "not-found", f"no account {account_id}")
            return view(**kwargs)

        return check

    # ------------------------------------------------------------ helpers
    def body() -> dict[str, Any]:
        if request.content_length and request.content_length > MAX_BODY:
            raise ApiError(413, "validation", f"body larger than {MAX_BODY} bytes")
        raw = request.get_data(cache=True)
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise ApiError(400, "validation", f"the body nests JSON deeper than "
                                              f"{MAX_JSON_DEPTH} levels")
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError(400, "validation", "the body must be a JSON object")
        return data

    def room_of(conference_id: str) -> Any:
        uuid = ids.conference_uuid(conference_id)
        for room in list(rooms.rooms.values()):
            if uuid and room.uuid == uuid:
                return room
        raise ApiError(404, "not-found", f"no active conference {conference_id}")

    def member_of(room: Any, call_id: str) -> Any:
        uuid = ids.call_uuid(call_id)
        for member in list(room.members.values()):
            if uuid and member.call_uuid == uuid:
                return member
        raise ApiError(404, "not-found", f"no member {call_id} in conference "
                                         f"{ids.conference_id(room.uuid)}")

    def listing(room: Any) -> dict[str, dict]:
        """FreeSWITCH's member list of the room, by member id (mute and hold flags)."""
        found = replies.parse_listing(service.esl.api(fsconf.json_list(room.fs_name)))
        members = found[0].get("members", []) if found else []
        return {str(m.get("id")): m for m in members if m.get("type") == "caller"}

    def member_json(room: Any, member: Any, fs: dict | None) -> dict[str, Any]:
        flags = (fs or {}).get("flags") or {}
        call_id = ids.call_id(member.call_uuid)
        conference_id = ids.conference_id(room.uuid)
        coached = room.coaches.get(member.member_id)
        return {
            "callId": call_id, "conferenceId": conference_id,
            "memberUrl": f"{base_url}/api/v2/accounts/{settings.account_id}/conferences/"
                         f"{conference_id}/members/{call_id}",
            "mute": not flags.get("can_speak", True) and not flags.get("hold", False),
            "hold": bool(flags.get("hold", False)),
            "callIdsToCoach": sorted(ids.call_id(u) for u in coached) if coached else None,
        }

    def conference_json(room: Any, with_members: bool) -> dict[str, Any]:
        hooks = room.state.hooks if room.state is not None else None
        data: dict[str, Any] = {
            "id": ids.conference_id(room.uuid), "name": room.name,
            "createdTime": params.iso_time(int(room.created_at * 1e6)),
            "completedTime": None,
            "conferenceEventUrl": hooks.hook.url if hooks else None,
            "conferenceEventMethod": hooks.hook.method.value if hooks else None,
            "tag": hooks.tag or None if hooks else None,
        }
        if with_members:
            fs = listing(room)
            data["activeMembers"] = [member_json(room, m, fs.get(m.member_id))
                                     for m in list(room.members.values())]
        return data

    def hook_from(data: dict[str, Any], url_key: str, method_key: str,
                  fallback_key: str, fallback_method_key: str) -> Webhook:
        def value(key: str, kind: Any, default: Any) -> Any:
            if data.get(key) is None:
                return default
            if not isinstance(data[key], str):
                raise ApiError(400, "validation", f"{key} must be a string")
            try:
                return kind.parse(key, data[key], None)
            except Invalid as exc:
                raise ApiError(400, "validation", exc.message) from None

        url = value(url_key, URL, None)
        if url is None or not url.lower().startswith(("http://", "https://")):
            raise ApiError(400, "validation", f"{url_key} must be an absolute http(s) URL")
        fallback = value(fallback_key, URL, "")
        return Webhook(url, value(method_key, METHOD, HttpMethod.POST),
                       value("username", CREDENTIAL, ""), value("password", CREDENTIAL, ""),
                       fallback, value(fallback_method_key, METHOD, HttpMethod.POST),
                       value("fallbackUsername", CREDENTIAL, ""),
                       value("fallbackPassword", CREDENTIAL, ""))

    # ------------------------------------------------------------ calls
    @bp.post("/calls")
    @guarded
    def create_call() -> Any:
        data = body()
        try:
            wanted = outbound.create_call_request(data, settings.application_id)
        except outbound.CreateCallError as exc:
            raise ApiError(400, "validation", str(exc)) from None
        uuid = str(uuidlib.uuid4())
        request_ = replace(wanted.dial, call_uuid=uuid, on_outcome=lambda outcome:
                           outbound.report_unanswered(service, dialect, outcome, wanted))
        try:
            handle = service.dialer.dial(request_)
        except DialError as exc:
            raise ApiError(400, "validation", outbound.dial_error_text(exc)) from None
        except DialUnavailable as exc:
            raise ApiError(503, "service-unavailable", str(exc)) from None
        response = jsonify(outbound.create_call_response(
            wanted, handle.leg, settings.account_id, base_url))
        response.status_code = 201
        response.headers["Location"] = params.call_url(base_url, settings.account_id,
                                                       ids.call_id(uuid))
        return response

    @bp.post("/calls/<call_id>")
    @guarded
    def update_call(call_id: str) -> Any:
        data = body()
        # find: in a cluster, a call another controller runs is forwarded there
        call = service.engine.calls.find(call_id)
        if call is None or ids.call_uuid(call_id) is None:
            raise ApiError(404, "not-found", f"no active call {call_id}")
        state = data.get("state", "active")
        if state not in ("active", "completed"):
            raise ApiError(400, "validation", "state must be active or completed")
        if state == "completed":
            call.submit(HangupCall())
            return Response(status=200)
        hook = hook_from(data, "redirectUrl", "redirectMethod", "redirectFallbackUrl",
                         "redirectFallbackMethod")
        call.submit(RedirectCall(hook=hook))
        return Response(status=200)

    # ------------------------------------------------------------ conferences
    @bp.get("/conferences")
    @guarded
    def list_conferences() -> Any:
        name = request.args.get("name")
        found = [conference_json(room, False) for room in list(rooms.rooms.values())
                 if room.uuid and (name is None or room.name == name)]
        return jsonify(found)

    @bp.get("/conferences/<conference_id>")
    @guarded
    def get_conference(conference_id: str) -> Any:
        return jsonify(conference_json(room_of(conference_id), True))

    @bp.post("/conferences/<conference_id>")
    @guarded
    def update_conference(conference_id: str) -> Any:
        data = body()
        room = room_of(conference_id)
        status = data.get("status", "active")
        if status not in ("active", "completed"):
            raise ApiError(400, "validation", "status must be active or completed")
        if status == "completed":
            if data.get("redirectUrl") or data.get("redirectFallbackUrl"):
                raise ApiError(400, "validation", "redirectUrl is not allowed with "
                                                  "status=completed")
            # kick: every member goes on with the BXML after its <Conference> (members
            # are planned with hangup_after_conference=false; capture 03d).
            reply = service.esl.api(fsconf.kick(room.fs_name, "all"))
            if not replies.ok(reply):
                raise ApiError(409, "conflict", f"FreeSWITCH: {reply.strip()}")
            return Response(status=204)
        hook = hook_from(data, "redirectUrl", "redirectMethod", "redirectFallbackUrl",
                         "redirectFallbackMethod")
        tag = room.state.hooks.tag if room.state and room.state.hooks else ""
        fields = params.redirect_event(room.name, room.uuid, settings.account_id, tag)
        service.notifier.send(hook, Payload(fields, json=True, reply=ROOM_REPLY), "bxml",
                              f"room:{room.fs_name}")
        return Response(status=204)

    @bp.put("/conferences/<conference_id>/bxml")
    @guarded
    def update_conference_bxml(conference_id: str) -> Any:
        room = room_of(conference_id)
        data = request.get_data(cache=False)
        try:
            script = markup.parse_room_document(data, request.url, max_bytes=MAX_BODY)
        except XmlError as exc:
            raise ApiError(400, "validation", str(exc)) from None
        dialect.runner(service).run(room.fs_name, room.uuid, script)
        return Response(status=204)

    @bp.get("/conferences/<conference_id>/members/<member_id>")
    @guarded
    def get_member(conference_id: str, member_id: str) -> Any:
        room = room_of(conference_id)
        member = member_of(room, member_id)
        return jsonify(member_json(room, member, listing(room).get(member.member_id)))

    @bp.put("/conferences/<conference_id>/members/<member_id>")
    @guarded
    def update_member(conference_id: str, member_id: str) -> Any:
        data = body()
        room = room_of(conference_id)
        member = member_of(room, member_id)
        for key in ("mute", "hold"):
            if key in data and data[key] is not None and not isinstance(data[key], bool):
                raise ApiError(400, "validation", f"{key} must be true or false")
        coach = data.get("callIdsToCoach")
        uuids: list[str] | None = None
        if coach is not None:
            if not isinstance(coach, list) or not all(isinstance(c, str) for c in coach):
                raise ApiError(400, "validation", "callIdsToCoach must be a list of call ids")
            uuids = []
            for value in coach:
                uuid = ids.call_uuid(value)
                if uuid is None:
                    raise ApiError(400, "validation",
                                   f"callIdsToCoach: {value} is not a call id (c-...)")
                uuids.append(uuid)
        target = int(member.member_id)
        commands = []
        if data.get("mute") is not None:
            commands.append(fsconf.member_command(room.fs_name, "mute" if data["mute"]
                                                  else "unmute", target))
        if data.get("hold") is not None:
            commands.append(fsconf.hold(room.fs_name, target) if data["hold"]
                            else fsconf.unhold(room.fs_name, target))
        try:
            for command in commands:
                reply = service.esl.api(command)
                if not replies.ok(reply):
                    raise ApiError(409, "conflict", f"FreeSWITCH: {reply.strip()}")
            if uuids is not None:
                # One coach per conference (Bandwidth): a new coach ends the others'.
                for other in [c for c in rooms.coaching(room.fs_name) if c != member.member_id]:
                    rooms.set_coach(room.fs_name, other, None)
                rooms.set_coach(room.fs_name, member.member_id, uuids or None)
        except (RoomError, EslError) as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        return Response(status=204)

    # ------------------------------------------------------------ recordings
    def recording_json(room_name: str, conference_uuid: str, facts: RecordingFacts
                       ) -> dict[str, Any]:
        data = params.recording_fields(facts)
        conference_id = ids.conference_id(conference_uuid)
        data.update(accountId=settings.account_id, conferenceId=conference_id, name=room_name,
                    mediaUrl=f"{base_url}/api/v2/accounts/{settings.account_id}/conferences/"
                             f"{conference_id}/recordings/{data['recordingId']}/media")
        return {k: v for k, v in data.items() if v is not None}

    def recordings_of(conference_id: str) -> tuple[str, str, list[RecordingFacts]]:
        uuid = ids.conference_uuid(conference_id)
        if uuid is not None and uuid not in recordings:
            # Reported by another controller of a cluster (or before a restart): the
            # completed ones are in the recordings' own index (controller.conference.
            # recording_index), which every controller keeps beside the files.
            finished = [r for r in recording_index.of_conference(rooms.recordings_local_dir,
                                                                 uuid) if not r.call_uuid]
            if finished:
                return finished[0].room, uuid, [RecordingFacts(
                    r.recording_id, rooms.recording_url(r.recording_id, r.fmt),
                    r.duration_ms, r.start_ms, r.end_ms, channels=r.channels)
                    for r in finished]
        if uuid is None or uuid not in recordings:
            raise ApiError(404, "not-found", f"no conference {conference_id} with recordings")
        name, found = recordings[uuid][0], recordings[uuid][1:]
        return name, uuid, found  # type: ignore[return-value]

    @bp.get("/conferences/<conference_id>/recordings")
    @guarded
    def list_recordings(conference_id: str) -> Any:
        name, uuid, found = recordings_of(conference_id)
        return jsonify([recording_json(name, uuid, r) for r in found])

    def one_recording(conference_id: str, recording_id: str) -> tuple[str, str, Any]:
        name, uuid, found = recordings_of(conference_id)
        wanted = ids.recording_uuid(recording_id)
        for facts in found:
            if facts.recording_id == wanted:
                return name, uuid, facts
        raise ApiError(404, "not-found", f"no recording {recording_id} in {conference_id}")

    @bp.get("/conferences/<conference_id>/recordings/<recording_id>")
    @guarded
    def get_recording(conference_id: str, recording_id: str) -> Any:
        return jsonify(recording_json(*one_recording(conference_id, recording_id)))

    @bp.get("/conferences/<conference_id>/recordings/<recording_id>/media")
    @guarded
    def recording_media(conference_id: str, recording_id: str) -> Any:
        _, _, facts = one_recording(conference_id, recording_id)
        fmt = facts.url.rsplit(".", 1)[-1]
        path = rooms.local_recording_path(facts.recording_id, fmt)
        if facts.error or not os.path.isfile(path):
            raise ApiError(404, "not-found", f"recording {recording_id} has no media")
        return send_file(os.path.abspath(path), mimetype="audio/mpeg" if fmt == "mp3"
                         else "audio/wav")

    return bp


def _credentials_ok(header: str, settings: Any) -> bool:
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user.encode(), settings.username.encode()) and \
        hmac.compare_digest(password.encode(), settings.password.encode())
