"""Benchmark: parse + validate a typical Plivo answer document on one core.

    .venv/bin/python -m bench.parse

`run()` returns the figures as a dict. Throughput is the best of several rounds
(the least disturbed by other processes); the median is reported beside it.
Target: >= 20,000 documents/s for the typical document below.
"""

from __future__ import annotations

import json
import statistics
import time

from controller.dialects.plivo import Response, XmlError, parse_document

SOURCE_URL = "https://app.example.com/plivo/answer.xml"

# Speak + Conference with 10 attributes: one relative URL, one absolute.
TYPICAL = b"""<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Speak voice="WOMAN" language="en-US">Welcome to the sales conference.</Speak>
  <Conference muted="false" startConferenceOnEnter="true" endConferenceOnExit="false"
              stayAlone="true" maxMembers="10" timeLimit="3600" enterSound="beep:1"
              action="/plivo/after-conference" callbackUrl="https://app.example.com/conf/events"
              digitsMatch="1,22,#9">sales-room</Conference>
</Response>
"""

# Three problems on three lines: the error path, with positions computed.
INVALID = b"""<Response>
  <Speak voice="ROBOT">Hi</Speak>
  <Conference maxMembers="abc" method="GET">sales-room</Conference>
</Response>
"""


def _rate(work, rounds: int, per_round: int) -> tuple[float, float]:
    """(best, median) seconds per call over `rounds` rounds of `per_round` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            work()
        times.append((time.perf_counter() - start) / per_round)
    return min(times), statistics.median(times)


def _parse_typical() -> None:
    parse_document(TYPICAL, SOURCE_URL)


def _parse_invalid() -> None:
    try:
        parse_document(INVALID, SOURCE_URL)
    except XmlError:
        return
    raise AssertionError("the invalid document was accepted")


def _build_typical() -> None:
    Response().speak("Welcome to the sales conference.").conference(
        "sales-room",
        max_members=10,
        time_limit=3600,
        enter_sound="beep:1",
        action="/plivo/after-conference",
        callback_url="https://app.example.com/conf/events",
        digits_match=["1", "22", "#9"],
    ).to_xml()


def run(rounds: int = 15, per_round: int = 2000) -> dict:
    """Measure; returns figures (seconds are per document)."""
    for work in (_parse_typical, _parse_invalid, _build_typical):
        work()  # warm caches and imports once, outside the timing
    best, median = _rate(_parse_typical, rounds, per_round)
    bad_best, _ = _rate(_parse_invalid, rounds, max(1, per_round // 4))
    build_best, _ = _rate(_build_typical, rounds, max(1, per_round // 4))
    return {
        "document": "Speak + Conference with 10 attributes "
        f"({len(TYPICAL)} bytes, UTF-8, one relative URL)",
        "docs_per_s": round(1 / best),
        "us_per_doc": round(best * 1e6, 1),
        "docs_per_s_median": round(1 / median),
        "us_per_doc_median": round(median * 1e6, 1),
        "invalid_us_per_doc": round(bad_best * 1e6, 1),
        "build_us_per_doc": round(build_best * 1e6, 1),
        "rounds": rounds,
        "docs_per_round": per_round,
        "target_docs_per_s": 20_000,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
