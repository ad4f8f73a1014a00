"""Text, JSON and HTML renderings of an experiment report."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from sidecar.experiments import (
    AnalysisMode,
    Direction,
    ExperimentData,
    ExperimentDefinition,
    ExperimentReport,
    MetricAggregate,
    MetricDefinition,
    MetricKind,
    MetricRole,
)
from sidecar.experiments.analysis import analyze_experiment
from sidecar.experiments.report_html import render_html
from sidecar.experiments.report_json import to_json
from sidecar.experiments.report_text import render_text
from tests.unit.experiments.builders import binomial


def _report(mode: AnalysisMode = AnalysisMode.FIXED, key: str = "checkout-v2") -> ExperimentReport:
    metrics = (
        MetricDefinition("conversion", MetricKind.BINOMIAL),
        MetricDefinition("revenue", MetricKind.CONTINUOUS, role=MetricRole.SECONDARY, mde=0.5),
        MetricDefinition(
            "latency_ms", MetricKind.CONTINUOUS, role=MetricRole.GUARDRAIL, direction=Direction.DECREASE
        ),
    )
    definition = ExperimentDefinition(
        key=key, arms=("control", "b", "c"), control="control", weights=(1, 1, 1), metrics=metrics, mode=mode
    )
    n = 6_000

    def cont(mean: float, sd: float) -> MetricAggregate:
        return MetricAggregate(n, n * mean, sd * sd * (n - 1) + n * mean * mean)

    data = ExperimentData(
        {"control": n, "b": n, "c": n},
        {
            "conversion": {"control": binomial(600, n), "b": binomial(720, n), "c": binomial(610, n)},
            "revenue": {"control": cont(12.0, 7.0), "b": cont(12.6, 7.0), "c": cont(11.9, 7.0)},
            "latency_ms": {"control": cont(80.0, 20.0), "b": cont(80.5, 20.0), "c": cont(84.0, 20.0)},
        },
        unexposed_events=3,
    )
    return analyze_experiment(definition, data)


def test_render_text() -> None:
    report = _report()
    text = render_text(report)
    assert text.startswith("Experiment checkout-v2: fixed horizon, alpha 0.05, holm correction")
    assert f"Verdict: {report.verdict.value}" in text
    for needle in ("Assignment: SRM", "Unexposed events (excluded): 3", "conversion", "latency_ms", "95% CI"):
        assert needle in text
    assert "Guardrail violations:" in text
    assert "latency_ms (c)" in text
    assert len(text.splitlines()) >= 15
    seq = render_text(_report(AnalysisMode.SEQUENTIAL))
    assert "sequential (always-valid)" in seq
    assert "95% CS" in seq
    assert "p (always-valid)" in seq


def test_to_json_is_strict_json() -> None:
    payload = to_json(_report())
    decoded = json.loads(json.dumps(payload, allow_nan=False))
    assert decoded["verdict"] in {"SHIP", "DO_NOT_SHIP", "KEEP_RUNNING", "INCONCLUSIVE", "UNTRUSTWORTHY"}
    assert len(decoded["results"]) == 6
    first = decoded["results"][0]
    for key in (
        "absolute_lift",
        "relative_lift",
        "p_value",
        "p_value_adjusted",
        "effect_size",
        "achieved_power",
    ):
        assert key in first
    assert decoded["srm"]["observed"] == [6_000, 6_000, 6_000]
    assert decoded["unexposed_events"] == 3


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_render_html_is_self_contained_with_a_chart_per_metric() -> None:
    page = render_html(_report())
    parser = _Collector()
    parser.feed(page)
    assert page.startswith("<!DOCTYPE html>")
    assert parser.tags.count("svg") == 3  # one chart per metric
    assert parser.tags.count("circle") == 6  # one estimate per (metric, arm)
    assert "script" not in parser.tags
    assert "link" not in parser.tags
    assert "img" not in parser.tags
    for name, value in parser.attrs:
        assert name not in {"src", "href"}, (name, value)
    assert "url(" not in page
    assert "@import" not in page


def test_render_html_escapes_user_text() -> None:
    page = render_html(_report(key="<script>alert(1)</script>"))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("mode", list(AnalysisMode))
def test_render_handles_infinite_intervals(mode: AnalysisMode) -> None:
    metric = MetricDefinition("revenue", MetricKind.CONTINUOUS)
    definition = ExperimentDefinition(
        "tiny", ("control", "b"), "control", (1, 1), (metric,), mode=mode, min_units_per_arm=1
    )
    data = ExperimentData(
        {"control": 1, "b": 1},
        {"revenue": {"control": MetricAggregate(1, 5.0, 25.0), "b": MetricAggregate(1, 6.0, 36.0)}},
    )
    report = analyze_experiment(definition, data)
    assert "-inf" in render_text(report)
    assert "<svg" in render_html(report)
    json.dumps(to_json(report), allow_nan=False)
