"""``bridge`` to a phone of this simulator (mod_dptools.c audio_bridge_function): dial
the dial string's callee as ``originate`` does (controller.sim.originate: the same
leg, CHANNEL_CREATE, ringing, CHANNEL_ANSWER, failures with 07d's causes), then hold
the two legs together until one hangs up. A bridge to another simulator's SIP address
is controller.sim.cluster's; that module's ``bridge`` app hands the others to here.

What FreeSWITCH does, and this reproduces:

- the leg's variables come from the dial string's ``{...}`` (switch_ivr_originate.c:
  ``origination_uuid``, ``originate_timeout``, ``origination_caller_id_*`` as for
  ``originate``);
- a dial that fails sets ``originate_failed_cause`` on the caller and hangs it up with
  that cause unless ``continue_on_fail`` (mod_dptools.c audio_bridge_function ->
  switch_channel.c switch_channel_handle_cause);
- the caller hanging up ends the other leg (switch_ivr_bridge.c signal_bridge_on_hangup,
  the originator's branch), while ringing too (the originate is cancelled:
  ORIGINATOR_CANCEL);
- the other leg hanging up ends the bridge; the caller goes back to its application
  (the app returns) unless ``hangup_after_bridge`` (switch_ivr_bridge.c).

Not modelled: media between the two phones (what one says, the other does not hear),
CHANNEL_BRIDGE/UNBRIDGE events, the b-leg columns of ``show calls``.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING

from controller.sim import originate, session
from controller.sim.fsutil import atoi, switch_true

if TYPE_CHECKING:
    from controller.sim.channel import Channel
    from controller.sim.originate import Target


def _failed(channel: Channel, cause: str) -> None:
    channel.set_var("originate_failed_cause", cause)
    if not switch_true(channel.get_var("continue_on_fail")):
        channel.hangup(cause)


def bridge_to_phone(channel: Channel, variables: list[tuple[str, str]],
                    target: Target) -> None:
    """Run ``bridge`` on ``channel`` (its session greenlet) to a phone of this simulator."""
    core = channel.core
    var = dict(variables)
    uuid = var.get("origination_uuid") or str(uuidlib.uuid4())
    if core.find_channel(uuid) is not None:
        _failed(channel, "DESTINATION_OUT_OF_ORDER")
        return
    callee = originate._take(core, *target.keys)
    if callee is None and target.kind == "user":
        _failed(channel, "SUBSCRIBER_ABSENT")
        return
    if callee is None and target.kind == "gateway":
        _failed(channel, "INVALID_GATEWAY")
        return
    far = originate._new_leg(core, target, uuid, variables, None, None)
    if callee is not None:
        callee.channel_variables = dict(variables)

    def caller_down(caller: Channel) -> None:
        far.hangup("ORIGINATOR_CANCEL" if not far.answered
                   else caller.hangup_cause or "NORMAL_CLEARING")

    channel.on_down.append(caller_down)
    far.on_down.append(lambda _far: channel.poke())
    try:
        behaviour = callee.behaviour if callee is not None else originate.UNREACHABLE
        timeout = atoi(var.get("originate_timeout")) or 60
        cause = originate._ring(far, callee, behaviour, timeout)
        if callee is not None:
            callee.cause = cause or None
            callee._dialled.set()
        if cause:
            if channel.ready:
                _failed(channel, cause)
            return
        far.flipped = True
        far._basic_key = None
        far.set_running_state("CS_EXCHANGE_MEDIA")
        core.spawn(_hold, far)
        channel.times["bridged"] = far.times["bridged"] = core.clock.now_us()
        channel.set_var("bridge_uuid", far.uuid)
        while channel.ready and not far.down:
            channel.wait_input(None)
        if channel.ready and switch_true(channel.get_var("hangup_after_bridge")):
            channel.hangup(far.hangup_cause or "NORMAL_CLEARING")
    finally:
        if caller_down in channel.on_down:
            channel.on_down.remove(caller_down)


def _hold(far: Channel) -> None:
    """The bridged leg's session: up until it hangs up (or the caller's hangup ends it)."""
    try:
        while not far.down:
            far.wait_input(None)
    finally:
        session._teardown(far)
