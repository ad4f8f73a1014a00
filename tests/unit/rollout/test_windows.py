from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.rollout.model import OutcomeKind, Version
from sidecar.rollout.windows import (
    EMPTY_COUNTS,
    MAX_ERROR_TYPES,
    OTHER_ERROR_TYPE,
    BucketCounts,
    WindowKey,
    add_outcome,
    add_outcomes,
    bucket_start,
    merge_counts,
    merge_windows,
    phase_window_key,
    prune,
    sum_counts,
    totals,
    window_key,
)

Outcome = tuple[OutcomeKind, float | None, str | None]


def outcome_lists(max_size: int) -> st.SearchStrategy[list[Outcome]]:
    outcome = st.tuples(
        st.sampled_from(OutcomeKind),
        st.one_of(st.none(), st.floats(min_value=0.0, max_value=120_000.0)),
        st.sampled_from([None, "timeout", "unavailable", "bad-request"]),
    )
    return st.lists(outcome, max_size=max_size)


outcomes = outcome_lists(20)


def counts_of(items: list[Outcome]) -> BucketCounts:
    return add_outcomes(EMPTY_COUNTS, items)


bucket_counts = outcomes.map(counts_of)
windows = st.dictionaries(
    st.tuples(st.integers(min_value=0, max_value=3).map(lambda i: i * 5), st.sampled_from(Version)),
    outcome_lists(6).map(counts_of),
    max_size=4,
)


@given(a=bucket_counts, b=bucket_counts)
def test_merge_is_commutative(a: BucketCounts, b: BucketCounts) -> None:
    assert merge_counts(a, b) == merge_counts(b, a)


@given(a=bucket_counts, b=bucket_counts, c=bucket_counts)
def test_merge_is_associative(a: BucketCounts, b: BucketCounts, c: BucketCounts) -> None:
    assert merge_counts(merge_counts(a, b), c) == merge_counts(a, merge_counts(b, c))
    assert sum_counts([a, b, c]) == merge_counts(merge_counts(a, b), c)


@given(first=outcomes, second=outcomes)
def test_merging_equals_counting_everything_in_one_place(first: list[Outcome], second: list[Outcome]) -> None:
    assert merge_counts(counts_of(first), counts_of(second)) == counts_of(first + second)


@given(a=windows, b=windows, c=windows)
def test_window_merge_is_commutative_and_associative(
    a: dict[WindowKey, BucketCounts], b: dict[WindowKey, BucketCounts], c: dict[WindowKey, BucketCounts]
) -> None:
    assert merge_windows(a, b) == merge_windows(b, a)
    assert merge_windows(merge_windows(a, b), c) == merge_windows(a, merge_windows(b, c))


@given(start=bucket_counts, items=outcomes)
def test_batch_equals_one_by_one(start: BucketCounts, items: list[Outcome]) -> None:
    one_by_one = start
    for kind, latency, error_type in items:
        one_by_one = add_outcome(one_by_one, kind, latency, error_type)
    assert add_outcomes(start, items) == one_by_one


@given(items=outcomes)
def test_counts_add_up(items: list[Outcome]) -> None:
    counted = counts_of(items)
    assert counted.requests == len(items) == counted.successes + counted.errors + counted.fallbacks
    assert sum(counted.histogram) == counted.latency_n
    assert sum(n for _, n in counted.error_types) == counted.errors + counted.fallbacks


def test_add_outcome_records_latency_for_successes_only() -> None:
    counted = counts_of(
        [
            (OutcomeKind.SUCCESS, 10.0, None),
            (OutcomeKind.SUCCESS, 30.0, None),
            (OutcomeKind.SUCCESS, None, None),
            (OutcomeKind.ERROR, 1.0, "timeout"),
            (OutcomeKind.FALLBACK, 5_000.0, None),
        ]
    )
    assert (counted.requests, counted.successes, counted.errors, counted.fallbacks) == (5, 3, 1, 1)
    assert (counted.latency_n, counted.latency_sum_us, counted.latency_sum_sq_us2) == (
        2,
        40_000,
        1_000_000_000,
    )
    assert counted.error_types == (("timeout", 1), ("unknown", 1))


@pytest.mark.parametrize(
    ("latency", "micros"),
    [
        pytest.param(-3.0, 0, id="negative-clamped"),
        pytest.param(math.nan, 0, id="nan"),
        pytest.param(math.inf, 600_000_000, id="inf-clamped"),
        pytest.param(0.0004, 0, id="sub-microsecond"),
    ],
)
def test_odd_latencies_are_clamped(latency: float, micros: int) -> None:
    assert add_outcome(EMPTY_COUNTS, OutcomeKind.SUCCESS, latency).latency_sum_us == micros


def test_error_types_are_bounded_per_bucket() -> None:
    counted = EMPTY_COUNTS
    for i in range(MAX_ERROR_TYPES + 5):
        counted = add_outcome(counted, OutcomeKind.ERROR, error_type=f"type-{i}")
    names = dict(counted.error_types)
    assert len(names) == MAX_ERROR_TYPES + 1
    assert names[OTHER_ERROR_TYPE] == 5
    long_name = add_outcome(EMPTY_COUNTS, OutcomeKind.ERROR, error_type="x" * 500)
    assert len(long_name.error_types[0][0]) == 64


def test_totals_cover_whole_buckets_from_since_and_compute_rates() -> None:
    window: dict[WindowKey, BucketCounts] = {}

    def record(version: Version, at: float, kind: OutcomeKind, latency: float | None = None) -> None:
        key = window_key(version, at)
        window[key] = add_outcome(window.get(key, EMPTY_COUNTS), kind, latency)

    record(Version.V2, 103.0, OutcomeKind.ERROR)  # bucket 100: before the phase started at 102
    for second in range(105, 125):
        record(Version.V2, second, OutcomeKind.SUCCESS, latency=float(second - 100))
    record(Version.V2, 121.0, OutcomeKind.FALLBACK)
    record(Version.V1, 110.0, OutcomeKind.ERROR)

    v2 = totals(window, Version.V2, since=102.0)
    assert (v2.requests, v2.errors, v2.fallbacks) == (21, 0, 1)
    assert v2.error_rate == 0.0
    assert v2.fallback_rate == pytest.approx(1 / 21)
    assert v2.success_rate == pytest.approx(20 / 21)
    assert v2.latency.n == 20
    assert v2.latency.mean == pytest.approx(14.5)
    assert v2.p50_ms is not None
    assert 13.0 <= v2.p50_ms <= 16.0
    assert v2.p95_ms is not None
    assert v2.p99_ms is not None
    assert v2.p50_ms < v2.p95_ms <= v2.p99_ms

    bounded = totals(window, Version.V2, since=100.0, until=110.0)
    assert (bounded.requests, bounded.errors) == (6, 1)
    v1 = totals(window, Version.V1, since=0.0)
    assert (v1.requests, v1.error_rate, v1.p95_ms) == (1, 1.0, None)


def test_empty_totals_have_no_rates() -> None:
    empty = totals({}, Version.V1, since=0.0)
    assert (empty.requests, empty.error_rate, empty.success_rate, empty.p95_ms) == (0, None, None, None)
    assert empty.latency.n == 0


def test_prune_keeps_the_bucket_containing_the_cut() -> None:
    window = {(start, Version.V1): add_outcome(EMPTY_COUNTS, OutcomeKind.SUCCESS) for start in (0, 5, 10, 15)}
    assert sorted(key[0] for key in prune(window, keep_since=11.0)) == [10, 15]


@pytest.mark.parametrize(
    ("now", "start"),
    [
        pytest.param(0.0, 0, id="zero"),
        pytest.param(4.999, 0, id="end"),
        pytest.param(5.0, 5, id="edge"),
        pytest.param(-0.1, -5, id="negative"),
    ],
)
def test_bucket_start(now: float, start: int) -> None:
    assert bucket_start(now) == start


@pytest.mark.parametrize(
    ("now", "started", "expected"),
    [
        pytest.param(100.8, 100.7, 101, id="before-first-whole-second"),
        pytest.param(101.0, 100.7, 101, id="at-origin"),
        pytest.param(105.9, 100.7, 101, id="inside-first-bucket"),
        pytest.param(106.0, 100.7, 106, id="second-bucket"),
    ],
)
def test_phase_window_key_aligns_buckets_to_the_phase_start(
    now: float, started: float, expected: int
) -> None:
    key = phase_window_key(Version.V2, now, started, bucket_seconds=5)
    assert key == (expected, Version.V2)
    assert (
        totals({key: add_outcome(EMPTY_COUNTS, OutcomeKind.SUCCESS, 1.0)}, Version.V2, started).requests == 1
    )
