"""Simulated time: one scale factor for every delay the simulator has.

``time_scale=1.0`` is real time. A smaller factor makes *everything* faster
in the same proportion: media lengths, the 20 ms frame tick, digit timeouts,
linger and heartbeat periods, and the clock that stamps events, recordings
and ``run_time``. Nothing is sped up on its own, so relative order and
durations seen through ESL stay those of a real FreeSWITCH.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import gevent
import gevent.event

FRAME = 0.020  # one 20 ms media frame (ptime 20, conference interval 20)


class SimClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
        self.scale = float(time_scale)
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Simulated epoch seconds."""
        return self._wall0 + (time.monotonic() - self._mono0) / self.scale

    def now_us(self) -> int:
        return int(self.now() * 1_000_000)

    def real(self, sim_seconds: float) -> float:
        """Wall-clock seconds that ``sim_seconds`` of simulated time take."""
        return max(0.0, sim_seconds) * self.scale

    def sleep(self, sim_seconds: float) -> None:
        gevent.sleep(self.real(sim_seconds))

    def spawn_later(
        self, sim_seconds: float, func: Callable[..., Any], *args: Any
    ) -> gevent.Greenlet:
        return gevent.spawn_later(self.real(sim_seconds), func, *args)

    def wait(self, event: gevent.event.Event, sim_timeout: float | None) -> bool:
        """Wait for ``event``; ``sim_timeout`` is simulated seconds (None: forever)."""
        return event.wait(None if sim_timeout is None else self.real(sim_timeout))

    def sim_seconds(self, real_seconds: float) -> float:
        return real_seconds / self.scale


_last_local: tuple[int, str] = (-1, "")
_last_gmt: tuple[int, str] = (-1, "")


def date_local(us: int) -> str:
    """Event-Date-Local: ``%Y-%m-%d %T`` in local time (cached per second: every event has it)."""
    global _last_local
    second = us // 1_000_000
    if _last_local[0] != second:
        _last_local = (second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)))
    return _last_local[1]


def date_gmt(us: int) -> str:
    """Event-Date-GMT: RFC 822 (``Sat, 21 Nov 2026 04:37:00 GMT``)."""
    global _last_gmt
    second = us // 1_000_000
    if _last_gmt[0] != second:
        _last_gmt = (second, formatdate(second, usegmt=True))
    return _last_gmt[1]
