"""Benchmark: how fast the FreeSWITCH simulator pushes events, and how many calls it carries.

    .venv/bin/python -m bench sim_events
    .venv/bin/python -c "import bench.sim_events as b; print(b.run())"

1. talking churn: 200 members in 10 rooms (``direct-<room>``, no controller)
   toggle between speech and silence through ``Simulator.churn_talking``;
   every start-talking/stop-talking/floor-change is a real
   conference::maintenance event. A separate process (a plain blocking
   socket that only counts frames, like the capture harness) subscribes on
   one inbound ESL connection; figures are what it received per second.
2. api bursts: another inbound connection pipelines ``conference <room>
   mute all`` / ``unmute all``; every member yields one event.
3. outbound: 200 calls to the socket app at once, each answered by a
   minimal raw-socket controller (connect, myevents, answer); figures are
   the time until all 200 are answered and whether every session got its
   events.

Targets: >= 20,000 events/s to one inbound connection; 200 concurrent
outbound sessions.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from gevent.server import StreamServer  # noqa: E402

from controller.sim import SimConfig, Simulator  # noqa: E402

ROOMS, MEMBERS = 10, 20
SECONDS = 3.0
OUTBOUND_CALLS = 200

# The counting reader, run in its own interpreter so it does not share the
# simulator's CPU. Prints "ready", then after `seconds` the frame and byte counts.
READER = r"""
import socket, sys, time
port, seconds, subscribe = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
sock = socket.create_connection(("127.0.0.1", port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf, pos = bytearray(), 0

def frames(block):
    # count complete frames in buf from pos; return how many
    global buf, pos
    count = 0
    while True:
        end = buf.find(b"\n\n", pos)
        if end < 0:
            break
        at = buf.find(b"Content-Length: ", pos, end)
        length = int(buf[at + 16:buf.find(b"\n", at, end + 1)]) if at >= 0 else 0
        if len(buf) < end + 2 + length:
            break
        pos = end + 2 + length
        count += 1
    if pos > (1 << 20):
        del buf[:pos]
        pos = 0
    return count

def read_one():
    while True:
        if frames(None):
            return
        buf.extend(sock.recv(1 << 16))

read_one()
sock.sendall(b"auth ClueCon\n\n"); read_one()
sock.sendall(("event plain " + subscribe + "\n\n").encode()); read_one()
print("ready", flush=True)
sys.stdin.readline()
count = 0
start = time.monotonic()
deadline = start + seconds
sock.settimeout(0.2)
while time.monotonic() < deadline:
    try:
        data = sock.recv(1 << 20)
    except socket.timeout:
        continue
    if not data:
        break
    buf.extend(data)
    count += frames(None)
print(count, time.monotonic() - start, flush=True)
"""


def _reader(port: int, seconds: float, subscribe: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", READER, str(port), str(seconds), subscribe],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    if line != "ready":
        process.kill()
        raise RuntimeError(f"event reader did not start: {line!r}")
    return process


def _start_reader(process: subprocess.Popen) -> None:
    process.stdin.write("go\n")
    process.stdin.flush()


def _result(process: subprocess.Popen) -> tuple[int, float]:
    out, _ = process.communicate(timeout=60)
    count, elapsed = out.split()
    return int(count), float(elapsed)


def _fill_rooms(sim: Simulator) -> list:
    phones = []
    for room in range(ROOMS):
        for member in range(MEMBERS):
            phones.append(sim.phones.call(f"direct-bench{room}", caller_id=f"m{room}x{member}"))
    deadline = time.monotonic() + 30
    while sum(s["count"] for s in map(sim.conference_state, _room_names())
              if s is not None) < ROOMS * MEMBERS:  # fmt: skip
        if time.monotonic() > deadline:
            raise RuntimeError("rooms did not fill")
        gevent.sleep(0.05)
    return phones


def _room_names() -> list[str]:
    return [f"bench{room}" for room in range(ROOMS)]


def talking_churn(seconds: float = SECONDS) -> dict:
    # 1/200 time: the 800 ms stop-talking hangover takes 4 ms, a 20 ms frame 0.1 ms
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(SimConfig(esl_port=0, time_scale=0.005, recordings_dir=tmp)).start()
        try:
            _fill_rooms(sim)
            reader = _reader(sim.esl_port, seconds, "CUSTOM conference::maintenance")
            stop = time.monotonic() + seconds + 0.5
            _start_reader(reader)

            def churn(room: str) -> int:
                toggles = 0
                while time.monotonic() < stop:
                    toggles += sim.churn_talking(room, 1, interval=0.0)
                    sim.core.clock.sleep(1.0)  # past the hangover: every toggle yields events
                return toggles

            workers = [gevent.spawn(churn, room) for room in _room_names()]
            count, elapsed = _result(reader)
            gevent.joinall(workers)
            toggles = sum(w.value or 0 for w in workers)
        finally:
            sim.stop()
    return {"churn_events_per_s": count / elapsed, "churn_events": count,
            "churn_toggles": toggles}  # fmt: skip


def mute_churn(seconds: float = SECONDS) -> dict:
    """Simulator.churn_mute in every room: the in-process generator the lead's
    client benchmark can use (no second ESL connection competing for the CPU)."""
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(SimConfig(esl_port=0, time_scale=0.02, recordings_dir=tmp)).start()
        try:
            _fill_rooms(sim)
            reader = _reader(sim.esl_port, seconds, "CUSTOM conference::maintenance")
            stop = time.monotonic() + seconds + 0.5
            _start_reader(reader)
            produced = 0
            while time.monotonic() < stop:
                for room in _room_names():
                    produced += sim.churn_mute(room, 1)
                gevent.sleep(0.002)  # let the listener write
            count, elapsed = _result(reader)
        finally:
            sim.stop()
    return {"mute_churn_events_per_s": count / elapsed, "mute_churn_events_made": produced}


def api_bursts(seconds: float = SECONDS) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(SimConfig(esl_port=0, time_scale=0.02, recordings_dir=tmp)).start()
        try:
            _fill_rooms(sim)
            reader = _reader(sim.esl_port, seconds, "CUSTOM conference::maintenance")
            driver = socket.create_connection(("127.0.0.1", sim.esl_port))
            driver.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            driver.recv(1024)
            driver.sendall(b"auth ClueCon\n\n")
            driver.recv(1024)
            stop = time.monotonic() + seconds + 0.5
            _start_reader(reader)
            sent = 0

            def drain() -> None:
                while True:
                    if not driver.recv(1 << 20):
                        return

            drainer = gevent.spawn(drain)
            while time.monotonic() < stop:
                batch = b"".join(
                    f"api conference {room} {verb} all\n\n".encode()
                    for room in _room_names()
                    for verb in ("mute", "unmute")
                )
                driver.sendall(batch)
                sent += 2 * ROOMS
                gevent.sleep(0.005)
            count, elapsed = _result(reader)
            drainer.kill()
            driver.close()
        finally:
            sim.stop()
    return {"api_burst_events_per_s": count / elapsed, "api_commands_sent": sent}


def outbound_sessions(calls: int = OUTBOUND_CALLS) -> dict:
    answered: list[float] = []
    events_seen: dict[int, int] = {}

    def controller(sock: socket.socket, _address: object) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        me = id(sock)
        sock.sendall(b"connect\n\n")
        sock.sendall(b"myevents\n\n")
        sock.sendall(b"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
            if b"CHANNEL_ANSWER" in data and me not in events_seen:
                events_seen[me] = 1
                answered.append(time.monotonic())

    server = StreamServer(("127.0.0.1", 0), controller)
    server.start()
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(SimConfig(esl_port=0, outbound_port=server.server_port,
                                  recordings_dir=tmp)).start()  # fmt: skip
        try:
            started = time.monotonic()
            phones = [sim.phones.call("1000", caller_id=f"o{n}") for n in range(calls)]
            deadline = started + 60
            while len(answered) < calls and time.monotonic() < deadline:
                gevent.sleep(0.01)
            up = sum(1 for p in phones if p.is_up)
            took = (max(answered) - started) if answered else float("nan")
            sim.phones.close()
        finally:
            sim.stop()
            server.stop(timeout=1)
    return {"outbound_sessions_answered": len(answered), "outbound_sessions_up": up,
            "outbound_all_answered_s": took}  # fmt: skip


def run() -> dict:
    figures: dict = {}
    figures.update(talking_churn())
    figures.update(mute_churn())
    figures.update(api_bursts())
    figures.update(outbound_sessions())
    figures["target"] = {
        "churn_events_per_s": "talking is paced by its 800 ms hangover: see mute_churn",
        "mute_churn_events_per_s": ">= 20,000 events/s to one inbound connection",
        "api_burst_events_per_s": ">= 20,000 events/s to one inbound connection",
        "outbound_sessions_answered": f"{OUTBOUND_CALLS} concurrent outbound sessions",
    }
    return figures


if __name__ == "__main__":
    print(run())
