"""An :class:`~sidecar.experiments.model.ExperimentReport` as one self-contained HTML page: inline CSS and
SVG, no external assets, no scripts."""

from __future__ import annotations

import math
from html import escape

from sidecar.experiments.model import ExperimentReport, Interval, MetricResult, Outcome
from sidecar.experiments.report_cells import (
    absolute_texts,
    arm_cells,
    effect_text,
    interval_label,
    mean_text,
    mode_label,
    relative_texts,
)
from sidecar.stats.formatting import fmt_num, fmt_p

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
    out = [*_head(report), *_assignment(report), *_results(report), *_charts(report)]
    out += _list("Guardrail violations", "degraded", report.guardrail_violations)
    out += _list("Warnings", "warn", report.warnings)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _head(report: ExperimentReport) -> list[str]:
    color = _VERDICT_COLORS[report.verdict.value]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Experiment {escape(report.key)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Experiment {escape(report.key)}</h1>",
        f'<p class="muted">{escape(mode_label(report))} · alpha {report.alpha:g} · '
        f"{escape(report.correction.value)} correction"
        f" · control <b>{escape(report.control)}</b></p>",
        f'<p><span class="verdict" style="background:{color}">{escape(report.verdict.value)}</span> '
        f"{escape(report.reason)}</p>",
    ]
    if report.planned_units_per_arm is not None:
        out.append(f'<p class="muted">Planned units per arm: {report.planned_units_per_arm:,}</p>')
    return out


def _assignment(report: ExperimentReport) -> list[str]:
    srm = report.srm
    out = [
        "<h2>Assignment</h2>",
        f'<p class="{"warn" if srm.mismatch else "muted"}">Sample-ratio check: chi-square = '
        f"{escape(fmt_num(srm.statistic))}, p = {escape(fmt_p(srm.p_value))}"
        f"{' — MISMATCH' if srm.mismatch else ' — ok'}. "
        f"Unexposed events excluded: {report.unexposed_events:,}.</p>",
        "<table><tr><th>arm</th><th>role</th><th>units</th><th>observed share</th>"
        "<th>expected share</th></tr>",
    ]
    out += ["<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in arm_cells(report)]
    out.append("</table>")
    return out


def _results(report: ExperimentReport) -> list[str]:
    label = interval_label(report)
    headers = ["metric", "role", "arm", "test", "control", "treatment", "abs lift", label, "rel lift", label]
    headers += ["p", "p adj", "effect", "power", "outcome"]
    out = [
        "<h2>Results</h2>",
        '<div class="scroll"><table class="results"><tr>'
        + "".join(f"<th>{escape(h)}</th>" for h in headers)
        + "</tr>",
    ]
    for r in report.results:
        cls = r.outcome.value if r.outcome in (Outcome.IMPROVED, Outcome.DEGRADED) else ""
        cells = [
            r.metric,
            r.role.value,
            r.variant,
            r.test,
            f"{mean_text(r, r.control.mean)} (n={r.control.units:,})",
            f"{mean_text(r, r.treatment.mean)} (n={r.treatment.units:,})",
            *absolute_texts(r),
            *relative_texts(r),
            fmt_p(r.p_value),
            fmt_p(r.p_value_adjusted),
            effect_text(r),
            f"{r.achieved_power:.0%}" + ("" if r.power_basis == "mde" else " (observed)"),
        ]
        outcome = _cell(r.outcome.value.replace("_", " "), cls)
        out.append("<tr>" + "".join(map(_cell, cells)) + outcome + "</tr>")
    out.append("</table></div>")
    return out


def _charts(report: ExperimentReport) -> list[str]:
    label = interval_label(report)
    out = [
        "<h2>Lift by metric</h2>",
        '<p class="muted">Each interval is for one comparison and is not adjusted for multiple testing; the '
        "colour shows the outcome after the adjustment (green improved, red degraded, grey no significant "
        "change).</p>",
    ]
    for metric in dict.fromkeys(r.metric for r in report.results):
        rows = [r for r in report.results if r.metric == metric]
        out.append(f"<div>{_svg_chart(metric, rows, label)}</div>")
    return out


def _list(title: str, cls: str, items: tuple[str, ...]) -> list[str]:
    if not items:
        return []
    return [f"<h2>{title}</h2><ul>", *(f'<li class="{cls}">{escape(item)}</li>' for item in items), "</ul>"]
