"""The simulator's dialplan (context ``public``; pure).

Every number goes to the controller with ``socket <host>:<port> async full``,
except the test extensions of the capture setup (captures README, "Setup
used"), which let conformance tests replay the captures and let a benchmark
join rooms with no controller at all.
"""

from __future__ import annotations

from collections.abc import Callable

Extension = list[tuple[str, "str | None"]]
Dialplan = Callable[[str], Extension]

_AFTER = [("set", "post_conference_reached=true"), ("playback", "tone_stream://%(800,0,700)")]
MOH = "tone_stream://%(2000,4000,440,480);loops=-1"


def capture_extension(number: str, recordings_dir: str) -> Extension | None:
    """The ``<kind>-<room>`` extensions used to record the captures, or None."""
    kind, sep, room = number.partition("-")
    if not sep or not room:
        return None
    plain = [("answer", None), ("conference", f"{room}@default"), *_AFTER]
    if kind == "direct":
        return [("answer", None), ("conference", f"{room}@default")]
    if kind == "plain":
        return plain
    if kind == "plainnh":
        return [
            ("answer", None),
            ("set", "hangup_after_conference=false"),
            ("conference", f"{room}@default"),
            *_AFTER,
        ]
    if kind == "flags":
        flag, sep2, room2 = room.partition("-")
        if not sep2 or not room2:
            return None
        return [("answer", None), ("conference", f"{room2}@default+flags{{{flag}}}"), *_AFTER]
    if kind == "wmmember":
        return [("answer", None), ("conference", f"{room}@waitmod"), *_AFTER]
    if kind == "wmmod":
        return [("answer", None), ("conference", f"{room}@waitmod+flags{{moderator}}"), *_AFTER]
    if kind == "maxm":
        return [
            ("answer", None),
            ("set", "conference_max_members=2"),
            ("conference", f"{room}@default"),
            *_AFTER,
        ]
    if kind == "sounds":
        return [
            ("answer", None),
            ("set", "conference_enter_sound=tone_stream://%(300,0,1000)"),
            ("set", "conference_exit_sound=tone_stream://%(300,0,400)"),
            ("conference", f"{room}@default"),
            *_AFTER,
        ]
    if kind == "moh":
        return [
            ("answer", None),
            ("set", f"conference_moh_sound={MOH}"),
            ("conference", f"{room}@default"),
            *_AFTER,
        ]
    if kind == "mohnomoh":
        return [
            ("answer", None),
            ("set", f"conference_moh_sound={MOH}"),
            ("conference", f"{room}@default+flags{{nomoh}}"),
            *_AFTER,
        ]
    if kind == "autorec":
        path = f"{recordings_dir.rstrip('/')}/autorec_{room}.wav"
        return [
            ("answer", None),
            ("set", f"conference_auto_record={path}"),
            ("conference", f"{room}@default"),
            *_AFTER,
        ]
    if kind == "ctl":
        return [
            ("answer", None),
            ("set", "conference_controls=capctl"),
            ("conference", f"{room}@default"),
            *_AFTER,
        ]
    if kind == "dtmfbind":

        def bind(digit: str) -> tuple[str, str]:
            return (
                "bind_digit_action",
                f"realm,{digit},exec:event,'Event-Name=CUSTOM,Event-Subclass=conference::maintenance,"
                f"Action=digits-match,Unique-ID=${{uuid}},Conference-Name={room},Digits={digit}'",
            )

        return [
            ("answer", None),
            bind("1"),
            bind("2"),
            ("bind_digit_action", f"realm,*,api:conference,{room} kick last"),
            ("digit_action_set_realm", "realm"),
            ("conference", f"{room}@default"),
            *_AFTER,
        ]
    return None


def dp_match(number: str) -> str:
    """DP_MATCH for ``number``: the regex captures of the matching extension."""
    kind, sep, rest = number.partition("-")
    if sep and rest and capture_extension(number, "/") is not None:
        groups = rest.partition("-")[::2] if kind == "flags" else (rest,)
        return "ARRAY::" + "|:".join([number, *groups])
    return f"ARRAY::{number}|:{number}"


# freeswitch-conf/dialplan/phones.xml, after its `socket`: once more (a controller that
# lost the connection picks the call up again), then tell the caller and hang up.
PRODUCT_TAIL = [
    ("playback", "tone_stream://%(250,250,480,620);loops=6"),
    ("hangup", "NORMAL_TEMPORARY_FAILURE"),
]


def make_dialplan(socket_target: str, recordings_dir: str,
                  product: bool = False) -> Dialplan:
    """The default dialplan: capture extensions, else the outbound socket (twice, then an
    error tone and a hangup, with ``product``)."""

    def lookup(number: str) -> Extension:
        extension = capture_extension(number, recordings_dir)
        if extension is not None:
            return extension
        if product:
            return [("socket", socket_target), ("socket", socket_target), *PRODUCT_TAIL]
        return [("socket", socket_target)]

    return lookup
