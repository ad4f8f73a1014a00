"""One metric, one treatment arm against control: summary statistics per arm, the test, the lift intervals
(fixed-horizon or always-valid), the effect size and the achieved power.

* Tests: Welch's t for continuous and count metrics, the pooled two-proportion z test for binomial ones;
  intervals are Welch / unpooled Wald; the relative lift uses the delta method.
* Sequential mode replaces p-values and intervals by always-valid ones (normal-mixture mSPRT,
  :mod:`sidecar.stats.sequential`), so the report may be read at any time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sidecar.experiments.model import (
    AnalysisMode,
    Direction,
    ExperimentDefinition,
    Interval,
    MetricAggregate,
    MetricDefinition,
    MetricKind,
    Outcome,
)
from sidecar.stats.effect import cohens_d, cohens_h, pooled_std_dev
from sidecar.stats.fixed import relative_lift, relative_lift_variance, two_proportion_z_test, welch_t_test
from sidecar.stats.power import achieved_power
from sidecar.stats.sequential import (
    mixture_sprt,
    sequential_mean_difference,
    sequential_proportion_difference,
)
from sidecar.stats.summary import SummaryStats, TestResult

DEFAULT_STANDARDIZED_TAU = 0.05
"""Sequential mixing standard deviation, in units of the metric's pooled standard deviation, used when a
metric configures neither ``tau`` nor ``mde``: the test is then tuned to standardized effects around 0.05."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """A treatment-vs-control result before the multiple-testing adjustment."""

    metric: MetricDefinition
    variant: str
    test: str
    control: SummaryStats
    treatment: SummaryStats
    absolute: Interval
    relative: Interval | None
    p_value: float
    statistic: float | None
    df: float | None
    effect_size: float
    effect_size_kind: str
    power: float
    power_basis: str
    tau: float | None
    enough_data: bool

    def outcome(self, significant: bool) -> Outcome:
        """What the (adjusted) significance means for this metric, given which way is good."""
        if not self.enough_data:
            return Outcome.NOT_ENOUGH_DATA
        if not significant or self.absolute.estimate == 0.0:
            return Outcome.NO_SIGNIFICANT_CHANGE
        up = self.absolute.estimate > 0.0
        good = up if self.metric.direction is Direction.INCREASE else not up
        return Outcome.IMPROVED if good else Outcome.DEGRADED


@dataclass(frozen=True, slots=True)
class _Arm:
    """One arm's summary statistics, with the success count of a binomial metric (0 otherwise)."""

    stats: SummaryStats
    successes: int


def compare_metric(
    definition: ExperimentDefinition,
    metric: MetricDefinition,
    per_arm: Mapping[str, MetricAggregate],
    exposures: Mapping[str, int],
    tau_override: float | None,
) -> tuple[list[Comparison], SummaryStats]:
    """Every treatment arm of one metric against control; also returns the control arm's statistics."""
    arms = {
        arm: _arm_summary(metric, per_arm.get(arm, MetricAggregate.empty()), exposures[arm])
        for arm in definition.arms
    }
    control = arms[definition.control]
    comparisons = [
        _compare(definition, metric, variant, control, arms[variant], tau_override)
        for variant in definition.treatments
    ]
    return comparisons, control.stats


def _arm_summary(metric: MetricDefinition, aggregate: MetricAggregate, exposed: int) -> _Arm:
    """Summary stats of one arm, zero-filling exposed units that produced no value when the metric says so."""
    n = aggregate.n
    if metric.fills_zero and exposed > n:
        n = exposed  # the missing units add 0 to Σx and Σx²
    if metric.kind is MetricKind.BINOMIAL:
        successes = aggregate.successes if aggregate.successes is not None else round(aggregate.total)
        if not 0 <= successes <= n:
            raise ValueError(f"metric {metric.name}: {successes} successes out of {n} units")
        return _Arm(SummaryStats.from_proportion(successes, n), successes)
    return _Arm(SummaryStats.from_sums(n, aggregate.total, aggregate.total_sq), 0)


def resolve_tau(
    metric: MetricDefinition, control: SummaryStats, treatment: SummaryStats
) -> tuple[float, bool]:
    """Sequential mixing standard deviation for a metric, and whether it is fixed by configuration.

    Order: the metric's ``tau``; its absolute ``mde``; a relative ``mde`` times the control mean; otherwise
    :data:`DEFAULT_STANDARDIZED_TAU` times the pooled standard deviation. Only the first two are truly fixed
    in advance, which the always-valid guarantee formally requires; the last two depend on the (quickly
    stabilising) control mean / standard deviation, and the report warns about them. A caller that needs the
    strict guarantee pins the value shown in :attr:`MetricResult.tau` through ``tau_overrides``.
    """
    if metric.tau is not None:
        return metric.tau, True
    if metric.mde is not None and not metric.mde_relative:
        return abs(metric.mde), True
    if metric.mde is not None and control.mean != 0.0:
        return abs(metric.mde * control.mean), False
    sd = pooled_std_dev(control, treatment)
    return (DEFAULT_STANDARDIZED_TAU * sd if sd > 0.0 else DEFAULT_STANDARDIZED_TAU), False


def _mde_absolute(metric: MetricDefinition, control: SummaryStats) -> float | None:
    if metric.mde is None:
        return None
    if not metric.mde_relative:
        return abs(metric.mde)
    return abs(metric.mde * control.mean) if control.mean != 0.0 else None


@dataclass(frozen=True, slots=True)
class _Inference:
    """The p-value and intervals of one comparison, fixed-horizon or always-valid."""

    absolute: Interval
    relative: Interval | None
    p_value: float
    statistic: float | None
    df: float | None
    tau: float | None


def _compare(
    definition: ExperimentDefinition,
    metric: MetricDefinition,
    variant: str,
    control: _Arm,
    treatment: _Arm,
    tau_override: float | None,
) -> Comparison:
    c, t = control.stats, treatment.stats
    alpha = definition.alpha
    enough = c.n >= 2 and t.n >= 2
    if metric.kind is MetricKind.BINOMIAL:
        fixed = two_proportion_z_test(control.successes, c.n, treatment.successes, t.n, alpha)
        test, effect_kind = "two_proportion_z", "cohens_h"
        effect = cohens_h(c.mean, t.mean) if c.n and t.n else 0.0
    else:
        fixed = welch_t_test(c, t, alpha)
        test, effect_kind = "welch_t", "cohens_d"
        effect = cohens_d(c, t)
    mde = _mde_absolute(metric, c)
    power_effect, basis = (mde, "mde") if mde is not None else (fixed.estimate, "observed")
    inference = _fixed_inference(fixed, c, t, alpha)
    if definition.mode is AnalysisMode.SEQUENTIAL:
        tau = tau_override if tau_override is not None else resolve_tau(metric, c, t)[0]
        inference = _sequential_inference(metric, control, treatment, inference.relative, alpha, tau)
    return Comparison(
        metric=metric,
        variant=variant,
        test=test,
        control=c,
        treatment=t,
        absolute=inference.absolute,
        relative=inference.relative,
        p_value=inference.p_value if enough else 1.0,
        statistic=inference.statistic,
        df=inference.df,
        effect_size=effect,
        effect_size_kind=effect_kind,
        power=achieved_power(c, t, effect=power_effect, alpha=alpha),
        power_basis=basis,
        tau=inference.tau,
        enough_data=enough,
    )


def _fixed_inference(fixed: TestResult, c: SummaryStats, t: SummaryStats, alpha: float) -> _Inference:
    relative: Interval | None = None
    if c.n > 0 and t.n > 0 and c.mean != 0.0:
        rel = relative_lift(c, t, alpha)
        relative = Interval(rel.estimate, rel.ci_low, rel.ci_high)
    absolute = Interval(fixed.estimate, fixed.ci_low, fixed.ci_high)
    return _Inference(absolute, relative, fixed.p_value, fixed.statistic, fixed.df, None)


def _sequential_inference(
    metric: MetricDefinition,
    control: _Arm,
    treatment: _Arm,
    fixed_relative: Interval | None,
    alpha: float,
    tau: float,
) -> _Inference:
    """Always-valid p-value and intervals; the relative one scales tau by |control mean| (delta method)."""
    c, t = control.stats, treatment.stats
    if metric.kind is MetricKind.BINOMIAL:
        seq = sequential_proportion_difference(
            control.successes, c.n, treatment.successes, t.n, alpha=alpha, tau=tau
        )
    else:
        seq = sequential_mean_difference(c, t, alpha=alpha, tau=tau)
    relative = fixed_relative
    if fixed_relative is not None:
        if c.n >= 2 and t.n >= 2:
            r, var_r = relative_lift_variance(c, t)
            seq_rel = mixture_sprt(r, var_r, alpha=alpha, tau=tau / abs(c.mean))
            relative = Interval(seq_rel.estimate, seq_rel.ci_low, seq_rel.ci_high)
        else:
            relative = Interval(fixed_relative.estimate, -math.inf, math.inf)
    return _Inference(Interval(seq.estimate, seq.ci_low, seq.ci_high), relative, seq.p_value, None, None, tau)
