"""Dialplan applications run on a call through its outbound socket (mod_dptools,
mod_conference). Pure: each function returns the ``AppCall`` to send with
``sendmsg execute``; ``controller.esl`` sends it.

FreeSWITCH expands ``${...}`` in every application argument, so text that comes
from an application (TTS, variable values we did not write) goes through
``fs_text``.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.freeswitch.args import fs_text, token


@dataclass(frozen=True)
class AppCall:
    """One dialplan application to run on the call (``loops=-1``: until hangup)."""

    app: str
    arg: str = ""
    loops: int = 1


def answer() -> AppCall:
    return AppCall("answer")


def pre_answer() -> AppCall:
    return AppCall("pre_answer")


def ring_ready() -> AppCall:
    """180 Ringing: the caller hears ringback from its own side while we fetch."""
    return AppCall("ring_ready")


def set_var(name: str, value: str) -> AppCall:
    if "\n" in value or "\r" in value:
        raise ValueError(f"variable {name} cannot hold a line break")
    return AppCall("set", f"{token(name, 'variable name')}={value}")


def unset_var(name: str) -> AppCall:
    return AppCall("unset", token(name, "variable name"))


def hangup(cause: str = "NORMAL_CLEARING") -> AppCall:
    return AppCall("hangup", token(cause, "hangup cause"))


def sched_hangup(seconds: int, cause: str) -> AppCall:
    """The call goes on and is hung up ``seconds`` from now (mod_dptools sched_hangup)."""
    return AppCall("sched_hangup", f"+{int(seconds)} {token(cause, 'hangup cause')}")


def playback(path: str, loops: int = 1) -> AppCall:
    return AppCall("playback", path, loops)


def speak(engine: str, voice: str, text: str, loops: int = 1) -> AppCall:
    # mod_dptools speak: "<engine>|<voice>|<text>"; the text keeps any further '|'.
    return AppCall("speak", f"{engine}|{voice}|{fs_text(text)}", loops)


def sleep(milliseconds: int) -> AppCall:
    return AppCall("sleep", str(int(milliseconds)))


def wait_for_silence(threshold: int, silence_hits: int, listen_hits: int,
                     timeout_ms: int) -> AppCall:
    """``wait_for_silence <threshold> <silence hits> <listen hits> <timeout ms>``; a hit is
    one 20 ms frame."""
    return AppCall("wait_for_silence",
                   f"{int(threshold)} {int(silence_hits)} {int(listen_hits)} {int(timeout_ms)}")


def send_dtmf(digits: str) -> AppCall:
    return AppCall("send_dtmf", token(digits, "digits"))


def play_and_get_digits(*, min_digits: int, max_digits: int, tries: int, timeout_ms: int,
                        terminators: str, sound: str, invalid_sound: str, variable: str,
                        regex: str, digit_timeout_ms: int) -> AppCall:
    """mod_dptools play_and_get_digits: <min> <max> <tries> <timeout ms> <terminators>
    <file> <invalid file> <var name> <regexp> <digit timeout ms>. The digits land in
    the channel variable ``variable`` (read back from CHANNEL_EXECUTE_COMPLETE as
    ``variable_<name>``). Empty file arguments are spelled ``silence_stream://250``,
    since the argument list is split on spaces (switch_separate_string)."""
    return AppCall("play_and_get_digits", " ".join((
        str(int(min_digits)), str(int(max_digits)), str(int(tries)), str(int(timeout_ms)),
        token(terminators or "none", "terminators"),
        token(sound or "silence_stream://250", "prompt"),
        token(invalid_sound or "silence_stream://250", "invalid prompt"),
        token(variable, "variable name"), token(regex, "digits pattern"),
        str(int(digit_timeout_ms)),
    )))


def bind_digit_action(realm: str, digits: str, action: str) -> AppCall:
    return AppCall("bind_digit_action", f"{token(realm, 'realm')},{digits},{action}")


def digit_action_set_realm(realm: str) -> AppCall:
    return AppCall("digit_action_set_realm", token(realm, "realm"))


def clear_digit_action(realm: str = "all") -> AppCall:
    return AppCall("clear_digit_action", token(realm, "realm"))


def conference_app_arg(fs_room: str, profile: str, flags: tuple[str, ...] = ()) -> str:
    """``<room>@<profile>[+flags{a|b}]`` (mod_conference.c: conference_function)."""
    arg = f"{token(fs_room, 'room name')}@{token(profile, 'conference profile')}"
    if flags:
        arg += "+flags{" + "|".join(token(f, "member flag") for f in flags) + "}"
    return arg


def conference(app_arg: str) -> AppCall:
    return AppCall("conference", app_arg)
