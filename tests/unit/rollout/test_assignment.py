from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.rollout.assignment import (
    BUCKETS,
    draw_bucket,
    hash_prefix,
    is_v2,
    percent_threshold,
    prefixed_bucket,
    unit_bucket,
)

percents = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


@given(rollout=st.text(max_size=20), unit=st.text(max_size=40), a=percents, b=percents)
def test_assignment_is_monotonic_in_the_percentage(rollout: str, unit: str, a: float, b: float) -> None:
    low, high = sorted((a, b))
    bucket = unit_bucket(rollout, unit)
    assert 0 <= bucket < BUCKETS
    if is_v2(bucket, low):
        assert is_v2(bucket, high)


@given(rollout=st.text(max_size=20), unit=st.text(max_size=40))
def test_precomputed_prefix_gives_the_same_bucket(rollout: str, unit: str) -> None:
    assert prefixed_bucket(hash_prefix(rollout), unit) == unit_bucket(rollout, unit)


@pytest.fixture(scope="module")
def buckets_of_100k_units() -> list[int]:
    return [unit_bucket("split-check", f"user-{i}") for i in range(100_000)]


@pytest.mark.parametrize("percent", [1.0, 10.0, 50.0])
def test_split_is_within_one_point_over_100k_units(buckets_of_100k_units: list[int], percent: float) -> None:
    on_v2 = sum(is_v2(bucket, percent) for bucket in buckets_of_100k_units)
    assert abs(on_v2 / len(buckets_of_100k_units) * 100 - percent) <= 1.0


@pytest.mark.parametrize(
    ("rollout", "unit", "bucket"),
    [
        pytest.param("checkout", "user-1", 195_745, id="checkout/user-1"),
        pytest.param("checkout", "user-2", 89_555, id="checkout/user-2"),
        pytest.param("search-v2", "42", 423_362, id="search-v2/42"),
        pytest.param("search-v2", "", 787_160, id="search-v2/empty"),
        pytest.param("ünïcode", "ключ", 431_904, id="unicode"),
    ],
)
def test_fixed_vectors_never_drift(rollout: str, unit: str, bucket: int) -> None:
    assert unit_bucket(rollout, unit) == bucket


def test_salting_by_rollout_key_decorrelates_rollouts() -> None:
    units = [f"user-{i}" for i in range(20_000)]
    in_a = {u for u in units if is_v2(unit_bucket("rollout-a", u), 10.0)}
    in_b = {u for u in units if is_v2(unit_bucket("rollout-b", u), 10.0)}
    # Independent 10 % samples overlap on about 1 % of units, not 10 %.
    assert len(in_a & in_b) / len(units) < 0.02


@pytest.mark.parametrize(
    ("percent", "threshold"),
    [
        pytest.param(0.0, 0, id="zero"),
        pytest.param(0.5, 5_000, id="half-percent"),
        pytest.param(1.0, 10_000, id="one"),
        pytest.param(33.3333, 333_333, id="finest-resolution"),
        pytest.param(100.0, BUCKETS, id="everyone"),
    ],
)
def test_percent_threshold(percent: float, threshold: int) -> None:
    assert percent_threshold(percent) == threshold


@pytest.mark.parametrize(
    ("draw", "bucket"),
    [
        pytest.param(0.0, 0, id="zero"),
        pytest.param(0.5, 500_000, id="middle"),
        pytest.param(0.999_999_9, BUCKETS - 1, id="top"),
        pytest.param(1.0, BUCKETS - 1, id="clamped-above"),
        pytest.param(-0.1, 0, id="clamped-below"),
    ],
)
def test_draw_bucket(draw: float, bucket: int) -> None:
    assert draw_bucket(draw) == bucket
