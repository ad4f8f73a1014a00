"""An experiment's full results: the report framed by its configuration and followed by the feedback."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from sidecar.config.located import parse_text
from sidecar.experiments import ExperimentData, MetricAggregate
from sidecar.experiments.analysis import analyze_experiment
from sidecar.experiments.config import SATISFACTION, ExperimentConfig
from sidecar.experiments.config_parse import parse_experiments
from sidecar.experiments.feedback import FeedbackEntry, ratings_to_metric, summarize_feedback
from sidecar.experiments.results import (
    ExperimentResults,
    iso_time,
    render_results_html,
    render_results_text,
    to_results_json,
)
from tests.unit.experiments.builders import binomial

CONFIG = """\
experiments:
  checkout:
    flag: button
    control: blue
    weights: {blue: 1, green: 1}
    hypothesis: Green <sells> better.
    start: "2026-01-01"
    metrics: [{name: converted, kind: binomial}]
    satisfaction: {}
"""

FEEDBACK = (
    FeedbackEntry("u1", "blue", 2, "checkout is slow and broken", "Speed "),
    FeedbackEntry("u2", "blue", 4, "nice"),
    FeedbackEntry("u3", "green", 5, "love it, fast", "speed"),
)


def _config() -> ExperimentConfig:
    return parse_experiments(parse_text(CONFIG, "experiments.yaml", "yaml"))["checkout"]


def _results(feedback: tuple[FeedbackEntry, ...] = FEEDBACK) -> ExperimentResults:
    config = _config()
    data = ExperimentData(
        {"blue": 1000, "green": 1000},
        {
            "converted": {"blue": binomial(100, 1000), "green": binomial(110, 1000)},
            SATISFACTION: ratings_to_metric(feedback),
        },
    )
    report = analyze_experiment(config.definition(), data)
    summaries = summarize_feedback(feedback, exposures=dict(data.exposures))
    return ExperimentResults(config, "running", report, summaries)


def test_json_frames_the_report_with_the_configuration_and_lists_feedback_per_arm() -> None:
    body = to_results_json(_results())
    json.dumps(body, allow_nan=False)
    assert body["experiment"] == {
        "key": "checkout",
        "flag": "button",
        "hypothesis": "Green <sells> better.",
        "start": "2026-01-01T00:00:00Z",
        "stop": None,
        "status": "running",
        "source": "experiments.yaml",
    }
    assert body["key"] == "checkout"
    blue, green = body["feedback"]
    assert (blue["variant"], blue["responses"], blue["units"]) == ("blue", 2, 2)
    assert blue["response_rate"] == 0.002
    assert blue["mean_rating"] == 3.0
    assert blue["rating_counts"] == [0, 1, 0, 1, 0]
    assert blue["top_categories"] == [{"category": "speed", "count": 1}]
    assert green["satisfied_share"] == 1.0


def test_an_arm_without_responses_has_no_rating_statistics() -> None:
    body = to_results_json(_results(FEEDBACK[:2]))
    green = body["feedback"][1]
    assert (green["responses"], green["mean_rating"], green["satisfied_share"]) == (0, None, None)


def test_text_shows_hypothesis_window_and_a_feedback_table() -> None:
    text = render_results_text(_results())
    assert text.startswith("Hypothesis: Green <sells> better.\n")
    assert (
        "Flag button, window 2026-01-01T00:00:00Z to open end (running), defined in experiments.yaml" in text
    )
    assert "Experiment checkout:" in text
    assert "Feedback (descriptive" in text
    assert "top issues in blue: " in text
    assert "top issues in green" in text


def test_text_and_html_leave_out_feedback_nobody_gave() -> None:
    results = _results(())
    assert "Feedback" not in render_results_text(results)
    assert "<h2>Feedback</h2>" not in render_results_html(results)


def test_html_escapes_the_framing_and_adds_the_feedback_table() -> None:
    page = render_results_html(_results())
    assert "Green &lt;sells&gt; better." in page
    assert page.index("</h1>") < page.index("<b>Hypothesis:</b>") < page.index("<h2>Assignment</h2>")
    assert page.index("<h2>Feedback</h2>") < page.index("</body>")

    class Cells(HTMLParser):
        rows: list[list[str]]

        def __init__(self) -> None:
            super().__init__()
            self.rows, self.cell = [], False

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag == "tr":
                self.rows.append([])
            self.cell = tag in ("td", "th")

        def handle_endtag(self, tag: str) -> None:
            self.cell = False

        def handle_data(self, data: str) -> None:
            if self.cell and self.rows:
                self.rows[-1].append(data)

    parser = Cells()
    parser.feed(page[page.index("<h2>Feedback</h2>") :])
    assert parser.rows[0][-1] == "top issues"
    assert parser.rows[1][0] == "blue"
    assert parser.rows[2][-1] == "-"  # green: no issue words


def test_iso_time_is_utc_with_z_and_passes_none_through() -> None:
    assert iso_time(0.0) == "1970-01-01T00:00:00Z"
    assert iso_time(None) is None


def test_satisfaction_aggregates_reach_the_analysis() -> None:
    result = _results().report.result(SATISFACTION, "green")
    assert result.treatment.units == 1
    assert isinstance(ratings_to_metric(FEEDBACK)["blue"], MetricAggregate)
