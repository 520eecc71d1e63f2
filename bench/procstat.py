"""What /proc says about a benchmark's child process: RSS, CPU time, descriptors, sockets.

Read from outside, so the measured process runs unmodified. Linux only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class ProcStats:
    rss_kb: int
    cpu_s: float  # user + system
    fds: int
    sockets: int


def proc_stats(pid: int) -> ProcStats:
    """RSS, CPU seconds and open descriptors of a process, from /proc."""
    with open(f"/proc/{pid}/statm") as handle:
        rss_pages = int(handle.read().split()[1])
    with open(f"/proc/{pid}/stat") as handle:
        # the command name may hold spaces: fields are counted after its ')'
        fields = handle.read().rpartition(")")[2].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    fds = sockets = 0
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:  # closed meanwhile
            continue
        fds += 1
        sockets += target.startswith("socket:")
    return ProcStats(rss_pages * PAGE_KB, cpu, fds, sockets)


_TCP_LISTEN = "0A"


def _tcp_table() -> dict[int, tuple[int, int, str]]:
    """socket inode -> (local port, remote port, state) for every TCP socket on the host."""
    table: dict[int, tuple[int, int, str]] = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as handle:
                next(handle)
                for line in handle:
                    parts = line.split()
                    local, remote, state, inode = parts[1], parts[2], parts[3], int(parts[9])
                    table[inode] = (int(local.rsplit(":", 1)[1], 16),
                                    int(remote.rsplit(":", 1)[1], 16), state)
        except FileNotFoundError:
            continue
    return table


def socket_kinds(pid: int, ports: dict[str, int]) -> dict[str, int]:
    """A process's sockets by what they are connected to.

    ``ports`` names ports: a socket whose local or remote port is one of them
    counts under that name (e.g. {"calls": outbound port, "app": app port});
    listening sockets count as "listening", anything else as "other".
    """
    table = _tcp_table()
    kinds = dict.fromkeys([*ports, "listening", "other"], 0)
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if not target.startswith("socket:["):
            continue
        local, remote, state = table.get(int(target[8:-1]), (0, 0, ""))
        if state == _TCP_LISTEN:
            kinds["listening"] += 1
            continue
        kind = next((k for k, port in ports.items() if port in (local, remote)), "other")
        kinds[kind] += 1
    return kinds


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (the controller's delivery workers), from
    /proc/<pid>/task/<tid>/children (every thread's: a child belongs to the thread
    that started it)."""
    pids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                pids.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return pids


def children_cpu_s(pid: int) -> float:
    """CPU seconds of a process's live children (0.0 when it has none)."""
    total = 0.0
    for child in child_pids(pid):
        try:
            total += proc_stats(child).cpu_s
        except OSError:  # ended meanwhile
            continue
    return total
