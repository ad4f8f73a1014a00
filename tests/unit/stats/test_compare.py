"""V1 vs V2 rollout comparison: verdicts, numbers and renderings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sidecar.stats.compare import (
    LATENCY_BUCKET_BOUNDS,
    Verdict,
    VersionSample,
    compare_versions,
    render_text,
    to_json,
)
from sidecar.stats.fixed import welch_t_test
from sidecar.stats.histogram import LATENCY_BUCKET_COUNT
from sidecar.stats.summary import SummaryStats


def _sample(
    rng: np.random.Generator, requests: int, error_rate: float, median_ms: float, duration_s: float = 60.0
) -> VersionSample:
    latencies = rng.lognormal(np.log(median_ms), 0.6, requests)
    buckets = np.bincount(
        np.searchsorted(np.asarray(LATENCY_BUCKET_BOUNDS), latencies, side="right"),
        minlength=LATENCY_BUCKET_COUNT,
    )
    return VersionSample(
        requests=requests,
        errors=int(rng.binomial(requests, error_rate)),
        latency_sum_ms=float(latencies.sum()),
        latency_sum_sq_ms=float((latencies**2).sum()),
        latency_buckets=buckets.tolist(),
        duration_s=duration_s,
    )


def test_v2_worse_on_errors() -> None:
    rng = np.random.default_rng(1)
    comparison = compare_versions(_sample(rng, 20_000, 0.01, 20.0), _sample(rng, 5_000, 0.03, 20.0))
    assert comparison.verdict is Verdict.V2_WORSE
    assert "error rate" in comparison.reason
    assert comparison.error_rate.estimate > 0
    assert comparison.error_rate.p_value < 1e-6
    assert comparison.v1.throughput_rps == pytest.approx(20_000 / 60)


def test_v2_better_on_latency() -> None:
    rng = np.random.default_rng(2)
    v1, v2 = _sample(rng, 10_000, 0.01, 25.0), _sample(rng, 10_000, 0.01, 20.0)
    comparison = compare_versions(v1, v2)
    assert comparison.verdict is Verdict.V2_BETTER, comparison.reason
    assert comparison.latency.estimate < 0
    assert comparison.latency_relative is not None
    assert comparison.latency_relative.estimate == pytest.approx(-0.2, abs=0.03)
    # the Welch test is exactly the one on the aggregated latencies
    expected = welch_t_test(
        SummaryStats.from_sums(v1.requests, v1.latency_sum_ms, v1.latency_sum_sq_ms),
        SummaryStats.from_sums(v2.requests, v2.latency_sum_ms, v2.latency_sum_sq_ms),
    )
    assert comparison.latency == expected
    assert comparison.v2.latency_p50_ms == pytest.approx(20.0, rel=0.05)
    p95, p99 = comparison.v1.latency_p95_ms, comparison.v1.latency_p99_ms
    assert p95 is not None
    assert p99 is not None
    assert p99 > p95


def test_worse_wins_over_better() -> None:
    rng = np.random.default_rng(3)
    comparison = compare_versions(_sample(rng, 10_000, 0.01, 25.0), _sample(rng, 10_000, 0.04, 15.0))
    assert comparison.verdict is Verdict.V2_WORSE


def test_no_difference_and_not_enough_data() -> None:
    rng = np.random.default_rng(4)
    same = compare_versions(_sample(rng, 3_000, 0.02, 20.0), _sample(rng, 3_000, 0.02, 20.0))
    assert same.verdict is Verdict.NO_SIGNIFICANT_DIFFERENCE, same.reason
    small = compare_versions(_sample(rng, 3_000, 0.02, 20.0), _sample(rng, 40, 0.5, 20.0))
    assert small.verdict is Verdict.NOT_ENOUGH_DATA
    empty = compare_versions(VersionSample(0, 0, 0.0, 0.0, [], 0.0), VersionSample(0, 0, 0.0, 0.0, [], 0.0))
    assert empty.verdict is Verdict.NOT_ENOUGH_DATA
    assert empty.v1.latency_p50_ms is None
    assert empty.v1.throughput_rps == 0.0


def test_sample_validation() -> None:
    with pytest.raises(ValueError, match="errors"):
        VersionSample(10, 11, 0.0, 0.0, [], 1.0)
    with pytest.raises(ValueError, match="latency_buckets"):
        VersionSample(10, 1, 0.0, 0.0, [1, 2, 3], 1.0)


def test_renderings() -> None:
    rng = np.random.default_rng(5)
    comparison = compare_versions(_sample(rng, 20_000, 0.01, 20.0), _sample(rng, 5_000, 0.03, 20.0))
    text = render_text(comparison)
    assert "V1 vs V2" in text
    assert "Verdict: V2_WORSE" in text
    for label in (
        "requests",
        "throughput",
        "error rate",
        "latency mean",
        "latency p50",
        "latency p95",
        "latency p99",
    ):
        assert label in text
    payload = to_json(comparison)
    encoded = json.dumps(payload, allow_nan=False)
    assert json.loads(encoded)["verdict"] == "V2_WORSE"
    assert payload["v2"]["requests"] == 5_000
    assert payload["error_rate_difference"]["test"] == "two_proportion_z"
    # uninformative intervals are encoded as null rather than Infinity
    empty = to_json(
        compare_versions(VersionSample(1, 0, 5.0, 25.0, [], 1.0), VersionSample(1, 0, 5.0, 25.0, [], 1.0))
    )
    assert empty["latency_mean_difference_ms"]["ci_low"] is None
    json.dumps(empty, allow_nan=False)
