"""Renderings of an :class:`~sidecar.experiments.analysis.ExperimentReport`: a terminal table, a JSON-able
dict and one self-contained HTML page (inline CSS and SVG, no external assets, no scripts)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from sidecar.experiments.analysis import (
    AnalysisMode,
    ArmStats,
    ExperimentReport,
    Interval,
    MetricKind,
    MetricResult,
    Outcome,
)
from sidecar.stats.formatting import fmt_interval, fmt_num, fmt_p, fmt_pct, fmt_pp, json_float, table


def _interval_label(report: ExperimentReport) -> str:
    level = f"{(1 - report.alpha) * 100:g}%"
    return f"{level} CS" if report.mode is AnalysisMode.SEQUENTIAL else f"{level} CI"


def _abs_text(r: MetricResult) -> tuple[str, str]:
    if r.kind is MetricKind.BINOMIAL:
        return fmt_pp(r.absolute.estimate), fmt_interval(r.absolute.ci_low, r.absolute.ci_high, pp=True)
    return fmt_num(r.absolute.estimate, signed=True), fmt_interval(r.absolute.ci_low, r.absolute.ci_high)


def _mean_text(r: MetricResult, mean: float) -> str:
    return fmt_pct(mean) if r.kind is MetricKind.BINOMIAL else fmt_num(mean)


def _header_lines(report: ExperimentReport) -> list[str]:
    mode = "sequential (always-valid)" if report.mode is AnalysisMode.SEQUENTIAL else "fixed horizon"
    lines = [
        f"Experiment {report.key}: {mode}, alpha {report.alpha:g}, {report.correction.value} correction",
        f"Verdict: {report.verdict.value}" + (f" (winner: {report.winner})" if report.winner else ""),
        f"  {report.reason}",
    ]
    if report.planned_units_per_arm is not None:
        lines.append(
            f"  Planned units per arm (equal-allocation equivalent): {report.planned_units_per_arm:,}"
        )
    return lines


def render_text(report: ExperimentReport) -> str:
    """A readable terminal report: verdict, assignment check, one row per metric × treatment arm, warnings."""
    lines = _header_lines(report)
    srm = report.srm
    status = "MISMATCH" if srm.mismatch else "ok"
    lines += [
        "",
        f"Assignment: SRM chi-square = {fmt_num(srm.statistic)}, p = {fmt_p(srm.p_value)} ({status})",
    ]
    rows = [["arm", "role", "units", "observed", "expected"]]
    for arm in report.arms:
        role = "control" if arm.variant == report.control else "treatment"
        rows.append(
            [arm.variant, role, f"{arm.units:,}", fmt_pct(arm.observed_share), fmt_pct(arm.expected_share)]
        )
    lines += ["  " + line for line in table(rows, right_align_from=2)]
    lines.append(f"  Unexposed events (excluded): {report.unexposed_events:,}")

    label = _interval_label(report)
    p_label = "p (always-valid)" if report.mode is AnalysisMode.SEQUENTIAL else "p"
    rows = [
        [
            "metric",
            "role",
            "arm",
            "test",
            "units c/t",
            "control",
            "treatment",
            "abs lift",
            label,
            "rel lift",
            label,
            p_label,
            "p adj",
            "effect",
            "power",
            "outcome",
        ]
    ]
    for r in report.results:
        abs_est, abs_ci = _abs_text(r)
        rel_est = fmt_pct(r.relative.estimate, signed=True) if r.relative else "-"
        rel_ci = fmt_interval(r.relative.ci_low, r.relative.ci_high, pct=True) if r.relative else "-"
        effect = f"{'d' if r.effect_size_kind == 'cohens_d' else 'h'}={r.effect_size:+.3f}"
        power = f"{r.achieved_power:.0%}" + ("" if r.power_basis == "mde" else "*")
        rows.append(
            [
                r.metric,
                r.role.value,
                r.variant,
                "welch" if r.test == "welch_t" else "z-prop",
                f"{r.control.units:,}/{r.treatment.units:,}",
                _mean_text(r, r.control.mean),
                _mean_text(r, r.treatment.mean),
                abs_est,
                abs_ci,
                rel_est,
                rel_ci,
                fmt_p(r.p_value),
                fmt_p(r.p_value_adjusted),
                effect,
                power,
                r.outcome.value + (" *" if r.significant else ""),  # significant: adjusted p < alpha
            ]
        )
    lines += [
        "",
        f"Metrics (each treatment arm vs control arm {report.control!r}; * = significant after adjustment):",
    ]
    lines += ["  " + line for line in table(rows, right_align_from=4)]
    lines.append("  power: at the metric's MDE; * = at the observed effect (no MDE configured)")
    if report.guardrail_violations:
        lines += ["", "Guardrail violations:"] + [f"  - {v}" for v in report.guardrail_violations]
    if report.warnings:
        lines += ["", "Warnings:"] + [f"  - {w}" for w in report.warnings]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------
# JSON


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


# ----------------------------------------------------------------------------------------------------
# HTML

_COLORS = {
    Outcome.IMPROVED: "#1a7f37",
    Outcome.DEGRADED: "#cf222e",
    Outcome.NO_SIGNIFICANT_CHANGE: "#57606a",
    Outcome.NOT_ENOUGH_DATA: "#8c959f",
}
_VERDICT_COLORS = {
    "SHIP": "#1a7f37",
    "DO_NOT_SHIP": "#cf222e",
    "UNTRUSTWORTHY": "#9a6700",
    "KEEP_RUNNING": "#0969da",
    "INCONCLUSIVE": "#57606a",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2328;padding:0 1rem;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.25rem} h2{font-size:1.15rem;margin-top:2rem}
.verdict{display:inline-block;color:#fff;font-weight:600;padding:.2rem .6rem;border-radius:.3rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .6rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left} th{background:#f6f8fa}
.muted{color:#57606a;font-size:.85rem} .warn{color:#9a6700}
.improved{color:#1a7f37;font-weight:600} .degraded{color:#cf222e;font-weight:600}
svg text{font-family:inherit;font-size:11px;fill:#1f2328}
.scroll{overflow-x:auto} .results td:nth-child(-n+4),.results th:nth-child(-n+4){text-align:left}
"""


def _chart_value(r: MetricResult, use_relative: bool) -> Interval | None:
    return r.relative if use_relative else r.absolute


def _svg_chart(metric: str, rows: list[MetricResult], interval_label: str) -> str:
    """Horizontal forest plot: one row per treatment arm, the interval as a bar and the estimate as a dot, on
    the relative-lift scale when every arm has one (else the absolute scale); infinite bounds run off the
    edge."""
    use_relative = all(r.relative is not None for r in rows)
    values = [v for r in rows if (v := _chart_value(r, use_relative)) is not None]
    finite = [x for v in values for x in (v.estimate, v.ci_low, v.ci_high) if math.isfinite(x)]
    span = max((abs(x) for x in finite), default=0.0) * 1.1 or 1.0
    left, width, row_h, top = 140, 460, 30, 30
    height = top + row_h * len(rows) + 30

    def x_of(value: float) -> float:
        clipped = max(-span, min(span, value))
        return left + (clipped + span) / (2 * span) * width

    def tick(value: float) -> str:
        return f"{value * 100:+.1f}%" if use_relative else fmt_num(value, 3, signed=True)

    scale = "relative lift" if use_relative else "absolute lift"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{height}" role="img" '
        f'aria-label="{escape(metric)}: {scale} by arm with {escape(interval_label)}">',
        f'<text x="0" y="16" font-weight="600">{escape(metric)} — {scale}, {escape(interval_label)}</text>',
    ]
    axis_y = top + row_h * len(rows)
    for fraction in (-1.0, -0.5, 0.0, 0.5, 1.0):
        x = x_of(fraction * span)
        stroke = "#1f2328" if fraction == 0.0 else "#d0d7de"
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{axis_y}" stroke="{stroke}"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle">{escape(tick(fraction * span))}</text>'
        )
    for i, r in enumerate(rows):
        v = _chart_value(r, use_relative)
        y = top + row_h * i + row_h / 2
        color = _COLORS[r.outcome]
        parts.append(f'<text x="0" y="{y + 4:.1f}">{escape(r.variant)}</text>')
        if v is None:
            continue
        x1, x2 = x_of(v.ci_low), x_of(v.ci_high)
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" stroke="{color}" stroke-width="4" '
            f'stroke-linecap="round"><title>{escape(r.variant)}: {escape(tick(v.estimate))} '
            f"[{escape(tick(v.ci_low))}, {escape(tick(v.ci_high))}]</title></line>"
        )
        parts.append(
            f'<circle cx="{x_of(v.estimate):.1f}" cy="{y:.1f}" r="5" fill="#fff" '
            f'stroke="{color}" stroke-width="2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _cell(text: str, cls: str = "") -> str:
    return f'<td class="{cls}">{escape(text)}</td>' if cls else f"<td>{escape(text)}</td>"


def render_html(report: ExperimentReport) -> str:
    """One self-contained HTML page: verdict, assignment check, a results table and, per metric, an inline SVG
    chart of each arm's lift with its interval."""
    label = _interval_label(report)
    color = _VERDICT_COLORS[report.verdict.value]
    mode = "sequential (always-valid)" if report.mode is AnalysisMode.SEQUENTIAL else "fixed horizon"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Experiment {escape(report.key)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Experiment {escape(report.key)}</h1>",
        f'<p class="muted">{escape(mode)} · alpha {report.alpha:g} · '
        f"{escape(report.correction.value)} correction"
        f" · control <b>{escape(report.control)}</b></p>",
        f'<p><span class="verdict" style="background:{color}">{escape(report.verdict.value)}</span> '
        f"{escape(report.reason)}</p>",
    ]
    if report.planned_units_per_arm is not None:
        out.append(f'<p class="muted">Planned units per arm: {report.planned_units_per_arm:,}</p>')

    srm = report.srm
    out.append("<h2>Assignment</h2>")
    out.append(
        f'<p class="{"warn" if srm.mismatch else "muted"}">Sample-ratio check: chi-square = '
        f"{escape(fmt_num(srm.statistic))}, p = {escape(fmt_p(srm.p_value))}"
        f"{' — MISMATCH' if srm.mismatch else ' — ok'}. "
        f"Unexposed events excluded: {report.unexposed_events:,}.</p>"
    )
    out.append(
        "<table><tr><th>arm</th><th>role</th><th>units</th><th>observed share</th>"
        "<th>expected share</th></tr>"
    )
    for arm in report.arms:
        out.append(
            "<tr>"
            + _cell(arm.variant)
            + _cell("control" if arm.variant == report.control else "treatment")
            + _cell(f"{arm.units:,}")
            + _cell(fmt_pct(arm.observed_share))
            + _cell(fmt_pct(arm.expected_share))
            + "</tr>"
        )
    out.append("</table>")

    out.append("<h2>Results</h2>")
    headers = ["metric", "role", "arm", "test", "control", "treatment", "abs lift", label, "rel lift", label]
    headers += ["p", "p adj", "effect", "power", "outcome"]
    out.append(
        '<div class="scroll"><table class="results"><tr>'
        + "".join(f"<th>{escape(h)}</th>" for h in headers)
        + "</tr>"
    )
    for r in report.results:
        abs_est, abs_ci = _abs_text(r)
        cls = r.outcome.value if r.outcome in (Outcome.IMPROVED, Outcome.DEGRADED) else ""
        out.append(
            "<tr>"
            + _cell(r.metric)
            + _cell(r.role.value)
            + _cell(r.variant)
            + _cell(r.test)
            + _cell(f"{_mean_text(r, r.control.mean)} (n={r.control.units:,})")
            + _cell(f"{_mean_text(r, r.treatment.mean)} (n={r.treatment.units:,})")
            + _cell(abs_est)
            + _cell(abs_ci)
            + _cell(fmt_pct(r.relative.estimate, signed=True) if r.relative else "-")
            + _cell(fmt_interval(r.relative.ci_low, r.relative.ci_high, pct=True) if r.relative else "-")
            + _cell(fmt_p(r.p_value))
            + _cell(fmt_p(r.p_value_adjusted))
            + _cell(f"{r.effect_size_kind.replace('cohens_', '')}={r.effect_size:+.3f}")
            + _cell(f"{r.achieved_power:.0%}" + ("" if r.power_basis == "mde" else " (observed)"))
            + _cell(r.outcome.value.replace("_", " "), cls)
            + "</tr>"
        )
    out.append("</table></div>")

    out.append("<h2>Lift by metric</h2>")
    out.append(
        '<p class="muted">Each interval is for one comparison and is not adjusted for multiple testing; the '
        "colour shows the outcome after the adjustment (green improved, red degraded, grey no significant "
        "change).</p>"
    )
    metrics = list(dict.fromkeys(r.metric for r in report.results))
    for metric in metrics:
        rows = [r for r in report.results if r.metric == metric]
        out.append(f"<div>{_svg_chart(metric, rows, label)}</div>")

    if report.guardrail_violations:
        out.append("<h2>Guardrail violations</h2><ul>")
        out += [f'<li class="degraded">{escape(v)}</li>' for v in report.guardrail_violations]
        out.append("</ul>")
    if report.warnings:
        out.append("<h2>Warnings</h2><ul>")
        out += [f'<li class="warn">{escape(w)}</li>' for w in report.warnings]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
