"""SippPhones against a local SIP peer that plays FreeSWITCH's part.

The peer (``Uas``) is a small SIP user agent server on 127.0.0.1/UDP written
here: it challenges with 401 or 407 and checks the digest, answers with SDP,
records what reaches it (requests, SIP INFO digits, RTP audio and RFC 2833
telephone-events) and can send a BYE itself. So every phone command is
checked where it matters, on the wire. Needs the sipp binary (Debian package
sip-tester); RFC 2833 tests also need raw sockets (root or CAP_NET_RAW).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

import pytest
from lxml import etree

from controller.testing import g711
from controller.testing.sip_causes import FAILURE_STATUSES, cause_for_status
from controller.testing.sipp_phones import (
    PhoneError,
    PhoneRejected,
    SippPhones,
    channel_uuids,
    raw_sockets_allowed,
)
from controller.testing.sipp_scenario import scenario_xml
from controller.testing.sipp_twin import (
    ESC,
    TwinProtocolError,
    encode_command,
    split_messages,
)

HAVE_SIPP = shutil.which("sipp") is not None
needs_sipp = pytest.mark.skipif(
    not HAVE_SIPP, reason="sipp not installed (apt-get install sip-tester)"
)
needs_raw = pytest.mark.skipif(
    HAVE_SIPP and not raw_sockets_allowed(),
    reason="RFC 2833 via SIPp play_dtmf needs raw sockets (root or CAP_NET_RAW)",
)
USER, PASSWORD = "1000", "s3cret"
TE_PT = 96  # SIPp's play_dtmf payload type
EVENT_CODES = "0123456789*#ABCD"


# ------------------------------------------------------------------ the peer


@dataclass
class Request:
    method: str
    uri: str
    headers: dict[str, str]
    body: str
    raw: str
    source: tuple[str, int]


@dataclass
class RtpPacket:
    received: float
    pt: int
    marker: bool
    seq: int
    ts: int
    ssrc: int
    payload: bytes


@dataclass
class Uas:
    """A SIP UAS on 127.0.0.1 that challenges, answers and records."""

    password: str = PASSWORD
    challenge: int = 407
    ring_forever: bool = False
    reject_with: int | None = None
    requests: list[Request] = field(default_factory=list)
    rtp: list[RtpPacket] = field(default_factory=list)
    info_digits: list[str] = field(default_factory=list)
    responses_to_bye: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind(("127.0.0.1", 0))
        self.sip.settimeout(0.2)
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.media.bind(("127.0.0.1", 0))
        self.media.settimeout(0.2)
        self.port = self.sip.getsockname()[1]
        self.media_port = self.media.getsockname()[1]
        self.nonce = secrets.token_hex(8)
        self.tag = secrets.token_hex(4)
        self.dialog: Request | None = None  # the answered INVITE
        self.pending_invite: Request | None = None
        self.changed = threading.Condition()
        self.running = True
        self.threads = [threading.Thread(target=self._serve_sip, daemon=True),
                        threading.Thread(target=self._serve_rtp, daemon=True)]
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=2)
        self.sip.close()
        self.media.close()

    # -- what the tests look at

    def wait_for(self, predicate, timeout: float = 5.0, what: str = "condition") -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), f"peer: no {what} in {timeout}s"

    def methods(self) -> list[str]:
        return [r.method for r in self.requests]

    def rtp_digits(self) -> str:
        """Digits from telephone-events: one per event (its end packets share the ts)."""
        seen: dict[tuple[int, int], str] = {}
        for packet in self.rtp:
            if packet.pt == TE_PT and len(packet.payload) >= 4 and packet.payload[1] & 0x80:
                seen.setdefault((packet.ssrc, packet.ts), EVENT_CODES[packet.payload[0]])
        ordered = sorted(seen.items(), key=lambda item: self._first_arrival(*item[0]))
        return "".join(digit for _, digit in ordered)

    def _first_arrival(self, ssrc: int, ts: int) -> float:
        return min(p.received for p in self.rtp if p.ssrc == ssrc and p.ts == ts)

    def audio_level(self, since: float, until: float) -> float:
        payload = b"".join(p.payload for p in self.rtp
                           if p.pt == 8 and since <= p.received < until)
        assert payload, f"no PCMA audio between {since:.2f} and {until:.2f}"
        return g711.mean_level(payload)

    def send_bye(self, cause: int = 41, text: str = "NORMAL_TEMPORARY_FAILURE") -> None:
        invite = self.dialog
        assert invite is not None, "no answered call to hang up"
        contact = re.search(r"<sip:[^@>]*@([^:>;]+):(\d+)", invite.headers["contact"])
        target = (contact.group(1), int(contact.group(2)))
        bye = "\r\n".join([
            f"BYE sip:{invite.headers['from'].split('@')[0].split(':')[-1]}@{target[0]}:"
            f"{target[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(6)}",
            f"From: {invite.headers['to']};tag={self.tag}",
            f"To: {invite.headers['from']}",
            f"Call-ID: {invite.headers['call-id']}",
            "CSeq: 1 BYE",
            f'Reason: Q.850;cause={cause};text="{text}"',
            "Max-Forwards: 70",
            "Content-Length: 0", "", "",
        ])
        self.sip.sendto(bye.encode(), target)

    # -- SIP

    def _serve_sip(self) -> None:
        while self.running:
            try:
                data, source = self.sip.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            text = data.decode("utf-8", "replace")
            if text.startswith("SIP/2.0"):
                with self.changed:
                    self.responses_to_bye.append(text.split("\r\n", 1)[0])
                    self.changed.notify_all()
                continue
            request = self._parse(text, source)
            with self.changed:
                self.requests.append(request)
                self._handle(request)
                self.changed.notify_all()

    @staticmethod
    def _parse(text: str, source: tuple[str, int]) -> Request:
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        method, uri, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        vias: list[str] = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "via":
                vias.append(value.strip())
            else:
                headers[name.strip().lower()] = value.strip()
        headers["via"] = "\r\nVia: ".join(vias)
        return Request(method, uri, headers, body, text, source)

    def _respond(self, request: Request, status: int, phrase: str, extra: list[str] = (),
                 body: str = "", to_tag: bool = True) -> None:
        to = request.headers["to"]
        if to_tag and ";tag=" not in to:
            to += f";tag={self.tag}"
        lines = [f"SIP/2.0 {status} {phrase}", f"Via: {request.headers['via']}",
                 f"From: {request.headers['from']}", f"To: {to}",
                 f"Call-ID: {request.headers['call-id']}", f"CSeq: {request.headers['cseq']}",
                 *extra, f"Content-Length: {len(body)}", "", body]
        self.sip.sendto("\r\n".join(lines).encode(), request.source)

    def _handle(self, request: Request) -> None:
        method = request.method
        if method == "INVITE":
            self._respond(request, 100, "Trying", to_tag=False)
            header = "proxy-authorization" if self.challenge == 407 else "authorization"
            if header not in request.headers:
                name = "Proxy-Authenticate" if self.challenge == 407 else "WWW-Authenticate"
                phrase = "Proxy Authentication Required" if self.challenge == 407 \
                    else "Unauthorized"
                self._respond(request, self.challenge, phrase,
                              [f'{name}: Digest realm="test", nonce="{self.nonce}", '
                               'algorithm=MD5'])
            elif not self._digest_ok(request, request.headers[header]):
                self._respond(request, 403, "Forbidden")
            elif self.reject_with:
                self._respond(request, self.reject_with, "Busy Here")
            else:
                self._respond(request, 180, "Ringing")
                self.pending_invite = request
                if not self.ring_forever:
                    self._answer(request)
        elif method == "ACK":
            pass
        elif method == "CANCEL":
            self._respond(request, 200, "OK")
            if self.pending_invite is not None:
                self._respond(self.pending_invite, 487, "Request Terminated")
        elif method == "INFO":
            match = re.search(r"Signal=\s*(\S)", request.body)
            if match:
                self.info_digits.append(match.group(1))
            self._respond(request, 200, "OK")
        elif method == "BYE":
            self._respond(request, 200, "OK")
        else:
            self._respond(request, 405, "Method Not Allowed")

    def _answer(self, request: Request) -> None:
        sdp = "\r\n".join([
            "v=0", "o=peer 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
            f"m=audio {self.media_port} RTP/AVP 8 {TE_PT}", "a=rtpmap:8 PCMA/8000",
            f"a=rtpmap:{TE_PT} telephone-event/8000", f"a=fmtp:{TE_PT} 0-16", "", ""])
        self.dialog = request
        self.pending_invite = None
        self._respond(request, 200, "OK",
                      [f"Contact: <sip:peer@127.0.0.1:{self.port}>",
                       "Content-Type: application/sdp"], body=sdp)

    def _digest_ok(self, request: Request, authorization: str) -> bool:
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', authorization))
        ha1 = hashlib.md5(f"{fields['username']}:{fields['realm']}:{self.password}".encode())
        ha2 = hashlib.md5(f"INVITE:{fields['uri']}".encode())
        expected = hashlib.md5(
            f"{ha1.hexdigest()}:{fields['nonce']}:{ha2.hexdigest()}".encode()).hexdigest()
        return fields.get("username") == USER and fields.get("response") == expected

    # -- RTP

    def _serve_rtp(self) -> None:
        while self.running:
            try:
                data, _ = self.media.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) < 12:
                continue
            first, second, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
            packet = RtpPacket(time.monotonic(), second & 0x7F, bool(second & 0x80), seq, ts,
                               ssrc, data[12:])
            with self.changed:
                self.rtp.append(packet)
                self.changed.notify_all()


@pytest.fixture
def uas():
    peer = Uas()
    yield peer
    peer.close()


def make_phones(uas: Uas, **kwargs) -> SippPhones:
    options = {"user": USER, "password": PASSWORD, "local_ip": "127.0.0.1", **kwargs}
    return SippPhones("127.0.0.1", uas.port, **options)


@pytest.fixture
def phones(uas, tmp_path):
    made = make_phones(uas, dtmf="info", workdir=tmp_path)
    yield made
    made.close()


# ------------------------------------------------- pure parts (no SIPp needed)


def test_scenario_is_complete_xml_that_sipp_can_validate():
    root = etree.fromstring(scenario_xml().encode("iso-8859-1"))
    responses = [int(e.get("response")) for e in root.iter("recv")
                 if e.get("response") and e.get("next") == "rejected"]
    for status in FAILURE_STATUSES:
        assert responses.count(status) == 2, f"{status} must be accepted after each INVITE"
    labels = {e.get("id") for e in root.iter("label")}
    jumps = {e.get("next") for e in root.iter() if e.get("next")}
    assert jumps <= labels, f"jumps to missing labels: {jumps - labels}"
    # SIPp refuses a variable referenced fewer than twice (except "_").
    text = scenario_xml()
    assigned = {name for attr in re.findall(r'assign_to="([^"]+)"', text)
                for name in attr.split(",")} - {"_"}
    for name in assigned:
        uses = len(re.findall(rf'assign_to="[^"]*\b{name}\b', text)) + \
            len(re.findall(rf'(?:variable|test)="{name}"|\[\${name}\]', text))
        assert uses >= 2, f"${name} is assigned but never used"


def test_scenario_without_marker_is_refused():
    with pytest.raises(ValueError, match="marker"):
        scenario_xml("<scenario/>")


def test_twin_messages_frame_and_parse():
    frame = encode_command("abc@x", "dtmf", "12*,100")
    assert frame == b"Call-ID: abc@x\r\nX-Cmd: dtmf\r\nX-Arg: 12*,100\r\n" + ESC
    messages, rest = split_messages(
        b"Call-ID: a\nX-Event: done\n" + ESC + b"call-id: a\ninternal-cmd: abort_call\n\n"
        + ESC + b"Call-ID: a\nX-Ev")
    assert messages == [{"call-id": "a", "x-event": "done"},
                        {"call-id": "a", "internal-cmd": "abort_call"}]
    assert rest == b"Call-ID: a\nX-Ev"
    with pytest.raises(TwinProtocolError, match="argument"):
        encode_command("abc", "dtmf", "1\r\nX-Cmd: bye")
    with pytest.raises(TwinProtocolError, match="no message end"):
        split_messages(b"x" * 70000)


def test_sip_statuses_map_to_freeswitch_causes():
    assert cause_for_status(486) == "USER_BUSY"
    assert cause_for_status(403) == "CALL_REJECTED"
    assert cause_for_status(503) == "NORMAL_TEMPORARY_FAILURE"
    assert cause_for_status(487) == "ORIGINATOR_CANCEL"
    assert cause_for_status(499) == "NORMAL_UNSPECIFIED"
    assert 401 not in FAILURE_STATUSES and 486 in FAILURE_STATUSES


def test_g711_alaw_known_codes_and_levels():
    assert g711.alaw_encode_sample(0) == 0xD5
    assert g711.alaw_encode_sample(-1) == 0x55
    assert g711.alaw_encode_sample(32767) == 0xAA
    assert g711.alaw_encode_sample(-32768) == 0x2A
    assert g711.alaw_decode_sample(0xAA) == 32256
    assert all(abs(g711.alaw_decode_sample(g711.alaw_encode_sample(s)) - s) <= max(16, abs(s) // 16)
               for s in range(-32768, 32768, 97))
    assert len(g711.tone(seconds=0.5)) == 4000 and len(g711.silence(0.02)) == 160
    assert g711.mean_level(g711.tone(amplitude=8000)) > 4000
    assert g711.mean_level(g711.silence()) < 10
    with pytest.raises(ValueError):
        g711.alaw_encode_sample(40000)


def test_channel_uuids_reads_show_channels_json():
    assert channel_uuids('{"row_count":1,"rows":[{"uuid":"u1","name":"sofia/x"}]}') == ["u1"]
    assert channel_uuids('{"row_count":0}') == []
    with pytest.raises(ValueError, match="show channels"):
        channel_uuids("-ERR no reply")


# ------------------------------------------------------------ phones on the wire


@needs_sipp
@pytest.mark.parametrize("challenge", [407, 401])
def test_call_authenticates_is_answered_and_hangs_up(uas, tmp_path, challenge):
    uas.challenge = challenge
    with make_phones(uas, dtmf="info", workdir=tmp_path) as phones:
        phone = phones.call("3000", caller_id="alice", caller_name="Alice")
        phone.wait_answered(timeout=5)
        assert phone.is_up
        uas.wait_for(lambda: uas.methods().count("ACK") == 2, what="ACK of the 200")
        first, second = [r for r in uas.requests if r.method == "INVITE"]
        assert "authorization" not in first.headers
        assert first.uri.startswith("sip:3000@127.0.0.1")
        assert first.headers["from"].startswith('"Alice" <sip:alice@')
        assert first.headers["call-id"] == phone.call_id
        offer = second.body
        assert "m=audio" in offer and "a=rtpmap:8 PCMA/8000" in offer
        assert f"a=rtpmap:{TE_PT} telephone-event/8000" in offer
        # Silence flows while nobody talks.
        uas.wait_for(lambda: sum(p.pt == 8 for p in uas.rtp) >= 5, what="RTP")

        phone.hangup()
        assert uas.methods()[-1] == "BYE"
        assert phone.wait_hangup(timeout=5) == "NORMAL_CLEARING"
        assert not phone.is_up
        with pytest.raises(PhoneError, match="the call is down"):
            phone.start_talking()


@needs_sipp
@needs_raw
def test_rfc2833_digits_are_sent_on_demand_even_repeated(uas, tmp_path):
    with make_phones(uas, dtmf="rfc2833", workdir=tmp_path) as phones:
        phone = phones.call("4000", caller_id="bob")
        phone.wait_answered()
        phone.send_dtmf("12*#", gap=0.2)
        phone.send_dtmf("11", gap=0.2)  # the same digit twice in a row
        uas.wait_for(lambda: len(uas.rtp_digits()) >= 6, what="six telephone-events")
        assert uas.rtp_digits() == "12*#11"
        marked = [p for p in uas.rtp if p.pt == TE_PT and p.marker]
        assert len(marked) == 6, "one marker bit per event"
        seqs = [p.seq for p in uas.rtp if p.pt == TE_PT]
        assert seqs == sorted(seqs), "one increasing sequence across the two sends"
        phone.hangup()


@needs_sipp
def test_info_digits_are_sent_on_demand(uas, phones):
    phone = phones.call("4000", caller_id="carol")
    phone.wait_answered()
    phone.send_dtmf("59#", gap=0.1)
    assert uas.info_digits == ["5", "9", "#"]
    with pytest.raises(ValueError, match="digits"):
        phone.send_dtmf("5x")
    phone.hangup()


@needs_sipp
def test_talking_switches_between_tone_and_silence(uas, phones):
    phone = phones.call("1000", caller_id="dave")
    phone.wait_answered()
    uas.wait_for(lambda: sum(p.pt == 8 for p in uas.rtp) >= 10, what="silence")
    quiet_until = time.monotonic()
    phone.start_talking()
    talk_from = time.monotonic() + 0.1  # packets already on their way
    time.sleep(0.6)
    phone.stop_talking()
    talk_until = time.monotonic()
    time.sleep(0.6)
    assert uas.audio_level(quiet_until - 0.2, quiet_until) < 50
    assert uas.audio_level(talk_from, talk_until) > 2000
    assert uas.audio_level(talk_until + 0.2, time.monotonic()) < 50
    seqs = [p.seq for p in uas.rtp if p.pt == 8]
    assert all(b - a == 1 for a, b in zip(seqs, seqs[1:], strict=False)), "one stream"
    phone.hangup()


@needs_sipp
def test_hangup_from_the_other_side_reports_its_cause(uas, phones):
    phone = phones.call("2000", caller_id="erin")
    phone.wait_answered()
    uas.send_bye(cause=41, text="NORMAL_TEMPORARY_FAILURE")
    assert phone.wait_hangup(timeout=5) == "NORMAL_TEMPORARY_FAILURE"
    uas.wait_for(lambda: uas.responses_to_bye, what="200 to our BYE")
    assert uas.responses_to_bye[0] == "SIP/2.0 200 OK"
    assert not phone.is_up
    phone.hangup()  # already down: nothing to do


@needs_sipp
def test_wrong_password_is_a_rejection_with_cause(uas, phones):
    uas.password = "other"
    phone = phones.call("3000")
    with pytest.raises(PhoneRejected) as caught:
        phone.wait_answered(timeout=5)
    assert (caught.value.status, caught.value.cause) == (403, "CALL_REJECTED")
    assert "403 Forbidden" in str(caught.value)
    assert phone.wait_hangup() == "CALL_REJECTED"


@needs_sipp
def test_busy_is_reported_as_user_busy(uas, phones):
    uas.reject_with = 486
    phone = phones.call("3000")
    with pytest.raises(PhoneRejected, match="USER_BUSY"):
        phone.wait_answered(timeout=5)


@needs_sipp
def test_hangup_while_ringing_cancels(uas, phones):
    uas.ring_forever = True
    phone = phones.call("3000")
    uas.wait_for(lambda: uas.pending_invite is not None, what="ringing")
    with pytest.raises(TimeoutError, match="not answered"):
        phone.wait_answered(timeout=0.3)
    phone.hangup(timeout=5)
    assert "CANCEL" in uas.methods()
    assert phone.wait_hangup() == "ORIGINATOR_CANCEL"


@needs_sipp
def test_uuid_is_found_over_esl_by_call_id(uas, tmp_path):
    def esl(command: str) -> str:
        if command == "show channels as json":
            return json.dumps({"row_count": 2, "rows": [{"uuid": "u-other"}, {"uuid": "u-1"}]})
        invites = [r for r in uas.requests if r.method == "INVITE"]
        if command == "uuid_getvar u-1 sip_call_id" and invites:
            return invites[-1].headers["call-id"]
        return "_undef_"

    with make_phones(uas, dtmf="info", workdir=tmp_path, esl=esl) as phones:
        phone = phones.call("3000")
        phone.wait_answered()
        assert phone.uuid == "u-1"
        with pytest.raises(NotImplementedError, match="do not record"):
            _ = phone.heard
    with make_phones(uas, dtmf="info", workdir=tmp_path / "b") as phones:
        phone = phones.call("3000")
        phone.wait_answered()
        with pytest.raises(PhoneError, match="no esl callable"):
            _ = phone.uuid


@needs_sipp
def test_close_hangs_up_and_stops_sipp(uas, tmp_path):
    phones = make_phones(uas, dtmf="info", workdir=tmp_path)
    phone = phones.call("3000")
    phone.wait_answered()
    assert phone.sipp_running
    phones.close()
    assert not phone.sipp_running, "SIPp still running after close()"
    assert "BYE" in uas.methods()
    with pytest.raises(PhoneError, match="closed"):
        phones.call("3000")


@needs_sipp
def test_bad_arguments_are_refused_with_the_value(uas, phones):
    with pytest.raises(ValueError, match="'10 00'"):
        phones.call("10 00")
    with pytest.raises(ValueError, match="caller_name"):
        phones.call("1000", caller_name='say "hi"')
    with pytest.raises(ValueError, match="dtmf must be"):
        make_phones(uas, dtmf="inband")


def test_missing_sipp_binary_is_a_clear_error(uas):
    with pytest.raises(PhoneError, match="sip-tester"):
        make_phones(uas, sipp_binary="no-such-sipp")


def test_environment_names_what_is_missing():
    with pytest.raises(PhoneError, match="FS_SIP_HOST and FS_SIP_PASSWORD"):
        SippPhones.from_environment(environ={})
    with pytest.raises(ValueError, match="FS_SIP_PORT='five'"):
        SippPhones.from_environment(
            environ={"FS_SIP_HOST": "h", "FS_SIP_PASSWORD": "p", "FS_SIP_PORT": "five"})


@needs_sipp
def test_environment_configures_the_phones(uas, tmp_path):
    environ = {"FS_SIP_HOST": "127.0.0.1", "FS_SIP_PORT": str(uas.port),
               "FS_SIP_USER": USER, "FS_SIP_PASSWORD": PASSWORD, "FS_SIP_LOCAL_IP": "127.0.0.1"}
    with SippPhones.from_environment(environ=environ, dtmf="info", workdir=tmp_path) as phones:
        phone = phones.call("3000")
        phone.wait_answered()
        phone.hangup()
        assert phone.wait_hangup() == "NORMAL_CLEARING"


# ---------------------------------------------- finding the channel of a call


@pytest.fixture
def sim_watch():
    """A simulated FreeSWITCH and a ChannelWatch on its Event Socket (real TCP)."""
    from controller.sim import SimConfig, Simulator
    from controller.testing.sipp_phones import ChannelWatch

    with Simulator(SimConfig(esl_port=0, time_scale=1.0)) as sim:
        watch = ChannelWatch("127.0.0.1", sim.esl_port, "ClueCon")
        try:
            yield sim, watch
        finally:
            watch.close()


def test_channel_watch_knows_a_call_that_already_ended(sim_watch):
    # The phones used to poll `show channels` for the channel: a call FreeSWITCH ended at
    # once (a full room, an answer URL without a document) was gone before they looked.
    sim, watch = sim_watch
    phone = sim.phones.call("direct-watch1", caller_id="alice")
    phone.wait_answered()
    phone.hangup()
    phone.wait_gone()
    assert watch.channel(phone.call_id, timeout=5) == phone.uuid
    assert watch.hangup_cause(phone.uuid, timeout=5) == "NORMAL_CLEARING"


def test_channel_watch_tells_calls_apart_and_reports_a_missing_one(sim_watch):
    sim, watch = sim_watch
    first = sim.phones.call("direct-watch2", caller_id="alice")
    second = sim.phones.call("direct-watch2", caller_id="bob")
    first.wait_answered()
    second.wait_answered()
    assert watch.channel(second.call_id) == second.uuid
    assert watch.channel(first.call_id) == first.uuid
    assert watch.hangup_cause(first.uuid) is None  # still up
    assert watch.channel("no-such-call@sipp-phone", timeout=0.2) is None


def test_channel_watch_names_an_unreachable_freeswitch():
    from controller.testing.sipp_phones import ChannelWatch

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PhoneError, match=f"cannot watch FreeSWITCH's channels at 127.0.0.1:{port}"):
        ChannelWatch("127.0.0.1", port, "ClueCon", connect_timeout=0.5)


# ------------------------------------------------ phones FreeSWITCH dials (UAS)
#
# Our own caller phones (SIPp UAC) call the answering phones (SIPp UAS) directly
# on loopback: SIPp against SIPp, with RTP watched on the loopback interface.


ETH_P_IP = 0x0800
PACKET_OUTGOING = 4  # a loopback packet is seen twice: leaving and arriving


class LoopbackRtp:
    """RTP packets crossing the loopback interface, by UDP destination port
    (an AF_PACKET socket: needs root or CAP_NET_RAW)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.packets: list[tuple[int, RtpPacket]] = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while self.running:
            try:
                frame, address = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if address[2] == PACKET_OUTGOING:
                continue
            ip = frame[14:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
                continue
            udp = ip[(ip[0] & 0x0F) * 4:]
            if len(udp) < 20:
                continue
            dst_port = struct.unpack("!H", udp[2:4])[0]
            rtp = udp[8:]
            if rtp[0] >> 6 != 2:  # RTP version 2
                continue
            _, second, seq, ts, ssrc = struct.unpack("!BBHII", rtp[:12])
            packet = RtpPacket(time.monotonic(), second & 0x7F, bool(second & 0x80), seq, ts,
                               ssrc, rtp[12:])
            with self.lock:
                self.packets.append((dst_port, packet))

    def to(self, port: int, pt: int) -> list[RtpPacket]:
        with self.lock:
            return [p for dst, p in self.packets if dst == port and p.pt == pt]

    def digits_to(self, port: int) -> str:
        """RFC 2833 digits sent to ``port``: one per event (end packets share its ts)."""
        seen: dict[tuple[int, int], str] = {}
        for packet in self.to(port, TE_PT):
            if len(packet.payload) >= 4 and packet.payload[1] & 0x80:
                seen.setdefault((packet.ssrc, packet.ts), EVENT_CODES[packet.payload[0]])
        return "".join(seen.values())

    def level_to(self, port: int, since: float, until: float) -> float:
        payload = b"".join(p.payload for p in self.to(port, 8) if since <= p.received < until)
        assert payload, f"no PCMA to port {port} between {since:.2f} and {until:.2f}"
        return g711.mean_level(payload)

    def wait(self, predicate, timeout: float = 5.0, what: str = "RTP") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"no {what} within {timeout}s"
            time.sleep(0.02)

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def callees(tmp_path):
    from controller.testing.sipp_phones import SippCallees

    made = SippCallees(host="127.0.0.1", dtmf="rfc2833" if raw_sockets_allowed() else "info",
                       workdir=tmp_path / "callees")
    yield made
    made.close()


def caller_phones(callee, tmp_path, dtmf: str = "info") -> SippPhones:
    """Our SIPp caller phones aimed straight at ``callee`` (no FreeSWITCH between)."""
    return SippPhones("127.0.0.1", callee.port, user=USER, password=PASSWORD,
                      local_ip="127.0.0.1", dtmf=dtmf, workdir=tmp_path / "callers")


@pytest.mark.parametrize("behaviour", ["answer", "busy", "reject", "ring"])
def test_answering_scenarios_are_complete_xml(behaviour):
    from controller.testing.sipp_scenario import answering_scenario_xml

    text = answering_scenario_xml(behaviour)
    root = etree.fromstring(text.encode("iso-8859-1"))
    labels = {e.get("id") for e in root.iter("label")}
    jumps = {e.get("next") for e in root.iter() if e.get("next")}
    assert jumps <= labels, f"jumps to missing labels: {jumps - labels}"
    first = [e.tag for e in root if e.tag in ("recv", "send", "sendCmd", "recvCmd")
             and e.get("optional") != "global"]
    # recv INVITE, then sendCmd: SIPp is a passive 3PCC A that connects to its twin.
    assert first[:2] == ["recv", "sendCmd"]
    assigned = {name for attr in re.findall(r'assign_to="([^"]+)"', text)
                for name in attr.split(",")} - {"_"}
    for name in assigned:
        uses = len(re.findall(rf'assign_to="[^"]*\b{name}\b', text)) + \
            len(re.findall(rf'(?:variable|test)="{name}"|\[\${name}\]', text))
        assert uses >= 2, f"${name} is assigned but never used ({behaviour})"
    statuses = [line.strip() for line in text.splitlines() if line.strip().startswith("SIP/2.0")]
    expected = {"answer": ["SIP/2.0 180 Ringing"] + ["SIP/2.0 200 OK"] * 3,  # INVITE, BYE, INFO
                "busy": ["SIP/2.0 486 Busy Here"], "reject": ["SIP/2.0 603 Decline"],
                "ring": ["SIP/2.0 180 Ringing", "SIP/2.0 200 OK",
                         "SIP/2.0 487 Request Terminated"]}[behaviour]
    assert statuses == expected
    assert ('<pause milliseconds="300"/>' in text) == (behaviour == "answer")


def test_answering_scenario_refuses_unknown_behaviour():
    from controller.testing.sipp_scenario import answering_scenario_xml

    with pytest.raises(ValueError, match="'hold'.*answer, busy, reject, ring"):
        answering_scenario_xml("hold")
    with pytest.raises(ValueError, match="ring_ms"):
        answering_scenario_xml("answer", ring_ms=-1)


@needs_sipp
def test_expect_refuses_bad_addresses_and_behaviours(callees):
    with pytest.raises(ValueError, match="'a b'"):
        callees.expect("a b", "answer")
    with pytest.raises(ValueError, match="'hold' is not one of answer, busy"):
        callees.expect("alice", "hold")
    with pytest.raises(ValueError, match="port 70000"):
        callees.expect("alice@127.0.0.1:70000", "answer")


@needs_sipp
def test_answering_phone_rings_answers_and_both_sides_send_rtp(callees, tmp_path):
    if not raw_sockets_allowed():
        pytest.skip("watching RTP on loopback needs raw sockets (root or CAP_NET_RAW)")
    wire = LoopbackRtp()
    try:
        callee = callees.expect("alice", "answer")
        assert callee.uri == f"sip:alice@127.0.0.1:{callee.port}"
        assert not callee.dialled
        with caller_phones(callee, tmp_path) as phones:
            caller = phones.call("alice", caller_id="bob", caller_name="Bob Brown")
            caller.wait_answered(timeout=5)
            phone = callee.wait_dialled(timeout=5)
            assert phone is not None and phone.is_up and callee.dialled
            assert phone.call_id == caller.call_id
            assert (phone.caller_id, phone.caller_name) == ("bob", "Bob Brown")
            # RTP both ways: the callee's silence reaches the caller and back.
            wire.wait(lambda: len(wire.to(caller.media_port, 8)) >= 10, what="callee's RTP")
            wire.wait(lambda: len(wire.to(phone.media_port, 8)) >= 10, what="caller's RTP")
            quiet_until = time.monotonic()
            phone.start_talking()
            talk_from = time.monotonic() + 0.1
            time.sleep(0.5)
            phone.stop_talking()
            talk_until = time.monotonic()
            assert wire.level_to(caller.media_port, quiet_until - 0.3, quiet_until) < 50
            assert wire.level_to(caller.media_port, talk_from, talk_until) > 2000
            if callees.dtmf == "rfc2833":
                phone.send_dtmf("4#", gap=0.2)
                wire.wait(lambda: len(wire.digits_to(caller.media_port)) >= 2,
                          what="telephone-events")
                assert wire.digits_to(caller.media_port) == "4#"
            phone.hangup()
            assert phone.wait_hangup(timeout=5) == "NORMAL_CLEARING"
            assert caller.wait_hangup(timeout=5) == "NORMAL_CLEARING"
    finally:
        wire.close()


def wait_until_digits(phone, digits: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while "".join(phone.received_dtmf) != digits:
        assert time.monotonic() < deadline, f"callee got {phone.received_dtmf}, not {digits}"
        time.sleep(0.02)


@needs_sipp
def test_answering_phone_takes_a_bye_from_the_caller(callees, tmp_path):
    callee = callees.expect("alice", "answer", ring_seconds=0)
    with caller_phones(callee, tmp_path) as phones:
        caller = phones.call("alice")
        caller.wait_answered(timeout=5)
        phone = callee.wait_dialled(timeout=5)
        caller.send_dtmf("79", gap=0.1)  # SIP INFO application/dtmf-relay
        wait_until_digits(phone, "79")
        caller.hangup()
        assert phone.wait_hangup(timeout=5) == "NORMAL_CLEARING"
        assert not phone.is_up
        with pytest.raises(PhoneError, match="the call is down"):
            phone.start_talking()


@needs_sipp
@pytest.mark.parametrize(("behaviour", "status", "cause"), [
    ("busy", 486, "USER_BUSY"), ("reject", 603, "CALL_REJECTED")])
def test_declining_phones_answer_their_status(callees, tmp_path, behaviour, status, cause):
    callee = callees.expect("carol", behaviour)
    with caller_phones(callee, tmp_path) as phones:
        caller = phones.call("carol")
        with pytest.raises(PhoneRejected) as caught:
            caller.wait_answered(timeout=5)
        assert (caught.value.status, caught.value.cause) == (status, cause)
        assert callee.wait_dialled(timeout=5) is None
        assert callee.dialled and callee.cause == cause


@needs_sipp
def test_ringing_phone_rings_until_cancelled(callees, tmp_path):
    callee = callees.expect("dave", "ring")
    with caller_phones(callee, tmp_path) as phones:
        caller = phones.call("dave")
        with pytest.raises(TimeoutError, match="not answered"):
            caller.wait_answered(timeout=1)
        assert callee.dialled and callee.phone.state == "calling"
        with pytest.raises(PhoneError, match="only an answered call"):
            callee.phone.hangup()
        caller.hangup(timeout=5)  # CANCEL: the callee answers 200, then 487
        assert caller.wait_hangup() == "ORIGINATOR_CANCEL"
        assert callee.wait_dialled(timeout=5) is None
        assert callee.phone.wait_hangup(timeout=5) == "ORIGINATOR_CANCEL"


@needs_sipp
def test_unreachable_phone_has_nothing_listening(callees, tmp_path):
    callee = callees.expect("erin", "unreachable")
    with caller_phones(callee, tmp_path) as phones:
        caller = phones.call("erin")
        with pytest.raises(TimeoutError):
            caller.wait_answered(timeout=1)
    assert not callee.dialled
    with pytest.raises(TimeoutError, match="nothing listens"):
        callee.wait_dialled(timeout=0.1)


@needs_sipp
def test_close_stops_callees_that_were_never_dialled(tmp_path):
    from controller.testing.sipp_phones import SippCallees

    callees = SippCallees(host="127.0.0.1", dtmf="info", workdir=tmp_path)
    waiting = callees.expect("frank", "answer")
    assert waiting.phone.sipp_running
    callees.close()
    assert not waiting.phone.sipp_running
    with pytest.raises(PhoneError, match="closed"):
        callees.expect("frank", "answer")


@needs_sipp
def test_stack_gives_a_real_freeswitch_a_sipp_phone_and_its_uri(callees, tmp_path):
    # The real-FreeSWITCH branch of Stack.expect_phone without a FreeSWITCH: the stack is
    # not started; its phones are answering SIPp phones, and the `to` it hands out must
    # reach them (here our SIPp caller plays FreeSWITCH and dials it).
    from controller.testing.stack import Stack

    stack = Stack(tmp_path, simulate=True)
    stack.real, stack.phones = True, callees
    callee, to = stack.expect_phone("alice@127.0.0.1:5090", "busy")
    assert to == callee.uri and to.startswith("sip:alice@127.0.0.1:") and callee.port != 5090
    with caller_phones(callee, tmp_path) as phones:
        with pytest.raises(PhoneRejected, match="USER_BUSY"):
            phones.call("alice").wait_answered(timeout=5)
    assert callee.dialled


@needs_sipp
def test_commands_back_to_back_are_all_taken_on_both_sides(callees, tmp_path):
    # SIPp refused (and aborted the call for) a twin command that arrived between an
    # acknowledgement and the next recvCmd; both scenarios now acknowledge from the
    # element right before it. Failed 5 of 5 for the caller before.
    callee = callees.expect("alice", "answer", ring_seconds=0)
    with caller_phones(callee, tmp_path) as phones:
        caller = phones.call("alice")
        caller.wait_answered(timeout=5)
        phone = callee.wait_dialled(timeout=5)
        for _ in range(5):
            caller.start_talking()
            caller.stop_talking()
            phone.start_talking()
            phone.stop_talking()
        assert caller.is_up and phone.is_up
        caller.start_talking()
        caller.hangup()
        assert phone.wait_hangup(timeout=5) == "NORMAL_CLEARING"
