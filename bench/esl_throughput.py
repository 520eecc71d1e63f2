"""Benchmark: events per second from the simulator through our InboundClient into a consumer,
and concurrent outbound sessions through our OutboundServer.

    .venv/bin/python -m bench esl_throughput

1. inbound: 200 members in 10 rooms (``direct-<room>``, no controller) are muted and
   unmuted through ``Simulator.churn_mute``: every mute-member/unmute-member is a real
   conference::maintenance event (about 2.5 KB, the captures' header set). A second
   process runs ``InboundClient`` (our greenswitch layer) with one consumer queue that
   counts what it gets.
2. replay: the same client and consumer, fed by a raw sender process that replays one
   mute-member event exactly as FreeSWITCH 1.11.1 sent it (capture 02a) as fast as TCP
   takes it: the ceiling of our layer, whatever the simulator can produce.
3. outbound: 200 calls reach an ``OutboundServer`` at once; each session does what the
   engine does first (connect, myevents, linger, subscribe, answer) and waits for the
   answer's completion; all 200 are up together before any hangs up.

Target (issue 3): >= 20,000 events/s into the consumer; 200 concurrent sessions.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402

from controller.esl import OutboundServer  # noqa: E402
from controller.sim import SimConfig, Simulator  # noqa: E402

ROOMS, MEMBERS = 10, 20
SECONDS = 4.0
OUTBOUND_CALLS = 200

REPLAY_EVENTS = 100_000

SENDER = r"""
import socket, sys
frame, count = open(sys.argv[1], "rb").read(), int(sys.argv[2])
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
sock, _ = srv.accept()
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
reader = sock.makefile("rb")
def command():
    while reader.readline() not in (b"\n", b""):
        pass
sock.sendall(b"Content-Type: auth/request\n\n")
command()
sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
command()
sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n")
blob = frame * 500
for _ in range(count // 500):
    sock.sendall(blob)
reader.read()
"""

CONSUMER = r"""
from gevent import monkey; monkey.patch_all()
import sys, time, gevent
from controller.esl import InboundClient
port, seconds, fmt = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
# "ready": the clock starts when the subscription is answered (the replay sender
# starts at once); "first": at the first event (the simulator's churn starts later).
clock_from = sys.argv[4] if len(sys.argv) > 4 else "first"
client = InboundClient("127.0.0.1", port, "ClueCon", event_format=fmt)
queue = client.subscribe("bench", ["conference::maintenance"])
client.start()
assert client.wait_connected(10)
print("ready", flush=True)
count, first, last = 0, None, None
deadline = None
if clock_from == "ready":
    first = time.perf_counter()
    deadline = first + seconds
while True:
    event = queue.get(timeout=2.0)
    if event is None:
        break
    # Read what the room manager reads of every event, so lazy parsing is not free.
    if not (event.action and event.get("Conference-Name") and event.get("Member-ID")):
        raise SystemExit(f"incomplete event: {event!r}")
    now = time.perf_counter()
    if first is None:
        first, deadline = now, now + seconds
    count += 1
    last = now
    if now >= deadline:
        break
print(f"{count} {(last or 0) - (first or 0):.6f}", flush=True)
client.stop()
"""


def _inbound(sim: Simulator, event_format: str) -> dict[str, float]:
    consumer = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, str(sim.esl_port), str(SECONDS), event_format],
        stdout=subprocess.PIPE, text=True,
    )
    assert consumer.stdout.readline().strip() == "ready"
    churn = [gevent.spawn(_churn, sim, f"bench{r}") for r in range(ROOMS)]
    out, _ = consumer.communicate(timeout=SECONDS + 30)
    gevent.killall(churn)
    count, elapsed = out.split()
    return {"events": int(count), "seconds": float(elapsed),
            "events_per_s": int(count) / max(float(elapsed), 1e-9)}


def _replay() -> dict[str, float]:
    from pathlib import Path

    capture = Path(__file__).parent.parent / "tests/data/captures/02a_conference_api_live_room.txt"
    sys.path.insert(0, str(capture.parent.parent.parent))
    from capture_file import read_capture

    frame = next(r.data for r in read_capture(capture)
                 if r.direction == "received" and b"\nAction: mute-member\n" in r.data)
    with tempfile.NamedTemporaryFile(suffix=".bin") as handle:
        handle.write(frame)
        handle.flush()
        sender = subprocess.Popen([sys.executable, "-c", SENDER, handle.name,
                                   str(REPLAY_EVENTS)], stdout=subprocess.PIPE, text=True)
        port = int(sender.stdout.readline())
        consumer = subprocess.Popen(
            [sys.executable, "-c", CONSUMER, str(port), "60", "plain", "ready"],
            stdout=subprocess.PIPE, text=True,
        )
        assert consumer.stdout.readline().strip() == "ready"
        out, _ = consumer.communicate(timeout=120)
        sender.kill()
    count, elapsed = out.split()
    return {"events": int(count), "events_per_s": int(count) / max(float(elapsed), 1e-9)}


def _churn(sim: Simulator, room: str) -> None:
    while True:
        sim.churn_mute(room, 1)
        gevent.sleep(0.002)  # let the simulator's listener write


def _outbound(sim: Simulator, port: int, server_done: list) -> dict[str, float]:
    up = gevent.event.Event()
    together = {"max": 0, "now": 0}
    all_in = gevent.event.Event()

    def handler(session):
        session.connect()
        session.myevents()
        session.linger(30)
        session.subscribe("conference::maintenance")
        session.execute("answer", timeout=30)
        together["now"] += 1
        together["max"] = max(together["max"], together["now"])
        if together["now"] == OUTBOUND_CALLS:
            all_in.set()
        up.wait(timeout=60)
        session.hangup()
        session.ended.wait(timeout=10)
        together["now"] -= 1

    server = OutboundServer("127.0.0.1", port, handler)
    server.start()
    started = time.perf_counter()
    phones = [sim.phones.call("5555", caller_id=f"c{i}") for i in range(OUTBOUND_CALLS)]
    reached = all_in.wait(timeout=60)
    answered_s = time.perf_counter() - started
    up.set()
    for phone in phones:
        phone.wait_hangup(timeout=30)
    gevent.sleep(0.5)
    left = len(server.sessions)
    server.stop()
    server_done.append(True)
    return {"outbound_sessions_concurrent": together["max"],
            "outbound_all_answered_s": answered_s if reached else float("nan"),
            "outbound_sessions_left": left}


def run() -> dict:
    from controller.testing.stack import free_port as _free_port

    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(SimConfig(esl_host="127.0.0.1", esl_port=0, password="ClueCon",
                                  outbound_host="127.0.0.1", outbound_port=port,
                                  recordings_dir=tmp, time_scale=0.02))
        sim.start()
        try:
            for r in range(ROOMS):
                for m in range(MEMBERS):
                    sim.phones.call(f"direct-bench{r}", caller_id=f"m{r}-{m}")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and sum(
                    (sim.conference_state(f"bench{r}") or {}).get("count", 0)
                    for r in range(ROOMS)) < ROOMS * MEMBERS:
                gevent.sleep(0.1)
            plain = _inbound(sim, "plain")
            as_json = _inbound(sim, "json")
            replay = _replay()
            sim.phones.close()
            done: list = []
            outbound = _outbound(sim, port, done)
        finally:
            sim.stop()
    return {
        "inbound_plain_events_per_s": round(plain["events_per_s"]),
        "inbound_plain_events": plain["events"],
        "inbound_json_events_per_s": round(as_json["events_per_s"]),
        "replay_plain_events_per_s": round(replay["events_per_s"]),
        "replay_plain_events": replay["events"],
        **outbound,
        "target": {"inbound_plain_events_per_s": ">= 20,000",
                   "replay_plain_events_per_s": ">= 20,000",
                   "outbound_sessions_concurrent": ">= 200"},
    }


if __name__ == "__main__":
    print(run())
