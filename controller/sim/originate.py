"""``originate``: FreeSWITCH dials a phone (mod_commands.c originate_function,
switch_ivr_originate.c), and the phones that answer, refuse or ignore it.

    originate {vars}<dial string> <exten>|&<app>(<args>) [<dialplan>] [<context>]
              [<cid_name>] [<cid_num>] [<timeout>]

The line is split on spaces honouring quotes (so an unquoted ``&socket(h:p async
full)`` reaches the socket app as ``h:p`` only: capture 07d step A), the leading
``{...}`` blocks become channel variables, and the dial string names the callee:
``sofia/<profile>/<user>@<host>[:port]``, ``sofia/gateway/<name>/<number>`` or
``user/<id>``. A test says beforehand how the callee behaves
(``PhoneBook.expect``); a callee nobody expects is unreachable.

What 07d shows, and this reproduces: the new leg's CHANNEL_CREATE (Call-Direction
outbound, caller id ``0000000000`` unless origination_caller_id_* says otherwise,
Caller-Context ``default``, Caller-Source ``src/switch_ivr_originate.c``); then
- ringing (every callee but busy, reject and unreachable): CHANNEL_PROGRESS as the 180
  arrives (switch_channel.c switch_channel_perform_mark_ring_ready_value; no capture
  subscribed to it);
- answered: CHANNEL_ANSWER, the reply ``+OK <uuid>\\n``, and the application
  runs with the caller id flipped to ``Outbound Call`` / ``<callee user>``;
- 486: CHANNEL_HANGUP_COMPLETE (USER_BUSY), then ``-ERR USER_BUSY\\n``;
- nobody listening: CHANNEL_HANGUP_COMPLETE, then ``-ERR NORMAL_TEMPORARY_FAILURE\\n``;
- ringing past originate_timeout: ``-ERR NO_ANSWER\\n`` and then the
  CHANNEL_HANGUP_COMPLETE (NO_ANSWER);
- an origination_uuid in use: ``-ERR DESTINATION_OUT_OF_ORDER\\n``, no event.
"""

from __future__ import annotations

import dataclasses
import random
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent.event

from controller.sim import session, sofia
from controller.sim.channel import Channel
from controller.sim.fsutil import atoi, cause_from_str, separate_string

if TYPE_CHECKING:
    from controller.sim.core import Core
    from controller.sim.phones import Phone

ORIGINATE_SYNTAX = ("<call url> <exten>|&<application_name>(<app_args>) [<dialplan>] "
                    "[<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]")
DEFAULT_CID = "0000000000"  # switch_ivr_originate.c: no caller id given (07d)
OUTBOUND_NAME = "Outbound Call"  # the callee-id name once answered (07c, 07d)

ANSWER, BUSY, REJECT, NO_ANSWER, UNREACHABLE = "answer", "busy", "reject", "ring", "unreachable"
BEHAVIOURS = {
    ANSWER: "",  # 180, then 200 OK after ring_seconds
    BUSY: "USER_BUSY",  # 486 Busy Here (07d failure 1)
    REJECT: "CALL_REJECTED",  # 603 Decline
    NO_ANSWER: "NO_ANSWER",  # 180 and nothing more: originate_timeout ends it (07d failure 2)
    UNREACHABLE: "NORMAL_TEMPORARY_FAILURE",  # nothing listens (07d failure 3)
}


# ------------------------------------------------------------------ callees
class Callee:
    """A phone that waits to be dialled (a SIPp UAS): what it does, and the Phone once the
    call came in."""

    def __init__(self, address: str, behaviour: str, ring_seconds: float) -> None:
        self.address = address
        self.behaviour = behaviour
        self.ring_seconds = ring_seconds
        self.phone: Phone | None = None
        self.cause: str | None = None  # how FreeSWITCH's dial ended, if it failed
        self.channel_variables: dict[str, str] = {}  # what the originate set
        self._dialled = gevent.event.Event()

    def wait_dialled(self, timeout: float = 5.0) -> Phone | None:
        """Block until FreeSWITCH dialled this phone; the Phone (None if the dial failed
        before a call existed). Raises TimeoutError."""
        if not self._dialled.wait(timeout):
            raise TimeoutError(f"nobody dialled {self.address} within {timeout}s")
        return self.phone

    @property
    def dialled(self) -> bool:
        return self._dialled.is_set()

    def __repr__(self) -> str:
        return f"<Callee {self.address} {self.behaviour}>"


@dataclasses.dataclass
class Dialling:
    """What the originate command of one simulator knows: the callees waiting to be
    dialled (by address, first expected first) and the dialplan for ``<exten>`` targets."""

    callees: dict[str, deque[Callee]] = dataclasses.field(default_factory=dict)
    phones: list[Phone] = dataclasses.field(default_factory=list)  # every dialled phone
    dialplan: Callable[[str], list[tuple[str, str | None]]] | None = None


def dialling(core: Core) -> Dialling:
    state = getattr(core, "_dialling", None)
    if state is None:
        state = Dialling()
        core._dialling = state  # type: ignore[attr-defined]
    return state


def expect(core: Core, address: str, behaviour: str = ANSWER,
           ring_seconds: float = 0.3) -> Callee:
    """``address``: a user (``alice``), ``user@host[:port]``, or a gateway number."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"expect: behaviour {behaviour!r} is not one of "
                         + ", ".join(BEHAVIOURS))
    if not address or any(c.isspace() for c in address):
        raise ValueError(f"expect: address {address!r} must be one word")
    if ring_seconds < 0:
        raise ValueError("expect: ring_seconds must be >= 0")
    callee = Callee(address, behaviour, ring_seconds)
    dialling(core).callees.setdefault(address, deque()).append(callee)
    return callee


def _take(core: Core, *addresses: str) -> Callee | None:
    book = dialling(core).callees
    for address in addresses:
        waiting = book.get(address)
        if waiting:
            return waiting.popleft()
    return None


# ------------------------------------------------------------------ the leg
class OriginatedChannel(Channel):
    """A leg FreeSWITCH dialled: Call-Direction outbound, its own caller profile (07d)."""

    def __init__(self, core: Core, leg: sofia.SipLeg, uuid: str, name: str, profile: str,
                 sip_url: str, variables: list[tuple[str, str]]) -> None:
        super().__init__(core, leg, uuid)
        self.name = name
        self.cid_name, self.cid_number = leg.caller_name, leg.caller_id
        self.flipped = False  # after the answer the profile shows the callee (07d)
        self.responded = False  # the callee sent a SIP response: its address is known (07d)
        self.variables.clear()
        user_host = sip_url[4:]
        pairs = [
            ("direction", "outbound"), ("is_outbound", "true"), ("uuid", uuid),
            ("call_uuid", uuid), ("session_id", str(leg.session_id)),
            ("sip_local_network_addr", "127.0.0.1"), ("sip_profile_name", profile),
            ("video_media_flow", "disabled"), ("text_media_flow", "disabled"),
            ("channel_name", name), ("sip_destination_url", sip_url),
            *variables,
            ("originate_early_media", "false"), ("originate_endpoint", "sofia"),
            ("rtp_use_codec_string", "PCMU,PCMA"), ("local_media_ip", "127.0.0.1"),
            ("local_media_port", str(leg.local_media_port)),
            ("advertised_media_ip", "127.0.0.1"), ("audio_media_flow", "sendrecv"),
            ("sip_outgoing_contact_uri", "<sip:mod_sofia@127.0.0.1:5060>"),
            ("sip_req_uri", user_host), ("sip_to_host", user_host.partition("@")[2]),
            ("sip_from_host", "127.0.0.1"), ("sofia_profile_name", profile),
            ("recovery_profile_name", profile),
            ("sofia_profile_url", "sip:mod_sofia@127.0.0.1:5060"),
        ]
        for key, value in pairs:
            self.set_var(key, value)

    def profile_headers(self, prefix: str) -> list[tuple[str, str]]:
        leg, t = self.leg, self.times
        if self.flipped:  # connect reply of step B, 07d_originate_to_socket_outbound.txt
            cid_name, cid_number = OUTBOUND_NAME, leg.destination
            callee_name, callee_number = self.cid_name, self.cid_number
        else:  # CHANNEL_CREATE / CHANNEL_ANSWER of 07d
            cid_name, cid_number = self.cid_name, self.cid_number
            callee_name, callee_number = OUTBOUND_NAME, leg.destination
        values = [
            ("Direction", "outbound"), ("Logical-Direction", "outbound"),
            ("Caller-ID-Name", cid_name), ("Caller-ID-Number", cid_number),
            ("Orig-Caller-ID-Name", self.cid_name), ("Orig-Caller-ID-Number", self.cid_number),
            ("Callee-ID-Name", callee_name), ("Callee-ID-Number", callee_number),
            ("Network-Addr", "127.0.0.1" if self.responded else ""), ("ANI", self.cid_number),
            ("Destination-Number", leg.destination), ("Unique-ID", self.uuid),
            ("Source", "src/switch_ivr_originate.c"), ("Context", "default"),
            ("Channel-Name", self.name), ("Profile-Index", "1"),
            ("Profile-Created-Time", str(t["created"])),
            ("Channel-Created-Time", str(t["created"])),
            ("Channel-Answered-Time", str(t["answered"])),
            ("Channel-Progress-Time", str(t["progress"])),
            ("Channel-Progress-Media-Time", str(t["progress_media"])),
            ("Channel-Hangup-Time", str(t["hangup"])),
            ("Channel-Transfer-Time", str(t["transfer"])),
            ("Channel-Resurrect-Time", str(t["resurrect"])),
            ("Channel-Bridged-Time", str(t["bridged"])),
            ("Channel-Last-Hold", str(t["last_hold"])),
            ("Channel-Hold-Accum", str(t["hold_accum"])),
            ("Screen-Bit", "true"), ("Privacy-Hide-Name", "false"),
            ("Privacy-Hide-Number", "false"),
        ]
        return [(f"{prefix}-{name}", value) for name, value in values]

    def _build_basic_data(self) -> list[tuple[str, str]]:
        replaced = {"Call-Direction": "outbound", "Presence-Call-Direction": "outbound",
                    "Channel-HIT-Dialplan": "true" if self.flipped else "false"}
        # No codec before the callee answered with its SDP (07d: CHANNEL_CREATE and a busy
        # leg's HANGUP_COMPLETE have no Channel-*-Codec-* headers).
        codecs = self.answered or self.early_media
        return [(name, replaced.get(name, value)) for name, value in super()._build_basic_data()
                if value and (codecs or "-Codec-" not in name)]

    def profile_fields(self) -> dict[str, str]:
        fields = super().profile_fields()
        fields.update({
            "caller_id_name": OUTBOUND_NAME if self.flipped else self.cid_name,
            "caller_id_number": self.leg.destination if self.flipped else self.cid_number,
            "orig_caller_id_name": self.cid_name, "orig_caller_id_number": self.cid_number,
            "ani": self.cid_number, "context": "default",
            "source": "src/switch_ivr_originate.c",
        })
        return fields


# ------------------------------------------------------------------ the command
@dataclasses.dataclass(frozen=True)
class Target:
    """Who the dial string names."""

    kind: str  # "sofia", "gateway", "user"
    profile: str
    user: str
    host: str  # host[:port] ("" for user/ and gateways)

    @property
    def keys(self) -> tuple[str, ...]:
        return (f"{self.user}@{self.host}", self.user) if self.host else (self.user,)


def parse_target(dial: str) -> Target | None:
    parts = dial.split("/")
    if parts[0] == "user" and len(parts) == 2 and parts[1]:
        return Target("user", "internal", parts[1].partition("@")[0], "")
    if parts[0] == "sofia" and len(parts) == 4 and parts[1] == "gateway" and parts[3]:
        return Target("gateway", parts[2], parts[3], "")
    if parts[0] == "sofia" and len(parts) >= 3 and parts[2]:
        address = "/".join(parts[2:])
        address = address[4:] if address.startswith("sip:") else address
        user, at, host = address.partition("@")
        return Target("sofia", parts[1], user if at else "", host if at else user)
    return None


def split_variables(aleg: str) -> tuple[list[tuple[str, str]], str] | None:
    """Leading ``{a=b,...}`` blocks (switch_event_create_brackets): variables and the rest;
    None on an unclosed brace (originate's "Parse Error!")."""
    variables: list[tuple[str, str]] = []
    rest = aleg
    while rest.startswith("{"):
        depth, end = 0, -1
        for i, char in enumerate(rest):  # switch_find_end_paren: braces counted blindly
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 0:
                end = i
                break
        if end < 0:
            return None
        for item in separate_string(rest[1:end], ",", 1024):
            pair = separate_string(item, "=", 2)
            if len(pair) == 2:
                variables = [(k, v) for k, v in variables if k != pair[0]] + [(pair[0], pair[1])]
        rest = rest[end + 1:].lstrip(" ")
    return variables, rest


def originate_api(core: Core, arg: str | None, caller: Channel | None) -> str:
    argv = separate_string(arg or "", " ", 10) if arg else []
    if len(argv) < 2 or len(argv) > 7:
        return f"-USAGE: {ORIGINATE_SYNTAX}\n"
    argv = [None if a.lower() == "undef" else a for a in argv] + [None] * (7 - len(argv))
    aleg, exten, dialplan, context = argv[0] or "", argv[1] or "", argv[2], argv[3]
    parsed = split_variables(aleg)
    if parsed is None or not parsed[1]:
        return "-ERR DESTINATION_OUT_OF_ORDER\n"
    variables, dial = parsed
    var = dict(variables)
    target = parse_target(dial)
    if target is None:
        return "-ERR CHAN_NOT_IMPLEMENTED\n"
    uuid = var.get("origination_uuid") or str(uuidlib.uuid4())
    if core.find_channel(uuid) is not None:
        # switch_core_session_request_uuid refuses a uuid in use: no channel, no event (07d)
        return "-ERR DESTINATION_OUT_OF_ORDER\n"
    callee = _take(core, *target.keys)
    if callee is None:
        if target.kind == "user":  # mod_dptools.c user_outgoing_channel: "Can't find user"
            return "-ERR SUBSCRIBER_ABSENT\n"
        if target.kind == "gateway":  # mod_sofia.c sofia_outgoing_channel: "Invalid Gateway"
            return "-ERR INVALID_GATEWAY\n"
    timeout = atoi(var.get("originate_timeout")) or atoi(argv[6]) or 60
    channel = _new_leg(core, target, uuid, variables, argv[4], argv[5])
    if callee is not None:
        callee.channel_variables = dict(variables)
    behaviour = callee.behaviour if callee is not None else UNREACHABLE
    cause = _ring(channel, callee, behaviour, timeout)
    if cause:
        if callee is not None:
            callee.cause = cause
            callee._dialled.set()
        return f"-ERR {cause}\n"
    if callee is not None:
        callee._dialled.set()
    core.spawn(_run_answered, channel, exten, dialplan or "XML", context or "default")
    return f"+OK {uuid}\n"


def _new_leg(core: Core, target: Target, uuid: str, variables: list[tuple[str, str]],
             cid_name_arg: str | None, cid_num_arg: str | None) -> OriginatedChannel:
    var = dict(variables)
    rng = random.Random()
    host = target.host or "127.0.0.1"
    port = atoi(host.partition(":")[2]) or 5060
    leg = sofia.SipLeg(
        caller_id=var.get("origination_caller_id_number") or cid_num_arg or DEFAULT_CID,
        caller_name=var.get("origination_caller_id_name") or cid_name_arg or "",
        destination=target.user, port=port, call_id=f"{rng.getrandbits(64):x}",
        from_tag=f"{rng.getrandbits(32):x}", to_tag=f"{rng.getrandbits(32):x}",
        session_id=core.next_session_id(), local_media_port=rng.randrange(16384, 32768, 2),
        remote_media_port=rng.randrange(16000, 16384, 2), ssrc=rng.randint(1, 2**32 - 1),
        sdp_session=rng.randint(1_700_000_000, 1_800_000_000),
    )
    if target.kind == "gateway":
        name, url = f"sofia/gateway/{target.profile}/{target.user}", f"sip:{target.user}@{host}"
    elif target.kind == "user":
        name, url = f"sofia/internal/{target.user}@{host}", f"sip:{target.user}@{host}"
    else:
        name, url = f"sofia/{target.profile}/{target.user}@{host}", f"sip:{target.user}@{host}"
    channel = OriginatedChannel(core, leg, uuid, name, target.profile, url, variables)
    core.channels[uuid] = channel
    channel.running_state, channel.state = "CS_INIT", "CS_ROUTING"  # 07d: CS_INIT, number 2
    channel.fire("CHANNEL_CREATE")
    return channel


def _ring(channel: OriginatedChannel, callee: Callee | None, behaviour: str,
          timeout: int) -> str:
    """Until the callee answers (""), or the cause the originate fails with."""
    core = channel.core
    fail = BEHAVIOURS[behaviour]
    channel.responded = behaviour != UNREACHABLE  # 180 / 486 / 603 came from its address
    channel._basic_key = None
    if behaviour in (BUSY, REJECT, UNREACHABLE):
        channel.hangup(fail)
        session._teardown(channel)
        return fail
    # 180 Ringing: sofia marks the leg ring-ready, which stamps its progress time and fires
    # CHANNEL_PROGRESS (switch_channel.c switch_channel_perform_mark_ring_ready_value);
    # 07d's answered leg carries that non-zero Caller-Channel-Progress-Time.
    channel.ring_ready()
    wait = callee.ring_seconds if behaviour == ANSWER and callee is not None else timeout
    deadline = core.clock.now() + wait
    while not channel.down and core.clock.now() < deadline:
        channel.wait_input(deadline - core.clock.now())
    if channel.down:  # uuid_kill while ringing (ORIGINATOR_CANCEL...)
        cause = channel.hangup_cause or "NORMAL_CLEARING"
        session._teardown(channel)
        return cause
    if behaviour != ANSWER:
        # NO_ANSWER: the reply comes before the leg's HANGUP_COMPLETE (07d failure 2)
        channel.hangup("NO_ANSWER")
        core.spawn(session._teardown, channel)
        return "NO_ANSWER"
    _attach_phone(channel, callee)
    channel.answer()
    return ""


def _attach_phone(channel: OriginatedChannel, callee: Callee | None) -> None:
    from controller.sim.phones import Phone

    phone = Phone(channel.core, channel)
    channel.phone = phone
    dialling(channel.core).phones.append(phone)
    if callee is not None:
        callee.phone = phone


def _run_answered(channel: OriginatedChannel, exten: str, dialplan: str, context: str) -> None:
    """The answered leg's session: its application (``&app(args)``) or the extension."""
    channel.flipped = True
    channel._basic_key = None  # the cached event data shows the profile before the flip
    channel.set_running_state("CS_EXECUTE")
    try:
        if exten.startswith("&") and len(exten) > 1:
            app, _, arg = exten[1:].partition("(")
            arg = arg.split(")")[0] if arg else ""
            session.execute_app(channel, app, arg or None)
        else:
            route = dialling(channel.core).dialplan
            for name, app_arg in (route(exten) if route is not None else []):
                if channel.down:
                    break
                session.execute_app(channel, name, app_arg)
        if not channel.down:
            channel.hangup("NORMAL_CLEARING")
    finally:
        session._teardown(channel)



@session.register_app("sched_hangup", nomedia=True)
def sched_hangup_app(channel: Channel, arg: str | None) -> None:
    """mod_dptools sched_hangup ``[+]<time> [<cause>]``: hang the channel up later (relative
    with ``+``, else at that epoch second); the cause defaults to ALLOTTED_TIMEOUT
    (mod_dptools.c sched_hangup_function). Here because dialled calls' time limits use it."""
    argv = (arg or "").split()
    if not argv:
        return
    seconds = atoi(argv[0].lstrip("+"))
    core = channel.core
    delay = seconds if argv[0].startswith("+") else max(0.0, seconds - core.clock.now())
    cause = cause_from_str(argv[1]) if len(argv) > 1 else "ALLOTTED_TIMEOUT"

    def fire() -> None:
        if not channel.down:
            channel.hangup(cause)

    core.spawn_later(delay, fire)
