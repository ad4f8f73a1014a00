"""The pinned latency bucket layout and percentile estimation from bucket counts."""

from __future__ import annotations

import hashlib
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.stats.compare import LATENCY_BUCKET_BOUNDS
from sidecar.stats.histogram import (
    LATENCY_BUCKET_COUNT,
    bucket_index,
    bucket_range,
    percentile_from_histogram,
)


def test_layout_is_pinned() -> None:
    """Stored counts from every host are merged by addition, so the layout must never drift silently: this
    digest changes only together with LATENCY_LAYOUT_VERSION."""
    assert len(LATENCY_BUCKET_BOUNDS) == 148
    assert LATENCY_BUCKET_COUNT == 149  # the brief allows at most 160
    assert LATENCY_BUCKET_BOUNDS[:4] == (0.05, 0.055, 0.0605, 0.06655)
    assert LATENCY_BUCKET_BOUNDS[-1] == 60770.8
    digest = hashlib.sha256(repr(LATENCY_BUCKET_BOUNDS).encode()).hexdigest()
    assert digest == "dfbe444e2cd44d592d94230da789f2afe008ab65ee8986a24941fa4e0976cf57"


def test_layout_growth_is_ten_percent() -> None:
    ratios = [b / a for a, b in itertools.pairwise(LATENCY_BUCKET_BOUNDS)]
    assert all(1.0999 < r < 1.1001 for r in ratios)
    assert LATENCY_BUCKET_BOUNDS[-2] < 60_000.0 <= LATENCY_BUCKET_BOUNDS[-1]


def test_bucket_index_edges() -> None:
    assert bucket_index(0.0) == 0
    assert bucket_index(0.049) == 0
    assert bucket_index(0.05) == 1  # lower bounds are inclusive
    assert bucket_index(0.0549) == 1
    assert bucket_index(1e9) == LATENCY_BUCKET_COUNT - 1
    assert bucket_index(-3.0) == 0
    assert bucket_index(math.nan) == 0


@given(st.floats(min_value=0.0, max_value=1e7, allow_nan=False))
def test_bucket_contains_value(latency: float) -> None:
    low, high = bucket_range(LATENCY_BUCKET_BOUNDS, bucket_index(latency))
    assert low <= latency < high


@pytest.mark.parametrize(("sigma", "seed"), [(0.5, 1), (1.0, 2), (1.5, 3)])
def test_percentiles_within_five_percent_of_numpy_on_lognormal(sigma: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    latencies = rng.lognormal(mean=math.log(20.0), sigma=sigma, size=200_000)
    indexes = np.searchsorted(np.asarray(LATENCY_BUCKET_BOUNDS), latencies, side="right")
    # the vectorised bucketing must agree with bucket_index
    assert all(
        bucket_index(float(x)) == int(i) for x, i in zip(latencies[:2000], indexes[:2000], strict=True)
    )
    counts = np.bincount(indexes, minlength=LATENCY_BUCKET_COUNT).tolist()
    for q in (1.0, 10.0, 50.0, 90.0, 95.0, 99.0, 99.9):
        estimate = percentile_from_histogram(LATENCY_BUCKET_BOUNDS, counts, q)
        truth = float(np.percentile(latencies, q))
        assert abs(estimate / truth - 1.0) <= 0.05, (q, estimate, truth)


def test_percentile_small_cases() -> None:
    counts = [0] * LATENCY_BUCKET_COUNT
    assert percentile_from_histogram(LATENCY_BUCKET_BOUNDS, counts, 50.0) == 0.0
    counts[bucket_index(10.0)] = 4  # bucket [9.8…, 10.8…)
    low, high = bucket_range(LATENCY_BUCKET_BOUNDS, bucket_index(10.0))
    assert percentile_from_histogram(LATENCY_BUCKET_BOUNDS, counts, 0.0) == pytest.approx(low)
    assert percentile_from_histogram(LATENCY_BUCKET_BOUNDS, counts, 100.0) == pytest.approx(high)
    assert percentile_from_histogram(LATENCY_BUCKET_BOUNDS, counts, 50.0) == pytest.approx(
        math.sqrt(low * high)
    )
    underflow = [2] + [0] * (LATENCY_BUCKET_COUNT - 1)
    assert percentile_from_histogram(LATENCY_BUCKET_BOUNDS, underflow, 50.0) == pytest.approx(0.025)
    overflow = [0] * (LATENCY_BUCKET_COUNT - 1) + [3]
    assert percentile_from_histogram(LATENCY_BUCKET_BOUNDS, overflow, 99.0) == LATENCY_BUCKET_BOUNDS[-1]
    with pytest.raises(ValueError, match="counts"):
        percentile_from_histogram(LATENCY_BUCKET_BOUNDS, [1, 2], 50.0)
    with pytest.raises(ValueError, match="q must be"):
        percentile_from_histogram(LATENCY_BUCKET_BOUNDS, counts, 101.0)


@given(st.lists(st.integers(0, 1000), min_size=LATENCY_BUCKET_COUNT, max_size=LATENCY_BUCKET_COUNT))
def test_percentiles_are_monotone(counts: list[int]) -> None:
    values = [
        percentile_from_histogram(LATENCY_BUCKET_BOUNDS, counts, q) for q in (0, 5, 25, 50, 75, 95, 99, 100)
    ]
    assert values == sorted(values)
