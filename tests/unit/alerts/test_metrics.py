"""Windowed metric values from growing totals."""

from __future__ import annotations

import pytest

from sidecar.alerts.metrics import (
    CumulativeHistory,
    OutcomeWindows,
    counts_between,
    gate_value,
    outcome_value,
)
from sidecar.alerts.model import OUTCOME_METRICS, Metric
from sidecar.alerts.rules import DEFAULT_MIN_REQUESTS
from sidecar.rollout.decision import Decision, DecisionKind, GateResult, GateVerdict, ReasonCode
from sidecar.rollout.model import Version
from sidecar.rollout.windows import EMPTY_COUNTS, merge_counts
from tests.unit.rollout.builders import counts


def test_history_baseline_is_the_total_one_window_ago() -> None:
    history: CumulativeHistory[int] = CumulativeHistory(started_at=0.0)
    for t, total in [(10.0, 1), (20.0, 5), (30.0, 9), (40.0, 20)]:
        history.add(t, total, keep_s=15.0)
    assert history.latest() == 20
    assert history.baseline(40.0, 10.0) == 9  # the sample at 30
    assert history.baseline(40.0, 15.0) == 5  # newest at or before 25
    # Older samples were pruned (only what a 15 s window needs is kept): the oldest kept one stands in.
    assert history.baseline(40.0, 25.0) == 5


def test_history_window_reaching_back_to_the_start_counts_from_zero() -> None:
    history: CumulativeHistory[int] = CumulativeHistory(started_at=100.0)
    history.add(104.0, 3, keep_s=60.0)
    assert history.baseline(104.0, 60.0) is None


def test_counts_between_subtracts_every_field() -> None:
    earlier = counts(100, errors=5, latency_ms=10.0)
    added = counts(50, errors=20, fallbacks=5, latency_ms=400.0)
    delta = counts_between(merge_counts(earlier, added), earlier)
    assert (delta.requests, delta.errors, delta.fallbacks, delta.latency_n) == (50, 20, 5, 25)
    assert delta.histogram == added.histogram


def test_outcome_windows_rate_over_the_window_only() -> None:
    windows = OutcomeWindows()
    series = (1, 0.0)
    healthy = counts(1000, errors=10)
    windows.record("svc", series, {Version.V2: healthy}, at=60.0, keep_s=30.0)
    bad = merge_counts(healthy, counts(100, errors=50))
    windows.record("svc", series, {Version.V2: bad}, at=90.0, keep_s=30.0)
    assert windows.totals("svc", Version.V2, at=90.0, window_s=30.0).error_rate == pytest.approx(0.5)
    # Over the whole phase the rate is diluted.
    assert windows.totals("svc", Version.V2, at=90.0, window_s=90.0).error_rate == pytest.approx(60 / 1100)
    assert windows.totals("svc", Version.V1, at=90.0, window_s=30.0).error_rate is None
    assert windows.totals("other", Version.V2, at=90.0, window_s=30.0).requests == 0


def test_outcome_windows_restart_with_a_new_phase() -> None:
    windows = OutcomeWindows()
    windows.record("svc", (1, 0.0), {Version.V2: counts(1000, errors=900)}, at=50.0, keep_s=30.0)
    # The phase advanced at 55: its totals start from zero, and nothing of the old phase leaks in.
    windows.record("svc", (1, 55.0), {Version.V2: counts(10)}, at=60.0, keep_s=30.0)
    assert windows.totals("svc", Version.V2, at=60.0, window_s=30.0).error_rate == 0.0
    windows.retain([])
    assert windows.totals("svc", Version.V2, at=60.0, window_s=30.0).counts == EMPTY_COUNTS


def test_gate_value_reads_the_last_decision() -> None:
    decision = Decision(
        DecisionKind.HOLD,
        "holding",
        ReasonCode.GATE_FAILING,
        {},
        (
            GateResult("max_v2_error_rate", 0.3, 0.05, GateVerdict.FAIL),
            GateResult("max_latency_ratio", None, 1.5, GateVerdict.NO_DATA),
        ),
        1,
        0,
    )
    assert gate_value(decision, "max_v2_error_rate") == 0.3
    assert gate_value(decision, "max_latency_ratio") is None
    assert gate_value(decision, "max_fallback_rate") is None
    assert gate_value(None, "max_v2_error_rate") is None


@pytest.mark.parametrize("metric", sorted(OUTCOME_METRICS))
def test_an_outcome_metric_has_no_data_below_min_requests(metric: Metric) -> None:
    windows = OutcomeWindows()
    windows.record("svc", (1, 0.0), {Version.V2: counts(19, errors=1)}, at=30.0, keep_s=60.0)
    assert outcome_value(metric, windows.totals("svc", Version.V2, 30.0, 60.0), min_requests=20) is None
    windows.record("svc", (1, 0.0), {Version.V2: counts(20, errors=1)}, at=31.0, keep_s=60.0)
    value = outcome_value(metric, windows.totals("svc", Version.V2, 31.0, 60.0), min_requests=20)
    expected = {"error_rate": 0.05, "fallback_rate": 0.0, "p95_latency_ms": 100.0}[metric]
    assert value == pytest.approx(expected, rel=0.05)  # p95 is read from histogram buckets


def test_one_failed_call_out_of_one_is_no_data_by_default() -> None:
    windows = OutcomeWindows()
    windows.record("svc", (1, 0.0), {Version.V2: counts(1, errors=1)}, at=5.0, keep_s=60.0)
    totals = windows.totals("svc", Version.V2, 5.0, 60.0)
    assert totals.error_rate == 1.0
    assert outcome_value(Metric.ERROR_RATE, totals, min_requests=DEFAULT_MIN_REQUESTS) is None
