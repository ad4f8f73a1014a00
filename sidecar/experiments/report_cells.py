"""What the text and HTML renderings of a report show the same way: interval labels, lifts and means."""

from __future__ import annotations

from sidecar.experiments.model import AnalysisMode, ExperimentReport, MetricKind, MetricResult
from sidecar.stats.formatting import fmt_interval, fmt_num, fmt_pct, fmt_pp


def mode_label(report: ExperimentReport) -> str:
    return "sequential (always-valid)" if report.mode is AnalysisMode.SEQUENTIAL else "fixed horizon"


def interval_label(report: ExperimentReport) -> str:
    level = f"{(1 - report.alpha) * 100:g}%"
    return f"{level} CS" if report.mode is AnalysisMode.SEQUENTIAL else f"{level} CI"


def absolute_texts(r: MetricResult) -> tuple[str, str]:
    """The absolute lift and its interval: percentage points for a proportion, metric units otherwise."""
    if r.kind is MetricKind.BINOMIAL:
        return fmt_pp(r.absolute.estimate), fmt_interval(r.absolute.ci_low, r.absolute.ci_high, pp=True)
    return fmt_num(r.absolute.estimate, signed=True), fmt_interval(r.absolute.ci_low, r.absolute.ci_high)


def relative_texts(r: MetricResult) -> tuple[str, str]:
    """The relative lift and its interval, ``-`` when the control mean is 0."""
    if r.relative is None:
        return "-", "-"
    interval = fmt_interval(r.relative.ci_low, r.relative.ci_high, pct=True)
    return fmt_pct(r.relative.estimate, signed=True), interval


def mean_text(r: MetricResult, mean: float) -> str:
    return fmt_pct(mean) if r.kind is MetricKind.BINOMIAL else fmt_num(mean)


def effect_text(r: MetricResult) -> str:
    """``d=+0.123`` (Cohen's d) or ``h=+0.123`` (Cohen's h)."""
    return f"{r.effect_size_kind.replace('cohens_', '')}={r.effect_size:+.3f}"


def arm_cells(report: ExperimentReport) -> list[list[str]]:
    """One row per arm: variant, role, units, observed and expected share."""
    return [
        [
            arm.variant,
            "control" if arm.variant == report.control else "treatment",
            f"{arm.units:,}",
            fmt_pct(arm.observed_share),
            fmt_pct(arm.expected_share),
        ]
        for arm in report.arms
    ]
