"""V1 vs V2 comparison behind ``sidecar rollout report``: throughput, error rate and latency of both versions,
Welch's t test on mean latency, a two-proportion z test on the error rate, and a plain verdict.

Inputs are mergeable aggregates (:class:`VersionSample`), so the work is O(number of histogram buckets)
whatever the traffic. Requests are treated as independent observations, which is the usual approximation for
a rollout gate; correlated requests (retries, one client hammering) make the p-values somewhat optimistic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sidecar.stats.fixed import relative_lift, two_proportion_z_test, welch_t_test
from sidecar.stats.formatting import (
    fmt_interval,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_pp,
    json_float,
    p_phrase,
    table,
)
from sidecar.stats.histogram import LATENCY_BUCKET_BOUNDS, percentile_from_histogram
from sidecar.stats.summary import SummaryStats, TestResult, check_alpha

DEFAULT_MIN_REQUESTS = 100


@dataclass(frozen=True, slots=True)
class VersionSample:
    """Aggregates for one version over one window. ``latency_buckets`` follows the pinned layout of
    :mod:`sidecar.stats.histogram` (``len(LATENCY_BUCKET_BOUNDS) + 1`` counts) or is empty when not recorded;
    the latency sums cover the same requests as the buckets (all requests when there are no buckets)."""

    requests: int
    errors: int
    latency_sum_ms: float
    latency_sum_sq_ms: float
    latency_buckets: Sequence[int]
    duration_s: float

    def __post_init__(self) -> None:
        if self.requests < 0 or not 0 <= self.errors <= self.requests:
            raise ValueError(f"need 0 <= errors <= requests, got {self.errors} of {self.requests}")
        if self.latency_buckets and len(self.latency_buckets) != len(LATENCY_BUCKET_BOUNDS) + 1:
            raise ValueError(
                f"latency_buckets must have {len(LATENCY_BUCKET_BOUNDS) + 1} counts, "
                f"got {len(self.latency_buckets)}"
            )
        if self.duration_s < 0:
            raise ValueError("duration_s must be >= 0")

    @property
    def latency_samples(self) -> int:
        return sum(self.latency_buckets) if self.latency_buckets else self.requests


class Verdict(StrEnum):
    V2_BETTER = "V2_BETTER"
    V2_WORSE = "V2_WORSE"
    NO_SIGNIFICANT_DIFFERENCE = "NO_SIGNIFICANT_DIFFERENCE"
    NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"


@dataclass(frozen=True, slots=True)
class VersionSummary:
    requests: int
    errors: int
    throughput_rps: float
    error_rate: float
    latency_mean_ms: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


@dataclass(frozen=True, slots=True)
class VersionComparison:
    """``latency`` and ``error_rate`` test ``V2 − V1``; ``latency_relative`` is the relative change of the
    mean latency (``None`` when V1's mean is 0)."""

    v1: VersionSummary
    v2: VersionSummary
    alpha: float
    latency: TestResult
    latency_relative: TestResult | None
    error_rate: TestResult
    verdict: Verdict
    reason: str


def _summarize(sample: VersionSample) -> tuple[VersionSummary, SummaryStats]:
    latency = SummaryStats.from_sums(sample.latency_samples, sample.latency_sum_ms, sample.latency_sum_sq_ms)
    has_histogram = bool(sample.latency_buckets) and latency.n > 0

    def pct(q: float) -> float | None:
        return (
            percentile_from_histogram(LATENCY_BUCKET_BOUNDS, sample.latency_buckets, q)
            if has_histogram
            else None
        )

    summary = VersionSummary(
        requests=sample.requests,
        errors=sample.errors,
        throughput_rps=sample.requests / sample.duration_s if sample.duration_s > 0 else 0.0,
        error_rate=sample.errors / sample.requests if sample.requests else 0.0,
        latency_mean_ms=latency.mean,
        latency_p50_ms=pct(50.0),
        latency_p95_ms=pct(95.0),
        latency_p99_ms=pct(99.0),
    )
    return summary, latency


def compare_versions(
    v1: VersionSample, v2: VersionSample, alpha: float = 0.05, *, min_requests: int = DEFAULT_MIN_REQUESTS
) -> VersionComparison:
    """Compare V2 against V1.

    Verdict, in order: ``NOT_ENOUGH_DATA`` while either version has fewer than ``min_requests`` requests;
    ``V2_WORSE`` if V2's error rate or mean latency is significantly *higher* (p < alpha); ``V2_BETTER`` if
    one of them is significantly lower and neither is higher; otherwise ``NO_SIGNIFICANT_DIFFERENCE``. Each
    test runs at ``alpha`` without a multiplicity correction, deliberately: for a safety verdict a missed
    regression costs more than a false alarm. This is a fixed-horizon summary for a human; an automatic gate
    that re-evaluates continuously must use :mod:`sidecar.stats.sequential`.
    """
    check_alpha(alpha)
    s1, lat1 = _summarize(v1)
    s2, lat2 = _summarize(v2)
    latency = welch_t_test(lat1, lat2, alpha)
    latency_relative = relative_lift(lat1, lat2, alpha) if lat1.n > 0 and lat1.mean != 0.0 else None
    errors = two_proportion_z_test(v1.errors, v1.requests, v2.errors, v2.requests, alpha)

    verdict, reason = _verdict(s1, s2, latency, errors, alpha, min_requests)
    return VersionComparison(s1, s2, alpha, latency, latency_relative, errors, verdict, reason)


def _verdict(
    s1: VersionSummary,
    s2: VersionSummary,
    latency: TestResult,
    errors: TestResult,
    alpha: float,
    min_requests: int,
) -> tuple[Verdict, str]:
    if min(s1.requests, s2.requests) < max(min_requests, 2):
        return (
            Verdict.NOT_ENOUGH_DATA,
            f"Need at least {min_requests} requests per version "
            f"(V1 has {s1.requests}, V2 has {s2.requests}).",
        )
    err_desc = f"error rate {fmt_pct(s2.error_rate)} vs {fmt_pct(s1.error_rate)} ({p_phrase(errors.p_value)})"
    lat_desc = (
        f"mean latency {fmt_num(s2.latency_mean_ms)} ms vs {fmt_num(s1.latency_mean_ms)} ms "
        f"({p_phrase(latency.p_value)})"
    )
    err_sig = errors.p_value < alpha
    lat_sig = latency.p_value < alpha
    worse = [
        d
        for d, sig, t in ((err_desc, err_sig, errors), (lat_desc, lat_sig, latency))
        if sig and t.estimate > 0
    ]
    better = [
        d
        for d, sig, t in ((err_desc, err_sig, errors), (lat_desc, lat_sig, latency))
        if sig and t.estimate < 0
    ]
    if worse:
        return Verdict.V2_WORSE, "V2 is significantly worse: " + " and ".join(worse) + "."
    if better:
        return Verdict.V2_BETTER, "V2 is significantly better: " + " and ".join(
            better
        ) + ", and nothing is worse."
    return (
        Verdict.NO_SIGNIFICANT_DIFFERENCE,
        f"No significant difference at alpha = {alpha:g}: {err_desc}; {lat_desc}.",
    )


def render_text(comparison: VersionComparison) -> str:
    """A terminal-friendly table of both versions, the differences with intervals, and the verdict."""
    c = comparison
    level = f"{(1 - c.alpha) * 100:g}% CI"
    rows = [
        ["", "V1", "V2", "V2 - V1", level, "p-value"],
        ["requests", f"{c.v1.requests:,}", f"{c.v2.requests:,}", "", "", ""],
        ["throughput (req/s)", fmt_num(c.v1.throughput_rps), fmt_num(c.v2.throughput_rps), "", "", ""],
        [
            "error rate",
            fmt_pct(c.v1.error_rate),
            fmt_pct(c.v2.error_rate),
            fmt_pp(c.error_rate.estimate),
            fmt_interval(c.error_rate.ci_low, c.error_rate.ci_high, pp=True),
            fmt_p(c.error_rate.p_value),
        ],
        [
            "latency mean (ms)",
            fmt_num(c.v1.latency_mean_ms),
            fmt_num(c.v2.latency_mean_ms),
            fmt_num(c.latency.estimate, signed=True),
            fmt_interval(c.latency.ci_low, c.latency.ci_high),
            fmt_p(c.latency.p_value),
        ],
    ]
    if c.latency_relative is not None:
        r = c.latency_relative
        rows.append(
            [
                "  relative change",
                "",
                "",
                fmt_pct(r.estimate, signed=True),
                fmt_interval(r.ci_low, r.ci_high, pct=True),
                "",
            ]
        )
    for label, a, b in (
        ("latency p50 (ms)", c.v1.latency_p50_ms, c.v2.latency_p50_ms),
        ("latency p95 (ms)", c.v1.latency_p95_ms, c.v2.latency_p95_ms),
        ("latency p99 (ms)", c.v1.latency_p99_ms, c.v2.latency_p99_ms),
    ):
        rows.append([label, fmt_num(a), fmt_num(b), "", "", ""])
    lines = [f"V1 vs V2 (alpha = {c.alpha:g})", *table(rows), "", f"Verdict: {c.verdict.value}", c.reason]
    return "\n".join(lines) + "\n"


def _test_json(result: TestResult) -> dict[str, Any]:
    return {
        "estimate": json_float(result.estimate),
        "ci_low": json_float(result.ci_low),
        "ci_high": json_float(result.ci_high),
        "p_value": json_float(result.p_value),
        "statistic": json_float(result.statistic),
        "df": json_float(result.df),
    }


def _summary_json(summary: VersionSummary) -> dict[str, Any]:
    return {
        "requests": summary.requests,
        "errors": summary.errors,
        "throughput_rps": json_float(summary.throughput_rps),
        "error_rate": json_float(summary.error_rate),
        "latency_mean_ms": json_float(summary.latency_mean_ms),
        "latency_p50_ms": json_float(summary.latency_p50_ms),
        "latency_p95_ms": json_float(summary.latency_p95_ms),
        "latency_p99_ms": json_float(summary.latency_p99_ms),
    }


def to_json(comparison: VersionComparison) -> dict[str, Any]:
    """A JSON-able dict (non-finite numbers become ``null``)."""
    c = comparison
    return {
        "alpha": c.alpha,
        "v1": _summary_json(c.v1),
        "v2": _summary_json(c.v2),
        "latency_mean_difference_ms": {**_test_json(c.latency), "test": "welch_t"},
        "latency_relative_change": None if c.latency_relative is None else _test_json(c.latency_relative),
        "error_rate_difference": {**_test_json(c.error_rate), "test": "two_proportion_z"},
        "verdict": c.verdict.value,
        "reason": c.reason,
    }
