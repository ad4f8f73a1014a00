"""Pinned, log-spaced latency histogram layout (milliseconds) and percentiles from bucket counts.

Latency is recorded as mergeable aggregates — count, sum, sum of squares and a count per bucket — so the
aggregates of several hosts or time windows are combined by plain addition. That only works if every host uses
the *same* bucket boundaries, so the layout below is pinned: boundaries are ``0.05 ms · 1.1^i`` rounded to 6
significant digits (rounding makes them independent of the platform's ``pow``), for ``i = 0 … 147``, which
reaches 60 s. Changing it changes the meaning of stored counts: bump :data:`LATENCY_LAYOUT_VERSION` and never
merge counts across versions.

Buckets (``K = len(LATENCY_BUCKET_BOUNDS) = 148``, so ``K + 1 = 149`` buckets):

* bucket 0 — underflow ``[0, b₀)``;
* bucket ``i`` for ``1 ≤ i < K`` — ``[b_{i−1}, b_i)``, each 10 % wider than the previous;
* bucket ``K`` — overflow ``[b_{K−1}, ∞)`` (≥ 60 s).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

LATENCY_LAYOUT_VERSION = 1
LATENCY_MIN_MS = 0.05
LATENCY_GROWTH = 1.1
LATENCY_MAX_MS = 60_000.0


def _layout() -> tuple[float, ...]:
    bounds: list[float] = []
    i = 0
    while True:
        bound = float(f"{LATENCY_MIN_MS * LATENCY_GROWTH**i:.6g}")
        bounds.append(bound)
        if bound >= LATENCY_MAX_MS:
            return tuple(bounds)
        i += 1


LATENCY_BUCKET_BOUNDS: tuple[float, ...] = _layout()
"""Ascending finite boundaries; there are ``len(LATENCY_BUCKET_BOUNDS) + 1`` buckets."""

LATENCY_BUCKET_COUNT = len(LATENCY_BUCKET_BOUNDS) + 1


def bucket_index(latency_ms: float) -> int:
    """Bucket of one latency in the pinned layout: a single ``bisect`` (O(log K)).

    Negative or NaN latencies (clock steps) go to the underflow bucket 0.
    """
    if not latency_ms >= 0.0:
        return 0
    return bisect_right(LATENCY_BUCKET_BOUNDS, latency_ms)


def bucket_range(bounds: Sequence[float], index: int) -> tuple[float, float]:
    """``[low, high)`` of bucket ``index`` for the layout ``bounds`` (``high`` is ``inf`` for the
    overflow)."""
    if not 0 <= index <= len(bounds):
        raise IndexError(f"bucket {index} out of range for {len(bounds) + 1} buckets")
    low = 0.0 if index == 0 else bounds[index - 1]
    high = math.inf if index == len(bounds) else bounds[index]
    return low, high


def percentile_from_histogram(bounds: Sequence[float], counts: Sequence[int], q: float) -> float:
    """Estimate the ``q``-th percentile (``0 ≤ q ≤ 100``, as :func:`numpy.percentile`) from bucket counts.

    ``counts`` has ``len(bounds) + 1`` entries (underflow … overflow). The target rank ``q/100 · N`` is
    located by a cumulative walk and interpolated inside its bucket: geometrically (log-uniform density, the
    natural assumption for log-spaced buckets) for regular buckets, linearly in the underflow bucket ``[0,
    b₀)``. The overflow bucket is unbounded, so percentiles that land there return its lower boundary (an
    underestimate — the value is at least that). With 10 %-wide buckets the relative error is well under 5 %
    for any smooth distribution. Returns 0.0 for an empty histogram.
    """
    if len(counts) != len(bounds) + 1:
        raise ValueError(f"expected {len(bounds) + 1} counts for {len(bounds)} bounds, got {len(counts)}")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    total = sum(counts)
    if total == 0:
        return 0.0
    if any(c < 0 for c in counts):
        raise ValueError("bucket counts must be >= 0")
    rank = q / 100.0 * total
    cumulative = 0
    for index, count in enumerate(counts):
        if count == 0:
            continue
        if cumulative + count >= rank:
            fraction = min(1.0, max(0.0, (rank - cumulative) / count))
            low, high = bucket_range(bounds, index)
            if math.isinf(high):
                return low
            if low <= 0.0:
                return low + (high - low) * fraction
            return low * math.pow(high / low, fraction)
        cumulative += count
    # Unreachable: the last non-empty bucket always satisfies cumulative + count >= rank.
    raise AssertionError("percentile walk fell off the histogram")
