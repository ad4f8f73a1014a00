"""An :class:`~sidecar.experiments.model.ExperimentReport` as a terminal report: verdict, assignment check,
one row per metric × treatment arm, warnings."""

from __future__ import annotations

from sidecar.experiments.model import AnalysisMode, ExperimentReport, MetricResult
from sidecar.experiments.report_cells import (
    absolute_texts,
    arm_cells,
    effect_text,
    interval_label,
    mean_text,
    mode_label,
    relative_texts,
)
from sidecar.stats.formatting import fmt_num, fmt_p, table


def render_text(report: ExperimentReport) -> str:
    """A readable terminal report: verdict, assignment check, one row per metric × treatment arm, warnings."""
    lines = [*_header_lines(report), "", *_assignment_lines(report), "", *_metric_lines(report)]
    if report.guardrail_violations:
        lines += ["", "Guardrail violations:"] + [f"  - {v}" for v in report.guardrail_violations]
    if report.warnings:
        lines += ["", "Warnings:"] + [f"  - {w}" for w in report.warnings]
    return "\n".join(lines) + "\n"


def _header_lines(report: ExperimentReport) -> list[str]:
    lines = [
        f"Experiment {report.key}: {mode_label(report)}, alpha {report.alpha:g}, "
        f"{report.correction.value} correction",
        f"Verdict: {report.verdict.value}" + (f" (winner: {report.winner})" if report.winner else ""),
        f"  {report.reason}",
    ]
    if report.planned_units_per_arm is not None:
        lines.append(
            f"  Planned units per arm (equal-allocation equivalent): {report.planned_units_per_arm:,}"
        )
    return lines


def _assignment_lines(report: ExperimentReport) -> list[str]:
    srm = report.srm
    status = "MISMATCH" if srm.mismatch else "ok"
    rows = [["arm", "role", "units", "observed", "expected"], *arm_cells(report)]
    return [
        f"Assignment: SRM chi-square = {fmt_num(srm.statistic)}, p = {fmt_p(srm.p_value)} ({status})",
        *("  " + line for line in table(rows, right_align_from=2)),
        f"  Unexposed events (excluded): {report.unexposed_events:,}",
    ]


def _metric_lines(report: ExperimentReport) -> list[str]:
    label = interval_label(report)
    p_label = "p (always-valid)" if report.mode is AnalysisMode.SEQUENTIAL else "p"
    header = ["metric", "role", "arm", "test", "units c/t", "control", "treatment", "abs lift", label]
    header += ["rel lift", label, p_label, "p adj", "effect", "power", "outcome"]
    rows = [header, *(_metric_row(r) for r in report.results)]
    return [
        f"Metrics (each treatment arm vs control arm {report.control!r}; * = significant after adjustment):",
        *("  " + line for line in table(rows, right_align_from=4)),
        "  power: at the metric's MDE; * = at the observed effect (no MDE configured)",
    ]


def _metric_row(r: MetricResult) -> list[str]:
    return [
        r.metric,
        r.role.value,
        r.variant,
        "welch" if r.test == "welch_t" else "z-prop",
        f"{r.control.units:,}/{r.treatment.units:,}",
        mean_text(r, r.control.mean),
        mean_text(r, r.treatment.mean),
        *absolute_texts(r),
        *relative_texts(r),
        fmt_p(r.p_value),
        fmt_p(r.p_value_adjusted),
        effect_text(r),
        f"{r.achieved_power:.0%}" + ("" if r.power_basis == "mde" else "*"),
        r.outcome.value + (" *" if r.significant else ""),  # significant: adjusted p < alpha
    ]
