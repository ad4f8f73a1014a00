"""An :class:`~sidecar.experiments.model.ExperimentReport` as a JSON-able dict (what Analyze returns as a
Struct and the CLI prints)."""

from __future__ import annotations

from typing import Any

from sidecar.experiments.model import ArmStats, ExperimentReport, Interval, MetricResult
from sidecar.stats.formatting import json_float


def _interval_json(interval: Interval | None) -> dict[str, float | None] | None:
    if interval is None:
        return None
    return {
        "estimate": json_float(interval.estimate),
        "ci_low": json_float(interval.ci_low),
        "ci_high": json_float(interval.ci_high),
    }


def _arm_json(arm: ArmStats) -> dict[str, Any]:
    return {
        "variant": arm.variant,
        "units": arm.units,
        "mean": json_float(arm.mean),
        "variance": json_float(arm.variance),
    }


def _result_json(r: MetricResult) -> dict[str, Any]:
    return {
        "metric": r.metric,
        "variant": r.variant,
        "kind": r.kind.value,
        "role": r.role.value,
        "direction": r.direction.value,
        "test": r.test,
        "inference": r.inference,
        "control": _arm_json(r.control),
        "treatment": _arm_json(r.treatment),
        "absolute_lift": _interval_json(r.absolute),
        "relative_lift": _interval_json(r.relative),
        "p_value": json_float(r.p_value),
        "p_value_adjusted": json_float(r.p_value_adjusted),
        "statistic": json_float(r.statistic),
        "df": json_float(r.df),
        "effect_size": json_float(r.effect_size),
        "effect_size_kind": r.effect_size_kind,
        "achieved_power": json_float(r.achieved_power),
        "power_basis": r.power_basis,
        "tau": json_float(r.tau),
        "significant": r.significant,
        "outcome": r.outcome.value,
    }


def to_json(report: ExperimentReport) -> dict[str, Any]:
    """A JSON-able dict of the whole report (non-finite numbers become ``null``)."""
    return {
        "key": report.key,
        "mode": report.mode.value,
        "alpha": report.alpha,
        "power": report.power,
        "correction": report.correction.value,
        "control": report.control,
        "verdict": report.verdict.value,
        "reason": report.reason,
        "winner": report.winner,
        "planned_units_per_arm": report.planned_units_per_arm,
        "arms": [
            {
                "variant": a.variant,
                "units": a.units,
                "expected_share": json_float(a.expected_share),
                "observed_share": json_float(a.observed_share),
            }
            for a in report.arms
        ],
        "srm": {
            "statistic": json_float(report.srm.statistic),
            "p_value": json_float(report.srm.p_value),
            "mismatch": report.srm.mismatch,
            "expected": [json_float(e) for e in report.srm.expected],
            "observed": list(report.srm.observed),
        },
        "unexposed_events": report.unexposed_events,
        "results": [_result_json(r) for r in report.results],
        "guardrail_violations": list(report.guardrail_violations),
        "warnings": list(report.warnings),
    }
