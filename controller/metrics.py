"""Prometheus metrics of the controller process (served at ``/metrics``).

One module owns every metric object so that the name, help text and labels of
each are defined once; the code that observes something imports the object it
needs and calls ``inc``/``observe``/``set`` (all cheap, no I/O). Values that are
state rather than counts (active calls, rooms, members, outbox depth) are read
at scrape time by ``StateCollector``, so the hot path never maintains them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
