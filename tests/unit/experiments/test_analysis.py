"""Experiment analysis: numbers, multiple testing, sequential mode, SRM and the verdict rules."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest

from sidecar.experiments import (
    AnalysisMode,
    Correction,
    Direction,
    ExperimentData,
    ExperimentDefinition,
    MetricAggregate,
    MetricDefinition,
    MetricKind,
    MetricRole,
    Outcome,
    Verdict,
)
from sidecar.experiments.analysis import analyze_experiment
from sidecar.experiments.comparison import resolve_tau
from sidecar.experiments.planning import plan_sample_size
from sidecar.stats.effect import cohens_d, cohens_h
from sidecar.stats.fixed import relative_lift, two_proportion_z_test, welch_t_test
from sidecar.stats.multiple import benjamini_hochberg, holm
from sidecar.stats.power import sample_size_per_arm
from sidecar.stats.sequential import sequential_mean_difference, sequential_proportion_difference
from sidecar.stats.summary import SummaryStats
from tests.unit.experiments.builders import binomial

CONVERSION = MetricDefinition("conversion", MetricKind.BINOMIAL)
REVENUE = MetricDefinition("revenue", MetricKind.CONTINUOUS, role=MetricRole.SECONDARY)
LATENCY = MetricDefinition(
    "latency", MetricKind.CONTINUOUS, role=MetricRole.GUARDRAIL, direction=Direction.DECREASE
)


def _definition(
    *metrics: MetricDefinition,
    arms: tuple[str, ...] = ("control", "treatment"),
    weights: tuple[float, ...] | None = None,
    mode: AnalysisMode = AnalysisMode.FIXED,
    min_units_per_arm: int = 100,
) -> ExperimentDefinition:
    return ExperimentDefinition(
        key="checkout",
        arms=arms,
        control="control",
        weights=weights or tuple(1.0 for _ in arms),
        metrics=metrics or (CONVERSION,),
        mode=mode,
        min_units_per_arm=min_units_per_arm,
    )


def _continuous(n: int, mean: float, sd: float) -> MetricAggregate:
    """Aggregates with an exact mean and sample SD."""
    total = n * mean
    total_sq = sd * sd * (n - 1) + total * mean
    return MetricAggregate(n, total, total_sq)


def test_binomial_metric_uses_two_proportion_z_and_cohens_h() -> None:
    data = ExperimentData(
        exposures={"control": 10_000, "treatment": 10_000},
        metrics={"conversion": {"control": binomial(1000, 10_000), "treatment": binomial(1100, 10_000)}},
    )
    report = analyze_experiment(_definition(), data)
    r = report.result("conversion", "treatment")
    expected = two_proportion_z_test(1000, 10_000, 1100, 10_000)
    assert r.test == "two_proportion_z"
    assert r.inference == "fixed"
    assert (r.absolute.estimate, r.absolute.ci_low, r.absolute.ci_high) == (
        expected.estimate,
        expected.ci_low,
        expected.ci_high,
    )
    assert r.p_value == expected.p_value == r.p_value_adjusted  # one hypothesis: nothing to adjust
    assert r.statistic == expected.statistic
    assert r.effect_size == pytest.approx(cohens_h(0.1, 0.11))
    assert r.effect_size_kind == "cohens_h"
    rel = relative_lift(
        SummaryStats.from_proportion(1000, 10_000), SummaryStats.from_proportion(1100, 10_000)
    )
    assert r.relative is not None
    assert r.relative.estimate == pytest.approx(0.1)
    assert (r.relative.ci_low, r.relative.ci_high) == (rel.ci_low, rel.ci_high)
    assert r.control.units == 10_000
    assert r.control.mean == pytest.approx(0.1)
    assert r.treatment.variance == pytest.approx(0.11 * 0.89 * 10_000 / 9_999)
    assert r.outcome is Outcome.IMPROVED
    assert r.significant
    assert r.power_basis == "observed"


def test_continuous_metric_uses_welch_and_cohens_d() -> None:
    control, treatment = _continuous(500, 20.0, 8.0), _continuous(400, 21.5, 10.0)
    data = ExperimentData(
        {"control": 500, "treatment": 400}, {"revenue": {"control": control, "treatment": treatment}}
    )
    definition = _definition(
        MetricDefinition("revenue", MetricKind.CONTINUOUS, mde=1.0), weights=(5.0, 4.0), min_units_per_arm=10
    )
    r = analyze_experiment(definition, data).result("revenue", "treatment")
    c_stats, t_stats = SummaryStats(500, 20.0, 64.0), SummaryStats(400, 21.5, 100.0)
    expected = welch_t_test(c_stats, t_stats)
    assert r.test == "welch_t"
    assert r.p_value == pytest.approx(expected.p_value, rel=1e-9)
    assert r.df == pytest.approx(expected.df, rel=1e-9)
    assert r.absolute.ci_low == pytest.approx(expected.ci_low, rel=1e-9)
    assert r.effect_size == pytest.approx(cohens_d(c_stats, t_stats), rel=1e-9)
    assert r.power_basis == "mde"
    se = math.sqrt(64.0 / 500 + 100.0 / 400)
    z = 1.959963984540054

    def phi(x: float) -> float:
        return 0.5 * math.erfc(-x / math.sqrt(2))

    assert r.achieved_power == pytest.approx(phi(1.0 / se - z) + phi(-1.0 / se - z), rel=1e-6)


def test_zero_fill_counts_exposed_units_without_events() -> None:
    # 600 control units converted out of 10,000 exposed, but only the 600 converters produced an event row
    data = ExperimentData(
        {"control": 10_000, "treatment": 10_000},
        {"conversion": {"control": binomial(600, 600), "treatment": binomial(700, 700)}},
    )
    r = analyze_experiment(_definition(), data).result("conversion", "treatment")
    assert r.control.units == 10_000
    assert r.control.mean == pytest.approx(0.06)
    # continuous metrics are not zero-filled: a missing value is missing
    cont = MetricDefinition("revenue", MetricKind.CONTINUOUS)
    data = ExperimentData(
        {"control": 10_000, "treatment": 10_000},
        {"revenue": {"control": _continuous(600, 30.0, 5.0), "treatment": _continuous(700, 31.0, 5.0)}},
    )
    r = analyze_experiment(_definition(cont), data).result("revenue", "treatment")
    assert r.control.units == 600
    assert r.control.mean == pytest.approx(30.0)


def _multi_arm_data() -> tuple[ExperimentDefinition, ExperimentData]:
    definition = _definition(
        CONVERSION, REVENUE, LATENCY, arms=("control", "b", "c"), weights=(1.0, 1.0, 1.0)
    )
    n = 5_000
    data = ExperimentData(
        exposures={"control": n, "b": n, "c": n},
        metrics={
            "conversion": {"control": binomial(500, n), "b": binomial(600, n), "c": binomial(520, n)},
            "revenue": {
                "control": _continuous(n, 10.0, 6.0),
                "b": _continuous(n, 10.3, 6.0),
                "c": _continuous(n, 9.9, 6.0),
            },
            "latency": {
                "control": _continuous(n, 100.0, 30.0),
                "b": _continuous(n, 101.0, 30.0),
                "c": _continuous(n, 99.0, 30.0),
            },
        },
    )
    return definition, data


def test_holm_and_bh_over_the_whole_family() -> None:
    definition, data = _multi_arm_data()
    report = analyze_experiment(definition, data)
    assert len(report.results) == 6  # 3 metrics x 2 treatment arms
    raw = [r.p_value for r in report.results]
    assert [r.p_value_adjusted for r in report.results] == pytest.approx(holm(raw))
    bh = analyze_experiment(dataclasses.replace(definition, correction=Correction.BH), data)
    assert [r.p_value_adjusted for r in bh.results] == pytest.approx(benjamini_hochberg(raw))
    for r in report.results:
        assert r.significant == (r.p_value_adjusted < 0.05)


def test_ship_when_primary_improves_and_guardrails_hold() -> None:
    definition, data = _multi_arm_data()
    report = analyze_experiment(definition, data)
    assert report.result("conversion", "b").outcome is Outcome.IMPROVED
    assert report.verdict is Verdict.SHIP
    assert report.winner == "b"
    assert "conversion" in report.reason
    assert report.guardrail_violations == ()


def test_guardrail_degradation_blocks_shipping() -> None:
    definition, data = _multi_arm_data()
    metrics = dict(data.metrics)
    metrics["latency"] = {**metrics["latency"], "b": _continuous(5_000, 104.0, 30.0)}  # +4 % latency in b
    report = analyze_experiment(definition, ExperimentData(data.exposures, metrics))
    assert report.result("latency", "b").outcome is Outcome.DEGRADED
    assert report.verdict is Verdict.DO_NOT_SHIP
    assert "latency (b)" in report.reason
    assert report.guardrail_violations
    assert report.winner is None


def test_primary_worse_everywhere_is_do_not_ship() -> None:
    data = ExperimentData(
        {"control": 10_000, "treatment": 10_000},
        {"conversion": {"control": binomial(1000, 10_000), "treatment": binomial(850, 10_000)}},
    )
    report = analyze_experiment(_definition(), data)
    assert report.result("conversion", "treatment").outcome is Outcome.DEGRADED
    assert report.verdict is Verdict.DO_NOT_SHIP


def test_decrease_direction_flips_good_and_bad() -> None:
    metric = MetricDefinition("errors", MetricKind.COUNT, direction=Direction.DECREASE)
    data = ExperimentData(
        {"control": 4_000, "treatment": 4_000},
        {"errors": {"control": _continuous(4_000, 2.0, 1.5), "treatment": _continuous(4_000, 1.8, 1.5)}},
    )
    report = analyze_experiment(_definition(metric), data)
    assert report.result("errors", "treatment").outcome is Outcome.IMPROVED
    assert report.verdict is Verdict.SHIP


def test_fixed_mode_refuses_to_ship_before_planned_sample() -> None:
    # MDE of 1 point on a 10 % baseline needs ~14,750 units per arm; a big early effect is still not a SHIP
    metric = MetricDefinition("conversion", MetricKind.BINOMIAL, mde=0.01)
    data = ExperimentData(
        {"control": 3_000, "treatment": 3_000},
        {"conversion": {"control": binomial(300, 3_000), "treatment": binomial(390, 3_000)}},
    )
    report = analyze_experiment(_definition(metric), data)
    assert report.planned_units_per_arm == sample_size_per_arm(baseline=0.1, mde=0.01, kind="binomial")
    assert report.result("conversion", "treatment").significant
    assert report.verdict is Verdict.KEEP_RUNNING
    assert "not reached" in report.reason
    # the same data in sequential mode may be acted upon
    seq = analyze_experiment(_definition(metric, mode=AnalysisMode.SEQUENTIAL), data)
    assert seq.verdict is Verdict.SHIP


def test_inconclusive_at_planned_sample_without_effect() -> None:
    metric = MetricDefinition("conversion", MetricKind.BINOMIAL, mde=0.01)
    data = ExperimentData(
        {"control": 16_000, "treatment": 16_000},
        {"conversion": {"control": binomial(1600, 16_000), "treatment": binomial(1610, 16_000)}},
    )
    report = analyze_experiment(_definition(metric), data)
    assert report.verdict is Verdict.INCONCLUSIVE
    smaller = ExperimentData(
        {"control": 5_000, "treatment": 5_000},
        {"conversion": {"control": binomial(500, 5_000), "treatment": binomial(505, 5_000)}},
    )
    assert analyze_experiment(_definition(metric), smaller).verdict is Verdict.KEEP_RUNNING


def test_no_mde_fixed_is_inconclusive_and_sequential_keeps_running() -> None:
    data = ExperimentData(
        {"control": 5_000, "treatment": 5_000},
        {"conversion": {"control": binomial(500, 5_000), "treatment": binomial(505, 5_000)}},
    )
    assert analyze_experiment(_definition(), data).verdict is Verdict.INCONCLUSIVE
    assert analyze_experiment(_definition(mode=AnalysisMode.SEQUENTIAL), data).verdict is Verdict.KEEP_RUNNING


def test_srm_makes_report_untrustworthy_even_with_a_winner() -> None:
    data = ExperimentData(
        {"control": 10_000, "treatment": 11_000},
        {"conversion": {"control": binomial(1000, 10_000), "treatment": binomial(1400, 11_000)}},
    )
    report = analyze_experiment(_definition(), data)
    assert report.srm.mismatch
    assert report.verdict is Verdict.UNTRUSTWORTHY
    assert "Sample ratio mismatch" in report.reason
    assert report.arms[1].observed_share == pytest.approx(11 / 21)


def test_not_enough_data_and_unexposed_events() -> None:
    data = ExperimentData(
        {"control": 40, "treatment": 45},
        {"conversion": {"control": binomial(4, 40), "treatment": binomial(9, 45)}},
        unexposed_events=17,
    )
    report = analyze_experiment(_definition(), data)
    assert report.verdict is Verdict.KEEP_RUNNING
    assert "Not enough data" in report.reason
    assert report.unexposed_events == 17
    assert any("17 metric events" in w for w in report.warnings)


def test_empty_arm_is_not_enough_data_without_nan() -> None:
    metric = MetricDefinition("revenue", MetricKind.CONTINUOUS)
    data = ExperimentData(
        {"control": 100, "treatment": 100}, {"revenue": {"control": _continuous(100, 5.0, 1.0)}}
    )
    report = analyze_experiment(_definition(metric), data)
    r = report.result("revenue", "treatment")
    assert r.outcome is Outcome.NOT_ENOUGH_DATA
    assert r.p_value == 1.0
    assert r.relative is None
    assert not any(
        isinstance(v, float) and math.isnan(v) for v in (r.effect_size, r.achieved_power, r.p_value)
    )


def test_sequential_mode_replaces_p_values_and_intervals() -> None:
    metric = MetricDefinition("revenue", MetricKind.CONTINUOUS, mde=0.5)
    conv = MetricDefinition("conversion", MetricKind.BINOMIAL, mde=0.01, role=MetricRole.SECONDARY)
    data = ExperimentData(
        {"control": 2_000, "treatment": 2_000},
        {
            "revenue": {"control": _continuous(2_000, 10.0, 4.0), "treatment": _continuous(2_000, 10.6, 4.0)},
            "conversion": {"control": binomial(200, 2_000), "treatment": binomial(260, 2_000)},
        },
    )
    report = analyze_experiment(_definition(metric, conv, mode=AnalysisMode.SEQUENTIAL), data)
    rev = report.result("revenue", "treatment")
    expected = sequential_mean_difference(
        SummaryStats(2_000, 10.0, 16.0), SummaryStats(2_000, 10.6, 16.0), tau=0.5
    )
    assert rev.inference == "sequential"
    assert rev.tau == 0.5
    assert rev.statistic is None
    assert rev.p_value == pytest.approx(expected.p_value, rel=1e-9)
    assert rev.absolute.ci_low == pytest.approx(expected.ci_low, rel=1e-9)
    fixed = welch_t_test(SummaryStats(2_000, 10.0, 16.0), SummaryStats(2_000, 10.6, 16.0))
    assert rev.p_value > fixed.p_value
    assert rev.absolute.ci_low < fixed.ci_low
    assert rev.relative is not None
    assert rev.relative.ci_low < rev.relative.estimate < rev.relative.ci_high
    c = report.result("conversion", "treatment")
    expected_c = sequential_proportion_difference(200, 2_000, 260, 2_000, tau=0.01)
    assert c.p_value == pytest.approx(expected_c.p_value, rel=1e-9)
    assert [r.p_value_adjusted for r in report.results] == pytest.approx(
        holm([r.p_value for r in report.results])
    )


def test_tau_resolution_and_overrides() -> None:
    c, t = SummaryStats(100, 10.0, 4.0), SummaryStats(100, 11.0, 4.0)
    assert resolve_tau(MetricDefinition("m", MetricKind.CONTINUOUS, tau=0.3, mde=1.0), c, t) == (0.3, True)
    assert resolve_tau(MetricDefinition("m", MetricKind.CONTINUOUS, mde=-0.7), c, t) == (0.7, True)
    tau, fixed = resolve_tau(MetricDefinition("m", MetricKind.CONTINUOUS, mde=0.05, mde_relative=True), c, t)
    assert tau == pytest.approx(0.5)
    assert not fixed
    tau, fixed = resolve_tau(MetricDefinition("m", MetricKind.CONTINUOUS), c, t)
    assert tau == pytest.approx(0.1)  # 0.05 x pooled SD of 2
    assert not fixed
    metric = MetricDefinition("revenue", MetricKind.CONTINUOUS)
    data = ExperimentData(
        {"control": 500, "treatment": 500},
        {"revenue": {"control": _continuous(500, 10.0, 2.0), "treatment": _continuous(500, 10.2, 2.0)}},
    )
    definition = _definition(metric, mode=AnalysisMode.SEQUENTIAL)
    report = analyze_experiment(definition, data)
    assert report.result("revenue", "treatment").tau == pytest.approx(0.1)
    assert any("tau defaults" in w for w in report.warnings)
    pinned = analyze_experiment(definition, data, tau_overrides={"revenue": 0.25})
    assert pinned.result("revenue", "treatment").tau == 0.25
    assert not any("tau" in w for w in pinned.warnings)


def test_definition_validation() -> None:
    with pytest.raises(ValueError, match="control"):
        ExperimentDefinition("k", ("a", "b"), "c", (1.0, 1.0), (CONVERSION,))
    with pytest.raises(ValueError, match="weights"):
        ExperimentDefinition("k", ("a", "b"), "a", (1.0,), (CONVERSION,))
    with pytest.raises(ValueError, match="unique"):
        ExperimentDefinition("k", ("a", "b"), "a", (1.0, 1.0), (CONVERSION, CONVERSION))
    with pytest.raises(ValueError, match="two arms"):
        ExperimentDefinition("k", ("a",), "a", (1.0,), (CONVERSION,))
    with pytest.raises(ValueError, match="mde"):
        MetricDefinition("m", MetricKind.BINOMIAL, mde=0.0)
    with pytest.raises(ValueError, match="successes"):
        analyze_experiment(
            _definition(),
            ExperimentData({"control": 10, "treatment": 10}, {"conversion": {"control": binomial(20, 10)}}),
        )


def test_sample_size_plan() -> None:
    plan = plan_sample_size(kind="binomial", baseline=0.5, mde=0.25, power=0.9)
    assert plan.per_arm_equal == 77
    assert plan.arm_units == (77, 77)
    assert plan.total == 154
    t = plan_sample_size(kind=MetricKind.CONTINUOUS, baseline=0.0, mde=1.0, std_dev=1.0, power=0.9)
    assert t.per_arm_equal == 23
    # 2:1 allocation keeps 1/n_c + 1/n_t equal to the balanced design's 2/n
    uneven = plan_sample_size(kind="binomial", baseline=0.1, mde=0.01, weights=(2.0, 1.0))
    n = uneven.per_arm_equal
    n_c, n_t = uneven.arm_units
    assert 1 / n_c + 1 / n_t <= 2 / (n - 1)
    assert uneven.total > 2 * n
    bonferroni = plan_sample_size(kind="binomial", baseline=0.1, mde=0.01, comparisons=4)
    assert bonferroni.alpha_per_comparison == pytest.approx(0.0125)
    assert bonferroni.per_arm_equal == sample_size_per_arm(
        baseline=0.1, mde=0.01, alpha=0.0125, kind="binomial"
    )


def test_analysis_cost_does_not_depend_on_traffic() -> None:
    """The core takes aggregates only: 10 arms x 30 metrics analyse in well under a second, and a billion
    units cost the same as a thousand."""
    arms = tuple(["control"] + [f"v{i}" for i in range(9)])
    metrics = tuple(
        MetricDefinition(
            f"m{i}", MetricKind.BINOMIAL if i % 2 else MetricKind.CONTINUOUS, mde=0.01 if i == 0 else None
        )
        for i in range(30)
    )
    definition = _definition(*metrics, arms=arms)

    def data(n: int) -> ExperimentData:
        per_arm = {
            m.name: {
                a: binomial(n // 10, n) if m.kind is MetricKind.BINOMIAL else _continuous(n, 5.0, 2.0)
                for a in arms
            }
            for m in metrics
        }
        return ExperimentData(dict.fromkeys(arms, n), per_arm)

    timings = []
    for n in (1_000, 1_000_000_000):
        start = time.perf_counter()
        report = analyze_experiment(definition, data(n))
        timings.append(time.perf_counter() - start)
        assert len(report.results) == 9 * 30
    assert max(timings) < 1.0


def test_data_quality_warnings() -> None:
    data = ExperimentData(
        {"control": 1_000, "treatment": 1_000},
        {
            "conversion": {"control": binomial(100, 1_200), "treatment": binomial(100, 1_000)},
            "mystery": {"control": binomial(1, 10)},
        },
    )
    report = analyze_experiment(_definition(), data)
    assert any("arm control has values for 1200 units but only 1000 exposed" in w for w in report.warnings)
    assert any("undefined metrics ignored: mystery" in w for w in report.warnings)
