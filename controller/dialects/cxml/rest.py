"""Twilio's REST shapes under ``/2010-04-01/Accounts/{AccountSid}/``, for live conferences
and calls, so the official SDK's ``Client`` works with its ``api.base_url`` pointed here.

Basic auth: the AccountSid and auth token of ``[cxml]``. Answers are JSON with the
fields the SDK reads; errors are Twilio's ``{"code", "message", "more_info",
"status"}`` with its codes (20003 unauthenticated, 20404 not found, 21xxx invalid
parameters). FreeSWITCH's ``conference json_list`` is the truth about rooms and
members; SIDs are derived from its UUIDs (``sids``), so any controller answers the same.

Conferences   GET list (FriendlyName, Status), GET one (an ended one while its recordings
              are kept: Status completed), POST Status=completed / AnnounceUrl
Participants  POST create (dial To into the room, by ConferenceSid or FriendlyName),
              GET list, GET one (CallSid or label), POST Muted / Hold / HoldUrl /
              AnnounceUrl / Coaching + CallSidToCoach, DELETE (leaves; Dial action follows)
Calls         POST create (dial To; the answered call fetches Url or runs Twiml);
              POST Url(+Method) / Twiml / Status=completed|canceled on a live call
Recordings    GET a conference's recordings (live: in-progress; finished: completed, from
              controller.conference.recording_index); GET one recording's metadata or media
"""

from __future__ import annotations

import base64
import hmac
import logging
import os
import time
import uuid as uuidlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from controller.calls import HangupCall, RedirectCall
from controller.conference import recording_index
from controller.conference.events import END_BY_API
from controller.conference.recording_index import FinishedRecording
from controller.conference.rooms import RoomError
from controller.dialects.cxml import markup, outbound, participants, sids
from controller.dialects.cxml.params import API_VERSION, rfc2822
from controller.dialects.cxml.progress import CallProgress
from controller.dialer import DialError, DialRequest, DialUnavailable
from controller.esl import EslError, EslNotConnected, EslTimeout
from controller.freeswitch import conference as fsconf
from controller.freeswitch import replies
from controller.freeswitch.args import UnsafeArgument
from controller.media import document_sound
from controller.media_cache import MediaError
from controller.model import HttpMethod, Webhook
from controller.webhooks import WebhookError
from controller.xml.errors import XmlError

log = logging.getLogger(__name__)

PREFIX = f"/{API_VERSION}/Accounts/<account>"
_TRUE = {"true": True, "false": False}
_MIMETYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


# DialRequest's names -> Participants create's, for error messages.
_DIAL_NAMES = {"to": "To", "from_number": "From", "from_name": "CallerDisplayName",
               "timeout_secs": "Timeout", "time_limit_secs": "TimeLimit",
               "document": "Participants"}


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: int, message: str) -> Response:
    response = jsonify(code=code, message=message, status=status,
                       more_info=f"https://www.twilio.com/docs/errors/{code}")
    response.status_code = status
    return response


def not_found(what: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {what} was not found")


def invalid(name: str, message: str) -> TwilioError:
    return TwilioError(400, 21205 if name.endswith("Url") else 20001, f"{name}: {message}")


def _bool_param(form: dict[str, str], name: str) -> bool | None:
    if name not in form:
        return None
    value = _TRUE.get(form[name].lower())
    if value is None:
        raise invalid(name, f"must be true or false, not {form[name]!r}")
    return value


def _method(form: dict[str, str], name: str) -> HttpMethod:
    value = form.get(name, "POST").upper()
    if value not in ("GET", "POST"):
        raise invalid(name, "must be GET or POST")
    return HttpMethod(value)


def _url(form: dict[str, str], name: str) -> str:
    value = form[name]
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise invalid(name, "must be an absolute http(s) URL")
    return value


def _only(form: dict[str, str], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(form) - set(allowed))
    if unknown:
        raise TwilioError(400, 20001, f"parameter {unknown[0]} is not supported here; this "
                                      f"resource takes {', '.join(allowed)}")


class CxmlRest:
    """What each endpoint does, over the controller's inbound connection."""

    def __init__(self, service: Any, dialect: Any):
        self.service = service
        self.dialect = dialect
        self.settings = service.settings

    # ------------------------------------------------------------ FreeSWITCH
    def api(self, command: str) -> str:
        try:
            return self.service.esl.api(command)
        except EslNotConnected as exc:
            raise TwilioError(503, 20503, f"FreeSWITCH is not reachable: {exc}") from None
        except EslTimeout as exc:
            raise TwilioError(504, 20504, f"FreeSWITCH did not answer in time: {exc}") from None
        except EslError as exc:
            raise TwilioError(502, 20500, f"FreeSWITCH refused the command: {exc}") from None

    def conferences(self) -> list[dict[str, Any]]:
        try:
            rooms = replies.parse_listing(self.api(fsconf.json_list()))
        except replies.ListingError as exc:
            raise TwilioError(502, 20500, str(exc)) from None
        return [c for c in rooms
                if self.service.rooms.app_room_name(str(c.get("conference_name", ""))) is not None]

    def conference(self, conference_sid: str) -> dict[str, Any]:
        conf = self.live_conference(conference_sid)
        if conf is None:
            raise not_found(f"Conference {conference_sid}")
        return conf

    def live_conference(self, conference_sid: str) -> dict[str, Any] | None:
        uuid = sids.uuid_of(conference_sid, sids.CONFERENCE)
        for conf in self.conferences() if uuid else ():
            if conf.get("conference_uuid") == uuid:
                return conf
        return None

    def finished_recordings(self, conference_sid: str) -> list[FinishedRecording]:
        """The conference's completed recordings whose files are still there (the files
        are the application's to delete; a deleted one is no longer listed)."""
        uuid = sids.uuid_of(conference_sid, sids.CONFERENCE)
        if uuid is None:
            return []
        return [r for r in recording_index.of_conference(
                    self.service.rooms.recordings_local_dir, uuid)
                if os.path.isfile(self.service.rooms.local_recording_path(r.recording_id, r.fmt))]

    def ended_conference_view(self, conference_sid: str,
                              recordings: list[FinishedRecording]) -> dict[str, Any]:
        """An ended conference, as its recordings remember it (its name, and no earlier
        than its first recording began): Twilio's ``completed``."""
        return {
            "sid": conference_sid,
            "account_sid": self.dialect.account.sid,
            "friendly_name": recordings[0].room,
            "status": "completed",
            "date_created": rfc2822(recordings[0].start_ms * 1000),
            "date_updated": rfc2822(max(r.end_ms for r in recordings) * 1000),
            "api_version": API_VERSION,
            "region": "us1",
            "reason_conference_ended": None,  # not kept after the room is gone
            "call_sid_ending_conference": None,
            "uri": self.uri("Conferences", f"{conference_sid}.json"),
            "subresource_uris": {
                "participants": self.uri("Conferences", conference_sid, "Participants.json"),
                "recordings": self.uri("Conferences", conference_sid, "Recordings.json"),
            },
        }

    def uri(self, *parts: str) -> str:
        return "/".join((f"/{API_VERSION}/Accounts/{self.dialect.account.sid}", *parts))

    # ------------------------------------------------------------ views of things
    def conference_view(self, conf: dict[str, Any]) -> dict[str, Any]:
        sid = sids.conference_sid(str(conf.get("conference_uuid", "")))
        created = time.time() - float(conf.get("run_time", 0) or 0)
        return {
            "sid": sid,
            "account_sid": self.dialect.account.sid,
            "friendly_name": self.service.rooms.app_room_name(str(conf["conference_name"])),
            "status": "init" if conf.get("wait_mod") else "in-progress",
            "date_created": rfc2822(int(created * 1e6)),
            "date_updated": rfc2822(int(time.time() * 1e6)),
            "api_version": API_VERSION,
            "region": "us1",
            "reason_conference_ended": None,
            "call_sid_ending_conference": None,
            "uri": self.uri("Conferences", f"{sid}.json"),
            "subresource_uris": {
                "participants": self.uri("Conferences", sid, "Participants.json"),
                "recordings": self.uri("Conferences", sid, "Recordings.json"),
            },
        }

    def _join_of(self, call_uuid: str) -> Any:
        """The ConferenceJoin of a member whose call runs on this controller (None if not)."""
        call = self.service.engine.calls.get(call_uuid)
        member = getattr(call, "member", None)
        return getattr(member, "join", None)

    def participant_view(self, conf: dict[str, Any], member: dict[str, Any]) -> dict[str, Any]:
        conference_sid = sids.conference_sid(str(conf.get("conference_uuid", "")))
        call_uuid = str(member.get("uuid", ""))
        flags = member.get("flags") or {}
        join = self._join_of(call_uuid)
        coached = self.service.rooms.coaching(str(conf["conference_name"])).get(
            str(member.get("id")))
        joined = time.time() - float(member.get("join_time", 0) or 0)
        call_sid = sids.call_sid(call_uuid)
        return {
            "account_sid": self.dialect.account.sid,
            "call_sid": call_sid,
            "conference_sid": conference_sid,
            "label": (join.label or None) if join is not None else None,
            "coaching": coached is not None,
            "call_sid_to_coach": _call_sid(sorted(coached)[0]) if coached else None,
            "muted": not flags.get("can_speak", True) and not flags.get("hold", False),
            "hold": bool(flags.get("hold", False)),
            "start_conference_on_enter": bool(flags.get("is_moderator", False)),
            "end_conference_on_exit": bool(flags.get("end_conference", False)),
            "status": "connected",
            "queue_time": None,
            "date_created": rfc2822(int(joined * 1e6)),
            "date_updated": rfc2822(int(time.time() * 1e6)),
            "uri": self.uri("Conferences", conference_sid, "Participants", f"{call_sid}.json"),
        }

    def member(self, conf: dict[str, Any], call_sid_or_label: str) -> dict[str, Any]:
        """By CallSid or label. In a cluster, a participant whose call another controller
        runs is answered by that controller (its label is known there): ``calls.find``
        raises RunsElsewhere and the request is forwarded (controller.cluster.forward)."""
        uuid = sids.uuid_of(call_sid_or_label, sids.CALL)
        callers = [m for m in conf.get("members") or [] if m.get("type") == "caller"]
        for member in callers:
            if uuid is not None and member.get("uuid") == uuid:
                self.service.engine.calls.find(uuid)
                return member
            join = self._join_of(str(member.get("uuid", "")))
            if uuid is None and join is not None and join.label == call_sid_or_label:
                return member
        if uuid is None:  # a label of a call run by another controller?
            for member in callers:
                self.service.engine.calls.find(str(member.get("uuid", "")))
        raise not_found(f"Participant {call_sid_or_label}")

    # ------------------------------------------------------------ sounds
    def sound(self, url: str, name: str) -> str:
        """The FreeSWITCH sound for an AnnounceUrl/HoldUrl: an audio file, or a cXML document
        of Play/Say/Pause, decided by the response's content type."""
        try:
            body, content_type = self.service.webhooks.download(
                url, self.settings.media.max_bytes)
            if "xml" in content_type.lower() or content_type.lower().startswith("text/"):
                document = markup.parse_sound_document(body, url)
                return document_sound(document, self.service.media.path_for, self.settings.media)
            return self.service.media.path_for(url)
        except (WebhookError, MediaError, XmlError) as exc:
            raise invalid(name, f"cannot use {url}: {exc}") from None

    def run(self, command: str, what: str) -> str:
        try:
            reply = self.api(command)
        except UnsafeArgument as exc:
            raise TwilioError(400, 20001, f"{what}: {exc}") from None
        if not replies.ok(reply):
            raise TwilioError(502, 20500, f"FreeSWITCH did not {what}: {reply.strip()[:200]}")
        return reply


def _call_sid(call: str) -> str:
    return call if call.startswith(sids.CALL) else sids.call_sid(call)


def create_blueprint(service: Any, dialect: Any) -> Blueprint:
    blueprint = Blueprint("cxml_rest", __name__, url_prefix=PREFIX)
    rest = CxmlRest(service, dialect)
    settings = service.settings.cxml

    def guarded(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(account: str, **kwargs: Any) -> Any:
            if not (settings.account_sid and settings.auth_token):
                return _error(401, 20003, "the cXML REST API is off: set [cxml] account_sid and "
                                          "auth_token (CC_CXML_ACCOUNT_SID, CC_CXML_AUTH_TOKEN)")
            if not _authorized(request.headers.get("Authorization"), settings):
                response = _error(401, 20003, "Authenticate: basic auth with the AccountSid "
                                              "and auth token is required")
                response.headers["WWW-Authenticate"] = 'Basic realm="cXML"'
                return response
            if account != settings.account_sid:
                return _error(404, 20404, f"The requested resource Account {account} was not "
                                          "found")
            try:
                return view(**kwargs)
            except TwilioError as exc:
                return _error(exc.status, exc.code, exc.message)

        return wrapper

    def form() -> dict[str, str]:
        return request.form.to_dict()

    # ------------------------------------------------------------ conferences
    @blueprint.get("/Conferences.json")
    @guarded
    def list_conferences() -> Any:
        query = request.args
        status = query.get("Status")
        if status is not None and status not in ("init", "in-progress", "completed"):
            raise invalid("Status", "must be init, in-progress or completed")
        views = [rest.conference_view(c) for c in rest.conferences()]
        views = [v for v in views
                 if (status is None or v["status"] == status)
                 and query.get("FriendlyName") in (None, v["friendly_name"])]
        views.sort(key=lambda v: v["friendly_name"])
        return jsonify(_page("conferences", views, rest.uri("Conferences.json")))

    @blueprint.get("/Conferences/<conference_sid>.json")
    @guarded
    def get_conference(conference_sid: str) -> Any:
        live = rest.live_conference(conference_sid)
        if live is not None:
            return jsonify(rest.conference_view(live))
        finished = rest.finished_recordings(conference_sid)
        if not finished:  # an ended conference is known by its recordings only
            raise not_found(f"Conference {conference_sid}")
        return jsonify(rest.ended_conference_view(conference_sid, finished))

    @blueprint.post("/Conferences/<conference_sid>.json")
    @guarded
    def update_conference(conference_sid: str) -> Any:
        params = form()
        _only(params, ("Status", "AnnounceUrl", "AnnounceMethod"))
        conf = rest.conference(conference_sid)
        fs_room = str(conf["conference_name"])
        view = rest.conference_view(conf)
        if "AnnounceUrl" in params:
            _method(params, "AnnounceMethod")
            sound = rest.sound(_url(params, "AnnounceUrl"), "AnnounceUrl")
            rest.run(fsconf.play(fs_room, sound), "announce")
        if "Status" in params:
            if params["Status"] != "completed":
                raise invalid("Status", "must be completed")
            # Why it ended travels with the room's last events (capture 02a: setvar -> header).
            rest.api(fsconf.setvar(fs_room, "cc_end_reason", END_BY_API))
            rest.api(fsconf.kick(fs_room, "all"))
            view.update(status="completed", reason_conference_ended="conference-ended-via-api")
        return jsonify(view)

    # ------------------------------------------------------------ participants
    @blueprint.get("/Conferences/<conference_sid>/Participants.json")
    @guarded
    def list_participants(conference_sid: str) -> Any:
        conf = rest.conference(conference_sid)
        views = [rest.participant_view(conf, m) for m in conf.get("members") or []
                 if m.get("type") == "caller"]
        for name in ("Muted", "Hold", "Coaching"):
            wanted = _bool_param(request.args.to_dict(), name)
            if wanted is not None:
                views = [v for v in views if v[name.lower()] == wanted]
        return jsonify(_page("participants", views,
                             rest.uri("Conferences", conference_sid, "Participants.json")))

    @blueprint.post("/Conferences/<conference_sid>/Participants.json")
    @guarded
    def create_participant(conference_sid: str) -> Any:
        # Lists (StatusCallbackEvent...) come as repeated fields from the SDK.
        params = {k: " ".join(request.form.getlist(k)) for k in request.form}
        conf = None
        if sids.uuid_of(conference_sid, sids.CONFERENCE) is not None:
            conf = rest.conference(conference_sid)  # 404 unless live
            room = str(service.rooms.app_room_name(str(conf["conference_name"])))
        else:
            room = conference_sid  # a FriendlyName: the room is made when the leg joins
            found = [c for c in rest.conferences()
                     if service.rooms.app_room_name(str(c["conference_name"])) == room]
            conf = found[0] if found else None
        try:
            wanted = participants.participant_dial(params, room)
        except participants.ParameterError as exc:
            raise invalid(exc.name, exc.message) from None
        call_uuid = dial_out(wanted, from_name=wanted.from_name)
        conference = sids.conference_sid(str(conf.get("conference_uuid", ""))) if conf else None
        call_sid = sids.call_sid(call_uuid)
        now = rfc2822(int(time.time() * 1e6))
        view = {
            "account_sid": dialect.account.sid, "call_sid": call_sid,
            "conference_sid": conference, "label": wanted.label or None,
            "coaching": "CallSidToCoach" in params,
            "call_sid_to_coach": params.get("CallSidToCoach") or None,
            "muted": params.get("Muted", "").lower() == "true", "hold": False,
            "start_conference_on_enter":
                params.get("StartConferenceOnEnter", "true").lower() == "true",
            "end_conference_on_exit":
                params.get("EndConferenceOnExit", "false").lower() == "true",
            "status": "queued", "queue_time": None,
            "date_created": now, "date_updated": now,
            "uri": rest.uri("Conferences", conference or room, "Participants",
                            f"{call_sid}.json"),
        }
        response = jsonify(view)
        response.status_code = 201
        return response

    @blueprint.get("/Conferences/<conference_sid>/Participants/<participant>.json")
    @guarded
    def get_participant(conference_sid: str, participant: str) -> Any:
        conf = rest.conference(conference_sid)
        return jsonify(rest.participant_view(conf, rest.member(conf, participant)))

    @blueprint.post("/Conferences/<conference_sid>/Participants/<participant>.json")
    @guarded
    def update_participant(conference_sid: str, participant: str) -> Any:
        params = form()
        _only(params, ("Muted", "Hold", "HoldUrl", "HoldMethod", "AnnounceUrl",
                       "AnnounceMethod", "Coaching", "CallSidToCoach"))
        conf = rest.conference(conference_sid)
        member = rest.member(conf, participant)
        fs_room, member_id = str(conf["conference_name"]), int(member["id"])
        muted = _bool_param(params, "Muted")
        if muted is not None:
            rest.run(fsconf.member_command(fs_room, "mute" if muted else "unmute", member_id),
                     "mute")
        hold = _bool_param(params, "Hold")
        if hold is None and "HoldUrl" in params:
            raise invalid("HoldUrl", "needs Hold=true")
        if hold:
            _method(params, "HoldMethod")
            sound = rest.sound(_url(params, "HoldUrl"), "HoldUrl") if "HoldUrl" in params else ""
            rest.run(fsconf.hold(fs_room, member_id, sound), "hold")
        elif hold is False:
            rest.run(fsconf.unhold(fs_room, member_id), "unhold")
        if "AnnounceUrl" in params:
            _method(params, "AnnounceMethod")
            sound = rest.sound(_url(params, "AnnounceUrl"), "AnnounceUrl")
            rest.run(fsconf.play(fs_room, sound, member_id), "announce")
        coaching = _bool_param(params, "Coaching")
        if coaching is None and "CallSidToCoach" in params:
            raise invalid("CallSidToCoach", "needs Coaching=true")
        if coaching is not None:
            coached = None
            if coaching:
                coached = sids.uuid_of(params.get("CallSidToCoach", ""), sids.CALL)
                if coached is None:
                    raise invalid("CallSidToCoach", "Coaching=true needs the CallSid of a "
                                                    "participant of this conference")
                rest.member(conf, sids.call_sid(coached))  # 404 unless it is in the room
            try:
                service.rooms.set_coach(fs_room, str(member_id),
                                        None if coached is None else [coached])
            except (RoomError, EslError) as exc:
                raise TwilioError(502, 20500, f"coaching not changed: {exc}") from None
        return jsonify(rest.participant_view(rest.conference(conference_sid),
                                             rest.member(rest.conference(conference_sid),
                                                         sids.call_sid(str(member["uuid"])))))

    @blueprint.delete("/Conferences/<conference_sid>/Participants/<participant>.json")
    @guarded
    def delete_participant(conference_sid: str, participant: str) -> Any:
        conf = rest.conference(conference_sid)
        member = rest.member(conf, participant)
        # kick: the member leaves, its call goes on with the <Dial> action (02a).
        rest.run(fsconf.kick(str(conf["conference_name"]), int(member["id"])), "remove")
        return Response(status=204)

    # ------------------------------------------------------------ recordings
    @blueprint.get("/Conferences/<conference_sid>/Recordings.json")
    @guarded
    def list_recordings(conference_sid: str) -> Any:
        conf = rest.live_conference(conference_sid)
        finished = rest.finished_recordings(conference_sid)
        if conf is None and not finished:
            raise not_found(f"Conference {conference_sid}")
        views = [_recording_view(rest, r.recording_id, r.fmt, conference_sid, "completed", r)
                 for r in finished]
        for member in (conf or {}).get("members") or []:
            if member.get("type") == "recording_node" and member.get("record_path"):
                recording_id, ext = os.path.splitext(os.path.basename(member["record_path"]))
                views.append(_recording_view(rest, recording_id, ext.lstrip("."),
                                             conference_sid, "in-progress"))
        return jsonify(_page("recordings", views,
                             rest.uri("Conferences", conference_sid, "Recordings.json")))

    @blueprint.get("/Recordings/<name>")
    @guarded
    def get_recording(name: str) -> Any:
        sid, _, ext = name.partition(".")
        recording_id = sids.uuid_of(sid, sids.RECORDING)
        found = _recording_file(service, recording_id) if recording_id else None
        if found is None:
            raise not_found(f"Recording {sid}")
        path, fmt = found
        if ext == "json":
            return jsonify(_recording_view(rest, recording_id, fmt, None, "completed"))
        if ext in ("", fmt):
            return send_file(os.path.abspath(path), mimetype=_MIMETYPES[fmt], conditional=True)
        raise TwilioError(404, 20404, f"Recording {sid} exists as .{fmt} only (this "
                                      "controller does not convert recordings)")

    def dial_out(wanted: Any, **fields: Any) -> str:
        """Dial the leg ``wanted`` describes, with its status callbacks; returns the call's
        uuid. Input the dialer refuses raises before anything is dialled (no callback)."""
        call_uuid = str(uuidlib.uuid4())
        progress = CallProgress(service, dialect, wanted.status_hook, wanted.status_events)
        dial = DialRequest(
            to=wanted.to, from_number=wanted.from_number, dialect=dialect.name,
            document=wanted.document,
            hangup=wanted.status_hook if "completed" in wanted.status_events else None,
            timeout_secs=wanted.ring_seconds, time_limit_secs=wanted.time_limit,
            call_uuid=call_uuid, on_outcome=progress.outcome,
            on_ringing=progress.ringing if "ringing" in wanted.status_events else None,
            **fields)
        try:
            leg, _ = service.dialer.prepare(dial)
            progress.initiated(leg)
            service.dialer.dial(dial)
        except DialError as exc:
            raise invalid(_DIAL_NAMES.get(exc.field, exc.field), exc.message) from None
        except DialUnavailable as exc:
            raise TwilioError(503, 20503, str(exc)) from None
        return call_uuid

    # ------------------------------------------------------------ calls
    @blueprint.post("/Calls.json")
    @guarded
    def create_call() -> Any:
        params = {k: " ".join(request.form.getlist(k)) for k in request.form}
        app = service.settings.app
        try:
            wanted = outbound.calls_create(params, app.xml_max_bytes, app.xml_max_depth)
        except participants.ParameterError as exc:
            raise invalid(exc.name, exc.message) from None
        call_uuid = dial_out(wanted, answer=wanted.answer)
        sid = sids.call_sid(call_uuid)
        response = jsonify(outbound.call_resource(
            sid, dialect.account.sid, wanted, rfc2822(int(time.time() * 1e6)),
            rest.uri("Calls", f"{sid}.json")))
        response.status_code = 201
        return response

    @blueprint.get("/Calls/<call_sid>.json")
    @guarded
    def get_call(call_sid: str) -> Any:
        return jsonify(_call_view(rest, call_sid, _live_call(service, call_sid)))

    @blueprint.post("/Calls/<call_sid>.json")
    @guarded
    def update_call(call_sid: str) -> Any:
        params = form()
        _only(params, ("Url", "Method", "Twiml", "Status", "FallbackUrl", "FallbackMethod",
                       "StatusCallback", "StatusCallbackMethod"))
        for name in ("FallbackUrl", "StatusCallback"):
            if name in params:
                raise invalid(name, "is not supported on a live call by this controller")
        call = _live_call(service, call_sid)
        chosen = [n for n in ("Url", "Twiml", "Status") if n in params]
        if len(chosen) != 1:
            raise TwilioError(400, 20001, "give exactly one of Url, Twiml or Status")
        if "Status" in params:
            if params["Status"] not in ("completed", "canceled"):
                raise invalid("Status", "must be completed or canceled")
            call.submit(HangupCall())
        elif "Url" in params:
            call.submit(RedirectCall(hook=Webhook(_url(params, "Url"),
                                                  _method(params, "Method"))))
        else:
            source = request.url
            try:
                document = markup.parse_document(params["Twiml"].encode(), source)
            except XmlError as exc:
                raise TwilioError(400, 12100, f"Twiml: {exc}") from None
            call.submit(RedirectCall(document=document))
        return jsonify(_call_view(rest, call_sid, call))

    @blueprint.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return _error(error.code or 500, 20000 + (error.code or 500), error.description or "")

    return blueprint


def _authorized(header: str | None, settings: Any) -> bool:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return bool(sep) and hmac.compare_digest(user.encode(), settings.account_sid.encode()) \
        and hmac.compare_digest(password.encode(), settings.auth_token.encode())


def _page(key: str, items: list[dict[str, Any]], uri: str) -> dict[str, Any]:
    return {key: items, "uri": uri, "first_page_uri": uri, "next_page_uri": None,
            "previous_page_uri": None, "page": 0, "page_size": max(len(items), 1),
            "start": 0, "end": max(len(items) - 1, 0)}


def _recording_file(service: Any, recording_id: str) -> tuple[str, str] | None:
    for fmt in ("wav", "mp3"):
        path = service.rooms.local_recording_path(recording_id, fmt)
        if os.path.isfile(path):
            return path, fmt
    return None


def _recording_view(rest: CxmlRest, recording_id: str, fmt: str, conference_sid: str | None,
                    status: str, finished: FinishedRecording | None = None) -> dict[str, Any]:
    sid = sids.recording_sid(recording_id)
    view = {
        "sid": sid, "account_sid": rest.dialect.account.sid, "conference_sid": conference_sid,
        "call_sid": None, "status": status, "channels": 1, "source": "DialConference",
        "media_url": rest.dialect.account.recording_url(recording_id) + f".{fmt}",
        "api_version": API_VERSION, "uri": rest.uri("Recordings", f"{sid}.json"),
    }
    if finished is not None:
        if finished.call_uuid:  # the caller's own recording (<Dial record>)
            view.update({"call_sid": sids.call_sid(finished.call_uuid), "source": "DialVerb",
                         "channels": finished.channels})
        view.update({"duration": str(round(finished.duration_ms / 1000)),
                     "start_time": rfc2822(finished.start_ms * 1000),
                     "date_created": rfc2822(finished.start_ms * 1000)})
    return view


def _live_call(service: Any, call_sid: str) -> Any:
    # find: in a cluster, a call another controller runs is forwarded there (cluster.forward)
    call = service.engine.calls.find(call_sid) if call_sid.startswith(sids.CALL) else None
    if call is None:
        raise not_found(f"Call {call_sid} (no live call by that CallSid on this controller)")
    return call


def _call_view(rest: CxmlRest, call_sid: str, call: Any) -> dict[str, Any]:
    facts = call.facts
    return {
        "sid": call_sid, "account_sid": rest.dialect.account.sid, "api_version": API_VERSION,
        "from": facts.caller_number, "to": facts.destination,
        "caller_name": facts.caller_name, "status": call.status.value,
        "direction": "inbound" if facts.direction == "inbound" else "outbound-api",
        "uri": rest.uri("Calls", f"{call_sid}.json"),
    }
