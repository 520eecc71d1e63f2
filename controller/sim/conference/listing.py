"""``list``, ``json_list`` and ``xml_list`` output, byte for byte (pure renderers).

conference_list / conference_jlist / conference_xlist in mod_conference.c;
members come newest first; recording nodes appear in the JSON and XML lists
but not in ``list``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.sim import cjson
from controller.sim.fsutil import url_encode

if TYPE_CHECKING:
    from controller.sim.conference.room import Conference, Member

# list header flags, in conference_api_sub_list order: (flag, printed name)
_LIST_FLAGS = (
    ("locked", "locked"), ("destruct", "destruct"), ("wait_mod", "wait_mod"),
    ("audio_always", "audio_always"), ("running", "running"), ("answered", "answered"),
    ("enforce_min", "enforce_min"), ("bridge_to", "bridge_to"), ("dynamic", "dynamic"),
    ("exit_sound", "exit_sound"), ("enter_sound", "enter_sound"), ("@recording", "recording"),
    ("video_floor_only", "video_floor_only"), ("rfc4579", "video_rfc4579"),
    ("livearray_sync", "livearray_sync"), ("json_status", "json_status"),
)  # fmt: skip


def header_line(conf: Conference) -> str:
    """``+OK Conference <name> (<n> member[s] rate: <r>[ locked] flags: …)``."""
    flags = []
    for flag, name in _LIST_FLAGS:
        on = conf.record_count > 0 if flag == "@recording" else flag in conf.flags
        if on:
            flags.append(name)
    plural = "" if conf.count == 1 else "s"
    locked = " locked" if "locked" in conf.flags else ""
    return (
        f"+OK Conference {conf.name} ({conf.count} member{plural} rate: {conf.rate}{locked} "
        f"flags: {'|'.join(flags) if flags else 'none'})\n"
    )


def member_row(conf: Conference, member: Member, delim: str) -> str:
    channel = member.channel
    assert channel is not None
    hold = member.has("hold")
    flags = []
    if not hold and member.has("can_hear"):
        flags.append("hear")
    if not hold and member.has("can_speak"):
        flags.append("speak")
    if not hold and member.has("talking"):
        flags.append("talking")
    if hold:
        flags.append("hold")
    if member.id == conf.floor_holder:
        flags.append("floor")
    if member.has("moderator"):
        flags.append("moderator")
    if member.has("ghost"):
        flags.append("ghost")
    fields = [
        str(member.id),
        channel.name,
        channel.uuid,
        channel.leg.caller_name,
        channel.leg.caller_id,
        "|".join(flags),
    ]
    return (
        delim.join(fields) + f"{delim}{member.volume_in}{delim}{member.volume_out}"
        f"{delim}{member.energy_level}\n"
    )


def list_members(conf: Conference, delim: str = ";") -> str:
    return "".join(member_row(conf, m, delim) for m in conf.members if m.channel is not None)


def list_pretty(conf: Conference) -> str:
    return "".join(
        f"{m.id}) {m.channel.leg.caller_name} ({m.channel.leg.caller_id})\n"
        for m in conf.members
        if m.channel is not None
    )


def json_conference(conf: Conference, now: float) -> cjson.JObject:
    """conference_jlist for one room."""
    f = conf.flags
    obj = cjson.JObject(
        [
            ("conference_name", conf.name),
            ("member_count", conf.count),
            ("ghost_count", conf.count_ghosts),
            ("rate", conf.rate),
            ("run_time", int(now) - int(conf.run_time)),
            ("conference_uuid", conf.uuid),
            ("canvas_count", 0),
            ("max_bw_in", 0),
            ("force_bw_in", 0),
            ("video_floor_packets", 0),
            ("locked", "locked" in f),
            ("destruct", "destruct" in f),
            ("wait_mod", "wait_mod" in f),
            ("audio_always", "audio_always" in f),
            ("running", "running" in f),
            ("answered", "answered" in f),
            ("enforce_min", "enforce_min" in f),
            ("bridge_to", "bridge_to" in f),
            ("dynamic", "dynamic" in f),
            ("exit_sound", "exit_sound" in f),
            ("enter_sound", "enter_sound" in f),
            ("recording", conf.record_count > 0),
            ("video_bridge", "video_bridge_first_two" in f),
            ("video_floor_only", "video_floor_only" in f),
            ("video_rfc4579", "rfc4579" in f),
        ]
    )
    if conf.max_members > 0:
        obj.add("max_members", conf.max_members)
    obj.add("variables", cjson.JObject(list(conf.variables.items())))
    members: list = []
    for member in conf.members:
        members.append(_json_member(conf, member, now))
    obj.add("members", members)
    return obj


def _json_member(conf: Conference, member: Member, now: float) -> cjson.JObject:
    if member.channel is None:
        rec = member.recorder
        node = cjson.JObject()
        if rec is not None:
            node.add("type", "recording_node").add("record_path", rec.path)
            if rec.paused_since is not None:
                node.add("status", "paused")
            node.add("join_time", int(rec.started_at))
        return node
    hold = member.has("hold")
    channel = member.channel
    flags = cjson.JObject(
        [
            ("can_hear", not hold and member.has("can_hear")),
            ("can_see", not hold and member.has("can_see")),
            ("can_speak", not hold and member.has("can_speak")),
            ("hold", hold),
            ("mute_detect", member.has("mute_detect")),
            ("talking", member.has("talking")),
            ("has_video", False),
            ("video_bridge", member.has("video_bridge")),
            ("has_floor", member.id == conf.floor_holder),
            ("is_moderator", member.has("moderator")),
            ("end_conference", member.has("endconf")),
            ("mandatory_member_end_conference", member.has("mandatory_member_endconf")),
            ("pass_digits", member.has("dist_dtmf")),
        ]
    )
    last = int(now) - int(member.last_talking) if member.last_talking else 0
    return cjson.JObject(
        [
            ("type", "caller"),
            ("id", member.id),
            ("flags", flags),
            ("uuid", channel.uuid),
            ("caller_id_name", channel.leg.caller_name),
            ("caller_id_number", channel.leg.caller_id),
            ("join_time", int(now) - int(member.join_time)),
            ("last_talking", last),
            ("energy", member.energy_level),
            ("volume_in", member.volume_in),
            ("volume_out", member.volume_out),
            ("output-volume", member.volume_out),
            ("input-volume", member.volume_in),
        ]
    )


def json_list(confs: list[Conference], now: float, compact: bool) -> str:
    return cjson.dumps([json_conference(c, now) for c in confs], formatted=not compact)


def _xml_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _xml_conference(conf: Conference, now: float) -> list[str]:
    f = conf.flags
    attrs = [
        ("name", conf.name),
        ("member-count", str(conf.count)),
        ("ghost-count", str(conf.count_ghosts)),
        ("rate", str(conf.rate)),
        ("uuid", conf.uuid),
    ]
    for flag in (
        "locked",
        "destruct",
        "wait_mod",
        "audio_always",
        "running",
        "answered",
        "enforce_min",
        "bridge_to",
        "dynamic",
        "exit_sound",
        "enter_sound",
    ):
        if flag in f:
            attrs.append((flag, "true"))
    if conf.max_members > 0:
        attrs.append(("max_members", str(conf.max_members)))
    if conf.record_count > 0:
        attrs.append(("recording", "true"))
    if conf.endconference_grace_time > 0:
        attrs.append(("endconference_grace_time", str(conf.endconference_grace_time)))
    if "video_floor_only" in f:
        attrs.append(("video_floor_only", "true"))
    if "rfc4579" in f:
        attrs.append(("video_rfc4579", "true"))
    attrs.append(("run_time", str(int(now) - int(conf.run_time))))
    out = ["  <conference " + " ".join(f'{k}="{_xml_escape(v)}"' for k, v in attrs) + ">"]
    if conf.variables:
        out.append("    <variables>")
        out += [
            f'      <variable name="{_xml_escape(k)}" value="{_xml_escape(v)}"/>'
            for k, v in conf.variables.items()
        ]
        out.append("    </variables>")
    else:
        out.append("    <variables></variables>")
    members = [_xml_member(conf, m, now) for m in conf.members]
    members = [m for m in members if m]
    if members:
        out.append("    <members>")
        for lines in members:
            out += lines
        out.append("    </members>")
    else:
        out.append("    <members></members>")
    out.append("  </conference>")
    return out


def _xml_member(conf: Conference, member: Member, now: float) -> list[str]:
    ind = "      "
    if member.channel is None:
        rec = member.recorder
        if rec is None:
            return []
        status = ' status="paused"' if rec.paused_since is not None else ""
        return [
            f'{ind}<member type="recording_node">',
            f"{ind}  <record_path{status}>{_xml_escape(rec.path)}</record_path>",
            f'{ind}  <join_time type="UNIX-epoch">{int(rec.started_at)}</join_time>',
            f"{ind}</member>",
        ]
    hold = member.has("hold")
    channel = member.channel
    flags = [
        ("can_hear", not hold and member.has("can_hear")),
        ("can_see", not hold and member.has("can_see")),
        ("can_speak", not hold and member.has("can_speak")),
        ("mute_detect", member.has("mute_detect")),
        ("talking", not hold and member.has("talking")),
        ("hold", hold),
        ("has_video", False),
        ("video_bridge", member.has("video_bridge")),
        ("has_floor", member.id == conf.floor_holder),
        ("is_moderator", member.has("moderator")),
        ("end_conference", member.has("endconf")),
        ("mandatory_member_end_conference", member.has("mandatory_member_endconf")),
        ("is_ghost", member.has("ghost")),
    ]
    last = str(int(now) - int(member.last_talking)) if member.last_talking else "N/A"

    def tag(name: str, value: str) -> str:
        return f"{ind}  <{name}>{_xml_escape(url_encode(value))}</{name}>"

    lines = [f'{ind}<member type="caller">', tag("id", str(member.id)), f"{ind}  <flags>"]
    lines += [f"{ind}    <{k}>{'true' if v else 'false'}</{k}>" for k, v in flags]
    lines.append(f"{ind}  </flags>")
    lines += [
        tag("uuid", channel.uuid),
        tag("caller_id_name", channel.leg.caller_name),
        tag("caller_id_number", channel.leg.caller_id),
        tag("join_time", str(int(now) - int(member.join_time))),
        tag("last_talking", last),
        tag("energy", str(member.energy_level)),
        tag("volume_in", str(member.volume_in)),
        tag("volume_out", str(member.volume_out)),
        tag("output-volume", str(member.volume_out)),
        f"{ind}</member>",
    ]
    return lines


def xml_list(confs: list[Conference], now: float) -> str:
    if not confs:
        return '<?xml version="1.0"?>\n<conferences></conferences>\n'
    lines = ['<?xml version="1.0"?>', "<conferences>"]
    for conf in confs:
        lines += _xml_conference(conf, now)
    lines.append("</conferences>")
    return "\n".join(lines) + "\n"
