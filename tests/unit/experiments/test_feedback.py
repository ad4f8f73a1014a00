"""Feedback classification, per-arm summaries and the ratings metric."""

from __future__ import annotations

import pytest

from sidecar.experiments import ExperimentData, ExperimentDefinition, MetricKind, MetricRole
from sidecar.experiments.analysis import analyze_experiment
from sidecar.experiments.feedback import (
    FeedbackEntry,
    ratings_to_metric,
    satisfaction_metric,
    summarize_feedback,
)
from sidecar.experiments.feedback_text import (
    DEFAULT_LEXICON,
    Lexicon,
    Priority,
    Sentiment,
    classify,
    tokenize,
)


def test_tokenize_keeps_contractions() -> None:
    assert tokenize("It DOESN’T work, at all!") == ["it", "doesn't", "work", "at", "all"]


@pytest.mark.parametrize(
    ("text", "sentiment", "priority"),
    [
        ("Love the new checkout, so fast and easy", Sentiment.POSITIVE, Priority.LOW),
        ("The app crashes every time I pay", Sentiment.NEGATIVE, Priority.CRITICAL),
        ("I was charged twice for one order", Sentiment.NEUTRAL, Priority.CRITICAL),
        ("Search is broken and shows the wrong results", Sentiment.NEGATIVE, Priority.HIGH),
        ("A bit slow and confusing", Sentiment.NEGATIVE, Priority.MEDIUM),
        ("It's not slow at all, never had a crash", Sentiment.POSITIVE, Priority.LOW),
        ("I don't like the colours", Sentiment.NEGATIVE, Priority.MEDIUM),
        ("", Sentiment.NEUTRAL, Priority.LOW),
    ],
)
def test_classify_examples(text: str, sentiment: Sentiment, priority: Priority) -> None:
    result = classify(text)
    assert (result.sentiment, result.priority) == (sentiment, priority), result


def test_classify_reports_matched_terms_and_uses_rating_as_tie_breaker() -> None:
    result = classify("Great design but the page is slow")
    assert result.positive_terms == ("great",)
    assert result.negative_terms == ("slow",)
    assert result.score == 0
    assert result.sentiment is Sentiment.NEUTRAL
    assert classify("Great design but the page is slow", rating=2).sentiment is Sentiment.NEGATIVE
    assert classify("no comment", rating=5).sentiment is Sentiment.POSITIVE
    assert classify("I can't log in since the update").priority is Priority.CRITICAL


def test_custom_lexicon() -> None:
    lexicon = Lexicon(
        positive=frozenset({"bueno"}),
        negative=frozenset({"malo"}),
        critical=frozenset({"caída"}),
        high=frozenset(),
        medium=frozenset(),
        negations=frozenset({"no"}),
    )
    assert classify("muy bueno", lexicon).sentiment is Sentiment.POSITIVE
    assert classify("no es bueno", lexicon).sentiment is Sentiment.NEGATIVE
    assert classify("great", lexicon).sentiment is Sentiment.NEUTRAL
    assert DEFAULT_LEXICON.negation_window == 3


ENTRIES = [
    FeedbackEntry("u1", "control", 4, "Good, works well", "ui"),
    FeedbackEntry("u2", "control", 2, "Checkout is slow", "performance"),
    FeedbackEntry("u3", "control", 1, "The app crashes on payment", "Stability "),
    FeedbackEntry("u3", "control", 3, "still crashes sometimes", "stability"),
    FeedbackEntry("u4", "treatment", 5, "Love it, much faster", "performance"),
    FeedbackEntry("u5", "treatment", 4, "", None),
    FeedbackEntry("u6", "treatment", 2, "confusing layout, slow", "ui"),
]


def test_summary_per_variant() -> None:
    summaries = summarize_feedback(ENTRIES, exposures={"control": 100, "treatment": 120, "other": 50})
    control = summaries["control"]
    assert control.responses == 4
    assert control.units == 3
    assert control.mean_rating == pytest.approx(2.5)
    assert control.satisfied_share == pytest.approx(0.25)
    assert control.rating_counts == (1, 1, 1, 1, 0)
    assert control.response_rate == pytest.approx(0.03)
    assert control.sentiment_counts[Sentiment.NEGATIVE] == 3
    assert control.priority_counts[Priority.CRITICAL] == 2
    assert control.top_issues[0] == ("crashes", 2)
    assert control.top_categories[0] == ("stability", 2)
    treatment = summaries["treatment"]
    assert treatment.mean_rating == pytest.approx(11 / 3)
    assert treatment.satisfied_share == pytest.approx(2 / 3)
    assert treatment.sentiment_counts[Sentiment.POSITIVE] == 2
    assert dict(treatment.top_issues) == {"confusing": 1, "slow": 1}
    empty = summaries["other"]
    assert empty.responses == 0
    assert empty.mean_rating == 0.0
    assert empty.response_rate == 0.0
    with pytest.raises(ValueError, match="rating"):
        FeedbackEntry("u", "control", 6)


def test_ratings_metric_is_per_unit_and_feeds_the_analysis() -> None:
    aggregates = ratings_to_metric(ENTRIES)
    control = aggregates["control"]
    # u1: 4, u2: 2, u3: mean(1, 3) = 2  -> one value per unit
    assert control.n == 3
    assert control.total == pytest.approx(8.0)
    assert control.total_sq == pytest.approx(24.0)
    assert aggregates["treatment"].n == 3
    metric = satisfaction_metric(role=MetricRole.PRIMARY)
    assert metric.kind is MetricKind.CONTINUOUS
    assert not metric.fills_zero
    definition = ExperimentDefinition(
        "fb", ("control", "treatment"), "control", (1.0, 1.0), (metric,), min_units_per_arm=1
    )
    report = analyze_experiment(
        definition, ExperimentData({"control": 100, "treatment": 100}, {"satisfaction": aggregates})
    )
    r = report.result("satisfaction", "treatment")
    # non-responders are not zero-filled
    assert r.control.units == 3
    assert r.control.mean == pytest.approx(8 / 3)
    assert r.test == "welch_t"
