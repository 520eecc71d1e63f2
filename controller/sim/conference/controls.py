"""Caller controls: the member's digit machine and its actions (conference_loop.c).

A caller-controls group maps digits to action names (``mute``, ``deaf mute``,
``hangup``, ``event``, ...). Digits go through a DigitMachine in realm
``conf`` with the profile's ``ivr-dtmf-timeout``; a match runs the action
with the member's conference events, as conference_loop_dmachine_dispatcher.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.sim.digits import DigitMachine

if TYPE_CHECKING:
    from controller.sim.conference.room import Conference, Member


class Controls:
    def __init__(self, member: Member, group: dict[str, str], timeout_ms: int) -> None:
        self.member = member
        self.machine = DigitMachine(timeout_ms, 0)
        for digits, action in group.items():
            action_name, _, data = (
                action.partition(" ")
                if action.startswith(("execute_application", "transfer"))
                else (action, "", "")
            )
            self.machine.bind("conf", digits, (digits, action_name, data))
        self._timer = None

    def _now_ms(self) -> float:
        return self.member.channel.core.clock.now() * 1000.0 if self.member.channel else 0.0

    def feed(self, digit: str) -> None:
        outcome = self.machine.feed(digit, self._now_ms())
        self._handle(outcome)

    def check(self) -> None:
        if self.machine.digits:
            self._handle(self.machine.check_timeout(self._now_ms()))

    def _handle(self, outcome) -> None:  # noqa: ANN001 - digits.Outcome
        if outcome.kind == "match" and outcome.binding is not None:
            digits, action, data = outcome.binding.action
            channel = self.member.channel
            if channel is not None:
                channel.set_var("conference_last_matching_digits", outcome.digits)
            run_action(self.member, action, digits, data)
        deadline = self.machine.deadline_ms()
        channel = self.member.channel
        if deadline is not None and channel is not None:
            delay = max(0.0, (deadline - self._now_ms()) / 1000.0)
            self._timer = channel.core.spawn_later(delay, self.check)


def run_action(member: Member, action: str, digits: str, data: str) -> None:
    from controller.sim.conference import api as capi

    conference: Conference | None = member.conference
    if conference is None:
        return
    f = member.flags
    if action == "mute":
        if "hold" in f:
            return
        if "can_speak" in f:
            capi.mute(member, None, None)
        else:
            capi.unmute(member, None, None)
            if "can_hear" not in f:
                capi.undeaf(member, None, None)
    elif action == "mute on":
        if "hold" not in f and "can_speak" in f:
            capi.mute(member, None, None)
    elif action == "mute off":
        if "hold" not in f and "can_speak" not in f:
            capi.unmute(member, None, None)
            if "can_hear" not in f:
                capi.undeaf(member, None, None)
    elif action == "deaf mute":
        if "hold" in f:
            return
        if "can_speak" in f:
            capi.mute(member, None, None)
            if "can_hear" in f:
                capi.deaf(member, None, None)
        else:
            capi.unmute(member, None, None)
            if "can_hear" not in f:
                capi.undeaf(member, None, None)
    elif action in ("deaf", "deaf on", "deaf off"):
        hearing = "can_hear" in f
        if (action == "deaf" and hearing) or (action == "deaf on" and hearing):
            capi.deaf(member, None, None)
        elif (action == "deaf" and not hearing) or (action == "deaf off" and not hearing):
            capi.undeaf(member, None, None)
    elif action.startswith("energy"):
        _energy(conference, member, action)
    elif action.startswith("vol talk") or action.startswith("vol listen"):
        _volume(conference, member, action)
    elif action == "hangup":
        f.discard("running")
        member.poke()
    elif action == "event":
        if conference.allowed("dtmf"):
            conference.fire_member(member, "dtmf", [("DTMF-Key", digits), ("Data", data)])
    elif action == "lock":
        if "wait_mod" in conference.flags and "moderator" not in f:
            return
        if "locked" not in conference.flags:
            conference.flags.add("locked")
            if conference.allowed("lock"):
                conference.fire_conf("lock")
        else:
            conference.flags.discard("locked")
            if conference.allowed("unlock"):
                conference.fire_conf("unlock")
    elif action == "floor":
        capi.floor(member, None, None)
    elif action == "transfer":
        if conference.allowed("dtmf"):
            conference.fire_member(member, "transfer", [("Dialplan", data)])
        f.discard("running")
        member.poke()
    elif action == "execute_application":
        if conference.allowed("dtmf"):
            conference.fire_member(member, "execute_app", [("Application", data)])
        from controller.sim.session import execute_app

        app, _, arg = data.partition(" ")
        if app and member.channel is not None:
            execute_app(member.channel, app, arg or None)


def _energy(conference: Conference, member: Member, action: str) -> None:
    if action == "energy up":
        member.energy_level = min(1800, member.energy_level + 200)
    elif action == "energy dn":
        member.energy_level = max(0, member.energy_level - 200)
    else:
        member.energy_level = conference.energy_level
    if conference.allowed("energy-level"):
        conference.fire_member(member, "energy-level", [("New-Level", str(member.energy_level))])


def _volume(conference: Conference, member: Member, action: str) -> None:
    talk = action.startswith("vol talk")
    attr = "volume_out" if talk else "volume_in"
    value = getattr(member, attr)
    if action.endswith(" up"):
        value += 1
    elif action.endswith(" dn"):
        value -= 1
    else:
        value = 0
    setattr(member, attr, max(-4, min(4, value)))
    name = "volume-level" if talk else "gain-level"
    if conference.allowed(name):
        conference.fire_member(member, name, [("New-Level", str(getattr(member, attr)))])
