"""The ``conference`` API command (conference_api.c).

Dispatch, member selectors, reply texts (with or without the final newline)
and the syntax lines appended on failure follow conference_api_main_real and
conference_api_dispatch. Video commands exist in the table (so the usage text
and "not found" answers match) but only answer as an audio-only switch would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from controller.sim.conference import listing
from controller.sim.conference.room import LEADIN, Conference, Member
from controller.sim.fsutil import as_uint32, atoi, separate_string

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.core import Core

Out = list  # the output stream: a list of strings joined at the end
SPLIT, MEMBER, ONE = "split", "member", "one"

# ------------------------------------------------------------ member commands


def mute(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    member.flags.discard("can_speak")
    conf.clear_talking(member)
    if not data or "quiet" not in data:
        _indicate(member, conf.muted_sound)
    if out is not None:
        out.append(f"+OK mute {member.id}\n")
    if conf.allowed("mute-member"):
        conf.fire_member(
            member, "mute-member", origin=("conference_api.c", "conference_api_sub_mute", 339)
        )
    conf.poke()
    return True


def unmute(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    member.flags.add("can_speak")
    if not data or "quiet" not in data:
        _indicate(member, conf.unmuted_sound)
    if out is not None:
        out.append(f"+OK unmute {member.id}\n")
    if conf.allowed("mute-member"):
        conf.fire_member(
            member, "unmute-member", origin=("conference_api.c", "conference_api_sub_unmute", 492)
        )
    if member.channel is not None and member.channel.audio_active:
        conf.core.spawn_later(0.02, conf.talking_changed, member)
    conf.poke()
    return True


def tmute(member: Member, out: Out | None, data: str | None) -> bool:
    return mute(member, out, data) if member.has("can_speak") else unmute(member, out, data)


def deaf(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    member.flags.discard("can_hear")
    if not data or "quiet" not in data:
        _indicate(member, conf.deaf_sound)
    if out is not None:
        out.append(f"+OK deaf {member.id}\n")
    conf.fire_member(
        member, "deaf-member", origin=("conference_api.c", "conference_api_sub_deaf", 797)
    )
    return True


def undeaf(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    member.flags.add("can_hear")
    if not data or "quiet" not in data:
        _indicate(member, conf.undeaf_sound)
    if out is not None:
        out.append(f"+OK undeaf {member.id}\n")
    conf.fire_member(
        member, "undeaf-member", origin=("conference_api.c", "conference_api_sub_undeaf", 839)
    )
    return True


def _indicate(member: Member, sound: str | None) -> None:
    """MFLAG_INDICATE_*: the profile's sound to the member (TTS fallback needs an engine)."""
    if sound and member.conference is not None:
        member.conference.member_play(member, sound)


def hold(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    conf.clear_talking(member)
    member.flags.add("hold")
    if data:
        conf.member_play(member, data)
    if out is not None:
        out.append(f"+OK hold {member.id}\n")
    if conf.allowed("hold-member"):
        conf.fire_member(
            member, "hold-member", origin=("conference_api.c", "conference_api_sub_hold", 440)
        )
    conf.poke()
    return True


def unhold(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    member.flags.discard("hold")
    conf.member_stop(member, "all")
    if out is not None:
        out.append(f"+OK unhold {member.id}\n")
    if conf.allowed("hold-member"):
        conf.fire_member(
            member, "unhold-member", origin=("conference_api.c", "conference_api_sub_unhold", 389)
        )
    if member.channel is not None and member.channel.audio_active:
        conf.core.spawn_later(0.02, conf.talking_changed, member)
    return True


def kick(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    member.flags.discard("running")
    member.flags.add("kicked")
    if data and member.channel is not None:
        member.kicked_sound = data
    if out is not None:
        out.append(f"+OK kicked {member.id}\n")
    if conf.allowed("kick-member"):
        conf.fire_member(
            member, "kick-member", origin=("conference_api.c", "conference_api_sub_kick", 902)
        )
    member.poke()
    return True


def hup(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    member.flags.discard("running")
    if out is not None:
        out.append(f"+OK hup {member.id}\n")
    conf.fire_member(
        member, "hup-member", origin=("conference_api.c", "conference_api_sub_hup", 871)
    )
    member.poke()
    return True


def dtmf(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    if not data:
        if out is not None:
            out.append("-ERR Invalid input!\n")
        return False
    member.dtmf_out.extend(data)
    member.poke()
    if out is not None:
        out.append(f"+OK sent {data} to {member.id}\n")
    if conf.allowed("dtmf-member"):
        conf.fire_member(
            member,
            "dtmf-member",
            [("Digits", data)],
            origin=("conference_api.c", "conference_api_sub_dtmf", 1049),
        )
    return True


def energy(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    if data:
        if data.lower() == "up":
            member.energy_level = min(1800, member.energy_level + 200)
        elif data.lower() == "down":
            member.energy_level = max(0, member.energy_level - 200)
        else:
            member.energy_level = atoi(data)
    if out is not None:
        out.append(f"Energy {member.id} = {member.energy_level}\n")
    if data and conf.allowed("energy-level-member"):
        conf.fire_member(
            member,
            "energy-level-member",
            [("Energy-Level", str(member.energy_level))],
            origin=("conference_api.c", "conference_api_sub_energy", 1228),
        )
    return True


def _volume(member: Member, out: Out | None, data: str | None, attr: str) -> bool:
    conf = member.conference
    if data:
        value = getattr(member, attr)
        if data.lower() == "up":
            value += 1
        elif data.lower() == "down":
            value -= 1
        else:
            value = atoi(data)
        setattr(member, attr, max(-4, min(4, value)))
    label, action, line = (
        ("IN", "volume-in-member", 1574)
        if attr == "volume_in"
        else ("OUT", "volume-out-member", 1609)
    )
    if out is not None:
        out.append(f"+OK Volume {label} {member.id} = {getattr(member, attr)}\n")
    if data and conf.allowed(action):
        func = (
            "conference_api_sub_volume_in"
            if attr == "volume_in"
            else "conference_api_sub_volume_out"
        )
        conf.fire_member(
            member,
            action,
            [("Volume-Level", str(getattr(member, attr)))],
            origin=("conference_api.c", func, line),
        )
    return True


def volume_in(member: Member, out: Out | None, data: str | None) -> bool:
    return _volume(member, out, data, "volume_in")


def volume_out(member: Member, out: Out | None, data: str | None) -> bool:
    return _volume(member, out, data, "volume_out")


def floor(member: Member, out: Out | None, data: str | None) -> bool:
    conf = member.conference
    if conf.floor_holder == member.id:
        conf.set_floor_holder(None)
        if out is not None:
            out.append("+OK floor none\n")
    elif conf.floor_holder == 0:
        conf.set_floor_holder(member)
        if out is not None:
            out.append(f"+OK floor {member.id}\n")
    elif out is not None:
        out.append(f"-ERR floor is held by {conf.floor_holder}\n")
    return True


def get_uuid(member: Member, out: Out | None, data: str | None) -> bool:
    if out is not None:
        out.append(member.channel.uuid if member.channel is not None else "_undef_")
    return True


def _audio_only(reply: str) -> Callable[[Member, Out | None, str | None], bool]:
    def command(member: Member, out: Out | None, data: str | None) -> bool:
        if out is not None and reply:
            out.append(reply.format(id=member.id))
        return True

    return command


# ------------------------------------------------------------ room commands


def count(conf: Conference, out: Out, argv: list[str]) -> bool:
    out.append(str(conf.count))
    return True


def list_(conf: Conference | None, out: Out, argv: list[str], core: Core) -> bool:
    argofs = 1 if len(argv) >= 2 and argv[1].lower() == "list" else 0
    delim, pretty, summary, countonly = ";", False, False, False
    opt = _arg(argv, 1 + argofs)
    if opt is not None:
        value = _arg(argv, 2 + argofs)
        if value is not None and opt.lower() == "delim":
            delim = value
            if delim.startswith('"'):
                delim = delim[1:].split('"', 1)[0] if len(delim) > 1 else ";"
        elif opt.lower() == "pretty":
            pretty = True
        elif opt.lower() == "summary":
            summary = True
        elif opt.lower() == "count":
            countonly = True
    listed = 0
    if conf is None:
        for room in _rooms(core):
            out.append(listing.header_line(room))
            listed += 1
            if not summary:
                out.append(
                    listing.list_pretty(room) if pretty else listing.list_members(room, delim)
                )
    else:
        listed = 1
        if countonly:
            out.append(str(conf.count))
        elif pretty:
            out.append(listing.list_pretty(conf))
        else:
            out.append(listing.list_members(conf, delim))
    if not listed:
        out.append("+OK No active conferences.\n")
    return True


def json_list(conf: Conference | None, out: Out, argv: list[str], core: Core) -> bool:
    rooms = _rooms(core) if conf is None else [conf]
    if conf is None:
        compact = len(argv) == 2 and argv[1] == "compact"
    else:
        compact = len(argv) == 3 and argv[2] == "compact"
    out.append(listing.json_list(rooms, core.clock.now(), compact))
    return True


def xml_list(conf: Conference | None, out: Out, argv: list[str], core: Core) -> bool:
    rooms = _rooms(core) if conf is None else [conf]
    out.append(listing.xml_list(rooms, core.clock.now()))
    return True


def play(conf: Conference, out: Out, argv: list[str]) -> bool:
    argc = len(argv)
    async_ = False
    if (argc == 4 and argv[3].lower() == "async") or (argc == 5 and argv[4].lower() == "async"):
        argc -= 1
        async_ = True
    if argc == 3:
        status = conf.file_play(argv[2], 0, None, async_)
        if status == "ok":
            out.append(f"+OK (play) Playing file {argv[2]}\n")
            if conf.allowed("play-file"):
                conf.fire_conf(
                    "play-file",
                    [("File", argv[2]), ("Async", "true" if async_ else "false")],
                    origin=("conference_api.c", "conference_api_sub_play", 2817),
                )
        else:
            out.append(f"-ERR (play) File: {argv[2]} not found.\n")
        return True
    if argc >= 4:
        member = conf.member_by_str(argv[3])
        if member is None:
            # FreeSWITCH prints the id with %u from a string pointer: garbage digits.
            out.append(f"-ERR Member: {as_uint32(id(argv[3]))} not found.\n")
            return False
        if conf.member_play(member, argv[2]):
            out.append(f"+OK (play) Playing file {argv[2]} to member {member.id}\n")
            if conf.allowed("play-file-member"):
                conf.fire_member(
                    member,
                    "play-file-member",
                    [("File", argv[2])],
                    origin=("conference_api.c", "conference_api_sub_play", 2846),
                )
        else:
            out.append(f"-ERR (play) File: {argv[2]} not found.\n")
        return True
    return False


def moh(conf: Conference, out: Out, argv: list[str]) -> bool:
    what = _arg(argv, 2)
    if what is None:
        out.append("-ERR invalid moh param\n")
        return True
    lowered = what.lower()
    if lowered == "toggle":
        if "no_moh" in conf.flags:
            conf.flags.discard("no_moh")
        else:
            conf.flags.add("no_moh")
    elif lowered == "on":
        conf.flags.discard("no_moh")
    elif lowered == "off":
        conf.flags.add("no_moh")
    elif lowered == "reset":
        conf.tmp_moh_sound = None
    else:
        conf.tmp_moh_sound = what
    if "no_moh" in conf.flags or conf.tmp_moh_sound:
        conf.file_stop("async")
    conf.poke()
    out.append("+OK moh\n")
    return True


def play_status(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) == 2:
        _file_status(conf, conf.fnodes[0] if conf.fnodes else None, out)
        return True
    if len(argv) == 3:
        member = conf.member_by_str(argv[2])
        if member is None:
            out.append(f"-ERR Member: {argv[2]} not found.\n")
            return False
        _file_status(conf, member.fnodes[0] if member.fnodes else None, out)
        return True
    return False


def _file_status(conf: Conference, node, out: Out) -> None:  # noqa: ANN001 - FileNode
    if node is None:
        out.append("-ERR Nothing is playing\n")
    else:
        out.append(f"+OK 0/0 {node.path}\n")


def pause_play(conf: Conference, out: Out, argv: list[str]) -> bool:
    nodes = None
    if len(argv) == 2:
        nodes = conf.fnodes
    elif len(argv) == 3:
        member = conf.member_by_str(argv[2])
        if member is None:
            out.append(f"-ERR Member: {argv[2]} not found.\n")
            return False
        nodes = member.fnodes
    else:
        return False
    if nodes:
        node = nodes[0]
        now = conf.core.clock.now()
        if node.paused_at is not None:
            node.paused_total += now - node.paused_at
            node.paused_at = None
            out.append("+OK Resume\n")
        else:
            node.paused_at = now
            out.append("+OK Pause\n")
    return True


def say(conf: Conference, out: Out, text: str) -> bool:
    if not text:
        out.append("-ERR (say) Error! No text.\n")
        return False
    if not conf.say(text, 0):
        out.append("-ERR (say) Error!\n")
        return False
    out.append("+OK (say) OK\n")
    if conf.allowed("speak-text"):
        conf.fire_conf(
            "speak-text",
            [("Text", text)],
            origin=("conference_api.c", "conference_api_sub_say", 2884),
        )
    return True


def saymember(conf: Conference, out: Out, text: str) -> bool:
    if not text:
        out.append("-ERR (saymember) No Text!\n")
        return False
    member_text, _, words = text.partition(" ")
    if not words:
        out.append("-ERR (saymember) No Text!\n")
        return False
    member = conf.member_by_str(member_text)
    if member is None:
        out.append(f"-ERR (saymember) Unknown Member {member_text}!\n")
        return False
    if not conf.member_say(member, words, 0):
        out.append("-ERR (saymember) Error!\n")
        return False
    out.append("+OK (saymember) OK\n")
    if conf.allowed("speak-text-member"):
        conf.fire_member(
            member,
            "speak-text-member",
            [("Text", words)],
            origin=("conference_api.c", "conference_api_sub_saymember", 2948),
        )
    return True


def stop(conf: Conference, out: Out, argv: list[str]) -> bool:
    kind = "all"
    if len(argv) > 2:
        word = argv[2].lower()
        if word not in ("current", "all", "async"):
            return False
        kind = word
    if len(argv) == 4:
        member = conf.member_by_str(argv[3])
        if member is None:
            out.append(f"-ERR Member: {argv[3]} not found.\n")
        else:
            out.append(f"+OK Stopped {conf.member_stop(member, kind)} files.\n")
        return True
    out.append(f"+OK Stopped {conf.file_stop(kind)} files.\n")
    return True


def relate(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) <= 3:
        if conf.relationship_total:
            if len(argv) == 3:
                for text in separate_string(argv[2], ",", 100):
                    wanted = atoi(text)
                    for member in conf.members:
                        if wanted > 0 and member.id != wanted:
                            continue
                        for oid, rflags in member.relationships.items():
                            out.append(
                                f"{member.id} -> {oid} "
                                f"{'SPEAK ' if 'speak' in rflags else 'NOSPEAK '}"
                                f"{'HEAR ' if 'hear' in rflags else 'NOHEAR '}"
                                f"{'SENDVIDEO ' if 'sendvideo' in rflags else 'NOSENDVIDEO '}\n"
                            )
        else:
            out.append("+OK No relationships\n")
        return True
    if len(argv) <= 4:
        return False
    action = argv[4]
    nospeak, nohear, sendvideo = "nospeak" in action, "nohear" in action, "sendvideo" in action
    clear = action.lower() == "clear"
    if not (clear or nospeak or nohear or sendvideo):
        return False
    for a in separate_string(argv[2], ",", 100):
        mid = as_uint32(atoi(a))
        for b in separate_string(argv[3], ",", 100):
            oid = as_uint32(atoi(b))
            member = conf.get_member(mid)
            if clear:
                if member is not None:
                    if member.relationships.pop(oid, None) is not None:
                        conf.relationship_total -= 1
                    out.append(f"+OK relationship {mid}->{oid} cleared.\n")
                else:
                    out.append(f"-ERR relationship {mid}->{oid} not found.\n")
            if nospeak or nohear or sendvideo:
                other = conf.get_member(oid) if member is not None else None
                if member is None or other is None:
                    out.append(f"-ERR relationship {mid}->{oid} not found.\n")
                    continue
                if oid not in member.relationships:
                    conf.relationship_total += 1
                rflags = {"speak", "hear"}
                if nospeak:
                    rflags.discard("speak")
                    conf.clear_talking(member)
                if nohear:
                    rflags.discard("hear")
                if sendvideo:
                    rflags.add("sendvideo")
                member.relationships[oid] = rflags
                out.append(f"+OK {mid}->{oid} {action} set\n")
    return True


def getvar(conf: Conference, out: Out, argv: list[str]) -> bool:
    var = _arg(argv, 2)
    out.append(conf.variables.get(var, "") if var else "")
    return True


def setvar(conf: Conference, out: Out, argv: list[str]) -> bool:
    var = _arg(argv, 2)
    if var:
        conf.set_variable(var, _arg(argv, 3))
    out.append("+OK\n")
    return True


def lock(conf: Conference, out: Out, argv: list[str]) -> bool:
    if conf.is_locked_sound:
        conf.file_play(conf.is_locked_sound, LEADIN, None, False)
    conf.flags.add("locked")
    out.append(f"+OK {argv[0]} locked\n")
    if conf.allowed("lock"):
        conf.fire_conf("lock", origin=("conference_api.c", "conference_api_sub_lock", 3474))
    return True


def unlock(conf: Conference, out: Out, argv: list[str]) -> bool:
    if conf.is_unlocked_sound:
        conf.file_play(conf.is_unlocked_sound, LEADIN, None, False)
    conf.flags.discard("locked")
    out.append(f"+OK {argv[0]} unlocked\n")
    if conf.allowed("unlock"):
        conf.fire_conf("unlock", origin=("conference_api.c", "conference_api_sub_unlock", 3496))
    return True


def _sounds(kind: str) -> Callable[[Conference, Out, list[str]], bool]:
    """enter_sound / exit_sound on|off|none|file <f> (events gated by ``lock``)."""

    def command(conf: Conference, out: Out, argv: list[str]) -> bool:
        if len(argv) <= 2:
            out.append("-ERR Not enough args\n")
            return False
        attr, flag = f"{kind}_sound", f"{kind}_sound"
        word = argv[2].lower()
        current = getattr(conf, attr)
        if word == "on":
            conf.flags.add(flag)
            out.append(f"+OK {argv[0]} {kind} sounds on ({current})\n")
            action = f"{kind}-sounds-on"
        elif word in ("off", "none"):
            conf.flags.discard(flag)
            out.append(f"+OK {argv[0]} {kind} sounds off ({current})\n")
            action = f"{kind}-sounds-off"
        elif word == "file":
            new = _arg(argv, 3)
            if new is None:
                out.append("-ERR No filename specified\n")
                return True
            if kind == "exit":
                out.append(f"+OK Old exit sound: [{current}]\n")
            setattr(conf, attr, new)
            out.append(f"+OK {argv[0]} {kind} sound file set to {new}\n")
            action = f"{kind}-sound-file-changed"
        else:
            out.append("-ERR Bad args\n")
            return False
        if conf.allowed("lock"):
            conf.fire_conf(action)
        return True

    return command


def record(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) <= 2:
        return False
    if _arg(argv, 3) is not None:
        out.append("-ERR Invalid canvas\n")
    wanted = argv[2].rsplit("}", 1)[-1].lstrip(" }")
    for rec in conf.records:
        if rec.path.rsplit("}", 1)[-1].lstrip(" }") == wanted:
            out.append(f"-ERR file [{rec.path}] is already being used for recording.\n")
            return True
    out.append(f"+OK Record file {argv[2]}\n")
    conf.record_filename = argv[2]
    conf.record_count += 1
    conf.start_recording(argv[2])
    return True


def norecord(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) <= 2:
        return False
    everything = argv[2].lower() == "all"
    before = conf.record_count
    stopped = 0
    for member in conf.members:
        rec = member.recorder
        if member.channel is None and rec is not None and (everything or rec.path == argv[2]):
            if rec.autorec and "restart_auto_record" not in conf.flags:
                out.append(
                    f"Stopped AUTO recording file {rec.path} (Auto Recording Now Disabled)\n"
                )
                conf.auto_record = None
            else:
                out.append(f"Stopped recording file {rec.path}\n")
            member.flags.discard("running")
            stopped += 1
    if not stopped and not everything:
        out.append(f"-ERR non-existant recording '{argv[2]}'\n")
    if stopped:
        conf.poke()
    ttl = before - conf.record_count
    out.append(f"+OK Stopped recording {ttl} file{'' if ttl == 1 else 's'}\n")
    return True


def pauserec(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) <= 2:
        return False
    action = argv[1].lower()
    if action not in ("pause", "resume"):
        return False
    word = "Pause" if action == "pause" else "Resume"
    out.append(f"+OK {word} recording file {argv[2]}\n")
    found = 0
    now = conf.core.clock.now()
    for member in conf.members:
        rec = member.recorder
        if member.channel is None and rec is not None and rec.path == argv[2]:
            found = 1
            if action == "pause" and rec.paused_since is None:
                if rec.loud_open is not None:
                    rec.loud.append((rec.loud_open, rec.file_ms(now)))
                    rec.loud_open = None
                rec.paused_since = now
            elif action == "resume" and rec.paused_since is not None:
                rec.paused_total += now - rec.paused_since
                rec.paused_since = None
                conf._talk_span(True)
    if not found:
        out.append(f"-ERR non-existant recording '{argv[2]}'\n")
    elif conf.allowed("record"):
        conf.fire_conf(
            f"{action}-recording",
            [("Path", argv[2]), ("Other-Recordings", "true" if conf.record_count else "false")],
            origin=("conference_api.c", "conference_api_sub_pauserec", 3860),
        )
    return True


def recording(conf: Conference, out: Out, argv: list[str]) -> bool:
    argv = list(argv)
    if 2 < len(argv) <= 3 and argv[2].lower() in ("stop", "check"):
        argv.append("all")
    if len(argv) <= 3:
        return record(conf, out, argv)
    sub = argv[2].lower()
    if sub == "start":
        return record(conf, out, [argv[0], "start", argv[3], *argv[4:5]])
    if sub == "stop":
        return norecord(conf, out, [argv[0], "stop", argv[3]])
    if sub == "check":
        return check_record(conf, out, [argv[0], "check", argv[3]])
    if sub in ("pause", "resume"):
        return pauserec(conf, out, [argv[0], sub, argv[3]])
    return False


def check_record(conf: Conference, out: Out, argv: list[str]) -> bool:
    if not conf.records:
        out.append("-ERR Conference is not being recorded.\n")
    for rec in conf.records:
        out.append(f"+OK Record file {rec.path}{' (Auto)' if rec.autorec else ''}\n")
    return True


def pin(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) == 4 and argv[2] == "mod":
        conf.mpin = argv[3]
        out.append(f"+OK Moderator Pin for conference {argv[0]} set: {conf.mpin}\n")
        return True
    if len(argv) == 3 and argv[1] == "pin":
        conf.pin = argv[2]
        out.append(f"+OK Pin for conference {argv[0]} set: {conf.pin}\n")
        return True
    if len(argv) == 2 and argv[1] == "nopin":
        conf.pin = None
        out.append(f"+OK Pin for conference {argv[0]} deleted\n")
        return True
    out.append("-ERR Invalid parameters:\n")
    return False


def get(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) != 3:
        return False
    now = conf.core.clock.now()
    values = {
        "run_time": lambda: str(int(now) - int(conf.run_time)),
        "count": lambda: str(conf.count),
        "count_ghosts": lambda: str(conf.count_ghosts),
        "max_members": lambda: str(conf.max_members),
        "rate": lambda: str(conf.rate),
        "profile_name": lambda: conf.profile_name,
        "sound_prefix": lambda: conf.sound_prefix or "(null)",
        "caller_id_name": lambda: conf.caller_id_name,
        "caller_id_number": lambda: conf.caller_id_number,
        "is_locked": lambda: "locked" if "locked" in conf.flags else "",
        "endconference_grace_time": lambda: str(conf.endconference_grace_time),
        "uuid": lambda: conf.uuid,
        "wait_mod": lambda: "true" if "wait_mod" in conf.flags else "",
    }
    value = values.get(argv[2].lower())
    if value is None:
        return False
    out.append(value())
    return True


def set_(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) != 4 or not argv[3]:
        return False
    name, value = argv[2].lower(), argv[3]
    if name == "max_members":
        new = atoi(value)
        if new < 0:
            return False
        out.append(str(conf.max_members))
        conf.max_members = new
    elif name in ("sound_prefix", "caller_id_name", "caller_id_number"):
        old = getattr(conf, name)
        out.append(old if old is not None else "(null)")
        setattr(conf, name, value)
    elif name == "endconference_grace_time":
        new = atoi(value)
        if new < 0:
            return False
        out.append(str(conf.endconference_grace_time))
        conf.endconference_grace_time = new
    else:
        return False
    return True


def file_vol(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) < 3:
        out.append("-ERR missing args\n")
        return False
    if conf.fnodes and not conf.fnodes[0].speech:
        out.append("+OK volume changed\n")
        return True
    out.append("-ERR File not playing\n")
    return False


def transfer(conf: Conference, out: Out, argv: list[str]) -> bool:
    if len(argv) < 4:
        return False
    out.append("-ERR transfer is not simulated\n")
    return True


def dial(conf: Conference | None, out: Out, argv: list[str]) -> bool:
    out.append("-ERR dial is not simulated: there is no endpoint to call\n")
    return True


def _canvas_auto_clear(conf: Conference, out: Out, argv: list[str]) -> bool:
    out.append("+OK\n")
    return True


def _no_video(conf: Conference, out: Out, argv: list[str]) -> bool:
    out.append("-ERR Conference is not in mixing mode\n")
    return True


def _nothing(conf: Conference, out: Out, argv: list[str]) -> bool:
    return True


# (pname, pcommand, psyntax, kind, function): conference_api_sub_commands order
COMMANDS: list[tuple[str, str, str, str, Callable]] = [
    (
        "canvas-auto-clear",
        "canvas-auto-clear",
        "<canvas_id> <true|false>",
        SPLIT,
        _canvas_auto_clear,
    ),
    ("count", "count", "", SPLIT, count),
    ("list", "list", "[delim <string>]|[count]", SPLIT, list_),
    ("xml_list", "xml_list", "", SPLIT, xml_list),
    ("json_list", "json_list", "[compact]", SPLIT, json_list),
    ("energy", "energy", "<member_id|all|last|non_moderator> [<newval>]", MEMBER, energy),
    (
        "auto-energy",
        "auto-energy",
        "<member_id|all|last|non_moderator> [<newval>]",
        MEMBER,
        _audio_only("Auto-Energy {id} = 0\n"),
    ),
    (
        "max-energy",
        "max-energy",
        "<member_id|all|last|non_moderator> [<newval>]",
        MEMBER,
        _audio_only("Max-Energy {id} = 0\n"),
    ),
    (
        "agc",
        "agc",
        "<member_id|all|last|non_moderator> [<newval>]",
        MEMBER,
        _audio_only("Agc {id} = 0\n"),
    ),
    (
        "vid-canvas",
        "vid-canvas",
        "<member_id|all|last|non_moderator> [<newval>]",
        MEMBER,
        _audio_only("-ERR Conference is not in mixing mode\n"),
    ),
    (
        "vid-watching-canvas",
        "vid-watching-canvas",
        "<member_id|all|last|non_moderator> [<newval>]",
        MEMBER,
        _audio_only("-ERR Conference is not in mixing mode\n"),
    ),
    (
        "vid-layer",
        "vid-layer",
        "<member_id|all|last|non_moderator> [<newval>]",
        MEMBER,
        _audio_only("-ERR Channel {id} is not in a video layer\n"),
    ),
    ("volume_in", "volume_in", "<member_id|all|last|non_moderator> [<newval>]", MEMBER, volume_in),
    (
        "volume_out",
        "volume_out",
        "<member_id|all|last|non_moderator> [<newval>]",
        MEMBER,
        volume_out,
    ),
    (
        "position",
        "position",
        "<member_id> <x>:<y>:<z>",
        MEMBER,
        _audio_only("-ERR cannot set position on mono conference\n"),
    ),
    ("auto-3d-position", "auto-3d-position", "[on|off]", SPLIT, _nothing),
    ("play", "play", "<file_path> [async|<member_id> [nomux]]", SPLIT, play),
    ("moh", "moh", "<file_path>|toggle|[on|off]", SPLIT, moh),
    ("pause_play", "pause", "[<member_id>]", SPLIT, pause_play),
    ("play_status", "play_status", "[<member_id>]", SPLIT, play_status),
    ("file_seek", "file_seek", "[+-]<val> [<member_id>]", SPLIT, _nothing),
    ("say", "say", "<text>", ONE, say),
    ("saymember", "saymember", "<member_id> <text>", ONE, saymember),
    ("cam", "cam", "", SPLIT, _no_video),
    ("stop", "stop", "<[current|all|async|last]> [<member_id>]", SPLIT, stop),
    ("dtmf", "dtmf", "<[member_id|all|last|non_moderator]> <digits>", MEMBER, dtmf),
    ("kick", "kick", "<[member_id|all|last|non_moderator]> [<optional sound file>]", MEMBER, kick),
    (
        "vid-flip",
        "vid-flip",
        "<[member_id|all|last|non_moderator]>",
        MEMBER,
        _audio_only("+OK flipped {id}\n"),
    ),
    (
        "vid-border",
        "vid-border",
        "<[member_id|all|last|non_moderator]>",
        MEMBER,
        _audio_only("-ERR No text supplied\n"),
    ),
    ("hup", "hup", "<[member_id|all|last|non_moderator]>", MEMBER, hup),
    ("hold", "hold", "<[member_id|all]|last|non_moderator> [file]", MEMBER, hold),
    ("unhold", "unhold", "<[member_id|all]|last|non_moderator>", MEMBER, unhold),
    ("mute", "mute", "<[member_id|all]|last|non_moderator> [<quiet>]", MEMBER, mute),
    ("tmute", "tmute", "<[member_id|all]|last|non_moderator> [<quiet>]", MEMBER, tmute),
    ("unmute", "unmute", "<[member_id|all]|last|non_moderator> [<quiet>]", MEMBER, unmute),
    ("vmute", "vmute", "<[member_id|all]|last|non_moderator> [<quiet>]", MEMBER, _audio_only("")),
    ("tvmute", "tvmute", "<[member_id|all]|last|non_moderator> [<quiet>]", MEMBER, _audio_only("")),
    (
        "vmute-snap",
        "vmute-snap",
        "<[member_id|all]|last|non_moderator>",
        MEMBER,
        _audio_only("-ERR Conference is not in mixing mode\n"),
    ),
    (
        "unvmute",
        "unvmute",
        "<[member_id|all]|last|non_moderator> [<quiet>]",
        MEMBER,
        _audio_only(""),
    ),
    ("vblind", "vblind", "<[member_id|all]|last|non_moderator> [<quiet>]", MEMBER, _audio_only("")),
    (
        "tvblind",
        "tvblind",
        "<[member_id|all]|last|non_moderator> [<quiet>]",
        MEMBER,
        _audio_only(""),
    ),
    (
        "unvblind",
        "unvblind",
        "<[member_id|all]|last|non_moderator> [<quiet>]",
        MEMBER,
        _audio_only(""),
    ),
    ("deaf", "deaf", "<[member_id|all]|last|non_moderator>", MEMBER, deaf),
    ("undeaf", "undeaf", "<[member_id|all]|last|non_moderator>", MEMBER, undeaf),
    (
        "vid-filter",
        "vid-filter",
        "<[member_id|all]|last|non_moderator> <string>",
        MEMBER,
        _audio_only("+OK\n"),
    ),
    (
        "relate",
        "relate",
        "<member_id>[,<member_id>] <other_member_id>[,<other_member_id>] [nospeak|nohear|clear]",
        SPLIT,
        relate,
    ),
    ("getvar", "getvar", "<varname>", SPLIT, getvar),
    ("setvar", "setvar", "<varname> <value>", SPLIT, setvar),
    ("lock", "lock", "", SPLIT, lock),
    ("unlock", "unlock", "", SPLIT, unlock),
    (
        "dial",
        "dial",
        "<endpoint_module_name>/<destination> <callerid number> <callerid name>",
        SPLIT,
        dial,
    ),
    (
        "bgdial",
        "bgdial",
        "<endpoint_module_name>/<destination> <callerid number> <callerid name>",
        SPLIT,
        dial,
    ),
    ("transfer", "transfer", "<conference_name> <member id> [...<member id>]", SPLIT, transfer),
    ("record", "record", "<filename>", SPLIT, record),
    ("chkrecord", "chkrecord", "<confname>", SPLIT, check_record),
    ("norecord", "norecord", "<[filename|all]>", SPLIT, norecord),
    ("pause", "pause", "<filename>", SPLIT, pauserec),
    ("resume", "resume", "<filename>", SPLIT, pauserec),
    (
        "recording",
        "recording",
        "[start|stop|check|pause|resume] [<filename>|all]",
        SPLIT,
        recording,
    ),
    ("exit_sound", "exit_sound", "on|off|none|file <filename>", SPLIT, _sounds("exit")),
    ("enter_sound", "enter_sound", "on|off|none|file <filename>", SPLIT, _sounds("enter")),
    ("pin", "pin", "<pin#>", SPLIT, pin),
    ("nopin", "nopin", "", SPLIT, pin),
    ("get", "get", "<parameter-name>", SPLIT, get),
    (
        "set",
        "set",
        "<max_members|sound_prefix|caller_id_name|caller_id_number|endconference_grace_time> "
        "<value>",
        SPLIT,
        set_,
    ),
    ("file-vol", "file-vol", "<vol#>", SPLIT, file_vol),
    ("floor", "floor", "<member_id|last>", MEMBER, floor),
    ("vid-floor", "vid-floor", "<member_id|last> [force]", MEMBER, _audio_only("")),
    ("vid-banner", "vid-banner", "<member_id|last> <text>", MEMBER, _audio_only("")),
    ("vid-mute-img", "vid-mute-img", "<member_id|last> [<path>|clear]", MEMBER, _audio_only("")),
    ("vid-logo-img", "vid-logo-img", "<member_id|last> [<path>|clear]", MEMBER, _audio_only("")),
    (
        "vid-codec-group",
        "vid-codec-group",
        "<member_id|last> [<group>|clear]",
        MEMBER,
        _audio_only(""),
    ),
    ("vid-res-id", "vid-res-id", "<member_id>|all <val>|clear [force]", SPLIT, _no_video),
    ("vid-role-id", "vid-role-id", "<member_id|last> <val>|clear", MEMBER, _audio_only("")),
    ("get-uuid", "get-uuid", "<member_id|last>", MEMBER, get_uuid),
    (
        "clear-vid-floor",
        "clear-vid-floor",
        "",
        ONE,
        lambda conf, out, text: out.append("+OK\n") or True,
    ),
    (
        "vid-layout",
        "vid-layout",
        "<layout name>|group <group name> [<canvas id>]",
        SPLIT,
        _no_video,
    ),
    ("vid-write-png", "vid-write-png", "<path>", SPLIT, _no_video),
    ("vid-fps", "vid-fps", "<fps>", SPLIT, _no_video),
    ("vid-res", "vid-res", "<WxH>", SPLIT, _no_video),
    ("vid-fgimg", "vid-fgimg", "<file> | clear [<canvas-id>]", SPLIT, _no_video),
    ("vid-bgimg", "vid-bgimg", "<file> | clear [<canvas-id>]", SPLIT, _no_video),
    ("vid-bandwidth", "vid-bandwidth", "<BW>", SPLIT, _no_video),
    ("vid-personal", "vid-personal", "[on|off]", SPLIT, _no_video),
]
_BY_NAME = {c[0].lower(): c for c in COMMANDS}
_NEEDS_CORE = {list_, json_list, xml_list}


def usage() -> str:
    """What a bare ``conference`` prints (captured in 02c)."""
    return "".join(f"<conf name> {pcommand} {syntax}\n" for _, pcommand, syntax, _, _ in COMMANDS)


def help_text() -> str:
    """conference_api_sub_syntax + newline (``conference help``)."""
    lines = [
        f"\t\t{pcommand}{' ' + syntax if syntax else ''}" for _, pcommand, syntax, _, _ in COMMANDS
    ]
    return "\n".join(lines) + "\n"


def _arg(argv: list[str], index: int) -> str | None:
    return argv[index] if index < len(argv) else None


def _rooms(core: Core) -> list[Conference]:
    return [c for c in core.conferences.values() if "destruct" not in c.flags]


def _dispatch(core: Core, conf: Conference, out: Out, argv: list[str], cmdline: str) -> None:
    """conference_api_dispatch."""
    entry = _BY_NAME.get(argv[1].lower())
    if entry is None:
        out.append(f"-ERR Conference command '{argv[1]}' not found.\n")
        return
    pname, pcommand, syntax, kind, func = entry
    if kind == SPLIT:
        ok = func(conf, out, argv, core) if func in _NEEDS_CORE else func(conf, out, argv)
        if not ok:
            out.append(f"{pcommand} {syntax}")
    elif kind == ONE:
        start = cmdline.find(pname)
        text = cmdline[start + len(pname) :].lstrip(" \t") if start >= 0 else cmdline
        if not func(conf, out, text):
            out.append(f"{pcommand} {syntax}")
    else:
        _member_target(conf, out, argv, func, pcommand, syntax)


def _member_target(
    conf: Conference, out: Out, argv: list[str], func: Callable, pcommand: str, syntax: str
) -> None:
    selector = _arg(argv, 2)
    data = _arg(argv, 3)
    member_id = as_uint32(atoi(selector)) if selector is not None else 0
    if selector is not None and not member_id and selector.lower() in ("all", "non_moderator"):
        non_mod = selector.lower() == "non_moderator"
        for member in list(conf.members):
            if non_mod and member.has("moderator"):
                out.append(f"Skipping moderator (member id {member.id}).\n")
            elif member.channel is not None:
                func(member, out, data)
        return
    if selector is not None and not member_id and selector.lower() == "last":
        last = None
        for member in conf.members:
            if last is None or member.id > last.id:
                last = member
        if last is not None and last.channel is not None:
            func(last, out, data)
        return
    if member_id:
        member = conf.get_member(member_id)
        if member is None or member.channel is None:
            out.append(f"-ERR Non-Existant ID {member_id}\n")
        else:
            func(member, out, data)
        return
    if selector and "=" in selector:
        var, _, value = selector.partition("=")
        member = conf.member_by_var(var, value)
        if member is None:
            out.append("-ERR Non-Existant member\n")
        else:
            func(member, out, data)
        return
    out.append(f"{pcommand} {syntax}")


def conference_api(core: Core, arg: str, session: Channel | None) -> str:
    """conference_api_main_real."""
    from controller.sim.conference.app import find_conference

    if not arg:
        return usage()
    argv = separate_string(arg, " ", 25)
    if not argv:
        return usage()
    out: Out = []
    conf = find_conference(core, argv[0])
    if conf is not None:
        if len(argv) >= 2:
            _dispatch(core, conf, out, argv, arg)
        else:
            out.append("Conference command, not specified.\nTry 'help'\n")
        return "".join(out)
    word = argv[0].lower()
    if word == "list":
        list_(None, out, argv, core)
    elif word == "count":
        out.append(str(len(_rooms(core))))
    elif word == "xml_list":
        xml_list(None, out, argv, core)
    elif word == "json_list":
        json_list(None, out, argv, core)
    elif word in ("help", "commands"):
        out.append(help_text())
    elif len(argv) > 1 and argv[1].lower() in ("dial", "bgdial"):
        dial(None, out, argv)
    else:
        out.append(f"-ERR Conference {argv[0]} not found\n")
    return "".join(out)
