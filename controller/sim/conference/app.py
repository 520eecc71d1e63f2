"""The ``conference`` dialplan application (mod_conference.c conference_function).

Join flow in FreeSWITCH's order: parse ``name@profile+pin+flags{…}``, create
the room if needed (conference-create), answer, PIN, lock and max-members
checks (a rejected caller just returns: no event, no hangup), then add the
member and run its loop until it is kicked, hung up, ends with the room or
leaves through a caller control.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.sim.apps import play_file
from controller.sim.channel import L16, PCMA
from controller.sim.conference.controls import Controls
from controller.sim.conference.flags import (
    JoinArgs,
    apply_conference_flags,
    apply_member_flags,
    combine_flag_var,
    parse_join_arg,
)
from controller.sim.conference.room import Conference, Member
from controller.sim.fsutil import atoi, switch_false, switch_true
from controller.sim.session import process_private, register_app

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.core import Core


def find_conference(core: Core, name: str) -> Conference | None:
    """conference_find: a room marked for destruction is gone for newcomers."""
    conference = core.conferences.get(name)
    if conference is not None and "destruct" in conference.flags:
        del core.conferences[name]
        return None
    return conference


def _strtol(text: str) -> int | None:
    """strtol(…, 0) for conference_max_members; None when it is not a number."""
    value = text.strip()
    try:
        if value.lower().startswith(("0x", "-0x")):
            return int(value, 16)
        if len(value) > 1 and value.startswith("0") and value.isdigit():
            return int(value, 8)
        return int(value)
    except ValueError:
        return None


@register_app("conference")
def conference_app(channel: Channel, arg: str) -> None:
    core = channel.core
    silent = switch_true(channel.get_var("conference_silent_entry"))
    if not channel.pre_answer():
        return
    if not arg:
        core.log(
            2, "mod_conference.c", "conference_function", 1944, "Invalid arguments", channel.uuid
        )
        return
    args = parse_join_arg(arg)
    flags_str = args.flags
    member_var = combine_flag_var(channel.variables, core.global_vars, "conference_member_flags")
    if member_var:
        flags_str = member_var if not flags_str else f"{flags_str}|{member_var}"
    cflags_str = flags_str
    conf_var = combine_flag_var(channel.variables, core.global_vars, "conference_flags")
    if conf_var:
        cflags_str = conf_var if not cflags_str else f"{cflags_str}|{conf_var}"
    if args.bridge_to is not None:
        core.log(
            3,
            "mod_conference.c",
            "conference_function",
            2010,
            "bridge: conferences are not simulated",
            channel.uuid,
        )
        return

    conference = find_conference(core, args.name)
    if conference is None:
        if flags_str and "join_only" in apply_member_flags(flags_str, set()):
            _reject_join_only(channel, args.name, args.profile)
            return
        conference = Conference(core, args.name, args.profile, channel)
        conference.flags.add("json_status")
        apply_conference_flags(cflags_str, conference.flags)
        core.conferences[args.name] = conference
        event = conference.new_event("conference-create")
        event.extend(conference.data())
        if conference.verbose_events:
            event.extend(channel.full_data())
        event.add("Action", "conference-create")
        conference.fire(event)
        channel.set_var("conference_name", conference.name)
        channel.set_var("app_session_uuid", conference.uuid)
        if not conference.moh_sound:
            conference.moh_sound = channel.get_var("conference_moh_sound") or None
        if not conference.perpetual_sound:
            conference.perpetual_sound = channel.get_var("conference_perpetual_sound") or None
        auto_record = channel.get_var("conference_auto_record")
        if auto_record:
            conference.auto_record = auto_record
        conference.min = 1
        max_text = channel.get_var("conference_max_members")
        if max_text:
            value = _strtol(max_text)
            if value is None or value < 0 or value == 1:
                core.log(
                    3,
                    "mod_conference.c",
                    "conference_function",
                    2226,
                    f"conference_max_members variable {max_text} is invalid, not setting a limit",
                )
            else:
                conference.max_members = value
        grace = channel.get_var("conference_endconference_grace_time")
        if grace:
            value = _strtol(grace)
            if value is not None and value >= 0:
                conference.endconference_grace_time = value
        conference.flags |= {"dynamic", "running"}
        conference.poke()
    else:
        channel.set_var("conference_name", conference.name)
        channel.set_var("app_session_uuid", conference.uuid)

    conference.holders.add(channel.uuid)
    member: Member | None = None
    try:
        member = _admit(channel, conference, args, flags_str, silent)
        if member is not None:
            _member_loop(conference, member)
            _leave(conference, member)
    finally:
        if "dynamic" in conference.flags and conference.count == 0 and conference.count_ghosts == 0:
            conference.flags.add("destruct")
            conference.poke()
        if member is not None and member.has("kicked") and conference.kicked_sound:
            sound = member.kicked_sound or conference.kicked_sound
            play_file(channel, sound, None)
        conference.release(channel.uuid)


def _reject_join_only(channel: Channel, name: str, profile: str) -> None:
    core = channel.core
    event = core.bus.create(
        "CUSTOM", ("mod_conference.c", "conference_function", 2031), "conference::maintenance"
    )
    event.extend(channel.basic_data())
    event.add("Conference-Name", name)
    event.add("Conference-Profile-Name", profile)
    event.add("Action", "rejected-join-only")
    core.bus.fire(event)
    sound = (core.config.profiles.get(profile) or {}).get("join-only-sound")
    if sound:
        channel.answer()
        play_file(channel, sound, None)
    if not switch_false(channel.get_var("hangup_after_conference")):
        channel.hangup("NORMAL_CLEARING")


def _admit(
    channel: Channel,
    conference: Conference,
    args: JoinArgs,
    flags_str: str | None,
    silent: bool,
) -> Member | None:
    core = channel.core
    enforce = True  # inbound calls
    pvar = channel.get_var("conference_enforce_security")
    if pvar is not None:
        enforce = switch_true(pvar)
    dpin = args.pin or conference.pin or ""
    mdpin = channel.get_var("conference_moderator_pin") or conference.mpin or ""
    channel.answer()
    mpin_matched = False
    if enforce and (dpin or mdpin):
        matched = _collect_pin(channel, conference, dpin, mdpin)
        if matched is None:
            return None
        mpin_matched = matched == "moderator"
    if "locked" in conference.flags and enforce:
        core.log(
            5,
            "mod_conference.c",
            "conference_function",
            2343,
            f"Conference {conference.name} is locked.",
            channel.uuid,
        )
        if conference.locked_sound:
            play_file(channel, conference.locked_sound, None)
        return None
    if conference.max_members > 0 and conference.count >= conference.max_members:
        core.log(
            5,
            "mod_conference.c",
            "conference_function",
            2356,
            f"Conference {conference.name} is full.",
            channel.uuid,
        )
        if conference.maxmember_sound:
            play_file(channel, conference.maxmember_sound, None)
        return None
    if conference.member_enter_sound and not silent:
        play_file(channel, conference.member_enter_sound, None)
    conference.flags.add("answered")
    member_id = channel.conf_member_id
    if member_id is None:
        member_id = core.next_member_id()
        channel.conf_member_id = member_id  # the private __confmid: kept on re-join
    channel.set_var("conference_member_id", str(member_id))
    channel.read_codec = L16
    channel.set_var("read_codec", "L16")
    channel.set_var("read_rate", "8000")
    flags = apply_member_flags(flags_str, set(conference.mflags))
    flags.add("running")
    if mpin_matched:
        flags.add("moderator")
    if silent:
        flags.add("silent_entry")
    if "mintwo" in flags:
        conference.min = 2
    member = Member(member_id, channel, flags)
    channel.member = member
    conference.add_member(member)
    member.flags.discard("silent_entry")
    controls = channel.get_var("conference_controls")
    if not controls:
        controls = (
            conference.moderator_controls
            if member.has("moderator") and conference.moderator_controls
            else conference.caller_controls
        )
    controls = controls or "default"
    if controls.lower() != "none":
        group = core.config.caller_controls.get(controls)
        if group:
            member.controls = Controls(member, group, conference.ivr_dtmf_timeout)
    if channel.audio_active:
        conference.talking_changed(member)
    return member


def _collect_pin(channel: Channel, conference: Conference, dpin: str, mdpin: str) -> str | None:
    """PIN prompt: 'member', 'moderator', or None after pin-retries failures."""
    supplied = channel.get_var("supplied_pin") or ""
    if "X-ConfPin=" in supplied:
        supplied = supplied.split("X-ConfPin=", 1)[1]
    supplied = supplied.split(";", 1)[0]

    def check(pin: str) -> str | None:
        if dpin and pin == dpin:
            return "member"
        if mdpin and pin == mdpin:
            return "moderator"
        return None

    if supplied and check(supplied):
        return check(supplied)
    retries = atoi(conference.params.get("pin-retries", "3")) or 3
    maxlen = max(len(dpin), len(mdpin))
    for _ in range(retries):
        play_file(channel, conference.params.get("pin-sound", "conference/conf-pin.wav"), None)
        digits = ""
        waited = 0.0
        while len(digits) < maxlen and waited < 10.0 and channel.ready:
            if channel.dtmf_queue:
                digit = channel.dequeue_dtmf()
                if digit == "#":
                    break
                digits += digit or ""
                waited = 0.0
                continue
            before = channel.core.clock.now()
            channel.wait_input(10.0 - waited)
            waited += channel.core.clock.now() - before
        result = check(digits)
        if result:
            return result
        if not channel.ready:
            return None
        play_file(
            channel, conference.params.get("bad-pin-sound", "conference/conf-bad-pin.wav"), None
        )
        channel.flush_dtmf()
    return None


def _member_loop(conference: Conference, member: Member) -> None:
    """conference_loop_output + conference_loop_input for one caller."""
    channel = member.channel
    assert channel is not None
    while member.running and channel.ready:
        if channel.dtmf_queue:
            _take_dtmf(conference, member)
        if member.dtmf_out and channel.phone is not None:
            channel.phone.received_dtmf.append(member.dtmf_out.popleft())
            channel.core.spawn_later(0.02, channel.poke)
        if channel.has_private():
            process_private(channel)
            if channel.member is not member:  # a nested app replaced the member (rejoin)
                channel.member = member
            continue
        if not member.running or not channel.ready:
            break
        channel.wait_input(None)
        channel.next_frame()  # the member thread acts on the next 20 ms frame
    member.flags.discard("running")


def _take_dtmf(conference: Conference, member: Member) -> None:
    channel = member.channel
    digits = ""
    while channel.dtmf_queue:
        digit = channel.dequeue_dtmf()
        if digit:
            digits += digit
    if not digits:
        return
    if member.has("dist_dtmf"):
        for other in conference.callers():
            if other is member or other.has("skip_dtmf"):
                continue
            other.dtmf_out.extend(digits)
            other.poke()
    elif member.controls is not None:
        for digit in digits:
            member.controls.feed(digit)


def _leave(conference: Conference, member: Member) -> None:
    channel = member.channel
    cause = channel.hangup_cause or "NONE"
    channel.core.log(
        6,
        "conference_loop.c",
        "conference_loop_output",
        1668,
        f"Channel leaving conference, cause: {cause}",
        channel.uuid,
    )
    conference.clear_talking(member)
    conference.del_member(member)
    channel.member = None
    channel.read_codec = PCMA
    channel.set_var("read_codec", "PCMA")
    channel.set_var("read_rate", "8000")
