"""Pure helpers for benchmark figures: percentiles and rounding. No I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none).

    Nearest rank, not interpolation: p99 of 300 samples is a sample that was
    really observed, so a figure never looks better than some call was.
    """
    if not sorted_values:
        return math.nan
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"percentile: fraction {fraction!r} must be within 0..1")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summary_ms(samples_us: Iterable[float], prefix: str) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds (one decimal place) of microsecond samples."""
    ordered = sorted(samples_us)
    figures: dict[str, float] = {}
    for name, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        value = percentile(ordered, fraction)
        figures[f"{prefix}_{name}_ms"] = round(value / 1000.0, 1) if ordered else math.nan
    return figures


def median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    return percentile(ordered, 0.5)
