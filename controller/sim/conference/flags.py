"""Flag words and the ``conference`` application argument (pure).

Mirrors conference_utils_set_mflags / set_cflags / clear_eflags and the
argument parsing at the top of conference_function.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.sim.fsutil import separate_string, switch_true

# member flags a caller starts with (conference_new: mflags CAN_SPEAK|CAN_HEAR|...)
BASE_MEMBER_FLAGS = frozenset({"can_speak", "can_hear", "can_be_seen", "can_see"})

_MFLAG_WORDS = {
    "dist-dtmf": "dist_dtmf", "skip-dtmf": "skip_dtmf", "moderator": "moderator",
    "nomoh": "nomoh", "endconf": "endconf", "mandatory_member_endconf": "mandatory_member_endconf",
    "mintwo": "mintwo", "talk-data-events": "talk_data_events", "video-bridge": "video_bridge",
    "ghost": "ghost", "join-only": "join_only", "flip-video": "flip_video",
    "positional": "positional", "no-positional": "no_positional",
    "join-vid-floor": "join_vid_floor", "no-video-blanks": "no_video_blanks",
    "no-minimize-encoding": "no_minimize_encoding", "mute-detect": "mute_detect",
}  # fmt: skip

_CFLAG_WORDS = {
    "wait-mod": "wait_mod", "video-floor-only": "video_floor_only",
    "audio-always": "audio_always", "restart-auto-record": "restart_auto_record",
    "json-events": "json_events", "livearray-sync": "livearray_sync",
    "livearray-json-status": "json_status", "rfc-4579": "rfc4579",
    "auto-3d-position": "positional", "minimize-video-encoding": "minimize_video_encoding",
    "video-bridge-first-two": "video_bridge_first_two",
    "video-required-for-canvas": "video_required_for_canvas",
    "video-mute-exit-canvas": "video_mute_exit_canvas",
    "manage-inbound-video-bitrate": "manage_inbound_video_bitrate",
    "video-muxing-personal-canvas": "personal_canvas",
    "ded-vid-layer-audio-floor": "ded_vid_layer_audio_floor", "breakable": "breakable",
}  # fmt: skip

# suppress-events names (conference_utils_clear_eflags)
EVENT_FLAG_NAMES = frozenset({
    "del-member", "energy-level", "volume-level", "gain-level", "dtmf", "stop-talking",
    "start-talking", "mute-detect", "mute-member", "hold-member", "kick-member",
    "dtmf-member", "energy-level-member", "volume-in-member", "volume-out-member",
    "play-file", "play-file-done", "play-file-member", "speak-text", "speak-text-member",
    "lock", "unlock", "transfer", "bgdial-result", "floor-change", "record",
})  # fmt: skip


def apply_member_flags(text: str | None, flags: set[str]) -> set[str]:
    """conference_utils_set_mflags: any flag string first restores speak/hear/seen.

    Only 10 ``|``/``,`` separated words are read; unknown words are ignored.
    """
    if text is None:
        return flags
    flags |= {"can_speak", "can_hear", "can_be_seen"}
    for word in separate_string(text.replace(",", "|"), "|", 10):
        lowered = word.lower()
        if lowered == "mute":
            flags.discard("can_speak")
            flags.discard("talking")
        elif lowered == "vmute":
            flags.discard("can_be_seen")
        elif lowered == "deaf":
            flags.discard("can_hear")
        elif lowered == "blind":
            flags.discard("can_see")
        elif lowered == "second-screen":
            flags -= {"can_speak", "talking", "can_hear"}
            flags |= {"second_screen", "silent"}
        elif lowered in _MFLAG_WORDS:
            flags.add(_MFLAG_WORDS[lowered])
    return flags


def apply_conference_flags(text: str | None, flags: set[str]) -> set[str]:
    """conference_utils_set_cflags (25 words)."""
    if text is None:
        return flags
    for word in separate_string(text.replace(",", "|"), "|", 25):
        name = _CFLAG_WORDS.get(word.lower())
        if name:
            flags.add(name)
    return flags


def suppressed_events(text: str | None) -> frozenset[str]:
    """suppress-events: exact, comma-separated names (case-sensitive, as strcmp)."""
    if not text:
        return frozenset()
    return frozenset(w for w in text.split(",") if w in EVENT_FLAG_NAMES)


@dataclass(frozen=True)
class JoinArgs:
    """What ``name[@profile][+pin][+flags{...}]`` means."""

    name: str
    profile: str
    pin: str
    flags: str | None  # the text inside +flags{...}, None when absent
    bridge_to: str | None = None


def parse_join_arg(data: str) -> JoinArgs:
    """conference_function's argument parsing, in its order."""
    flags = None
    marker = data.find("+flags{")
    if marker >= 0:
        rest = data[marker + len("+flags{") :]
        flags = rest.split("}", 1)[0]
        data = data[:marker]
    bridge_to = None
    if data.lower().startswith("bridge:"):
        data = data[len("bridge:") :]
        data, _, bridge_to = data.partition(":")
    name = data.lstrip(" ")
    pin = ""
    if "+" in name:
        name, _, pin = name.partition("+")
    profile = "default"
    if "@" in name:
        name, _, profile = name.rpartition("@")
    return JoinArgs(name=name, profile=profile, pin=pin, flags=flags, bridge_to=bridge_to)


def combine_flag_var(variables: dict[str, str], globals_: dict[str, str], name: str) -> str | None:
    """conference_utils_combine_flag_var: ``name`` plus every true ``name_<flag>``."""
    merged = dict(globals_)
    merged.update(variables)
    result: str | None = None
    lowered = name.lower()
    for var, value in merged.items():
        if var.lower() == lowered:
            result = value if not result else f"{result}|{value}"
        elif var.lower().startswith(lowered) and switch_true(value):
            suffix = var[len(name) :]
            if suffix.startswith("_") and len(suffix) > 1:
                result = f"{result}|{suffix[1:]}" if result else f"(null)|{suffix[1:]}"
    return result
