"""Outcome aggregates per version per time bucket, mergeable across hosts by plain addition.

A *window* maps ``(bucket_start, version)`` to :class:`BucketCounts`, where ``bucket_start`` is an integer
multiple of :data:`BUCKET_SECONDS`. Every field is an integer, so merging is exactly commutative and
associative: hosts that sum each other's counters in any order reach bit-identical totals and therefore the
same policy decision.

The hot path builds one new record per (bucket, version) and updates the caller's own mapping::

    key = window_key(Version.V2, now)
    window[key] = add_outcome(window.get(key, EMPTY_COUNTS), OutcomeKind.SUCCESS, latency_ms=12.5)
    # or, for a reported batch grouped by key:
    window[key] = add_outcomes(window.get(key, EMPTY_COUNTS), [(OutcomeKind.ERROR, None, "timeout"), ...])

Latency is recorded for successful calls only, so a V2 that fails fast does not look quicker than V1. Sums are
in microseconds (µs and µs²) to stay integral; ``latency_sum_sq_us2`` can exceed 2⁶³ for a bucket holding
millions of multi-second calls, so store it as text or a float column if the store cannot hold big integers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sidecar.rollout.model import OutcomeKind, Version
from sidecar.stats.histogram import LATENCY_BUCKET_BOUNDS, LATENCY_BUCKET_COUNT, bucket_index
from sidecar.stats.histogram import percentile_from_histogram as _percentile
from sidecar.stats.summary import SummaryStats

BUCKET_SECONDS = 5
MAX_ERROR_TYPES = 16  # distinct error types per bucket; later ones are counted as OTHER_ERROR_TYPE
MAX_ERROR_TYPE_LENGTH = 64
OTHER_ERROR_TYPE = "other"
UNKNOWN_ERROR_TYPE = "unknown"
MAX_LATENCY_MS = 600_000.0  # clamp: a 10-minute "latency" is a broken clock, and keeps the µs² sums bounded

WindowKey = tuple[int, Version]
OutcomeRecord = tuple[OutcomeKind, float | None, str | None]  # kind, latency_ms, error_type
_ZERO_HISTOGRAM = (0,) * LATENCY_BUCKET_COUNT


@dataclass(frozen=True, slots=True)
class BucketCounts:
    """One version's outcomes in one time bucket (or any sum of buckets).

    ``requests == successes + errors + fallbacks``; ``histogram`` follows
    :data:`sidecar.stats.histogram.LATENCY_BUCKET_BOUNDS`; ``error_types`` is sorted by name and counts the
    non-successful calls by the type the service reported.
    """

    requests: int = 0
    successes: int = 0
    errors: int = 0
    fallbacks: int = 0
    latency_n: int = 0
    latency_sum_us: int = 0
    latency_sum_sq_us2: int = 0
    histogram: tuple[int, ...] = _ZERO_HISTOGRAM
    error_types: tuple[tuple[str, int], ...] = ()


EMPTY_COUNTS = BucketCounts()


@dataclass(frozen=True, slots=True)
class VersionTotals:
    """One version's outcomes over a time range, with the derived rates and percentiles.

    Rates are ``None`` without requests, percentiles ``None`` without latency samples.
    """

    version: Version
    counts: BucketCounts
    latency: SummaryStats  # milliseconds, successful calls
    error_rate: float | None
    success_rate: float | None
    fallback_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @property
    def requests(self) -> int:
        return self.counts.requests

    @property
    def errors(self) -> int:
        return self.counts.errors

    @property
    def fallbacks(self) -> int:
        return self.counts.fallbacks


def bucket_start(now: float, bucket_seconds: int = BUCKET_SECONDS) -> int:
    return math.floor(now / bucket_seconds) * bucket_seconds


def window_key(version: Version, now: float, bucket_seconds: int = BUCKET_SECONDS) -> WindowKey:
    return bucket_start(now, bucket_seconds), version


def phase_window_key(
    version: Version, now: float, phase_started_at: float, bucket_seconds: int = BUCKET_SECONDS
) -> WindowKey:
    """A key from buckets aligned to the phase start (rounded up to a whole second).

    With wall-clock-aligned buckets the bucket holding the phase start begins before it and :func:`totals`
    skips it, so the first seconds of every phase would be invisible; aligned buckets count from the start.
    """
    origin = math.ceil(phase_started_at)
    if now <= origin:
        return origin, version
    return origin + math.floor((now - origin) / bucket_seconds) * bucket_seconds, version


def add_outcome(
    counts: BucketCounts, kind: OutcomeKind, latency_ms: float | None = None, error_type: str | None = None
) -> BucketCounts:
    """``counts`` plus one outcome; ``latency_ms`` is kept for successes, ``error_type`` for the others."""
    return add_outcomes(counts, ((kind, latency_ms, error_type),))


def add_outcomes(counts: BucketCounts, outcomes: Iterable[OutcomeRecord]) -> BucketCounts:
    """``counts`` plus a batch of outcomes of one version in one bucket, building one new record.

    Prefer it for reported batches: it costs about a microsecond per outcome instead of a record each.
    """
    requests, successes, errors, fallbacks = (
        counts.requests,
        counts.successes,
        counts.errors,
        counts.fallbacks,
    )
    latency_n, latency_sum, latency_sq = counts.latency_n, counts.latency_sum_us, counts.latency_sum_sq_us2
    histogram: list[int] | None = None  # copied on first use
    error_types: dict[str, int] | None = None
    for kind, latency_ms, error_type in outcomes:
        requests += 1
        if kind is OutcomeKind.SUCCESS:
            successes += 1
            if latency_ms is None:
                continue
            clamped = 0.0 if math.isnan(latency_ms) else min(MAX_LATENCY_MS, max(0.0, latency_ms))
            micros = round(clamped * 1000.0)
            latency_n, latency_sum, latency_sq = (
                latency_n + 1,
                latency_sum + micros,
                latency_sq + micros * micros,
            )
            if histogram is None:
                histogram = list(counts.histogram)
            histogram[bucket_index(clamped)] += 1
            continue
        if kind is OutcomeKind.ERROR:
            errors += 1
        else:
            fallbacks += 1
        if error_types is None:
            error_types = dict(counts.error_types)
        _count_error_type(error_types, error_type)
    return BucketCounts(
        requests,
        successes,
        errors,
        fallbacks,
        latency_n,
        latency_sum,
        latency_sq,
        tuple(histogram) if histogram is not None else counts.histogram,
        tuple(sorted(error_types.items())) if error_types is not None else counts.error_types,
    )


def merge_counts(a: BucketCounts, b: BucketCounts) -> BucketCounts:
    """Field-wise sum; commutative and associative."""
    return sum_counts((a, b))


def merge_windows(
    a: Mapping[WindowKey, BucketCounts], b: Mapping[WindowKey, BucketCounts]
) -> dict[WindowKey, BucketCounts]:
    """Bucket-wise sum of two windows (e.g. this host's and a peer's)."""
    merged = dict(a)
    for key, counts in b.items():
        existing = merged.get(key)
        merged[key] = counts if existing is None else merge_counts(existing, counts)
    return merged


def prune(
    window: Mapping[WindowKey, BucketCounts], keep_since: float, bucket_seconds: int = BUCKET_SECONDS
) -> dict[WindowKey, BucketCounts]:
    """Drop buckets that end at or before ``keep_since``; keep the one containing it."""
    oldest = bucket_start(keep_since, bucket_seconds)
    return {key: counts for key, counts in window.items() if key[0] >= oldest}


def totals(
    window: Mapping[WindowKey, BucketCounts], version: Version, since: float, until: float | None = None
) -> VersionTotals:
    """Totals of ``version`` over the buckets starting in ``[since, until)`` (open-ended without ``until``).

    Only whole buckets after ``since`` count, so a phase's window never includes outcomes from before the
    phase (or generation) began, at the cost of up to one bucket of data.
    """
    selected = (
        counts
        for (start, key_version), counts in window.items()
        if key_version == version and start >= since and (until is None or start < until)
    )
    return summarize(version, sum_counts(selected))


def sum_counts(counts: Iterable[BucketCounts]) -> BucketCounts:
    """Sum of many buckets in one pass (column-wise, rather than one histogram copy per bucket)."""
    items = list(counts)
    if len(items) < 2:
        return items[0] if items else EMPTY_COUNTS
    error_types: dict[str, int] = {}
    for item in items:
        for name, count in item.error_types:
            error_types[name] = error_types.get(name, 0) + count
    return BucketCounts(
        sum(c.requests for c in items),
        sum(c.successes for c in items),
        sum(c.errors for c in items),
        sum(c.fallbacks for c in items),
        sum(c.latency_n for c in items),
        sum(c.latency_sum_us for c in items),
        sum(c.latency_sum_sq_us2 for c in items),
        tuple(map(sum, zip(*(c.histogram for c in items), strict=True))),
        tuple(sorted(error_types.items())),
    )


def summarize(version: Version, counts: BucketCounts) -> VersionTotals:
    requests = counts.requests
    latency = SummaryStats.from_sums(
        counts.latency_n, counts.latency_sum_us / 1e3, counts.latency_sum_sq_us2 / 1e6
    )

    def rate(part: int) -> float | None:
        return part / requests if requests else None

    def percentile(q: float) -> float | None:
        return _percentile(LATENCY_BUCKET_BOUNDS, counts.histogram, q) if counts.latency_n else None

    return VersionTotals(
        version=version,
        counts=counts,
        latency=latency,
        error_rate=rate(counts.errors),
        success_rate=rate(counts.successes),
        fallback_rate=rate(counts.fallbacks),
        p50_ms=percentile(50.0),
        p95_ms=percentile(95.0),
        p99_ms=percentile(99.0),
    )


def _count_error_type(error_types: dict[str, int], error_type: str | None) -> None:
    name = (error_type or UNKNOWN_ERROR_TYPE)[:MAX_ERROR_TYPE_LENGTH]
    if name not in error_types and len(error_types) >= MAX_ERROR_TYPES:
        name = OTHER_ERROR_TYPE  # bounded cardinality: callers control these strings
    error_types[name] = error_types.get(name, 0) + 1
