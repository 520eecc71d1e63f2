"""Prometheus metrics of the controller process (served at ``/metrics``).

One module owns every metric object so that the name, help text and labels of
each are defined once; the code that observes something imports the object it
needs and calls ``inc``/``observe``/``set`` (all cheap, no I/O). Values that are
state rather than counts (active calls, rooms, members, outbox depth) are read
at scrape time by ``StateCollector``, so the hot path never maintains them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CALLBACKS_SENT = Counter(
    "cc_callbacks_sent", "Webhook callbacks delivered to the application (2xx-4xx answer)",
    ["dialect"],
)
CALLBACKS_RETRIED = Counter(
    "cc_callbacks_retried", "Webhook attempts repeated after a connection error or 5xx",
    ["dialect"],
)
CALLBACKS_FAILED = Counter(
    "cc_callbacks_failed", "Webhook callbacks given up on (kept in the outbox for inspection)",
    ["dialect"],
)
CALLBACK_LATENCY = Histogram(
    "cc_callback_latency_seconds",
    "From the moment the engine decided to send a callback to the application's answer",
    ["dialect"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
JOINS = Counter("cc_conference_joins", "Members that joined a room", ["dialect"])
LEAVES = Counter("cc_conference_leaves", "Members that left a room", ["dialect"])
ESL_RECONNECTS = Counter(
    "cc_esl_reconnects", "Inbound Event Socket connections made after the first one"
)
ESL_COMMAND_LATENCY = Histogram(
    "cc_esl_command_latency_seconds", "Inbound Event Socket API command round trips",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)


class StateCollector(Collector):
    """Gauges read from the running service at scrape time (no bookkeeping on the hot path).

    ``service`` is a ControllerService: its engine counts calls, its room manager holds
    the rooms the controller knows (each with its members), its webhook sender the
    callbacks waiting to go, its inbound client the Event Socket state.
    """

    def __init__(self, service: Any) -> None:
        self._service = service

    def describe(self) -> Iterable[Metric]:
        # Declaring the names up front stops a registry from calling collect() at
        # registration, which would read a service that may not have started yet.
        return [
            GaugeMetricFamily(name, text) for name, text in STATE_GAUGES.items()
        ]

    def collect(self) -> Iterable[Metric]:
        service = self._service
        rooms = list(service.rooms.rooms.values())
        values = {
            "cc_active_calls": service.engine.active_calls,
            "cc_rooms": len(rooms),
            "cc_room_members": sum(len(room.members) for room in rooms),
            "cc_callbacks_outbox_depth": service.webhooks.pending,
            "cc_esl_connected": 1 if service.esl.connected else 0,
        }
        for name, text in STATE_GAUGES.items():
            yield GaugeMetricFamily(name, text, value=values[name])


STATE_GAUGES = {
    "cc_active_calls": "Calls the controller is handling (outbound Event Socket sessions)",
    "cc_rooms": "Conference rooms the controller knows to be live",
    "cc_room_members": "Members in those rooms",
    "cc_callbacks_outbox_depth": "Webhook callbacks queued or in flight",
    "cc_esl_connected": "1 while the inbound Event Socket connection to FreeSWITCH is up",
}


class _Scrape:
    """What one scrape exposes: the process-wide metrics plus one service's state."""

    def __init__(self, *sources: Any) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self._sources:
            yield from source.collect()


def exposition(service: Any) -> tuple[bytes, str]:
    """The Prometheus text exposition for ``service``: (body, content type)."""
    return generate_latest(_Scrape(REGISTRY, StateCollector(service))), CONTENT_TYPE_LATEST
