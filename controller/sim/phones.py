"""Simulated SIP phones: place calls, press keys, talk, hang up.

A ``Phone`` is what a SIPp scenario does in the integration tests: it sends
an INVITE (a new channel routed through the dialplan), waits for the 200 OK,
sends RFC 2833 digits, sends speech (which drives talking and the floor) and
BYE. ``heard`` lists every media string FreeSWITCH played to it.
"""

from __future__ import annotations

import itertools
import random
import uuid as uuidlib
from typing import TYPE_CHECKING

import gevent
import gevent.event

from controller.sim import originate, session, sofia
from controller.sim.channel import Channel
from controller.sim.dialplan import dp_match

if TYPE_CHECKING:
    from controller.sim.core import Core
    from controller.sim.dialplan import Dialplan


class PhoneError(RuntimeError):
    """The phone cannot do what was asked (e.g. the call is down); same name as
    controller.testing.sipp_phones.PhoneError, so tests read alike on both."""


DTMF_DURATION_MS = 280  # what the captured RFC 2833 packets carried (DTMF-Duration 2240)


class Phone:
    def __init__(self, core: Core, channel: Channel) -> None:
        self._core = core
        self._channel = channel
        self.uuid = channel.uuid
        self.number = channel.leg.destination
        self.caller_id = channel.leg.caller_id
        self.caller_name = channel.leg.caller_name
        self.call_id = channel.leg.call_id  # the SIP Call-ID (sip_call_id)
        self.heard: list[str] = []
        self.received_dtmf: list[str] = []
        self.cause: str | None = None
        self.hung_up_by_phone = False
        self._answered = gevent.event.Event()
        self._ringing = gevent.event.Event()  # FreeSWITCH sent 180 Ringing
        self._hungup = gevent.event.Event()
        self._gone = gevent.event.Event()
        self._talking = False

    # ------------------------------------------------------------ waiting
    def wait_answered(self, timeout: float = 5.0) -> None:
        """Block until FreeSWITCH answered; raises TimeoutError (or if it hung up first)."""
        ready = gevent.wait([self._answered, self._hungup], timeout=timeout, count=1)
        if self._answered.is_set():
            return
        if self._hungup.is_set():
            raise TimeoutError(f"call {self.uuid} to {self.number} ended ({self.cause}) unanswered")
        del ready
        raise TimeoutError(f"call {self.uuid} to {self.number} not answered within {timeout}s")

    def wait_hangup(self, timeout: float = 10.0) -> str:
        """Block until the call ended; returns the hangup cause, raises TimeoutError."""
        if not self._hungup.wait(timeout):
            raise TimeoutError(f"call {self.uuid} to {self.number} still up after {timeout}s")
        return self.cause or "NORMAL_CLEARING"

    def wait_gone(self, timeout: float = 10.0) -> None:
        """Block until FreeSWITCH destroyed the channel (its session ended)."""
        if not self._gone.wait(timeout):
            raise TimeoutError(f"channel {self.uuid} not destroyed within {timeout}s")

    @property
    def is_up(self) -> bool:
        return not self._hungup.is_set()

    @property
    def answered(self) -> bool:
        return self._answered.is_set()

    @property
    def ringing(self) -> bool:
        """FreeSWITCH sent 180 Ringing: the phone plays its own ringback tone."""
        return self._ringing.is_set()

    # ------------------------------------------------------------ actions
    def send_dtmf(self, digits: str, gap: float = 0.2, duration_ms: int = DTMF_DURATION_MS) -> None:
        """RFC 2833 digits, each delivered when its end packet arrives; returns when sent.

        ``gap`` is simulated seconds between the end of one digit and the next.
        Raises ValueError for bad digits, PhoneError if the call is down; digits
        left when the call ends meanwhile are dropped.
        """
        bad = [d for d in digits if d not in "0123456789*#ABCDabcd"]
        if bad or not digits:
            raise ValueError(
                f"send_dtmf: digits {digits!r} must be made of DTMF digits (0-9 * # A-D)"
            )
        if not isinstance(gap, (int, float)) or gap < 0:
            raise ValueError(f"send_dtmf: gap {gap!r} must be seconds >= 0")
        self._require_up("send_dtmf")
        clock = self._core.clock
        for i, digit in enumerate(digits):
            if not self.is_up:
                return
            clock.sleep(duration_ms / 1000.0)
            self._channel.recv_dtmf(digit.upper(), duration_ms * 8, "RTP")
            if i < len(digits) - 1:
                clock.sleep(gap)

    def start_talking(self) -> None:
        """The phone starts sending speech (energy above the member's level)."""
        self._require_up("start_talking")
        self._set_audio(True)

    def stop_talking(self) -> None:
        """Back to silence (stop-talking follows after FreeSWITCH's hangover)."""
        self._set_audio(False)

    def _require_up(self, what: str) -> None:
        if not self.is_up:
            raise PhoneError(f"{self}: cannot {what}, the call is down ({self.cause})")

    def _set_audio(self, active: bool) -> None:
        channel = self._channel
        if channel.audio_active == active or channel.down:
            return
        channel.audio_active = active
        member = channel.member
        if member is not None and member.conference is not None:
            self._core.spawn_later(0.02, member.conference.talking_changed, member)

    def hangup(self, timeout: float = 10.0) -> None:
        """BYE (NORMAL_CLEARING), or CANCEL before the answer (ORIGINATOR_CANCEL).

        Returns once the call is down (at once here; ``timeout`` matches the
        SIPp phones' signature). Hanging up a call that is down does nothing.
        """
        if self.is_up:
            self.hung_up_by_phone = True
            cause = "NORMAL_CLEARING" if self._channel.times["answered"] else "ORIGINATOR_CANCEL"
            self._channel.hangup(cause, by_phone=True)

    # ------------------------------------------------------------ channel callbacks
    def _on_answered(self) -> None:
        self._answered.set()

    def _on_ringing(self) -> None:
        self._ringing.set()

    def _on_hangup(self, cause: str, by_phone: bool) -> None:
        self.cause = cause
        self._channel.audio_active = False
        self._hungup.set()

    def _on_destroyed(self) -> None:
        self._gone.set()

    def __repr__(self) -> str:
        state = "up" if self.is_up else self.cause
        return f"<Phone {self.caller_id}->{self.number} {self.uuid} {state}>"


class PhoneBook:
    """``sim.phones``: places calls and keeps them until ``close()``."""

    def __init__(self, core: Core, dialplan: Dialplan) -> None:
        self._core = core
        self._dialplan = dialplan
        self._ports = itertools.count(5102, 2)
        self._phones: list[Phone] = []
        self._rng = random.Random()
        originate.dialling(core).dialplan = dialplan

    def call(self, number: str, caller_id: str = "1000", caller_name: str | None = None) -> Phone:
        """INVITE ``number``; returns at once with the Phone (its uuid is known)."""
        if not number or any(c.isspace() for c in number):
            raise ValueError(f"call: the number must be non-empty without spaces, got {number!r}")
        if not caller_id or any(c.isspace() or c in '<>"@' for c in caller_id):
            raise ValueError(f"call: caller_id {caller_id!r} must be a SIP user part")
        core = self._core
        if core.stopping:
            raise RuntimeError("call: the simulator is stopped")
        rng = self._rng
        call_no = rng.randint(10000, 99999)
        leg = sofia.SipLeg(
            caller_id=caller_id,
            caller_name=caller_name or caller_id,
            destination=number,
            port=next(self._ports),
            call_id=f"1-{call_no}@127.0.0.1",
            from_tag=f"{call_no}SIPpTag001",
            to_tag="".join(
                rng.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
                for _ in range(13)
            ),
            session_id=core.next_session_id(),
            local_media_port=rng.randrange(16384, 32768, 2),
            remote_media_port=rng.randrange(16000, 16384, 2),
            ssrc=rng.randint(1, 2**32 - 1),
            sdp_session=rng.randint(1_700_000_000, 1_800_000_000),
        )
        channel = Channel(core, leg, str(uuidlib.uuid4()))
        channel.dp_match = dp_match(number)
        phone = Phone(core, channel)
        channel.phone = phone
        self._phones.append(phone)
        extension = self._dialplan(number)
        core.channels[channel.uuid] = channel
        core.spawn(session.run, channel, extension, self._dialplan)
        return phone

    def expect(self, address: str, behaviour: str = "answer",
               ring_seconds: float = 0.3) -> originate.Callee:
        """A phone FreeSWITCH will dial (``originate``): ``address`` is a user (``alice``,
        for ``user/alice`` or ``sofia/<profile>/alice@host``), ``user@host:port``, or a
        gateway's number. ``behaviour``: ``answer`` (after ``ring_seconds``), ``busy``
        (486), ``reject`` (603), ``ring`` (never answers: NO_ANSWER at originate_timeout)
        or ``unreachable``. ``callee.wait_dialled()`` gives the Phone once answered."""
        return originate.expect(self._core, address, behaviour, ring_seconds)

    def all(self) -> list[Phone]:
        return list(self._phones)

    def get(self, uuid: str) -> Phone | None:
        """The phone whose channel has ``uuid`` (None if this book never placed it)."""
        return next((p for p in self._phones if p.uuid == uuid), None)

    def close(self, timeout: float = 5.0) -> None:
        """Hang up every call that is still up and wait for the channels to go."""
        everyone = self._phones + originate.dialling(self._core).phones
        for phone in everyone:
            phone.hangup()
        for phone in everyone:
            try:
                phone.wait_hangup(timeout)
            except TimeoutError:
                pass
