"""What a reported (success, fallback) pair is, and what it moves: the policy's rates, the breaker, alerts."""

from __future__ import annotations

import pytest

from sidecar.alerts.metrics import OutcomeWindows, outcome_value
from sidecar.alerts.model import Metric
from sidecar.rollout.decision import GateVerdict
from sidecar.rollout.model import Gates, OutcomeKind, RollbackTriggers, Version, outcome_kind
from sidecar.rollout.policy import decide
from sidecar.rollout.state import initial_state
from sidecar.rollout.transitions import record_outcome
from sidecar.rollout.windows import EMPTY_COUNTS, BucketCounts, add_outcomes, summarize
from tests.unit.rollout.builders import START, two_phase_definition, v1_totals

# (success, fallback) -> kind, and which V2 rate the call moves.
CASES = {
    "success": (True, False, OutcomeKind.SUCCESS, None),
    "rescued-by-v1": (True, True, OutcomeKind.FALLBACK, "fallback"),
    "fallback-failed-too": (False, True, OutcomeKind.ERROR, "error"),
    "error": (False, False, OutcomeKind.ERROR, "error"),
}
NO_TRIGGERS = RollbackTriggers(
    max_error_rate=None, max_fallback_rate=None, max_latency_ratio=None, consecutive_failures=None
)
DEFINITION = two_phase_definition(
    gates=Gates(max_v2_error_rate=0.05, max_fallback_rate=0.05), triggers=NO_TRIGGERS
)


def _v2_counts(success: bool, fallback: bool, reported: int = 10, healthy: int = 90) -> BucketCounts:
    """``healthy`` successful V2 calls plus ``reported`` calls reported as (success, fallback)."""
    calls = [(OutcomeKind.SUCCESS, 50.0, None)] * healthy
    calls += [(outcome_kind(success, fallback), 50.0, "timeout")] * reported
    return add_outcomes(EMPTY_COUNTS, calls)


@pytest.mark.parametrize(("success", "fallback", "kind", "rate"), CASES.values(), ids=CASES.keys())
def test_reported_calls_map_to_one_kind(success: bool, fallback: bool, kind: OutcomeKind, rate: str) -> None:
    assert outcome_kind(success, fallback) is kind


@pytest.mark.parametrize(("success", "fallback", "kind", "rate"), CASES.values(), ids=CASES.keys())
def test_the_policy_counts_user_visible_failures_as_errors_and_rescued_ones_as_fallbacks(
    success: bool, fallback: bool, kind: OutcomeKind, rate: str | None
) -> None:
    v2 = summarize(Version.V2, _v2_counts(success, fallback))
    decision = decide(DEFINITION, initial_state("checkout", START), v1_totals(100), v2, START + 60)
    gates = {gate.name: gate for gate in decision.gates}
    assert gates["max_v2_error_rate"].value == pytest.approx(0.1 if rate == "error" else 0.0)
    assert gates["max_fallback_rate"].value == pytest.approx(0.1 if rate == "fallback" else 0.0)
    failing = {name for name, gate in gates.items() if gate.verdict is GateVerdict.FAIL}
    assert failing == ({"max_v2_error_rate" if rate == "error" else "max_fallback_rate"} if rate else set())


@pytest.mark.parametrize(("success", "fallback", "kind", "rate"), CASES.values(), ids=CASES.keys())
def test_the_breaker_counts_every_v2_failure_rescued_or_not(
    success: bool, fallback: bool, kind: OutcomeKind, rate: str | None
) -> None:
    state = initial_state("checkout", START)
    after, _ = record_outcome(DEFINITION, state, Version.V2, outcome_kind(success, fallback), START + 1)
    failed = int(rate is not None)
    assert after.consecutive_v2_failures == failed
    assert after.breaker.consecutive_failures == failed
    assert [slot.failures for slot in after.breaker.window] == [failed]


@pytest.mark.parametrize(("success", "fallback", "kind", "rate"), CASES.values(), ids=CASES.keys())
def test_alert_metrics_split_errors_from_fallbacks_like_the_policy(
    success: bool, fallback: bool, kind: OutcomeKind, rate: str | None
) -> None:
    windows = OutcomeWindows()
    totals = {Version.V2: _v2_counts(success, fallback)}
    windows.record("checkout", (1, START), totals, START + 10, keep_s=60.0)
    v2 = windows.totals("checkout", Version.V2, START + 10, window_s=60.0)
    error_rate = outcome_value(Metric.ERROR_RATE, v2, min_requests=1)
    fallback_rate = outcome_value(Metric.FALLBACK_RATE, v2, min_requests=1)
    assert error_rate == pytest.approx(0.1 if rate == "error" else 0.0)
    assert fallback_rate == pytest.approx(0.1 if rate == "fallback" else 0.0)
