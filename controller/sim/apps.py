"""mod_dptools applications the simulator offers (the conference and socket
applications live in their own modules).

Response strings, variables and events follow mod_dptools.c and
switch_ivr_play_say.c; timed media take as long as the media lasts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from controller.sim import media
from controller.sim.digits import DigitMachine, Outcome
from controller.sim.events import Event, event_type
from controller.sim.fsutil import atoi, cause_from_str, separate_string, switch_true
from controller.sim.session import PlayResult, play, register_app

if TYPE_CHECKING:
    from controller.sim.channel import Channel


# ------------------------------------------------------------ call control
@register_app("answer", nomedia=True)
def answer_app(channel: Channel, arg: str) -> None:
    channel.answer()


@register_app("pre_answer", nomedia=True)
def pre_answer_app(channel: Channel, arg: str) -> None:
    channel.pre_answer()


@register_app("ring_ready", nomedia=True)
def ring_ready_app(channel: Channel, arg: str) -> None:
    """mod_dptools ring_ready: switch_channel_ring_ready (180 Ringing, no media)."""
    channel.ring_ready()


@register_app("hangup", nomedia=True)
def hangup_app(channel: Channel, arg: str) -> None:
    channel.hangup(cause_from_str(arg or None))


@register_app("park")
def park_app(channel: Channel, arg: str) -> None:
    from controller.sim.session import park

    park(channel)


# ------------------------------------------------------------ variables
def _base_set(channel: Channel, data: str) -> None:
    name, sep, value = data.partition("=")
    if not name:
        return
    channel.set_var(name, value if sep else None)


@register_app("set", nomedia=True)
def set_app(channel: Channel, arg: str) -> None:
    _base_set(channel, arg)


@register_app("export", nomedia=True)
def export_app(channel: Channel, arg: str) -> None:
    _base_set(channel, arg)
    name = arg.partition("=")[0]
    if name:
        exports = channel.get_var("export_vars")
        channel.set_var("export_vars", f"{exports},{name}" if exports else name)


@register_app("unset", nomedia=True)
def unset_app(channel: Channel, arg: str) -> None:
    if arg:
        channel.set_var(arg, None)


@register_app("multiset", nomedia=True)
def multiset_app(channel: Channel, arg: str) -> None:
    for item in separate_string(arg, " ", 256):
        _base_set(channel, item)


# ------------------------------------------------------------ timed media
@register_app("sleep", nomedia=True)
def sleep_app(channel: Channel, arg: str) -> None:
    if not arg:
        return
    terminators = "1234567890*#" if switch_true(channel.get_var("sleep_eat_digits")) else None
    play(channel, max(0, atoi(arg)), terminators=terminators)


def playback_terminators(channel: Channel) -> str | None:
    """on_dtmf: playback_terminators, default ``*``; ``any``/``none`` special."""
    value = channel.get_var("playback_terminators")
    if value is None:
        return "*"
    lowered = value.lower()
    if lowered == "any":
        return "1234567890*#"
    if lowered == "none":
        return None
    return value


def play_file(channel: Channel, path: str, terminators: str | None,
              on_digit: Callable[[str], bool] | None = None, take_digits: bool = True) -> str:
    """switch_ivr_play_file: PLAYBACK_START/STOP and the playback_* variables.
    ``on_digit``/``take_digits``: as ``session.play``."""
    prefix = channel.get_var("sound_prefix") or channel.core.config.sounds_dir or None
    try:
        opened = media.open_media(path, prefix)
    except media.MediaNotFound:
        return "FILE NOT FOUND"
    kind = [("Playback-File-Type", "tone_stream")] if path.startswith("tone_stream:") else []
    channel.fire("PLAYBACK_START", kind + [("Playback-File-Path", path)])
    channel.hear(path)
    clock = channel.core.clock
    started = clock.now()
    result = play(channel, opened.duration_ms, terminators=terminators, on_digit=on_digit,
                  take_digits=take_digits)
    played_ms = min(opened.duration_ms, (clock.now() - started) * 1000.0)
    if math.isinf(played_ms):
        played_ms = 0.0
    samples = int(played_ms * 8)
    channel.set_var("playback_last_offset_pos", str(samples))
    channel.set_var("playback_seconds", str(samples // 8000))
    channel.set_var("playback_ms", str(samples // 8))
    channel.set_var("playback_samples", str(samples))
    status = "break" if result == PlayResult.BREAK else "done"
    channel.fire(
        "PLAYBACK_STOP", kind + [("Playback-File-Path", path), ("Playback-Status", status)]
    )
    return "FILE PLAYED"


@register_app("playback")
def playback_app(channel: Channel, arg: str) -> None:
    channel.set_var("playback_terminator_used", None)
    path = arg.split("@@", 1)[0] if "@@" in arg else arg
    if not path:
        channel.set_var("current_application_response", "FILE NOT FOUND")
        return
    response = play_file(channel, path, playback_terminators(channel))
    channel.set_var("current_application_response", response)


@register_app("speak")
def speak_app(channel: Channel, arg: str) -> None:
    """``engine|voice|text`` (or ``voice|text``, ``text`` with tts_engine/tts_voice)."""
    parts = separate_string(arg, "|", 3) if arg else []
    engine = voice = text = None
    if len(parts) == 1:
        text = arg
    elif len(parts) == 2:
        voice, text = parts[0], arg.split("|", 1)[1]
    elif len(parts) >= 3:
        engine, voice, text = parts[0], parts[1], arg.split("|", 2)[2]
    engine = engine or channel.get_var("tts_engine")
    voice = voice or channel.get_var("tts_voice")
    if not (engine and voice and text):
        channel.core.log(
            3,
            "mod_dptools.c",
            "speak_function",
            3012,
            f"Invalid Params! [{engine or 'NULL'}][{voice or 'NULL'}][{text or 'NULL'}]",
            channel.uuid,
        )
        channel.hangup("DESTINATION_OUT_OF_ORDER")
        return
    channel.hear(f"say:{engine}|{voice}|{text}")
    play(channel, media.speech_ms(text), terminators=playback_terminators(channel))


@register_app("flush_dtmf", nomedia=True)
def flush_dtmf_app(channel: Channel, arg: str) -> None:
    """mod_dptools.c:1183-1186 -> switch_channel_flush_dtmf (switch_channel.c:727-739):
    the queued digits are dropped without DTMF events (SAF_SUPPORT_NOMEDIA, 6648)."""
    channel.flush_dtmf()


# ------------------------------------------------------------ events
@register_app("event", nomedia=True)
def event_app(channel: Channel, arg: str) -> None:
    """Fire CHANNEL_APPLICATION, or whatever ``Event-Name=``/``Event-Subclass=`` say."""
    bus = channel.core.bus
    event = bus.create("CHANNEL_APPLICATION", ("mod_dptools.c", "event_function", 1902))
    for item in separate_string(arg, ",", 25) if arg else []:
        name, sep, value = item.partition("=")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if name.lower() == "event-name":
            resolved = event_type(value)
            if resolved:
                event.name = resolved
            event.remove(name)
            event.add(name, value)
        elif name.lower() == "event-subclass":
            event.subclass = value
            event.add(name, value)
        else:
            event.add(name, value)
    event.extend(channel.full_data())
    bus.fire(event)


@register_app("log", nomedia=True)
def log_app(channel: Channel, arg: str) -> None:
    level_word, _, text = arg.partition(" ")
    levels = {"debug": 7, "info": 6, "notice": 5, "warning": 4, "err": 3, "crit": 2, "alert": 1}
    level = levels.get(level_word.lower())
    if level is None:
        level, text = 7, arg
    channel.core.log(level, "mod_dptools.c", "log_function", 1726, text, channel.uuid)


# ------------------------------------------------------------ digit actions
class DigitAction:
    """One bind_digit_action binding: what to do when its digits match."""

    def __init__(self, string: str, value: str) -> None:
        self.string = string
        self.value = value


class ChannelDigits:
    """Connects a DigitMachine to its channel: timers, callbacks, requeueing."""

    def __init__(self, channel: Channel, digit_timeout_ms: int, input_timeout_ms: int) -> None:
        self.channel = channel
        self.machine = DigitMachine(digit_timeout_ms, input_timeout_ms)
        self._timer = None

    def _now_ms(self) -> float:
        return self.channel.core.clock.now() * 1000.0

    def feed(self, digit: str) -> None:
        outcome = self.machine.feed(digit, self._now_ms())
        self._handle(outcome)

    def _handle(self, outcome: Outcome) -> None:
        if outcome.kind == "match" and outcome.binding is not None:
            self._matched(outcome.binding.action, outcome.digits)
        elif outcome.kind == "nomatch":
            self._not_matched(outcome.digits)
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = self.machine.deadline_ms()
        if deadline is None:
            return
        delay = max(0.0, (deadline - self._now_ms()) / 1000.0)
        self._timer = self.channel.core.spawn_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        if self.channel.down or self.channel.dmachine is not self:
            return
        outcome = self.machine.check_timeout(self._now_ms())
        if outcome.kind == "wait" and self.machine.digits:
            self._arm_timer()
            return
        self._handle(outcome)

    def _matched(self, action: DigitAction, digits: str) -> None:
        """digit_action_callback."""
        channel = self.channel
        channel.set_var("last_matching_digits", digits)
        string = action.string
        exec_mode = 0
        api = False
        if string.lower().startswith("exec"):
            rest = string[4:]
            if rest.startswith(":"):
                string, exec_mode = rest[1:], 1
            elif rest.startswith("[") and "]:" in rest:
                flags, _, string = rest[1:].partition("]:")
                exec_mode = 2 if "i" in flags else 1
        elif string.lower().startswith("api:"):
            string, api = string[4:], True
        data = Event("CHANNEL_DATA")  # switch_event_create_plain: no standard headers
        data.add(string, action.value)
        data.add("digits", digits)
        if exec_mode:
            data.add("execute", "non-blocking" if exec_mode == 1 else "blocking")
        channel.queue_session_event(data)
        if exec_mode:
            broadcast(channel, string, action.value)
        elif api:
            found, output = channel.core.execute_api(string, action.value, channel)
            if found and output:
                channel.set_var("bind_digit_action_api_result", output)

    def _not_matched(self, digits: str) -> None:
        """digit_nomatch_action_callback: give the digits back, skipping the machine."""
        channel = self.channel
        channel.set_var("last_non_matching_digits", digits)
        data = Event("CHANNEL_DATA")
        data.add("digits", digits)
        channel.queue_session_event(data)
        for digit in digits:
            channel.queue_dtmf(digit, 2000, "APP")


class _Broadcast:
    """The private event switch_ivr_broadcast queues (event-lock, lead-frames 5)."""

    def __init__(self, app: str, arg: str) -> None:
        self.headers = [
            ("call-command", "execute"),
            ("execute-app-name", app),
            ("execute-app-arg", arg),
            ("event-lock", "true"),
            ("lead-frames", "5"),
        ]
        self.body = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def broadcast(channel: Channel, app: str, arg: str) -> None:
    """switch_ivr_broadcast_in_thread: the app runs when the session reads it."""
    channel.queue_private(_Broadcast(app, arg))


def _digits(channel: Channel) -> ChannelDigits:
    if not isinstance(channel.dmachine, ChannelDigits):
        timeout = channel.get_var("bind_digit_digit_timeout")
        input_timeout = channel.get_var("bind_digit_input_timeout")
        channel.dmachine = ChannelDigits(
            channel,
            atoi(timeout) if timeout is not None else 1500,
            atoi(input_timeout) if input_timeout is not None else 0,
        )
    return channel.dmachine


@register_app("bind_digit_action", nomedia=True)
def bind_digit_action_app(channel: Channel, arg: str) -> None:
    """``<realm>,<digits|~regex>,<string>[,<value>][,<dtmf target>][,<event target>]``."""
    argv = separate_string(arg, ",", 6) if arg else []
    if len(argv) < 3 or not all(argv[:3]):
        channel.core.log(
            4,
            "mod_dptools.c",
            "bind_digit_action_function",
            427,
            "Syntax Error, USAGE <realm>,<digits|~regex>,<string>[,<value>]"
            "[,<dtmf target leg>][,<event target leg>]",
            channel.uuid,
        )
        return
    value = argv[3] if len(argv) > 3 else ""
    string = argv[2]
    priority = False
    if string.lower().startswith(("exec", "api:")) and string[4:5] == "[" and "]:" in string:
        priority = "P" in string[5 : string.index("]:")]
    _digits(channel).machine.bind(argv[0], argv[1], DigitAction(string, value), priority)


@register_app("digit_action_set_realm", nomedia=True)
def digit_action_set_realm_app(channel: Channel, arg: str) -> None:
    realm = arg.split(",", 1)[0]
    if not arg:
        return
    if isinstance(channel.dmachine, ChannelDigits):
        if not channel.dmachine.machine.set_realm(realm):
            channel.core.log(
                3,
                "switch_ivr_async.c",
                "switch_ivr_dmachine_set_realm",
                227,
                f"Digit parser DPTOOLS: Error Setting realm to '{realm}'",
                "",
            )


@register_app("clear_digit_action", nomedia=True)
def clear_digit_action_app(channel: Channel, arg: str) -> None:
    if not arg:
        return
    realm = arg.split(",", 1)[0]
    if not isinstance(channel.dmachine, ChannelDigits):
        return
    if not realm or realm.lower() == "all":
        channel.dmachine = None
    else:
        channel.dmachine.machine.clear_realm(realm)
