"""Pure A/B experiment analysis over mergeable per-unit aggregates.

Input: an :class:`ExperimentDefinition` (arms, weights, metrics, alpha, power, fixed or sequential mode,
multiple-testing correction) and :class:`ExperimentData` (exposed units per arm, and per metric per arm the
aggregates ``n, Σx, Σx²`` of the *per-unit* values — a unit's value is 0/1 for a binomial metric). Output: an
:class:`ExperimentReport` with, for every metric × non-control arm, both arms' units/mean/variance, the
absolute and relative lift with intervals, raw and adjusted p-values, the test used, an effect size and the
achieved power, plus an SRM check, guardrail call-outs and a one-word verdict with its reason.

The work is O(arms × metrics): nothing here ever sees an individual event.

Statistical choices (each also documented where it is made):

* Tests: Welch's t for continuous and count metrics, the pooled two-proportion z test for binomial ones;
  intervals are Welch / unpooled Wald; the relative lift uses the delta method.
* Multiple testing: one family of all (metric, treatment arm) hypotheses, Holm (family-wise error) by default
or
  Benjamini–Hochberg (false discovery rate). "Significant" always means *adjusted* p < alpha.
* Sequential mode replaces p-values and intervals by always-valid ones (normal-mixture mSPRT,
  :mod:`sidecar.stats.sequential`), so the report may be read at any time and the experiment stopped at the
  first significant read. Fixed mode is only valid at the planned sample size: the verdict refuses to ship
  before it is reached when an MDE lets it compute that size.
* Trust: a sample-ratio mismatch (one omnibus chi-square test, threshold 0.001) makes the whole report
  ``UNTRUSTWORTHY``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sidecar.stats.effect import cohens_d, cohens_h
from sidecar.stats.fixed import relative_lift, relative_lift_variance, two_proportion_z_test, welch_t_test
from sidecar.stats.multiple import benjamini_hochberg, holm
from sidecar.stats.power import achieved_power, required_sample_size
from sidecar.stats.sequential import (
    mixture_sprt,
    sequential_mean_difference,
    sequential_proportion_difference,
)
from sidecar.stats.srm import DEFAULT_SRM_THRESHOLD, SrmResult, sample_ratio_mismatch
from sidecar.stats.summary import SummaryStats, TestResult

DEFAULT_STANDARDIZED_TAU = 0.05
"""Sequential mixing standard deviation, in units of the metric's pooled standard deviation, used when a
metric configures neither ``tau`` nor ``mde``: the test is then tuned to standardized effects around 0.05."""

DEFAULT_MIN_UNITS_PER_ARM = 100


class MetricKind(StrEnum):
    BINOMIAL = "binomial"
    CONTINUOUS = "continuous"
    COUNT = "count"


class MetricRole(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    GUARDRAIL = "guardrail"


class Direction(StrEnum):
    """Which way is good for the metric."""

    INCREASE = "increase"
    DECREASE = "decrease"


class AnalysisMode(StrEnum):
    FIXED = "fixed"
    SEQUENTIAL = "sequential"


class Correction(StrEnum):
    HOLM = "holm"
    BH = "bh"


class Verdict(StrEnum):
    SHIP = "SHIP"
    DO_NOT_SHIP = "DO_NOT_SHIP"
    KEEP_RUNNING = "KEEP_RUNNING"
    INCONCLUSIVE = "INCONCLUSIVE"
    UNTRUSTWORTHY = "UNTRUSTWORTHY"


class Outcome(StrEnum):
    IMPROVED = "improved"
    DEGRADED = "degraded"
    NO_SIGNIFICANT_CHANGE = "no_significant_change"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """One metric of an experiment.

    ``mde`` is the minimum detectable effect, absolute (metric units) unless ``mde_relative`` (then a fraction
    of the control mean, ``0.05`` = 5 %). ``tau`` is the sequential mixing standard deviation in absolute
    units; when unset it is taken from ``mde`` (see :func:`resolve_tau`). ``zero_fill`` says whether exposed
    units without any value count as 0 (default: yes for binomial and count metrics — a unit that never
    converted has value 0 — and no for continuous ones, where a missing value is missing).
    """

    name: str
    kind: MetricKind
    role: MetricRole = MetricRole.PRIMARY
    direction: Direction = Direction.INCREASE
    mde: float | None = None
    mde_relative: bool = False
    tau: float | None = None
    zero_fill: bool | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("metric name must not be empty")
        if self.mde is not None and (self.mde == 0.0 or not math.isfinite(self.mde)):
            raise ValueError(f"metric {self.name}: mde must be non-zero and finite")
        if self.tau is not None and not (self.tau > 0.0 and math.isfinite(self.tau)):
            raise ValueError(f"metric {self.name}: tau must be positive and finite")

    @property
    def fills_zero(self) -> bool:
        if self.zero_fill is not None:
            return self.zero_fill
        return self.kind in (MetricKind.BINOMIAL, MetricKind.COUNT)


@dataclass(frozen=True, slots=True)
class ExperimentDefinition:
    """An experiment: ``arms`` are variant names (one of them ``control``) with assignment ``weights``."""

    key: str
    arms: tuple[str, ...]
    control: str
    weights: tuple[float, ...]
    metrics: tuple[MetricDefinition, ...]
    alpha: float = 0.05
    power: float = 0.8
    mode: AnalysisMode = AnalysisMode.FIXED
    correction: Correction = Correction.HOLM
    srm_threshold: float = DEFAULT_SRM_THRESHOLD
    min_units_per_arm: int = DEFAULT_MIN_UNITS_PER_ARM

    def __post_init__(self) -> None:
        if len(self.arms) < 2:
            raise ValueError(f"experiment {self.key}: need at least two arms")
        if len(set(self.arms)) != len(self.arms):
            raise ValueError(f"experiment {self.key}: arm names must be unique")
        if self.control not in self.arms:
            raise ValueError(f"experiment {self.key}: control {self.control!r} is not an arm")
        if len(self.weights) != len(self.arms):
            raise ValueError(f"experiment {self.key}: {len(self.arms)} arms but {len(self.weights)} weights")
        if any(not (w > 0.0 and math.isfinite(w)) for w in self.weights):
            raise ValueError(f"experiment {self.key}: weights must be positive and finite")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment {self.key}: metric names must be unique")
        if not 0.0 < self.alpha < 1.0 or not 0.0 < self.power < 1.0:
            raise ValueError(f"experiment {self.key}: alpha and power must be in (0, 1)")
        if not 0.0 < self.srm_threshold < 1.0:
            raise ValueError(f"experiment {self.key}: srm_threshold must be in (0, 1)")

    @property
    def treatments(self) -> tuple[str, ...]:
        return tuple(a for a in self.arms if a != self.control)

    def weight_of(self, arm: str) -> float:
        return self.weights[self.arms.index(arm)] / math.fsum(self.weights)


@dataclass(frozen=True, slots=True)
class MetricAggregate:
    """Mergeable per-unit aggregates of one metric in one arm: ``n`` units, ``total = Σx``,
    ``total_sq = Σx²``; for a binomial metric ``successes`` is the number of units whose value is 1 (it
    defaults to ``total``)."""

    n: int
    total: float
    total_sq: float
    successes: int | None = None

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must be >= 0")

    @classmethod
    def binomial(cls, successes: int, n: int) -> MetricAggregate:
        return cls(n, float(successes), float(successes), successes)

    @classmethod
    def empty(cls) -> MetricAggregate:
        return cls(0, 0.0, 0.0, 0)


@dataclass(frozen=True, slots=True)
class ExperimentData:
    """Exposed units per arm, ``metrics[metric][arm]`` aggregates, and the number of metric events that came
    from units with no recorded exposure (excluded from the analysis, reported)."""

    exposures: Mapping[str, int]
    metrics: Mapping[str, Mapping[str, MetricAggregate]]
    unexposed_events: int = 0


@dataclass(frozen=True, slots=True)
class ArmStats:
    variant: str
    units: int
    mean: float
    variance: float


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric for one treatment arm against control.

    ``inference`` is ``fixed`` or ``sequential``; in sequential mode ``p_value`` and the intervals are the
    always-valid ones and ``statistic``/``df`` are ``None``. ``achieved_power`` is the power, at this sample,
    to detect the MDE (``power_basis = "mde"``) or, without an MDE, the observed effect (``"observed"``,
    which is only a restatement of the p-value). ``relative`` is ``None`` when the control mean is 0.
    """

    metric: str
    variant: str
    kind: MetricKind
    role: MetricRole
    direction: Direction
    test: str
    inference: str
    control: ArmStats
    treatment: ArmStats
    absolute: Interval
    relative: Interval | None
    p_value: float
    p_value_adjusted: float
    statistic: float | None
    df: float | None
    effect_size: float
    effect_size_kind: str
    achieved_power: float
    power_basis: str
    tau: float | None
    significant: bool
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ArmExposure:
    variant: str
    units: int
    expected_share: float
    observed_share: float


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    key: str
    mode: AnalysisMode
    alpha: float
    power: float
    correction: Correction
    control: str
    arms: tuple[ArmExposure, ...]
    srm: SrmResult
    unexposed_events: int
    results: tuple[MetricResult, ...]
    guardrail_violations: tuple[str, ...]
    verdict: Verdict
    reason: str
    winner: str | None = None
    planned_units_per_arm: int | None = None
    warnings: tuple[str, ...] = field(default=())

    def result(self, metric: str, variant: str) -> MetricResult:
        for r in self.results:
            if r.metric == metric and r.variant == variant:
                return r
        raise KeyError((metric, variant))


# ----------------------------------------------------------------------------------------------------
# Per-metric analysis


def _arm_stats(
    metric: MetricDefinition, aggregate: MetricAggregate, exposed: int
) -> tuple[SummaryStats, int]:
    """Summary stats of one arm, with zero-filling of exposed units that produced no value; also returns the
    success count for binomial metrics (0 otherwise)."""
    n = aggregate.n
    if metric.fills_zero and exposed > n:
        n = exposed  # the missing units add 0 to Σx and Σx²
    if metric.kind is MetricKind.BINOMIAL:
        successes = aggregate.successes if aggregate.successes is not None else round(aggregate.total)
        if not 0 <= successes <= n:
            raise ValueError(f"metric {metric.name}: {successes} successes out of {n} units")
        return SummaryStats.from_proportion(successes, n), successes
    return SummaryStats.from_sums(n, aggregate.total, aggregate.total_sq), 0


def _pooled_sd(a: SummaryStats, b: SummaryStats) -> float:
    dof = a.n + b.n - 2
    if dof <= 0:
        return 0.0
    return math.sqrt(max(0.0, ((a.n - 1) * a.variance + (b.n - 1) * b.variance) / dof))


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
    sd = _pooled_sd(control, treatment)
    return (DEFAULT_STANDARDIZED_TAU * sd if sd > 0.0 else DEFAULT_STANDARDIZED_TAU), False


def _mde_absolute(metric: MetricDefinition, control: SummaryStats) -> float | None:
    if metric.mde is None:
        return None
    if not metric.mde_relative:
        return abs(metric.mde)
    return abs(metric.mde * control.mean) if control.mean != 0.0 else None


@dataclass(frozen=True, slots=True)
class _Raw:
    """A result before the multiple-testing adjustment."""

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


def _analyze_metric(
    definition: ExperimentDefinition,
    metric: MetricDefinition,
    variant: str,
    control: SummaryStats,
    control_successes: int,
    treatment: SummaryStats,
    treatment_successes: int,
    tau_override: float | None,
) -> _Raw:
    alpha = definition.alpha
    binomial = metric.kind is MetricKind.BINOMIAL
    enough = control.n >= 2 and treatment.n >= 2
    fixed: TestResult
    if binomial:
        fixed = two_proportion_z_test(control_successes, control.n, treatment_successes, treatment.n, alpha)
        test = "two_proportion_z"
        effect = cohens_h(control.mean, treatment.mean) if control.n and treatment.n else 0.0
        effect_kind = "cohens_h"
    else:
        fixed = welch_t_test(control, treatment, alpha)
        test = "welch_t"
        effect = cohens_d(control, treatment)
        effect_kind = "cohens_d"

    relative: Interval | None = None
    if control.n > 0 and treatment.n > 0 and control.mean != 0.0:
        rel = relative_lift(control, treatment, alpha)
        relative = Interval(rel.estimate, rel.ci_low, rel.ci_high)

    mde = _mde_absolute(metric, control)
    power_effect, basis = (mde, "mde") if mde is not None else (fixed.estimate, "observed")
    power = achieved_power(control, treatment, effect=power_effect, alpha=alpha)

    absolute = Interval(fixed.estimate, fixed.ci_low, fixed.ci_high)
    p_value = fixed.p_value
    statistic: float | None = fixed.statistic
    df = fixed.df
    tau: float | None = None
    if definition.mode is AnalysisMode.SEQUENTIAL:
        tau = tau_override if tau_override is not None else resolve_tau(metric, control, treatment)[0]
        if binomial:
            seq = sequential_proportion_difference(
                control_successes, control.n, treatment_successes, treatment.n, alpha=alpha, tau=tau
            )
        else:
            seq = sequential_mean_difference(control, treatment, alpha=alpha, tau=tau)
        absolute = Interval(seq.estimate, seq.ci_low, seq.ci_high)
        p_value = seq.p_value
        statistic, df = None, None
        if relative is not None:
            if enough:
                r, var_r = relative_lift_variance(control, treatment)
                seq_rel = mixture_sprt(r, var_r, alpha=alpha, tau=tau / abs(control.mean))
                relative = Interval(seq_rel.estimate, seq_rel.ci_low, seq_rel.ci_high)
            else:
                relative = Interval(relative.estimate, -math.inf, math.inf)
    if not enough:
        p_value = 1.0
    return _Raw(
        metric=metric,
        variant=variant,
        test=test,
        control=control,
        treatment=treatment,
        absolute=absolute,
        relative=relative,
        p_value=p_value,
        statistic=statistic,
        df=df,
        effect_size=effect,
        effect_size_kind=effect_kind,
        power=power,
        power_basis=basis,
        tau=tau,
        enough_data=enough,
    )


def _outcome(raw: _Raw, significant: bool) -> Outcome:
    if not raw.enough_data:
        return Outcome.NOT_ENOUGH_DATA
    if not significant or raw.absolute.estimate == 0.0:
        return Outcome.NO_SIGNIFICANT_CHANGE
    up = raw.absolute.estimate > 0.0
    good = up if raw.metric.direction is Direction.INCREASE else not up
    return Outcome.IMPROVED if good else Outcome.DEGRADED


# ----------------------------------------------------------------------------------------------------
# Planning


def _effective_n(a: int, b: int) -> float:
    """Equal-allocation-equivalent units per arm: ``2 / (1/a + 1/b)`` (harmonic mean)."""
    if a <= 0 or b <= 0:
        return 0.0
    return 2.0 / (1.0 / a + 1.0 / b)


def _planned_units(
    definition: ExperimentDefinition, controls: Mapping[str, SummaryStats], family_size: int
) -> int | None:
    """Units per arm (equal-allocation equivalent) the fixed-horizon design needs: the largest requirement
    over primary metrics with an MDE, at the Bonferroni level ``alpha / family_size`` (what Holm's first
    step, and BH with a single true effect, use — conservative), with baseline and standard deviation read
    from the control arm. ``None`` when no primary metric has a usable MDE or the control arm has no data
    yet."""
    needed: list[float] = []
    level = definition.alpha / max(1, family_size)
    for metric in definition.metrics:
        if metric.role is not MetricRole.PRIMARY or metric.mde is None:
            continue
        control = controls[metric.name]
        if control.n < 2:
            continue
        try:
            if metric.kind is MetricKind.BINOMIAL:
                n = required_sample_size(
                    baseline=control.mean,
                    mde=metric.mde,
                    relative=metric.mde_relative,
                    alpha=level,
                    power=definition.power,
                    kind="binomial",
                )
            else:
                n = required_sample_size(
                    baseline=control.mean,
                    mde=metric.mde,
                    relative=metric.mde_relative,
                    alpha=level,
                    power=definition.power,
                    kind="continuous",
                    std_dev=control.std_dev if control.std_dev > 0 else None,
                )
        except ValueError:  # degenerate baseline (p of 0 or 1, zero variance, zero control mean)
            continue
        needed.append(n)
    return math.ceil(max(needed)) if needed else None


@dataclass(frozen=True, slots=True)
class SampleSizePlan:
    """Sample-size plan for the CLI. ``per_arm_equal`` is the equal-allocation requirement; ``arm_units``
    splits ``total`` by the weights so that every treatment-vs-control comparison reaches the same
    precision."""

    kind: MetricKind
    baseline: float
    mde: float
    relative: bool
    alpha: float
    alpha_per_comparison: float
    power: float
    comparisons: int
    per_arm_equal: int
    total: int
    arm_units: tuple[int, ...]
    weights: tuple[float, ...]


def plan_sample_size(
    *,
    kind: MetricKind | str,
    baseline: float,
    mde: float,
    relative: bool = False,
    std_dev: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    weights: Sequence[float] = (1.0, 1.0),
    comparisons: int = 1,
) -> SampleSizePlan:
    """Units needed for a fixed-horizon experiment; ``weights[0]`` is the control arm.

    ``comparisons`` (tests in the multiple-testing family) splits alpha Bonferroni-style. For unequal weights
    the total ``N`` is the smallest with ``1/(N·w_c) + 1/(N·w_t) ≤ 2/n`` for every treatment ``t``, where
    ``n`` is the equal-allocation requirement per arm. Count metrics are planned as continuous (``std_dev``
    required).
    """
    kind = MetricKind(kind)
    if len(weights) < 2 or any(not (w > 0.0 and math.isfinite(w)) for w in weights):
        raise ValueError("need at least two positive weights (control first)")
    if comparisons < 1:
        raise ValueError("comparisons must be >= 1")
    level = alpha / comparisons
    n_equal = required_sample_size(
        baseline=baseline,
        mde=mde,
        alpha=level,
        power=power,
        kind="binomial" if kind is MetricKind.BINOMIAL else "continuous",
        std_dev=std_dev,
        relative=relative,
    )
    total_weight = math.fsum(weights)
    shares = [w / total_weight for w in weights]
    total = max(n_equal * (1.0 / shares[0] + 1.0 / s) / 2.0 for s in shares[1:])
    arm_units = tuple(math.ceil(total * s - 1e-9) for s in shares)
    return SampleSizePlan(
        kind=kind,
        baseline=baseline,
        mde=mde,
        relative=relative,
        alpha=alpha,
        alpha_per_comparison=level,
        power=power,
        comparisons=comparisons,
        per_arm_equal=max(2, math.ceil(n_equal - 1e-9)),
        total=sum(arm_units),
        arm_units=arm_units,
        weights=tuple(float(w) for w in weights),
    )


# ----------------------------------------------------------------------------------------------------
# The report


def analyze_experiment(
    definition: ExperimentDefinition,
    data: ExperimentData,
    *,
    tau_overrides: Mapping[str, float] | None = None,
) -> ExperimentReport:
    """Analyse an experiment from aggregates. Pure and O(arms × metrics).

    ``tau_overrides`` (metric name → tau) pins the sequential mixing standard deviations, e.g. to the values
    reported by the first analysis of the experiment, which keeps them fixed for its lifetime.
    """
    warnings: list[str] = []
    exposures = {arm: int(data.exposures.get(arm, 0)) for arm in definition.arms}
    unknown_arms = sorted(set(data.exposures) - set(definition.arms))
    if unknown_arms:
        warnings.append(f"Exposures for unknown arms ignored: {', '.join(unknown_arms)}.")

    srm = sample_ratio_mismatch(
        [exposures[a] for a in definition.arms], list(definition.weights), definition.srm_threshold
    )
    total_exposed = sum(exposures.values())
    arms = tuple(
        ArmExposure(
            variant=a,
            units=exposures[a],
            expected_share=definition.weight_of(a),
            observed_share=exposures[a] / total_exposed if total_exposed else 0.0,
        )
        for a in definition.arms
    )

    unknown_metrics = sorted(set(data.metrics) - {m.name for m in definition.metrics})
    if unknown_metrics:
        warnings.append(f"Data for undefined metrics ignored: {', '.join(unknown_metrics)}.")

    raws: list[_Raw] = []
    controls: dict[str, SummaryStats] = {}
    for metric in definition.metrics:
        override = (tau_overrides or {}).get(metric.name)
        metric_raws, controls[metric.name] = _analyze_metric_all_arms(
            definition, metric, data.metrics.get(metric.name, {}), exposures, override
        )
        raws.extend(metric_raws)
        warnings.extend(_metric_warnings(definition, metric, data, override))

    results = _adjust(definition, raws)
    warnings.extend(_result_warnings(definition, results, data))
    planned = _planned_units(definition, controls, len(raws))
    violations = tuple(
        f"{r.metric} ({r.variant}): {_describe_change(r)}"
        for r in results
        if r.role is MetricRole.GUARDRAIL and r.outcome is Outcome.DEGRADED
    )
    verdict, reason, winner = _verdict(definition, srm, exposures, results, planned, violations)
    if definition.mode is AnalysisMode.FIXED and planned is None and verdict is Verdict.SHIP:
        warnings.append(
            "Fixed-horizon results are valid only at the planned end of the experiment; configure an MDE "
            "on the primary metric so the report can check the sample size, or use sequential mode to read "
            "early."
        )
    return ExperimentReport(
        key=definition.key,
        mode=definition.mode,
        alpha=definition.alpha,
        power=definition.power,
        correction=definition.correction,
        control=definition.control,
        arms=arms,
        srm=srm,
        unexposed_events=data.unexposed_events,
        results=results,
        guardrail_violations=violations,
        verdict=verdict,
        reason=reason,
        winner=winner,
        planned_units_per_arm=planned,
        warnings=tuple(warnings),
    )


def _analyze_metric_all_arms(
    definition: ExperimentDefinition,
    metric: MetricDefinition,
    per_arm: Mapping[str, MetricAggregate],
    exposures: Mapping[str, int],
    tau_override: float | None,
) -> tuple[list[_Raw], SummaryStats]:
    stats = {
        arm: _arm_stats(metric, per_arm.get(arm, MetricAggregate.empty()), exposures[arm])
        for arm in definition.arms
    }
    control, control_successes = stats[definition.control]
    raws = [
        _analyze_metric(
            definition, metric, variant, control, control_successes, *stats[variant], tau_override
        )
        for variant in definition.treatments
    ]
    return raws, control


def _metric_warnings(
    definition: ExperimentDefinition,
    metric: MetricDefinition,
    data: ExperimentData,
    tau_override: float | None,
) -> list[str]:
    out: list[str] = []
    per_arm = data.metrics.get(metric.name)
    if not per_arm:
        out.append(f"No data for metric {metric.name}.")
    else:
        for arm in definition.arms:
            aggregate, exposed = per_arm.get(arm), data.exposures.get(arm, 0)
            if aggregate is not None and aggregate.n > exposed:
                out.append(
                    f"Metric {metric.name}: arm {arm} has values for {aggregate.n} units but only {exposed} "
                    "exposed units; values from unexposed units should be excluded upstream."
                )
    if definition.mode is not AnalysisMode.SEQUENTIAL or tau_override is not None or metric.tau is not None:
        return out
    if metric.mde is None:
        out.append(
            f"Metric {metric.name}: sequential tau defaults to {DEFAULT_STANDARDIZED_TAU} x pooled SD; "
            "set mde or tau (or pin the reported tau) for a strictly fixed mixing distribution."
        )
    elif metric.mde_relative:
        out.append(
            f"Metric {metric.name}: sequential tau follows the relative MDE times the control mean; set an "
            "absolute mde or tau (or pin the reported tau) for a strictly fixed mixing distribution."
        )
    return out


def _adjust(definition: ExperimentDefinition, raws: Sequence[_Raw]) -> tuple[MetricResult, ...]:
    """Apply the multiple-testing correction over the whole (metric, treatment arm) family."""
    adjust = holm if definition.correction is Correction.HOLM else benjamini_hochberg
    adjusted = adjust([r.p_value for r in raws]) if raws else []
    results: list[MetricResult] = []
    for raw, p_adj in zip(raws, adjusted, strict=True):
        significant = raw.enough_data and p_adj < definition.alpha
        results.append(
            MetricResult(
                metric=raw.metric.name,
                variant=raw.variant,
                kind=raw.metric.kind,
                role=raw.metric.role,
                direction=raw.metric.direction,
                test=raw.test,
                inference=definition.mode.value,
                control=ArmStats(definition.control, raw.control.n, raw.control.mean, raw.control.variance),
                treatment=ArmStats(raw.variant, raw.treatment.n, raw.treatment.mean, raw.treatment.variance),
                absolute=raw.absolute,
                relative=raw.relative,
                p_value=raw.p_value,
                p_value_adjusted=p_adj,
                statistic=raw.statistic,
                df=raw.df,
                effect_size=raw.effect_size,
                effect_size_kind=raw.effect_size_kind,
                achieved_power=raw.power,
                power_basis=raw.power_basis,
                tau=raw.tau,
                significant=significant,
                outcome=_outcome(raw, significant),
            )
        )
    return tuple(results)


def _result_warnings(
    definition: ExperimentDefinition, results: Sequence[MetricResult], data: ExperimentData
) -> list[str]:
    out: list[str] = []
    for r in results:
        nominal = r.role is MetricRole.GUARDRAIL and not r.significant and r.p_value < definition.alpha
        if nominal and (r.absolute.estimate > 0) != (r.direction is Direction.INCREASE):
            out.append(
                f"Guardrail {r.metric} in {r.variant} moved the wrong way with raw p = {r.p_value:.4g} "
                f"(not significant after {definition.correction.value} adjustment): watch it."
            )
    if data.unexposed_events > 0:
        out.append(
            f"{data.unexposed_events} metric events came from units with no recorded exposure and were "
            "excluded; many of them point at an exposure-logging gap."
        )
    return out


def _describe_change(r: MetricResult) -> str:
    change = f"{r.relative.estimate * 100:+.2f}%" if r.relative is not None else f"{r.absolute.estimate:+.4g}"
    return f"{change} (adjusted p = {r.p_value_adjusted:.4g})"


_VerdictTuple = tuple[Verdict, str, str | None]


def _verdict(
    definition: ExperimentDefinition,
    srm: SrmResult,
    exposures: Mapping[str, int],
    results: Sequence[MetricResult],
    planned: int | None,
    violations: tuple[str, ...],
) -> _VerdictTuple:
    """The decision, in order: SRM → untrustworthy; too few units → keep running; a winning variant (primary
    improved, no primary or guardrail degraded) → ship, unless a fixed-horizon design has not reached its
    planned size; a degraded guardrail or a primary degraded in every variant → do not ship; otherwise keep
    running until the planned size is reached, then inconclusive."""
    if srm.mismatch:
        observed = ", ".join(f"{a}={o}" for a, o in zip(definition.arms, srm.observed, strict=True))
        expected = ", ".join(f"{a}={e:.0f}" for a, e in zip(definition.arms, srm.expected, strict=True))
        return (
            Verdict.UNTRUSTWORTHY,
            f"Sample ratio mismatch (chi-square p = {srm.p_value:.3g} < {definition.srm_threshold:g}): "
            f"observed {observed}, expected {expected}. Assignment or exposure logging is broken; no result "
            "can be trusted.",
            None,
        )
    small = [a for a in definition.arms if exposures[a] < definition.min_units_per_arm]
    if small:
        return (
            Verdict.KEEP_RUNNING,
            f"Not enough data: {', '.join(f'{a} has {exposures[a]}' for a in small)} units "
            f"(minimum {definition.min_units_per_arm} per arm).",
            None,
        )
    primaries = [r for r in results if r.role is MetricRole.PRIMARY]
    if not primaries:
        if violations:
            return Verdict.DO_NOT_SHIP, "Guardrail degraded: " + "; ".join(violations) + ".", None
        return Verdict.INCONCLUSIVE, "The experiment defines no primary metric to decide on.", None
    reached = planned is None or all(
        _effective_n(exposures[definition.control], exposures[t]) >= planned for t in definition.treatments
    )
    decided = _winner_verdict(definition, results, primaries, planned, reached, violations)
    if decided is not None:
        return decided
    return _no_winner_verdict(definition, primaries, planned, reached)


def _winner_verdict(
    definition: ExperimentDefinition,
    results: Sequence[MetricResult],
    primaries: Sequence[MetricResult],
    planned: int | None,
    reached: bool,
    violations: tuple[str, ...],
) -> _VerdictTuple | None:
    blocked = {
        r.variant
        for r in results
        if r.role in (MetricRole.PRIMARY, MetricRole.GUARDRAIL) and r.outcome is Outcome.DEGRADED
    }
    winners = [r for r in primaries if r.outcome is Outcome.IMPROVED and r.variant not in blocked]
    if winners:
        first_primary = primaries[0].metric

        def score(r: MetricResult) -> tuple[int, float]:
            lift = r.relative.estimate if r.relative is not None else r.absolute.estimate
            return (
                1 if r.metric == first_primary else 0,
                lift if r.direction is Direction.INCREASE else -lift,
            )

        best = max(winners, key=score)
        if definition.mode is AnalysisMode.FIXED and not reached:
            return (
                Verdict.KEEP_RUNNING,
                f"{best.variant} looks better on {best.metric} ({_describe_change(best)}), but the "
                f"fixed-horizon sample of {planned} units per arm is not reached; reading a fixed-horizon "
                "test early inflates false positives (use sequential mode to stop early).",
                None,
            )
        extra = f" Other arms' guardrails: {'; '.join(violations)}." if violations else ""
        return (
            Verdict.SHIP,
            f"{best.variant} improves primary metric {best.metric}: {_describe_change(best)}, with no "
            f"primary or guardrail metric degraded.{extra}",
            best.variant,
        )
    if violations:
        return Verdict.DO_NOT_SHIP, "Guardrail degraded: " + "; ".join(violations) + ".", None
    primary_bad = {r.variant for r in primaries if r.outcome is Outcome.DEGRADED}
    if primary_bad and primary_bad >= set(definition.treatments):
        worse = "; ".join(
            f"{r.metric} ({r.variant}): {_describe_change(r)}"
            for r in primaries
            if r.outcome is Outcome.DEGRADED
        )
        return Verdict.DO_NOT_SHIP, f"Primary metric significantly worse: {worse}.", None
    return None


def _no_winner_verdict(
    definition: ExperimentDefinition, primaries: Sequence[MetricResult], planned: int | None, reached: bool
) -> _VerdictTuple:
    worse = "; ".join(
        f"{r.metric} ({r.variant}): {_describe_change(r)}" for r in primaries if r.outcome is Outcome.DEGRADED
    )
    note = f" Significantly worse: {worse}." if worse else ""
    if planned is not None and not reached:
        reason = (
            f"No significant improvement on the primary metric yet; {planned} units per arm are needed to "
            f"detect the MDE with {definition.power:.0%} power.{note}"
        )
        return Verdict.KEEP_RUNNING, reason, None
    if planned is not None:
        reason = (
            f"No significant improvement on the primary metric at the planned {planned} units per arm: any "
            f"effect is probably smaller than the MDE.{note}"
        )
        return Verdict.INCONCLUSIVE, reason, None
    if definition.mode is AnalysisMode.SEQUENTIAL:
        reason = (
            "No significant improvement on the primary metric yet; sequential results stay valid as data "
            f"accrue (configure an MDE to know when to stop for futility).{note}"
        )
        return Verdict.KEEP_RUNNING, reason, None
    reason = (
        "No significant improvement on the primary metric; without an MDE the report cannot tell whether "
        f"more data would help.{note}"
    )
    return Verdict.INCONCLUSIVE, reason, None
