"""Pure experiment analysis: definitions and aggregates in, an :class:`ExperimentReport` out; text, JSON and
HTML renderers; user-feedback classification and summaries.

The package exports the vocabulary (:mod:`sidecar.experiments.model`), which loads no statistics code; the
analysis itself is :func:`sidecar.experiments.analysis.analyze_experiment` and sample-size planning
:func:`sidecar.experiments.planning.plan_sample_size`.
"""

from sidecar.experiments.model import (
    AnalysisMode,
    ArmExposure,
    ArmStats,
    Correction,
    Direction,
    ExperimentData,
    ExperimentDefinition,
    ExperimentReport,
    Interval,
    MetricAggregate,
    MetricDefinition,
    MetricKind,
    MetricResult,
    MetricRole,
    Outcome,
    Verdict,
)

__all__ = [
    "AnalysisMode",
    "ArmExposure",
    "ArmStats",
    "Correction",
    "Direction",
    "ExperimentData",
    "ExperimentDefinition",
    "ExperimentReport",
    "Interval",
    "MetricAggregate",
    "MetricDefinition",
    "MetricKind",
    "MetricResult",
    "MetricRole",
    "Outcome",
    "Verdict",
]
