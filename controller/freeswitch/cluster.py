"""Moving a call to the FreeSWITCH node that hosts its room (DESIGN.md §10). Pure.

The call's own controller runs ``bridge`` on the call (sendmsg execute, like every
other application it runs) to ``sofia/<profile>/cc-room-<room>@<home node>``:

- ``{sip_h_X-...=...}`` in the dial string are variables of the new outbound leg, and
  mod_sofia sends every ``sip_h_<name>`` variable of a leg as the SIP header ``<name>``
  (src/mod/endpoints/mod_sofia/mod_sofia.c, sofia_outgoing_channel: the caller's
  ``sip_h_`` variables are copied too, ``switch_ivr_transfer_variable(...,
  SOFIA_SIP_HEADER_PREFIX_T)``; sofia_glue_get_extra_headers when the INVITE is sent).
- On the home node, an ``X-`` header of an incoming INVITE becomes the channel variable
  ``sip_h_X-...`` (src/mod/endpoints/mod_sofia/sofia.c, sofia_handle_sip_i_invite: the
  unknown-headers loop, ``"%s%s%s", SOFIA_SIP_HEADER_PREFIX, un->un_name``), which the
  home controller reads as ``variable_sip_h_X-...`` in its socket's connect reply.
- The bridge ends when either leg hangs up. When the far leg ends first, the caller is
  hung up only with ``hangup_after_bridge`` set (src/switch_ivr_bridge.c: the
  ``hangup_after_bridge`` test after the bridge, and signal_bridge_on_hangup, which
  otherwise puts the originator back to CS_EXECUTE): unset here, so the call goes back
  to its socket's park and its controller goes on with the document. When the caller
  hangs up, the far leg is hung up with it (signal_bridge_on_hangup, the originator's
  branch: ``switch_channel_hangup(other_channel, ...)``).
"""

from __future__ import annotations

from controller.freeswitch.apps import AppCall, set_var
from controller.freeswitch.args import UnsafeArgument, token, uuid

ROOM_EXTENSION_PREFIX = "cc-room-"  # the home node's `cluster` context matches it
MOVE_HEADER = "X-CC-Move"  # the moved call's uuid: its state in the cluster's store
ROOM_HEADER = "X-CC-Room"
CALL_ID_HEADER = "X-CC-Call-Id"
MOVE_VARIABLE = f"sip_h_{MOVE_HEADER}"  # what the home node's channel carries
# Conference events carry a member's basic channel data only (conference_member.c
# conference_member_add_event_data: switch_channel_event_set_basic_data unless the
# profile's verbose-events, which freeswitch-conf leaves off), so no variable_* header:
# not the X-CC-* headers. The one variable they do carry is ``call_uuid``, as
# ``Channel-Call-UUID`` (src/switch_channel.c, switch_channel_event_set_basic_data: the
# variable when set, else the channel's uuid), so a far leg whose ``call_uuid`` names the
# moved call names it in every event of its stay in the room.
CALL_UUID_VARIABLE = "call_uuid"
CALL_UUID_HEADER = "Channel-Call-UUID"


def _dial_value(value: str, what: str) -> str:
    """A value inside ``{name=value,...}``: one word, and no comma (the separator)."""
    token(value, what)
    if "," in value or "}" in value or "{" in value:
        raise UnsafeArgument(f"{what} {value[:80]!r} cannot go in a dial string")
    return value


def move_to_room(call_uuid: str, call_id: str, fs_room: str, profile: str,
                 sip_address: str) -> AppCall:
    """``bridge`` the call to the room extension of the node at ``sip_address``
    (``host:port``), the call's uuid, face call id and room in SIP headers."""
    headers = ",".join((
        f"sip_h_{MOVE_HEADER}={uuid(call_uuid)}",
        f"sip_h_{CALL_ID_HEADER}={_dial_value(call_id, 'call id')}",
        f"sip_h_{ROOM_HEADER}={_dial_value(fs_room, 'room name')}",
    ))
    target = (f"sofia/{_dial_value(profile, 'SIP profile')}/{ROOM_EXTENSION_PREFIX}"
              f"{fs_room}@{_dial_value(sip_address, 'SIP address')}")
    return AppCall("bridge", f"{{{headers}}}{target}")


def name_moved_call(call_uuid: str) -> AppCall:
    """``set call_uuid=<the moved call's uuid>`` on the far leg, once it is on its socket:
    FreeSWITCH writes ``call_uuid`` itself when a channel enters CS_ROUTING or CS_EXECUTE
    (src/switch_core_state_machine.c, switch_core_standard_on_routing/on_execute) and when
    it is bridged or unbridged (src/switch_ivr_bridge.c), none of which happens to a leg
    that stays on its socket and then in the room (the dialplan's later steps run in the
    same CS_EXECUTE)."""
    return set_var(CALL_UUID_VARIABLE, uuid(call_uuid))
