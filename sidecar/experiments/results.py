"""An experiment's full results as the daemon serves them: the statistical report of
:mod:`sidecar.experiments.analysis` framed by what was configured (flag, hypothesis, window) and followed by
the per-arm summary of user feedback; rendered as JSON, text and one HTML page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from sidecar.experiments.config import ExperimentConfig
from sidecar.experiments.feedback import FeedbackSummary
from sidecar.experiments.feedback_text import Priority, Sentiment
from sidecar.experiments.model import ExperimentReport
from sidecar.experiments.report_html import render_html
from sidecar.experiments.report_json import to_json
from sidecar.experiments.report_text import render_text
from sidecar.stats.formatting import fmt_num, fmt_pct, json_float, table

SENTIMENT_ORDER = (Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE)


@dataclass(frozen=True, slots=True)
class ExperimentResults:
    config: ExperimentConfig
    status: str  # scheduled, running or ended
    report: ExperimentReport
    feedback: Mapping[str, FeedbackSummary]


def iso_time(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _window(config: ExperimentConfig) -> str:
    return f"{iso_time(config.start)} to {iso_time(config.stop) or 'open end'}"


def to_results_json(results: ExperimentResults) -> dict[str, Any]:
    config = results.config
    return {
        "experiment": {
            "key": config.key,
            "flag": config.flag,
            "hypothesis": config.hypothesis,
            "start": iso_time(config.start),
            "stop": iso_time(config.stop),
            "status": results.status,
            "source": config.source,
        },
        **to_json(results.report),
        "feedback": [_feedback_json(results.feedback[arm]) for arm in config.arms if arm in results.feedback],
    }


def _feedback_json(summary: FeedbackSummary) -> dict[str, Any]:
    return {
        "variant": summary.variant,
        "responses": summary.responses,
        "units": summary.units,
        "response_rate": json_float(summary.response_rate),
        "mean_rating": json_float(summary.mean_rating) if summary.responses else None,
        "satisfied_share": json_float(summary.satisfied_share) if summary.responses else None,
        "rating_counts": list(summary.rating_counts),
        "sentiment": {s.value: n for s, n in summary.sentiment_counts.items()},
        "priority": {p.value: n for p, n in summary.priority_counts.items()},
        "top_issues": [{"term": term, "count": n} for term, n in summary.top_issues],
        "top_categories": [{"category": c, "count": n} for c, n in summary.top_categories],
    }


def _feedback_rows(results: ExperimentResults) -> list[list[str]]:
    rows = [["arm", "responses", "units", "response rate", "mean rating", "rated 4-5", "+/0/-", "crit/high"]]
    for arm in results.config.arms:
        s = results.feedback.get(arm)
        if s is None:
            continue
        sentiment = "/".join(str(s.sentiment_counts[k]) for k in SENTIMENT_ORDER)
        urgent = f"{s.priority_counts[Priority.CRITICAL]}/{s.priority_counts[Priority.HIGH]}"
        rows.append(
            [
                arm,
                f"{s.responses:,}",
                f"{s.units:,}",
                fmt_pct(s.response_rate),
                fmt_num(s.mean_rating, 3) if s.responses else "-",
                fmt_pct(s.satisfied_share) if s.responses else "-",
                sentiment,
                urgent,
            ]
        )
    return rows


def _issues(summary: FeedbackSummary) -> str:
    return ", ".join(f"{term} ({n})" for term, n in summary.top_issues) or "-"


def render_results_text(results: ExperimentResults) -> str:
    config = results.config
    lines = [
        f"Hypothesis: {config.hypothesis}",
        f"Flag {config.flag}, window {_window(config)} ({results.status}), defined in {config.source}",
        "",
        render_text(results.report).rstrip("\n"),
    ]
    if any(s.responses for s in results.feedback.values()):
        lines += ["", "Feedback (descriptive; sentiment positive/neutral/negative, priority critical/high):"]
        lines += ["  " + line for line in table(_feedback_rows(results), right_align_from=1)]
        lines += [
            f"  top issues in {arm}: {_issues(s)}" for arm, s in results.feedback.items() if s.responses
        ]
    return "\n".join(lines) + "\n"


def render_results_html(results: ExperimentResults) -> str:
    """The report's page with the experiment's framing under its title and the feedback at the end."""
    config = results.config
    framing = (
        f"<p><b>Hypothesis:</b> {escape(config.hypothesis)}</p>"
        f'<p class="muted">Flag <b>{escape(config.flag)}</b> · {escape(_window(config))} '
        f"({escape(results.status)}) · defined in {escape(config.source)}</p>"
    )
    page = render_html(results.report).replace("</h1>", "</h1>\n" + framing, 1)
    if not any(s.responses for s in results.feedback.values()):
        return page
    rows = _feedback_rows(results)
    section = [
        "<h2>Feedback</h2>",
        '<p class="muted">Descriptive only: who answers may itself depend on the arm; compare response rates '
        "first.</p>",
        "<table>",
    ]
    section.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in [*rows[0], "top issues"]) + "</tr>")
    for row in rows[1:]:
        issues = _issues(results.feedback[row[0]])
        section.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in [*row, issues]) + "</tr>")
    section.append("</table>")
    return page.replace("</body>", "\n".join(section) + "\n</body>", 1)
