"""What each API call does in FreeSWITCH, over the controller's inbound connection.

Views hand validated input here; this turns it into ``conference`` commands,
reads FreeSWITCH's reply texts (fs_replies) and listings (listing), and answers
with plain dicts. Every failure leaves as an ApiError with its HTTP status:
an unknown room or member is FreeSWITCH's own "not found" text, an unreachable
FreeSWITCH is 503, a command without answer 504.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from controller.api import inputs, listing
from controller.api.errors import ApiError, invalid
from controller.conference.rooms import RoomError
from controller.esl import EslError, EslNotConnected, EslTimeout
from controller.freeswitch import channel
from controller.freeswitch import conference as fsconf
from controller.freeswitch import replies as fs_replies
from controller.freeswitch.args import UnsafeArgument, tts_file, tts_text
from controller.freeswitch.names import fs_room_name
from controller.media_cache import MediaError

log = logging.getLogger(__name__)

# Member actions that are one mod_conference subcommand taking the member selector.
FLAG_ACTIONS = ("mute", "unmute", "deaf", "undeaf", "unhold", "kick")
# Member actions FreeSWITCH applies to `all` itself, answering one line per member.
_NATIVE_ALL = (*FLAG_ACTIONS, "dtmf")


class ConferenceActions:
    def __init__(self, service: Any):
        self.service = service
        self.settings = service.settings

    # ------------------------------------------------------------ FreeSWITCH
    def api(self, command: str) -> str:
        """One API command; transport failures become 503/504/502."""
        try:
            return self.service.esl.api(command)
        except EslNotConnected as exc:
            raise ApiError("freeswitch_unavailable",
                           f"FreeSWITCH is not reachable: {exc}") from None
        except EslTimeout as exc:
            raise ApiError("freeswitch_timeout",
                           f"FreeSWITCH did not answer in time: {exc}") from None
        except EslError as exc:
            raise ApiError("freeswitch_error", f"FreeSWITCH refused the command: {exc}") from None

    def room_api(self, name: str, command: str) -> str:
        reply = self.api(command)
        if fs_replies.room_missing(reply):
            raise ApiError("conference_not_found", f"no live conference named {name!r}")
        return reply

    def fs_room(self, name: str) -> str:
        return fs_room_name(name, self.settings.freeswitch.room_prefix)

    def _listing(self, reply: str) -> list[dict[str, Any]]:
        try:
            return fs_replies.parse_listing(reply)
        except fs_replies.ListingError as exc:
            raise ApiError("freeswitch_error", str(exc)) from None

    def conference(self, name: str) -> dict[str, Any]:
        """The room's json_list entry (404 if FreeSWITCH does not know it)."""
        fs_room = self.fs_room(name)
        rooms = self._listing(self.room_api(name, fsconf.json_list(fs_room)))
        for conference in rooms:
            if conference.get("conference_name") == fs_room:
                return conference
        raise ApiError("conference_not_found", f"no live conference named {name!r}")

    # ------------------------------------------------------------ reads
    def _url_for(self, recording_id: str, fmt: str) -> str:
        return self.service.rooms.recording_url(recording_id, fmt)

    def list_conferences(self) -> list[dict[str, Any]]:
        now = time.time()
        views = []
        for room in self._listing(self.api(fsconf.json_list())):
            fs_name = str(room.get("conference_name", ""))
            name = self.service.rooms.app_room_name(fs_name)
            if name is None:
                continue  # another tenant's room, or not one of ours
            views.append(listing.conference_view(room, name, now, self._url_for,
                                                 *self._seen(fs_name)))
        return sorted(views, key=lambda view: view["name"])

    def _seen(self, fs_name: str) -> tuple[float | None, dict[str, float]]:
        """When the controller saw the room created and each member join (None, {}: never)."""
        room = self.service.rooms.rooms.get(fs_name)
        if room is None:
            return None, {}
        return room.created_at, {mid: member.joined_at for mid, member in room.members.items()}

    def conference_detail(self, name: str) -> dict[str, Any]:
        conference = self.conference(name)
        now = time.time()
        created_at, joins = self._seen(self.fs_room(name))
        view = listing.conference_view(conference, name, now, self._url_for, created_at, joins)
        view["members"] = listing.members_view(conference, now, joins)
        return view

    def member_detail(self, name: str, member_id: int) -> dict[str, Any]:
        for member in self.conference_detail(name)["members"]:
            if member["member_id"] == member_id:
                return member
        raise ApiError("member_not_found", f"no member {member_id} in conference {name!r}")

    # ------------------------------------------------------------ member actions
    def member_action(self, name: str, selected: inputs.Selector, action: str,
                      body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        fs_room = self.fs_room(name)
        if action in FLAG_ACTIONS:
            inputs.no_body(body)
            outcomes = self._per_member(name, fs_room, selected, action, "")
        elif action == "hold":
            outcomes = self._hold(name, fs_room, selected, inputs.hold_sound(body))
        elif action in ("coach", "uncoach"):
            return self._coach(name, fs_room, inputs.one_member(selected, action), action, body)
        elif action == "dtmf":
            outcomes = self._per_member(name, fs_room, selected, "dtmf", inputs.dtmf_digits(body))
        elif action == "hangup":
            inputs.no_body(body)
            outcomes = self._hangup(name, selected)
        elif action in ("play", "speak"):
            sound = self._sound(action, body)
            outcomes = self._play_members(name, fs_room, selected, sound)
        else:  # the view checked the action; this is a bug, not bad input
            raise ValueError(f"member action {action!r} has no handler")
        return self._member_answer(name, action, outcomes)

    def _per_member(self, name: str, fs_room: str, selected: inputs.Selector, verb: str,
                    argument: str) -> list[fs_replies.MemberOutcome]:
        if selected.everyone and verb in _NATIVE_ALL:
            reply = self.room_api(name, fsconf.member_command(fs_room, verb, "all", argument))
            return fs_replies.all_member_outcomes(reply)
        ids = selected.ids if not selected.everyone else self._member_ids(name)
        return [
            fs_replies.member_outcome(
                mid, self.room_api(name, fsconf.member_command(fs_room, verb, mid, argument)))
            for mid in ids
        ]

    def _hold(self, name: str, fs_room: str, selected: inputs.Selector,
              source: inputs.PlaySource | None) -> list[fs_replies.MemberOutcome]:
        """``hold <id|all> [file]``: the file plays to the held member only (capture 07a)."""
        sound = "" if source is None else self._source_sound(source, "body.sound.url")

        def command(target: int | str) -> str:
            try:
                return fsconf.hold(fs_room, target, sound)
            except UnsafeArgument as exc:
                raise ApiError("freeswitch_error", f"{exc}: check media.directory") from None

        if selected.everyone:
            return fs_replies.all_member_outcomes(self.room_api(name, command("all")))
        return [fs_replies.member_outcome(mid, self.room_api(name, command(mid)))
                for mid in selected.ids]

    def _coach(self, name: str, fs_room: str, coach: int, action: str,
               body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Only ``heard_by`` hear the coach from now on, as members come and go (the room
        manager keeps the relations, ``relate ... nospeak``, capture 07b); uncoach: all
        hear it again."""
        heard_by = inputs.heard_by(body, coach) if action == "coach" else None
        if action == "uncoach":
            inputs.no_body(body)
        members = {m["member_id"]: m["call_uuid"]
                   for m in self.conference_detail(name)["members"]}
        if coach not in members:
            raise ApiError("member_not_found", f"no member {coach} in conference {name!r}")
        missing = [mid for mid in heard_by or () if mid not in members]
        if missing:
            raise ApiError("member_not_found", f"heard_by: no member {missing[0]} in "
                           f"conference {name!r}", field="body.heard_by")
        calls = None if heard_by is None else [members[mid] for mid in heard_by]
        try:
            self.service.rooms.set_coach(fs_room, str(coach), calls, api=self.api)
        except RoomError:
            raise ApiError("member_not_found",
                           f"no member {coach} in conference {name!r}") from None
        return 200, {"conference": name, "action": action, "member_id": coach,
                     "coaching": heard_by is not None, "heard_by": list(heard_by or ())}

    def _member_ids(self, name: str) -> tuple[int, ...]:
        return tuple(m["member_id"] for m in self.conference_detail(name)["members"])

    def _hangup(self, name: str, selected: inputs.Selector) -> list[fs_replies.MemberOutcome]:
        # uuid_kill ends the call itself; the member's channel uuid comes from the listing.
        members = {m["member_id"]: m["call_uuid"] for m in self.conference_detail(name)["members"]}
        ids = tuple(members) if selected.everyone else selected.ids
        outcomes = []
        for mid in ids:
            if mid not in members or not members[mid]:
                outcomes.append(fs_replies.MemberOutcome(
                    mid, fs_replies.NOT_FOUND, f"no member {mid} in the room"))
                continue
            reply = self.api(channel.uuid_kill(members[mid]))
            outcomes.append(fs_replies.member_outcome(mid, reply))
        return outcomes

    def _play_members(self, name: str, fs_room: str, selected: inputs.Selector,
                      sound: str) -> list[fs_replies.MemberOutcome]:
        # `play <file> <id>` takes one member; `all` is every member listed now.
        ids = self._member_ids(name) if selected.everyone else selected.ids
        return [
            fs_replies.member_outcome(mid, self.room_api(name, self._play(fs_room, sound, mid)))
            for mid in ids
        ]

    def _play(self, fs_room: str, sound: str, member_id: int | None = None) -> str:
        try:
            return fsconf.play(fs_room, sound, member_id)
        except UnsafeArgument as exc:
            # Only a configured directory can hold a quote; the client cannot fix that.
            raise ApiError("freeswitch_error", f"{exc}: check media.directory") from None

    def _sound(self, action: str, body: dict[str, Any]) -> str:
        """The FreeSWITCH file string for a play or speak body."""
        if action == "speak":
            speak = inputs.speak_request(body)
            if not tts_text(speak.text):
                raise invalid("body.text", "nothing is left to speak once quotes, backslashes, "
                              "braces and ${ are removed")
            media = self.settings.media
            voice = media.tts_voice_man if speak.voice == "MAN" else media.tts_voice_woman
            return tts_file(media.tts_engine, voice, speak.text)
        return self._source_sound(inputs.play_source(body), "body.url")

    def _source_sound(self, source: inputs.PlaySource, field: str) -> str:
        if source.tone is not None:
            return source.tone
        try:
            return self.service.media.path_for(source.url)
        except MediaError as exc:
            raise invalid(field, str(exc)) from None

    def _member_answer(self, name: str, action: str, outcomes: list[fs_replies.MemberOutcome]
                       ) -> tuple[int, dict[str, Any]]:
        results = [{"member_id": o.member_id, "status": o.status,
                    **({"message": o.message} if o.message else {})} for o in outcomes]
        body = {"conference": name, "action": action, "results": results}
        statuses = {o.status for o in outcomes}
        if not outcomes or fs_replies.OK in statuses:
            return 200, body
        if statuses == {fs_replies.NOT_FOUND}:
            raise ApiError("member_not_found",
                           f"none of the selected members is in conference {name!r}",
                           results=results)
        raise ApiError("freeswitch_error", "FreeSWITCH refused the action for every member",
                       results=results)

    # ------------------------------------------------------------ room actions
    def room_action(self, name: str, action: str, body: dict[str, Any]
                    ) -> tuple[int, dict[str, Any]]:
        fs_room = self.fs_room(name)
        handler = {
            "record_start": self._record_start,
            "record_stop": self._record_stop,
            "record_pause": self._record_pause_resume,
            "record_resume": self._record_pause_resume,
            "play": self._room_play,
            "speak": self._room_play,
            "stop_playback": self._stop_playback,
            "lock": self._lock,
            "unlock": self._lock,
            "end": self._end,
        }.get(action)
        if handler is None:
            raise ValueError(f"room action {action!r} has no handler")
        status, answer = handler(name, fs_room, action, body)
        return status, {"conference": name, "action": action, **answer}

    def _record_start(self, name: str, fs_room: str, action: str, body: dict[str, Any]
                      ) -> tuple[int, dict[str, Any]]:
        fmt = inputs.record_format(body)
        self.conference(name)  # 404 before anything else (and before a lock is made)
        rooms = self.service.rooms
        with rooms.lock(fs_room):  # the room's own auto-record takes the same lock
            current = listing.recordings_view(self.conference(name), self._url_for)
            if current:
                raise ApiError("already_recording",
                               f"conference {name!r} is already being recorded; stop it first",
                               recordings=current)
            replies: list[str] = []

            def api(command: str) -> str:
                replies.append(self.api(command))
                return replies[-1]

            try:
                facts = rooms.start_recording(fs_room, fmt, api=api)
            except RoomError as exc:
                if replies and fs_replies.room_missing(replies[-1]):
                    raise ApiError("conference_not_found",
                                   f"no live conference named {name!r}") from None
                raise ApiError("freeswitch_error", str(exc)) from None
        log.info("api: recording %s of %s started", facts.recording_id, name)
        return 201, {"recording": {"recording_id": facts.recording_id, "format": fmt.value,
                                   "url": facts.url, "paused": False}}

    def _recordings(self, name: str) -> list[str]:
        paths = listing.recording_paths(self.conference(name))
        if not paths:
            raise ApiError("not_recording", f"conference {name!r} is not being recorded")
        return paths

    def _record_stop(self, name: str, fs_room: str, action: str, body: dict[str, Any]
                     ) -> tuple[int, dict[str, Any]]:
        inputs.no_body(body)
        self._recordings(name)
        reply = self.room_api(name, fsconf.norecord_all(fs_room))
        stopped = [listing.recording_view(path, False, self._url_for)
                   for path in fs_replies.stopped_recordings(reply)]
        if not stopped:
            raise ApiError("not_recording", f"conference {name!r} is not being recorded")
        return 200, {"recordings": stopped}

    def _record_pause_resume(self, name: str, fs_room: str, action: str, body: dict[str, Any]
                             ) -> tuple[int, dict[str, Any]]:
        inputs.no_body(body)
        verb = "pause" if action == "record_pause" else "resume"
        views = []
        for path in self._recordings(name):
            try:
                command = fsconf.recording(fs_room, verb, path)
            except UnsafeArgument as exc:
                raise ApiError("freeswitch_error", f"{exc}: check recordings.directory") from None
            reply = self.room_api(name, command)
            if not fs_replies.ok(reply) or "-ERR" in reply:
                raise ApiError("freeswitch_error",
                               f"FreeSWITCH did not {verb} the recording: {reply.strip()[:200]}")
            views.append(listing.recording_view(path, verb == "pause", self._url_for))
        return 200, {"recordings": views}

    def _room_play(self, name: str, fs_room: str, action: str, body: dict[str, Any]
                   ) -> tuple[int, dict[str, Any]]:
        sound = self._sound(action, body)
        reply = self.room_api(name, self._play(fs_room, sound))
        if not fs_replies.ok(reply):
            raise ApiError("freeswitch_error",
                           f"FreeSWITCH did not play to the room: {reply.strip()[:200]}")
        return 200, {"status": "playing"}

    def _stop_playback(self, name: str, fs_room: str, action: str, body: dict[str, Any]
                       ) -> tuple[int, dict[str, Any]]:
        inputs.no_body(body)
        reply = self.room_api(name, fsconf.stop(fs_room))
        stopped = fs_replies.stopped_files(reply)
        if stopped is None:
            raise ApiError("freeswitch_error",
                           f"FreeSWITCH did not stop playback: {reply.strip()[:200]}")
        return 200, {"stopped_files": stopped}

    def _lock(self, name: str, fs_room: str, action: str, body: dict[str, Any]
              ) -> tuple[int, dict[str, Any]]:
        inputs.no_body(body)
        command = fsconf.lock(fs_room) if action == "lock" else fsconf.unlock(fs_room)
        reply = self.room_api(name, command)
        if not fs_replies.ok(reply):
            raise ApiError("freeswitch_error",
                           f"FreeSWITCH did not {action}: {reply.strip()[:200]}")
        return 200, {"locked": action == "lock"}

    def _end(self, name: str, fs_room: str, action: str, body: dict[str, Any]
             ) -> tuple[int, dict[str, Any]]:
        # kick (not hup): every member's call goes on with its own XML, as Bandwidth's
        # status=completed; the room is destroyed when the last one has left.
        inputs.no_body(body)
        reply = self.room_api(name, fsconf.kick(fs_room, "all"))
        members = [{"member_id": o.member_id, "status": o.status}
                   for o in fs_replies.all_member_outcomes(reply)]
        return 200, {"ended": True, "members": members}
