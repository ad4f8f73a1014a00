"""The values the alert loop reads from a live rollout runtime: minRequests is enforced there too."""

from __future__ import annotations

import pytest

from sidecar.alerts.model import AlertRule, Comparison, Metric, MetricRef, Severity
from sidecar.rollout.model import OutcomeKind, Version
from sidecar.runtime.alert_metrics import AlertMetrics
from sidecar.runtime.rollouts import OutcomeReport
from tests.unit.runtime.conftest import START, Harness, scenario

RULE = AlertRule(
    name="checkout-errors",
    metric=MetricRef(Metric.ERROR_RATE, Version.V2),
    comparison=Comparison.GT,
    thresholds=((Severity.CRITICAL, 0.1),),
    rollout="checkout",
    window_s=60.0,
    interval_s=1.0,
    min_requests=20,
)


def outcome(kind: OutcomeKind) -> OutcomeReport:
    return OutcomeReport(
        "checkout", Version.V2, kind, 20.0, None if kind is OutcomeKind.SUCCESS else "boom", 0
    )


@scenario
async def test_a_rollout_with_fewer_calls_than_min_requests_has_no_data(harness: Harness) -> None:
    runtime = await harness.make()
    assert harness._config is not None
    metrics = AlertMetrics(harness._config, runtime, START)
    rules = {RULE.name: RULE}
    key = (RULE.name, "checkout")

    await runtime.report([outcome(OutcomeKind.ERROR)])
    assert metrics.collect(rules, {RULE.name}, START + 1)[key] is None  # one failure of one call

    await runtime.report([outcome(OutcomeKind.SUCCESS)] * 19)
    assert metrics.collect(rules, {RULE.name}, START + 2)[key] == pytest.approx(1 / 20)
