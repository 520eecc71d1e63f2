"""Replay a captured FreeSWITCH session against the simulator and compare.

A scenario names a capture and the phone actions of its SIPp callers
(times in the capture's seconds). The engine sends the capture's exact
command bytes at the same relative times (scaled by ``time_scale``), performs
the phone actions, records every frame the simulator sends, and compares
both sides: reply texts, the order of events, each event's header names
(in order), and the disconnect/linger notices. Values that differ on every
run (UUIDs, ports, timestamps, run times) are normalised explicitly.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import gevent
from capture_file import Record, read_capture
from eslwire import Event, Frame, OutboundController, Peer, connect, parse_frame

from controller.sim import SimConfig, Simulator

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Step:
    """A phone action: call <number>, talk, quiet, dtmf <digits>, bye."""

    at: float
    who: str
    action: str
    arg: str = ""


@dataclass
class Scenario:
    capture: str
    steps: list[Step] = field(default_factory=list)
    outbound: bool = False
    kicker: str | None = None  # a second capture replayed on its own inbound socket
    first_member_id: int = 1
    profiles: dict | None = None
    time_scale: float = 0.1
    settle: float = 1.5  # capture seconds to keep listening after the last record
    allowed_order_differences: tuple[str, ...] = ()


@dataclass
class Side:
    """What one side (capture or simulator) sent on one connection."""

    frames: list[Frame]
    closed: bool

    def replies(self) -> list[Frame]:
        return [
            f
            for f in self.frames
            if f.content_type in ("command/reply", "api/response")
            or (not f.content_type and "Reply-Text" in f.headers)
            or f.headers.get("Event-Name") == "CHANNEL_DATA"
        ]

    def events(self) -> list[Event]:
        return [e for e in (f.event() for f in self.frames) if e is not None]

    def notices(self) -> list[tuple[str | None, str | None, bytes]]:
        return [
            (f.headers.get("Content-Disposition"), f.headers.get("Linger-Time"), f.body)
            for f in self.frames
            if f.content_type == "text/disconnect-notice"
        ]

    def logs(self) -> list[Frame]:
        return [f for f in self.frames if f.content_type == "log/data"]


def capture_side(records: list[Record]) -> Side:
    frames = [parse_frame(r.data) for r in records if r.direction == "received"]
    closed = any(r.direction == "note" and b"socket closed by peer" in r.data for r in records)
    return Side(frames, closed)


def _tone_wav(path: Path, seconds: float, hz: float) -> None:
    """The capture setup's test.wav: a sine, 8 kHz 16-bit mono."""
    import math
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(
            b"".join(
                int(8000 * math.sin(2 * math.pi * hz * i / 8000)).to_bytes(2, "little", signed=True)
                for i in range(int(seconds * 8000))
            )
        )


def first_time(records: list[Record]) -> float:
    return next(r.at for r in records if r.direction != "note")


def capture_identities(records: list[Record]) -> dict[str, str]:
    """Capture channel UUID -> caller name, from every event that names both."""
    names: dict[str, str] = {}
    for record in records:
        if record.direction != "received":
            continue
        frame = parse_frame(record.data)
        source = frame.event() if frame.content_type == "text/event-plain" else None
        pairs = (
            source.pairs
            if source
            else [(k, urllib.parse.unquote(v)) for k, v in frame.headers.items()]
        )
        values = dict(pairs)
        uid = values.get("Unique-ID")
        who = values.get("Caller-Caller-ID-Name")
        if uid and who:
            names[uid] = who
    return names


class Replay:
    def __init__(self, scenario: Scenario, captures_dir: Path, workdir: Path) -> None:
        self.scenario = scenario
        self.records = read_capture(captures_dir / scenario.capture)
        self.kicker_records = (
            read_capture(captures_dir / scenario.kicker) if scenario.kicker else []
        )
        self.workdir = workdir
        self.phones: dict[str, object] = {}
        self.peer: Peer | None = None
        self.kicker: Peer | None = None

    def _config(self, outbound_port: int) -> SimConfig:
        sounds = self.workdir / "sounds"
        recordings = self.workdir / "recordings"
        sounds.mkdir(exist_ok=True)
        recordings.mkdir(exist_ok=True)
        _tone_wav(sounds / "test.wav", seconds=3.0, hz=523)
        config = SimConfig(
            esl_port=0,
            outbound_port=outbound_port,
            time_scale=self.scenario.time_scale,
            recordings_dir="/usr/local/freeswitch/recordings",
            path_map={
                "/usr/local/freeswitch/sounds": str(sounds),
                "/usr/local/freeswitch/recordings": str(recordings),
            },
            first_member_id=self.scenario.first_member_id,
            hostname="vm",
        )
        if self.scenario.profiles is not None:
            config.profiles = self.scenario.profiles
        return config

    def run(self) -> tuple[Side, Side, Side | None, Side | None]:
        """(capture, simulator) for the main connection, then for the kicker (or None)."""
        scenario = self.scenario
        controller = OutboundController() if scenario.outbound else None
        sim = Simulator(self._config(controller.port if controller else 8084)).start()
        try:
            self._play(sim, controller)
            # what the peers saw before the test tears anything down
            main = Side(list(self.peer.frames), self.peer.closed) if self.peer else Side([], False)
            kick = Side(list(self.kicker.frames), self.kicker.closed) if self.kicker else None
        finally:
            for peer in (self.peer, self.kicker):
                if peer is not None:
                    peer.close()
            sim.stop()
            if controller is not None:
                controller.stop()
        return (
            capture_side(self.records),
            main,
            capture_side(self.kicker_records) if self.kicker_records else None,
            kick,
        )

    def _play(self, sim: Simulator, controller: OutboundController | None) -> None:
        scale = self.scenario.time_scale
        t0 = first_time(self.records)
        timeline: list[tuple[float, int, str, object]] = []
        for n, step in enumerate(self.scenario.steps):
            timeline.append((step.at, n, "step", step))
        # Each command also waits for the events the capture had received
        # before it: the harness sent after reading them, and at a small
        # time_scale a frame of jitter would otherwise reorder the two.
        event_times = [
            r.at
            for r in self.records
            if r.direction == "received" and parse_frame(r.data).event() is not None
        ]
        for n, record in enumerate(self.records):
            if record.direction == "sent":
                seen = sum(1 for t in event_times if t <= record.at)
                timeline.append((record.at - t0, 1000 + n, "send", (record.data, seen)))
        for n, record in enumerate(self.kicker_records):
            if record.direction == "sent":
                seen = sum(1 for t in event_times if t <= record.at)
                timeline.append((record.at - t0, 100000 + n, "kick", (record.data, seen)))
        timeline.sort(key=lambda item: (item[0], item[1]))
        last = max([t for t, *_ in timeline] + [0.0])
        capture_names = capture_identities(self.records + self.kicker_records)
        start = (
            time.monotonic() - min(0.0, min(t for t, *_ in timeline)) * scale
            if timeline
            else time.monotonic()
        )
        if not self.scenario.outbound:
            self.peer = connect(sim.esl_port)
            self.peer.next_frame()  # the greeting
        for at, _, kind, item in timeline:
            delay = start + at * scale - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            if kind == "step":
                self._step(sim, item)
            elif kind == "send":
                data, seen = item
                if self.peer is None:
                    self.peer = controller.accept(timeout=5)
                    start = time.monotonic() - at * scale
                _await_events(self.peer, seen)
                _exchange(self.peer, self._rewrite(data, capture_names))
            else:
                data, seen = item
                if self.peer is not None:
                    _await_events(self.peer, seen)
                if self.kicker is None:
                    self.kicker = connect(sim.esl_port)
                    self.kicker.next_frame()
                _exchange(self.kicker, self._rewrite(data, capture_names))
        gevent.sleep(max(0.0, start + (last + self.scenario.settle) * scale - time.monotonic()))

    def _rewrite(self, data: bytes, capture_names: dict[str, str]) -> bytes:  # noqa: D401
        """Capture channel UUIDs in a command become the simulator's (same caller)."""
        text = data.decode()
        for uid, who in capture_names.items():
            phone = self.phones.get(who)
            if phone is not None and uid in text:
                text = text.replace(uid, phone.uuid)
        return text.encode()

    def _step(self, sim: Simulator, step: Step) -> None:
        if step.action == "call":
            self.phones[step.who] = sim.phones.call(step.arg, caller_id=step.who)
            return
        phone = self.phones[step.who]
        if step.action == "talk":
            phone.start_talking()
        elif step.action == "quiet":
            phone.stop_talking()
        elif step.action == "dtmf":
            gevent.spawn(phone.send_dtmf, step.arg, 0.2, 280)
        elif step.action == "bye":
            phone.hangup()
        else:
            raise ValueError(f"unknown step {step}")


def _replies(peer: Peer) -> int:
    return sum(
        1
        for f in peer.frames
        if f.content_type in ("command/reply", "api/response")
        or f.headers.get("Event-Name") == "CHANNEL_DATA"
    )


def _await_events(peer: Peer, count: int, timeout: float = 2.0) -> None:
    """Wait (bounded) until ``peer`` has received ``count`` events; a
    simulator that never sends them fails the order comparison instead."""
    deadline = time.monotonic() + timeout
    while (
        sum(1 for f in peer.frames if f.content_type == "text/event-plain") < count
        and not peer.closed
        and time.monotonic() < deadline
    ):
        gevent.sleep(0.001)


def _exchange(peer: Peer, data: bytes, timeout: float = 3.0) -> None:
    """Send a command and wait for its reply, as the capture harness did."""
    before = _replies(peer)
    peer.send(data)
    deadline = time.monotonic() + timeout
    while _replies(peer) == before and not peer.closed and time.monotonic() < deadline:
        gevent.sleep(0.001)


# ------------------------------------------------------------ normalisation
_NUMERIC_FIELDS = re.compile(r'("(?:run_time|join_time|last_talking)":\s*)\d+')
_XML_NUMBERS = re.compile(r'(run_time="|<join_time>|<last_talking>)\d+')
_PORT = re.compile(r"@127\.0\.0\.1:\d+")


def normalise(text: str) -> str:
    """Blank out what differs on every run: UUIDs, SIP ports, elapsed seconds."""
    text = UUID_RE.sub("<uuid>", text)
    text = _PORT.sub("@127.0.0.1:<port>", text)
    text = _NUMERIC_FIELDS.sub(r"\1<n>", text)
    return _XML_NUMBERS.sub(r"\1<n>", text)


def reply_text(frame: Frame, command: bytes | None = None) -> str:
    if frame.content_type == "api/response":
        body = frame.body.decode()
        if command is not None and command.strip() in (b"api conference roomB get run_time",):
            body = "<n>" if body.isdigit() else body
        return normalise(body)
    if frame.headers.get("Event-Name") == "CHANNEL_DATA":  # the outbound connect reply
        keys = [line.split(": ", 1)[0] for line in frame.raw.decode().split("\n") if ": " in line]
        tail = {k: frame.headers.get(k) for k in ("Reply-Text", "Socket-Mode", "Control")}
        return f"CHANNEL_DATA {tail} {len(keys)} headers"
    text = frame.headers.get("Reply-Text")
    if text is None:
        return normalise(frame.raw.decode())
    return normalise(frame.raw.decode())


def header_names(event: Event) -> list[str]:
    return [k for k, _ in event.pairs if not k.startswith("variable_")]


def variable_names(event: Event) -> set[str]:
    return {k for k, _ in event.pairs if k.startswith("variable_")}
