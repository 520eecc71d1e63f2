"""Several simulators as the nodes of one cluster: ``bridge`` to another node's SIP
address (controller.cluster.moves moves a caller to its room's node this way).

Addressing: ``join_sip_network(sim, "host:port")`` gives a simulator a SIP address in
this process's (pretend) SIP network. A ``bridge`` to ``sofia/<profile>/<user>@<that
address>`` becomes an inbound call on that simulator, as a real node's INVITE would:

- the variables ``sip_h_<header>`` of the dial string's ``{...}`` block and of the
  bridging channel are sent as SIP headers (mod_sofia.c sofia_outgoing_channel:
  ``switch_ivr_transfer_variable(..., SOFIA_SIP_HEADER_PREFIX_T)``), and an incoming
  ``X-`` header is the channel variable ``sip_h_<header>`` (sofia.c
  sofia_handle_sip_i_invite, unknown headers); so the far channel gets the same names;
- it arrives from a cluster node, so the SIP profile's ``apply-inbound-acl
  cluster_nodes:cluster`` sends it to the ``cluster`` context (sofia.c: the ACL's pass
  context becomes the call's context), which freeswitch-conf/dialplan/cluster.xml fills
  with the product's two ``socket`` steps and the error tail for ``cc-room-*`` numbers;
- the bridging channel waits while the far one rings, is bridged once it answers and
  stays up when the far one hangs up (no ``hangup_after_bridge``: switch_ivr_bridge.c,
  signal_bridge_on_hangup puts the originator back to CS_EXECUTE), while its own hangup
  ends the far one too (same function, the originator's branch). A bridge that fails sets
  ``originate_failed_cause`` and hangs the caller up unless ``continue_on_fail``
  (mod_dptools.c audio_bridge_function -> switch_channel.c switch_channel_handle_cause).
  While bridged, the caller's queued sendmsgs run (switch_ivr_bridge.c
  audio_bridge_thread: switch_ivr_parse_next_event), so a controller can hang it up.

Not modelled: the outgoing sofia leg a real node creates on the bridging side (its own
channel and events), media between the two (each simulator mixes its own rooms).
"""

from __future__ import annotations

import random
import uuid as uuidlib
from typing import TYPE_CHECKING

from controller.sim import session, sofia
from controller.sim.channel import Channel
from controller.sim.dialplan import PRODUCT_TAIL, Extension
from controller.sim.fsutil import switch_true
from controller.sim.originate import parse_target, split_variables
from controller.sim.session import register_app

if TYPE_CHECKING:
    from controller.sim.core import Core
    from controller.sim.simulator import Simulator

ROOM_EXTENSION_PREFIX = "cc-room-"
HEADER_PREFIX = "sip_h_"
_NETWORK: dict[str, Simulator] = {}


def join_sip_network(sim: Simulator, address: str) -> None:
    """``sim`` answers INVITEs sent to ``address`` (``host:port``) from now on."""
    if address in _NETWORK and _NETWORK[address] is not sim:
        raise ValueError(f"SIP address {address} is already another simulator's")
    _NETWORK[address] = sim


def leave_sip_network(address: str) -> None:
    _NETWORK.pop(address, None)


def cluster_extension(sim: Simulator, number: str) -> Extension:
    """The ``cluster`` context (freeswitch-conf/dialplan/cluster.xml)."""
    if not number.startswith(ROOM_EXTENSION_PREFIX) or number == ROOM_EXTENSION_PREFIX:
        return [("hangup", "NO_ROUTE_DESTINATION")]
    config = sim.config
    target = f"{config.outbound_host}:{config.outbound_port} {config.outbound_mode}".strip()
    return [("socket", target), ("socket", target), *PRODUCT_TAIL]


def _failed(channel: Channel, cause: str) -> None:
    channel.set_var("originate_failed_cause", cause)
    if not switch_true(channel.get_var("continue_on_fail")):
        channel.hangup(cause)


def _far_leg(sim: Simulator, caller: Channel, user: str,
             headers: list[tuple[str, str]]) -> Channel:
    core: Core = sim.core
    rng = random.Random()
    leg = sofia.SipLeg(
        caller_id=caller.leg.caller_id, caller_name=caller.leg.caller_name, destination=user,
        port=5060, call_id=f"{rng.getrandbits(64):x}", from_tag=f"{rng.getrandbits(32):x}",
        to_tag=f"{rng.getrandbits(32):x}", session_id=core.next_session_id(),
        local_media_port=rng.randrange(16384, 32768, 2),
        remote_media_port=rng.randrange(16000, 16384, 2), ssrc=rng.randint(1, 2**32 - 1),
        sdp_session=rng.randint(1_700_000_000, 1_800_000_000),
    )
    far = Channel(core, leg, str(uuidlib.uuid4()))
    for name, value in headers:
        far.set_var(name, value)
    far.dp_match = f"ARRAY::{user}|:{user}"
    core.channels[far.uuid] = far
    core.spawn(session.run, far, cluster_extension(sim, user),
               lambda number: cluster_extension(sim, number))
    return far


@register_app("bridge")
def bridge_app(channel: Channel, arg: str) -> None:
    parsed = split_variables(arg)
    target = parse_target(parsed[1]) if parsed is not None else None
    sim = _NETWORK.get(target.host) if target is not None and target.kind == "sofia" else None
    if parsed is not None and target is not None and sim is None:
        from controller.sim.bridge import bridge_to_phone

        bridge_to_phone(channel, parsed[0], target)  # a phone of this simulator
        return
    if parsed is None or target is None or sim is None or sim.core is channel.core:
        _failed(channel, "NO_ROUTE_DESTINATION")
        return
    headers = [(name, value) for name, value in channel.variables.items()
               if name.startswith(HEADER_PREFIX)]
    headers += [(name, value) for name, value in parsed[0] if name.startswith(HEADER_PREFIX)]
    far = _far_leg(sim, channel, target.user, headers)
    far.on_down.append(lambda _far: channel.poke())

    def caller_down(caller: Channel) -> None:
        far.hangup(caller.hangup_cause or "NORMAL_CLEARING")

    channel.on_down.append(caller_down)
    try:
        while channel.ready and not far.down and not far.answered:
            channel.wait_input(0.02)
        if channel.down:
            return
        if far.down:
            _failed(channel, far.hangup_cause or "NORMAL_CLEARING")
            return
        channel.times["bridged"] = channel.core.clock.now_us()
        channel.set_var("bridge_uuid", far.uuid)
        while channel.ready and not far.down:
            # Queued sendmsgs (a hang-up, an app) run while bridged: audio_bridge_thread
            # parses the caller's private events (switch_ivr_bridge.c,
            # switch_ivr_parse_next_event under private_event_count).
            if channel.has_private():
                channel.next_frame()
                session.process_private(channel)
                continue
            channel.wait_input(None)
        if channel.ready and switch_true(channel.get_var("hangup_after_bridge")):
            channel.hangup(far.hangup_cause or "NORMAL_CLEARING")
    finally:
        if caller_down in channel.on_down:
            channel.on_down.remove(caller_down)
