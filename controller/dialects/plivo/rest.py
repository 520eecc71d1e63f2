"""Plivo's Voice REST API shapes under ``/v1/Account/{auth_id}`` (point the ``plivo`` SDK's
``plivo.rest.client.API_VOICE_BASE_URI`` at ``<controller>/v1/Account``; README).

HTTP basic auth with ``[plivo] auth_id``/``auth_token``; the account in the path must be
``auth_id``. Answers and errors are Plivo's: ``{"api_id", "message", ...}``, errors
``{"api_id", "error"}`` with 400 (naming the parameter), 401, 404.

    POST   /Call/                         make a call (one dial per '<'-separated "to")
    GET    /Call/?status=live             live call uuids
    GET    /Call/{uuid}/                  a live (or ringing) call
    POST   /Call/{uuid}/                  transfer: the call runs aleg_url's XML
    DELETE /Call/{uuid}/                  hang up (a ringing call is cancelled)
    DELETE /Request/{request_uuid}/       cancel a call that is still ringing
    POST   /Call/{uuid}/Play/ /Speak/ /DTMF/
    GET    /Conference/                   live conference names
    GET    /Conference/{name}/            a conference with its members
    DELETE /Conference/{name}/  /Conference/   hang up every member (of one / of all)
    POST   /Conference/{name}/Member/{ids}/Mute/ Deaf/ Kick/ Play/ Speak/ (DELETE: undo;
           DELETE Play/ Speak/: stop what plays to them)
    DELETE /Call/{uuid}/Play/ /Speak/     stop what the Call API plays to the call
    DELETE /Conference/{name}/Member/{ids}/   hang up members
    POST   /Conference/{name}/Record/     start recording (DELETE: stop)

Calls are the engine's (``engine.calls.find``: in a cluster, a call another controller
runs is forwarded there); conference work is the native API's ``ConferenceActions``.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid as uuidlib
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from controller.api import inputs, listing
from controller.api.actions import ConferenceActions
from controller.api.errors import ApiError
from controller.api.inputs import MAX_JSON_DEPTH, json_depth
from controller.calls import HangupCall, PlayToCall, RedirectCall, SendDigits
from controller.dialects.plivo import rest_calls
from controller.dialects.plivo.rest_calls import ParameterError
from controller.dialer import DialError, DialUnavailable
from controller.freeswitch import channel, replies
from controller.freeswitch import conference as fsconf
from controller.freeswitch.replies import OK
from controller.model import Play, Speak, Webhook

log = logging.getLogger(__name__)

MAX_BODY = 65_536
MAX_URLS = 10  # Play: comma-separated urls
MAX_TEXT = inputs.MAX_TEXT
# Native field names in the conference actions' errors -> Plivo's parameter names.
_NATIVE_FIELDS = {"path.member": "member_id", "path.name": "conference_name",
                  "body.url": "url", "body.text": "text", "body.voice": "voice",
                  "body.digits": "digits", "body.format": "file_format"}


class PlivoError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def not_found(what: str) -> PlivoError:
    return PlivoError(404, what)


def answer(status: int, message: str, **fields: Any) -> Response:
    response = jsonify(api_id=str(uuidlib.uuid4()), message=message, **fields)
    response.status_code = status
    return response


def error_response(status: int, message: str) -> Response:
    response = jsonify(api_id=str(uuidlib.uuid4()), error=message)
    response.status_code = status
    return response


def no_content() -> Response:
    return Response(status=204)


def create_blueprint(service: Any, dialect: Any) -> Blueprint | None:
    settings = service.settings.plivo
    if not settings.auth_id or not settings.auth_token:
        return None  # the Plivo REST API is off without credentials
    bp = Blueprint("plivo_rest", __name__, url_prefix="/v1/Account/<auth_id>")
    conferences = ConferenceActions(service)

    # ------------------------------------------------------------ auth and errors
    @bp.url_value_preprocessor
    def account(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.plivo_account = (values or {}).pop("auth_id", "")

    @bp.before_request
    def authenticate() -> Response | None:
        auth = request.authorization
        given_id = (auth.username or "") if auth is not None else ""
        given_token = (auth.password or "") if auth is not None else ""
        if auth is None or auth.type != "basic" or not (
                hmac.compare_digest(given_id.encode(), settings.auth_id.encode())
                and hmac.compare_digest(given_token.encode(), settings.auth_token.encode())):
            response = error_response(401, "authentication failed: give the auth_id and "
                                           "auth_token ([plivo] settings) as basic credentials")
            response.headers["WWW-Authenticate"] = 'Basic realm="plivo"'
            return response
        if g.plivo_account != settings.auth_id:
            return error_response(401, f"the account {g.plivo_account[:40]!r} in the URL is "
                                       "not the authenticated auth_id")
        return None

    @bp.errorhandler(PlivoError)
    def plivo_error(exc: PlivoError) -> Response:
        return error_response(exc.status, exc.message)

    @bp.errorhandler(ParameterError)
    def parameter_error(exc: ParameterError) -> Response:
        return error_response(400, str(exc))

    @bp.errorhandler(ApiError)
    def native_error(exc: ApiError) -> Response:
        # The conference actions' errors: 422 (a field) is Plivo's 400, with its name.
        message = exc.message
        for native, plivo in _NATIVE_FIELDS.items():
            message = message.replace(f"{native}:", f"{plivo}:")
        return error_response(400 if exc.status == 422 else exc.status, message)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return error_response(exc.code or 500, exc.description or exc.name)

    # ------------------------------------------------------------ input
    def params() -> dict[str, Any]:
        """The request's parameters without the URL's own values, which the SDK sends
        again (``call_uuid``, ``conference_name``, ``member_id``: refused if they differ)."""
        data = given()
        for key, name in (("call_uuid", "call_uuid"), ("request_uuid", "request_uuid"),
                          ("name", "conference_name"), ("member_id", "member_id")):
            in_path = (request.view_args or {}).get(key)
            if in_path is not None and name in data:
                if str(data.pop(name)) != in_path:
                    raise ParameterError(name, "differs from the one in the URL")
        return data

    def given() -> dict[str, Any]:
        """The query of a GET, else the JSON body the SDK sends (a form body is read too)."""
        if request.method == "GET":
            return request.args.to_dict()
        if request.content_length and request.content_length > MAX_BODY:
            raise PlivoError(413, f"the body is larger than {MAX_BODY} bytes")
        raw = request.get_data(cache=True)
        if not raw.strip():
            return {}
        if request.mimetype == "application/x-www-form-urlencoded":
            return request.form.to_dict()
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise PlivoError(400, f"the body nests JSON deeper than {MAX_JSON_DEPTH} levels")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise PlivoError(400, f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise PlivoError(400, "the body must be a JSON object")
        return data

    def no_params(data: dict[str, Any]) -> None:
        rest_calls.only(data, ())

    def single_leg(data: dict[str, Any], name: str) -> None:
        legs = rest_calls.text(data, name, 8) or "aleg"
        if legs != "aleg":
            raise ParameterError(name, f"{legs!r}: only aleg (the call itself) can be "
                                       "played to here; this face bridges no b leg")

    # ------------------------------------------------------------ calls
    def live(call_uuid: str) -> Any:
        """The running call of this face, or None."""
        call = service.engine.calls.find(call_uuid)
        if call is None or call.facts is None or call.facts.dialect != "plivo" \
                or call.session.hungup.is_set():
            return None
        return call

    @bp.post("/Call/")
    def make_call() -> Response:
        wanted = rest_calls.make_call(params())
        dials = []
        for dial in wanted.dials:
            call_uuid = str(uuidlib.uuid4())
            hangup, ring = wanted.hangup, wanted.ring
            dial = replace(dial, call_uuid=call_uuid, on_outcome=lambda outcome, h=hangup:
                           rest_calls.report_unanswered(service, dialect, outcome, h),
                           on_ringing=None if ring is None else lambda event, r=ring:
                           rest_calls.report_ringing(service, event, r))
            try:
                service.dialer.prepare(dial)  # every destination checked before any dial
            except DialError as exc:
                raise rest_calls.dial_error(exc) from None
            dials.append(dial)
        uuids = []
        for dial in dials:
            try:
                uuids.append(service.dialer.dial(dial).uuid)
            except DialError as exc:
                raise rest_calls.dial_error(exc) from None
            except DialUnavailable as exc:
                raise PlivoError(503, str(exc)) from None
        return answer(201, "call fired", request_uuid=uuids[0] if len(uuids) == 1 else uuids)

    @bp.get("/Call/")
    def list_calls() -> Response:
        data = params()
        rest_calls.only(data, ("status", "call_direction", "from_number", "to_number",
                               "limit", "offset"))
        if data.get("status") != "live":
            raise ParameterError("status", "only status=live is available: this controller "
                                           "keeps no records of ended calls")
        direction = rest_calls.text(data, "call_direction", 16)
        if direction not in ("", "inbound", "outbound"):
            raise ParameterError("call_direction", f"{direction!r} is not inbound or outbound")
        from_number = rest_calls.text(data, "from_number", 64)
        to_number = rest_calls.text(data, "to_number", 256)
        limit = rest_calls.integer(data, "limit", 1, 20, 20)
        offset = rest_calls.integer(data, "offset", 0, 1_000_000, 0)
        found = sorted(
            call.uuid for call in service.engine.calls
            if call.facts is not None and call.facts.dialect == "plivo"
            and not call.session.hungup.is_set()
            and direction in ("", call.facts.direction)
            and from_number in ("", call.facts.caller_number)
            and to_number in ("", call.facts.destination))
        return answer(200, "live calls", calls=found[offset:offset + limit])

    @bp.get("/Call/<call_uuid>/")
    def get_call(call_uuid: str) -> Response:
        data = params()
        rest_calls.only(data, ("status",))
        if data.get("status") not in (None, "live"):
            raise ParameterError("status", "only live calls are kept (status=live)")
        call = live(call_uuid)
        if call is not None:
            view = rest_calls.live_call(call.facts, call.answered)
        else:
            handle = service.dialer.get(call_uuid)
            if handle is None or handle.leg.dialect != "plivo":
                raise not_found(f"no live call {call_uuid[:64]}")
            leg = handle.leg
            view = rest_calls.live_call(rest_calls.ringing_facts(
                leg.uuid, leg.to, leg.from_number, leg.from_name), False)
        return jsonify(api_id=str(uuidlib.uuid4()), **view)

    @bp.post("/Call/<call_uuid>/")
    def transfer_call(call_uuid: str) -> Response:
        data = params()
        rest_calls.only(data, ("legs", "aleg_url", "aleg_method", "bleg_url", "bleg_method"))
        legs = rest_calls.text(data, "legs", 8, required=True)
        if legs not in ("aleg", "bleg", "both"):
            raise ParameterError("legs", f"{legs!r} is not aleg, bleg or both")
        if legs != "aleg" or data.get("bleg_url"):
            raise ParameterError("legs" if legs != "aleg" else "bleg_url",
                                 "this face bridges no b leg: transfer legs=aleg")
        rest_calls.method(data, "bleg_method")
        hook = Webhook(rest_calls.url(data, "aleg_url", required=True),
                       rest_calls.method(data, "aleg_method"))
        call = live(call_uuid)
        if call is None:
            raise not_found(f"no live call {call_uuid[:64]}")
        call.submit(RedirectCall(hook=hook))
        return answer(202, "call transferred")

    @bp.delete("/Call/<call_uuid>/")
    def hangup_call(call_uuid: str) -> Response:
        no_params(params())
        call = live(call_uuid)
        if call is not None:
            call.submit(HangupCall())
            return no_content()
        if cancel(call_uuid):
            return no_content()
        raise not_found(f"no live call {call_uuid[:64]}")

    @bp.delete("/Request/<request_uuid>/")
    def cancel_request(request_uuid: str) -> Response:
        no_params(params())
        if cancel(request_uuid):
            return no_content()
        raise not_found(f"no call request {request_uuid[:64]} is ringing")

    def cancel(call_uuid: str) -> bool:
        handle = service.dialer.get(call_uuid)
        return handle is not None and handle.leg.dialect == "plivo" \
            and service.dialer.cancel(handle)

    @bp.post("/Call/<call_uuid>/Play/")
    def play_call(call_uuid: str) -> Response:
        data = params()
        rest_calls.only(data, ("urls", "length", "legs", "loop", "mix"))
        urls = data.get("urls")
        if isinstance(urls, str):
            urls = [u.strip() for u in urls.split(",")]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ParameterError("urls", "is required: comma-separated http(s) URLs")
        if len(urls) > MAX_URLS:
            raise ParameterError("urls", f"at most {MAX_URLS} URLs at once")
        checked = [rest_calls.url({"urls": u}, "urls", required=True) for u in urls]
        media_options(data, "legs")
        call = live(call_uuid)
        if call is None:
            raise not_found(f"no live call {call_uuid[:64]}")
        for one in checked:
            call.submit(PlayToCall(Play(one)))
        return answer(202, "play started")

    @bp.post("/Call/<call_uuid>/Speak/")
    def speak_call(call_uuid: str) -> Response:
        data = params()
        rest_calls.only(data, ("text", "voice", "language", "legs", "loop", "mix", "type"))
        speak = speech(data)
        media_options(data, "legs")
        call = live(call_uuid)
        if call is None:
            raise not_found(f"no live call {call_uuid[:64]}")
        call.submit(PlayToCall(speak))
        return answer(202, "speak started")

    @bp.post("/Call/<call_uuid>/DTMF/")
    def dtmf_call(call_uuid: str) -> Response:
        data = params()
        rest_calls.only(data, ("digits", "leg"))
        single_leg(data, "leg")
        digits = inputs.dtmf_digits({"digits": data.get("digits")})
        call = live(call_uuid)
        if call is None:
            raise not_found(f"no live call {call_uuid[:64]}")
        call.submit(SendDigits(digits))
        return answer(202, "digits sent")

    def media_options(data: dict[str, Any], legs_name: str) -> None:
        single_leg(data, legs_name)
        if rest_calls.boolean(data, "loop", False):
            raise ParameterError("loop", "looping until stopped is not available; give "
                                         "loop=false")
        if not rest_calls.boolean(data, "mix", True):
            raise ParameterError("mix", "mix=false is not available: the sound is mixed "
                                        "with the call's audio")
        if data.get("length") not in (None, ""):
            raise ParameterError("length", "a maximum play length is not available")

    def speech(data: dict[str, Any]) -> Speak:
        text = rest_calls.text(data, "text", MAX_TEXT, required=True)
        if not text.strip():
            raise ParameterError("text", "must not be empty")
        voice = (rest_calls.text(data, "voice", 16) or "WOMAN").upper()
        if voice not in inputs.VOICES:
            raise ParameterError("voice", f"{voice!r} is not WOMAN or MAN")
        language = rest_calls.text(data, "language", 16) or "en-US"
        if language != "en-US":
            # The voices are the configured TTS voices ([media] tts_voice_woman/man).
            raise ParameterError("language", f"{language!r}: only en-US is spoken here")
        kind = rest_calls.text(data, "type", 8) or "text"
        if kind != "text":
            raise ParameterError("type", f"{kind!r}: only text (no SSML) is spoken")
        return Speak(text, voice=voice, language=language)

    # ------------------------------------------------------------ conferences
    def room(name: str) -> str:
        return inputs.room_name(name)

    def selected(member_id: str) -> inputs.Selector:
        return inputs.selector(member_id, "path.member")

    @bp.get("/Conference/")
    def list_conferences() -> Response:
        no_params(params())
        names = [view["name"] for view in conferences.list_conferences()]
        return jsonify(api_id=str(uuidlib.uuid4()), conferences=names)

    @bp.get("/Conference/<name>/")
    def get_conference(name: str) -> Response:
        no_params(params())
        conference = conferences.conference(room(name))
        members = []
        for member in room_members(conference):
            call = service.engine.calls.get(member["call_uuid"])
            facts = call.facts if call is not None else None
            members.append({
                "member_id": str(member["member_id"]),
                "call_uuid": member["call_uuid"],
                "muted": member["muted"], "deaf": member["deaf"],
                "from": facts.caller_number if facts else member["caller_id_number"],
                "to": facts.destination if facts else "",
                "caller_name": facts.caller_name if facts else member["caller_id_name"],
                "direction": facts.direction if facts else "inbound",
                "join_time": str(member["join_time"]),
            })
        return jsonify(api_id=str(uuidlib.uuid4()), conference_name=name,
                       conference_run_time=str(max(0, int(conference.get("run_time") or 0))),
                       conference_member_count=str(len(members)), members=members)

    def room_members(conference: dict[str, Any]) -> list[dict[str, Any]]:
        """The native member views of a json_list entry, with json_list's whole seconds
        since joining (Plivo's join_time)."""
        views = []
        for raw in listing.caller_members(conference):
            view = listing.member_view(raw, 0.0)
            view["join_time"] = max(0, int(raw.get("join_time") or 0))
            views.append(view)
        return sorted(views, key=lambda view: view["member_id"])

    @bp.delete("/Conference/<name>/")
    def hangup_conference(name: str) -> Response:
        no_params(params())
        conferences.member_action(room(name), inputs.Selector(everyone=True), "hangup", {})
        return no_content()

    @bp.delete("/Conference/")
    def hangup_all_conferences() -> Response:
        no_params(params())
        for view in conferences.list_conferences():
            try:
                conferences.member_action(view["name"], inputs.Selector(everyone=True),
                                          "hangup", {})
            except ApiError as exc:
                if exc.status != 404:  # a room that ended meanwhile is done already
                    raise
        return no_content()

    def member_answer(name: str, member_id: str, action: str, body: dict[str, Any],
                      message: str) -> Response:
        """202 with the members the action reached; ``message`` "": Plivo's 204 (undo)."""
        _, result = conferences.member_action(room(name), selected(member_id), action, body)
        if not message:
            return no_content()
        done = [str(r["member_id"]) for r in result["results"] if r["status"] == OK]
        return answer(202, message, member_id=done)

    member = "/Conference/<name>/Member/<member_id>/"

    @bp.post(member + "Mute/")
    def mute(name: str, member_id: str) -> Response:
        no_params(params())
        return member_answer(name, member_id, "mute", {}, "mute")

    @bp.delete(member + "Mute/")
    def unmute(name: str, member_id: str) -> Response:
        no_params(params())
        return member_answer(name, member_id, "unmute", {}, "")

    @bp.post(member + "Deaf/")
    def deaf(name: str, member_id: str) -> Response:
        no_params(params())
        return member_answer(name, member_id, "deaf", {}, "deaf")

    @bp.delete(member + "Deaf/")
    def undeaf(name: str, member_id: str) -> Response:
        no_params(params())
        return member_answer(name, member_id, "undeaf", {}, "")

    @bp.post(member + "Kick/")
    def kick(name: str, member_id: str) -> Response:
        no_params(params())
        return member_answer(name, member_id, "kick", {}, "kicked")

    @bp.delete(member)
    def hangup_member(name: str, member_id: str) -> Response:
        no_params(params())
        return member_answer(name, member_id, "hangup", {}, "hangup")

    @bp.post(member + "Play/")
    def play_member(name: str, member_id: str) -> Response:
        data = params()
        rest_calls.only(data, ("url",))
        sound = rest_calls.url(data, "url", required=True)
        return member_answer(name, member_id, "play", {"url": sound},
                             "play queued into conference")

    @bp.post(member + "Speak/")
    def speak_member(name: str, member_id: str) -> Response:
        data = params()
        rest_calls.only(data, ("text", "voice", "language"))
        speak = speech(data)
        return member_answer(name, member_id, "speak", {"text": speak.text,
                                                        "voice": speak.voice},
                             "speak queued into conference")

    @bp.post("/Conference/<name>/Record/")
    def record(name: str) -> Response:
        data = params()
        rest_calls.only(data, ("file_format", "transcription_type", "transcription_url",
                               "transcription_method", "callback_url", "callback_method"))
        for refused in ("transcription_type", "transcription_url", "callback_url"):
            if data.get(refused) not in (None, ""):
                raise ParameterError(refused, "not available on a conference recording here: "
                                              "the recording's URL is in this answer")
        fmt = rest_calls.text(data, "file_format", 8) or "mp3"
        if fmt not in ("mp3", "wav"):
            raise ParameterError("file_format", f"{fmt!r} is not mp3 or wav")
        _, result = conferences.room_action(room(name), "record_start", {"format": fmt})
        recording = result["recording"]
        return answer(202, "conference recording started",
                      recording_id=recording["recording_id"], url=recording["url"])

    @bp.delete("/Conference/<name>/Record/")
    def record_stop(name: str) -> Response:
        no_params(params())
        conferences.room_action(room(name), "record_stop", {})
        return no_content()

    # ------------------------------------------------------------ stop play / speak
    @bp.delete(member + "Play/")
    @bp.delete(member + "Speak/")
    def stop_member_media(name: str, member_id: str) -> Response:
        """What plays to the members (a play and a speak alike: both are member files)
        stops; 204 as Plivo answers."""
        no_params(params())
        app_room = room(name)
        listed = {m["member_id"] for m in conferences.conference_detail(app_room)["members"]}
        chosen = selected(member_id)
        ids = sorted(listed) if chosen.everyone else list(chosen.ids)
        missing = [mid for mid in ids if mid not in listed]
        if missing:
            raise not_found(f"no member {missing[0]} in conference {name[:64]}")
        fs_room = conferences.fs_room(app_room)
        for mid in ids:
            stop_member_files(app_room, fs_room, mid)
        return no_content()

    def stop_member_files(app_room: str, fs_room: str, member_id: int) -> None:
        reply = conferences.room_api(app_room, fsconf.stop_member(fs_room, member_id))
        if reply.startswith("-ERR Member:"):  # left meanwhile (conference_api_sub_stop)
            raise not_found(f"no member {member_id} in conference {app_room[:64]}")
        if replies.stopped_files(reply) is None:
            raise PlivoError(502, f"FreeSWITCH did not stop the member's sound: "
                                  f"{reply.strip()[:200]}")

    @bp.delete("/Call/<call_uuid>/Play/")
    @bp.delete("/Call/<call_uuid>/Speak/")
    def stop_call_media(call_uuid: str) -> Response:
        """Plays and speaks sent with the Call API stop (those not started yet are
        dropped); in a room they are the member's files (``conference stop``), outside
        one the channel's playback (``uuid_break``), only while one of them plays, so a
        verb of the call's document is never cut."""
        no_params(params())
        call = live(call_uuid)
        if call is None:
            raise not_found(f"no live call {call_uuid[:64]}")
        for queued in [c for c in call.commands if isinstance(c, PlayToCall)]:
            call.commands.remove(queued)
        stay = call.member
        if stay is not None and stay.member is not None and stay.plan is not None:
            stop_member_files(stay.plan.room, stay.plan.fs_room, int(stay.member.member_id))
        elif call.playing_live_media:
            # mod_commands.c uuid_break: stops the playback app running on the channel;
            # without "all" FreeSWITCH keeps any app queued behind it.
            conferences.api(channel.uuid_break(call.uuid, everything=False))
        return no_content()

    # ------------------------------------------------------------ not here
    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unavailable(rest: str) -> Response:
        raise PlivoError(404, f"{request.method} /{rest[:120]} is not part of this "
                              "controller's Plivo API (Call and Conference only)")

    return bp
