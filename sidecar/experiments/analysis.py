"""Pure A/B experiment analysis over mergeable per-unit aggregates.

Input: an :class:`ExperimentDefinition` (arms, weights, metrics, alpha, power, fixed or sequential mode,
multiple-testing correction) and :class:`ExperimentData` (exposed units per arm, and per metric per arm the
aggregates ``n, Σx, Σx²`` of the *per-unit* values — a unit's value is 0/1 for a binomial metric). Output: an
:class:`ExperimentReport` with, for every metric × non-control arm, the comparison of
:mod:`sidecar.experiments.comparison`, raw and adjusted p-values, plus an SRM check, guardrail call-outs and
the verdict of :mod:`sidecar.experiments.verdict`.

The work is O(arms × metrics): nothing here ever sees an individual event.

* Multiple testing: one family of all (metric, treatment arm) hypotheses, Holm (family-wise error) by default
  or Benjamini–Hochberg (false discovery rate). "Significant" always means *adjusted* p < alpha.
* Fixed mode is only valid at the planned sample size: the verdict refuses to ship before it is reached when
  an MDE lets it compute that size. Sequential mode may be read at any time.
* Trust: a sample-ratio mismatch (one omnibus chi-square test, threshold 0.001) makes the whole report
  ``UNTRUSTWORTHY``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sidecar.experiments.comparison import DEFAULT_STANDARDIZED_TAU, Comparison, compare_metric
from sidecar.experiments.model import (
    AnalysisMode,
    ArmExposure,
    ArmStats,
    Correction,
    Direction,
    ExperimentData,
    ExperimentDefinition,
    ExperimentReport,
    MetricDefinition,
    MetricResult,
    MetricRole,
    Verdict,
)
from sidecar.experiments.planning import planned_units
from sidecar.experiments.verdict import decide, guardrail_violations
from sidecar.stats.multiple import benjamini_hochberg, holm
from sidecar.stats.srm import sample_ratio_mismatch
from sidecar.stats.summary import SummaryStats

_EARLY_FIXED_READ = (
    "Fixed-horizon results are valid only at the planned end of the experiment; configure an MDE on the "
    "primary metric so the report can check the sample size, or use sequential mode to read early."
)


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
    exposures = {arm: int(data.exposures.get(arm, 0)) for arm in definition.arms}
    warnings = _data_warnings(definition, data)
    srm = sample_ratio_mismatch(
        [exposures[a] for a in definition.arms], list(definition.weights), definition.srm_threshold
    )
    comparisons: list[Comparison] = []
    controls: dict[str, SummaryStats] = {}
    for metric in definition.metrics:
        override = (tau_overrides or {}).get(metric.name)
        metric_comparisons, controls[metric.name] = compare_metric(
            definition, metric, data.metrics.get(metric.name, {}), exposures, override
        )
        comparisons.extend(metric_comparisons)
        warnings.extend(_metric_warnings(definition, metric, data, override))

    results = _adjust(definition, comparisons)
    warnings.extend(_result_warnings(definition, results, data))
    planned = planned_units(definition, controls, len(comparisons))
    violations = guardrail_violations(results)
    decision = decide(definition, srm, exposures, results, planned, violations)
    if definition.mode is AnalysisMode.FIXED and planned is None and decision.verdict is Verdict.SHIP:
        warnings.append(_EARLY_FIXED_READ)
    return ExperimentReport(
        key=definition.key,
        mode=definition.mode,
        alpha=definition.alpha,
        power=definition.power,
        correction=definition.correction,
        control=definition.control,
        arms=_arm_exposures(definition, exposures),
        srm=srm,
        unexposed_events=data.unexposed_events,
        results=results,
        guardrail_violations=violations,
        verdict=decision.verdict,
        reason=decision.reason,
        winner=decision.winner,
        planned_units_per_arm=planned,
        warnings=tuple(warnings),
    )


def _arm_exposures(definition: ExperimentDefinition, exposures: Mapping[str, int]) -> tuple[ArmExposure, ...]:
    total = sum(exposures.values())
    return tuple(
        ArmExposure(
            variant=a,
            units=exposures[a],
            expected_share=definition.weight_of(a),
            observed_share=exposures[a] / total if total else 0.0,
        )
        for a in definition.arms
    )


def _adjust(definition: ExperimentDefinition, comparisons: Sequence[Comparison]) -> tuple[MetricResult, ...]:
    """Apply the multiple-testing correction over the whole (metric, treatment arm) family."""
    adjust = holm if definition.correction is Correction.HOLM else benjamini_hochberg
    adjusted = adjust([c.p_value for c in comparisons]) if comparisons else []
    results: list[MetricResult] = []
    for c, p_adj in zip(comparisons, adjusted, strict=True):
        significant = c.enough_data and p_adj < definition.alpha
        results.append(
            MetricResult(
                metric=c.metric.name,
                variant=c.variant,
                kind=c.metric.kind,
                role=c.metric.role,
                direction=c.metric.direction,
                test=c.test,
                inference=definition.mode.value,
                control=ArmStats(definition.control, c.control.n, c.control.mean, c.control.variance),
                treatment=ArmStats(c.variant, c.treatment.n, c.treatment.mean, c.treatment.variance),
                absolute=c.absolute,
                relative=c.relative,
                p_value=c.p_value,
                p_value_adjusted=p_adj,
                statistic=c.statistic,
                df=c.df,
                effect_size=c.effect_size,
                effect_size_kind=c.effect_size_kind,
                achieved_power=c.power,
                power_basis=c.power_basis,
                tau=c.tau,
                significant=significant,
                outcome=c.outcome(significant),
            )
        )
    return tuple(results)


def _data_warnings(definition: ExperimentDefinition, data: ExperimentData) -> list[str]:
    out: list[str] = []
    unknown_arms = sorted(set(data.exposures) - set(definition.arms))
    if unknown_arms:
        out.append(f"Exposures for unknown arms ignored: {', '.join(unknown_arms)}.")
    unknown_metrics = sorted(set(data.metrics) - {m.name for m in definition.metrics})
    if unknown_metrics:
        out.append(f"Data for undefined metrics ignored: {', '.join(unknown_metrics)}.")
    return out


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
