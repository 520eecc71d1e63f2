"""ConferenceJoin -> JoinPlan: every Plivo <Conference> attribute in mod_conference terms.

Pure: no I/O. The executor in ``controller.call`` applies the plan through the
outbound socket; the room manager runs the room-level parts (recording, time
limit) once the room exists. Where FreeSWITCH itself applies a setting only
when a call creates the conference (``conference_max_members``,
``conference_moh_sound``, the ``wait-mod`` conference flag), the plan always
sends it and FreeSWITCH gives the first member's value precedence
(FREESWITCH-REFERENCE §3.1, §3.4).

Attribute                 mod_conference
muted                     member flag ``mute``
startConferenceOnEnter    true: flag ``moderator``; false: conference flag ``wait-mod``
                          (as a call flag: the profile param ``wait-mod`` is ignored, 03b1)
endConferenceOnExit       flag ``endconf``; all members ``hangup_after_conference=false``
                          so removed members go on with their own XML (03c/03d)
stayAlone=false           flag ``mintwo`` (03e); FreeSWITCH keeps the minimum for the room
maxMembers                ``conference_max_members`` (2..); 1 is refused by FreeSWITCH, so
                          the creator sets it with ``conference <room> set max_members 1``
enterSound/exitSound      ``conference_enter_sound`` / ``conference_exit_sound``
waitSound                 ``conference_moh_sound`` (creation only)
relayDTMF                 flag ``dist-dtmf``
digitsMatch/hangupOnStar  ``bind_digit_action`` with ``exec:event`` (capture 04c): FreeSWITCH
                          fires a conference::maintenance ``digits-match`` event carrying
                          our Unique-ID, which reaches the call's own socket; the matched
                          digits never reach the room. For ``*`` the controller kicks the
                          member (the call stays up and continues with ``action``).
record/timeLimit          room commands run by the room manager after the join
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.freeswitch import apps, conference
from controller.freeswitch.names import fs_room_name
from controller.model import ConferenceJoin, RecordFormat

DIGIT_REALM = "cc_conference"
DIGITS_ACTION = "digits-match"  # the Action of the events our bindings fire
BINDING_DIGITS = "digits"
BINDING_HANGUP_ON_STAR = "hangup-on-star"
# FreeSWITCH refuses conference_max_members below 2 (mod_conference.c).
FS_MIN_MAX_MEMBERS = 2


@dataclass(frozen=True)
class DigitBinding:
    pattern: str
    kind: str  # BINDING_DIGITS or BINDING_HANGUP_ON_STAR
    arg: str  # the whole bind_digit_action argument

    @property
    def app(self) -> apps.AppCall:
        realm, pattern, action = self.arg.split(",", 2)
        return apps.bind_digit_action(realm, pattern, action)


@dataclass(frozen=True)
class JoinPlan:
    room: str  # the application's room name
    fs_room: str  # the FreeSWITCH conference name (prefixed)
    profile: str
    app_arg: str  # argument of the `conference` application
    member_flags: tuple[str, ...]
    conference_flags: tuple[str, ...]
    variables: tuple[tuple[str, str], ...]  # channel variables set before joining, in order
    digit_realm: str
    digit_bindings: tuple[DigitBinding, ...]
    creator_commands: tuple[str, ...]  # API commands to run if this member made the room
    record: RecordFormat | None  # start recording the room (once) with this format
    time_limit: int  # seconds; 0 = none (applied once, by the room's creator)


def _digit_event_arg(call_uuid: str, fs_room: str, kind: str, pattern: str) -> str:
    # The `event` app takes comma separated Name=Value pairs; the whole list is
    # quoted so bind_digit_action's own comma split leaves it in one piece (04c).
    fields = [
        "Event-Name=CUSTOM",
        "Event-Subclass=conference::maintenance",
        f"Action={DIGITS_ACTION}",
        f"Unique-ID={call_uuid}",
        f"Conference-Name={fs_room}",
        f"Binding={kind}",
        f"Digits={pattern}",
    ]
    return apps.bind_digit_action(DIGIT_REALM, pattern, f"exec:event,'{','.join(fields)}'").arg


def plan_join(
    join: ConferenceJoin,
    *,
    call_uuid: str,
    profile: str,
    room_prefix: str = "",
    enter_sound: str = "",
    exit_sound: str = "",
    wait_sound: str = "",
) -> JoinPlan:
    """Translate one <Conference> into what FreeSWITCH must be told. Sounds come resolved
    (FreeSWITCH sound strings), since resolving a URL is I/O."""
    fs_room = fs_room_name(join.room, room_prefix)

    member_flags: list[str] = []
    if join.muted:
        member_flags.append("mute")
    if join.start_on_enter:
        member_flags.append("moderator")
    if join.end_on_exit:
        member_flags.append("endconf")
    if not join.stay_alone:
        member_flags.append("mintwo")
    if join.relay_dtmf:
        member_flags.append("dist-dtmf")
    conference_flags = () if join.start_on_enter else ("wait-mod",)

    variables: list[tuple[str, str]] = [
        # Members removed by endconf/mintwo/timeLimit must go on with their XML.
        ("hangup_after_conference", "false"),
        # DTMF belongs to the application (digitsMatch), never to built-in controls.
        ("conference_controls", "none"),
    ]
    creator_commands: list[str] = []
    if join.max_members >= FS_MIN_MAX_MEMBERS:
        variables.append(("conference_max_members", str(join.max_members)))
    else:
        creator_commands.append(conference.set_max_members(fs_room, join.max_members))
    if enter_sound:
        variables.append(("conference_enter_sound", enter_sound))
    if exit_sound:
        variables.append(("conference_exit_sound", exit_sound))
    if wait_sound:
        variables.append(("conference_moh_sound", wait_sound))

    bindings: list[DigitBinding] = []
    patterns = list(dict.fromkeys(join.digits_match))  # keep order, drop repeats
    if join.hangup_on_star:
        # `*` leaves the room; a digitsMatch pattern "*" could never fire.
        patterns = [p for p in patterns if p != "*"]
        bindings.append(DigitBinding(
            "*", BINDING_HANGUP_ON_STAR,
            _digit_event_arg(call_uuid, fs_room, BINDING_HANGUP_ON_STAR, "*"),
        ))
    for pattern in patterns:
        bindings.append(DigitBinding(
            pattern, BINDING_DIGITS, _digit_event_arg(call_uuid, fs_room, BINDING_DIGITS, pattern)
        ))

    app_arg = apps.conference_app_arg(fs_room, profile, (*member_flags, *conference_flags))

    return JoinPlan(
        room=join.room,
        fs_room=fs_room,
        profile=profile,
        app_arg=app_arg,
        member_flags=tuple(member_flags),
        conference_flags=conference_flags,
        variables=tuple(variables),
        digit_realm=DIGIT_REALM,
        digit_bindings=tuple(bindings),
        creator_commands=tuple(creator_commands),
        record=join.record_format if join.record else None,
        time_limit=join.time_limit,
    )
