"""User feedback per arm: summaries of ratings, sentiment, priority and issues, and the ratings metric.

Each response is classified by :mod:`sidecar.experiments.feedback_text`. Ratings enter the experiment
analysis as a continuous metric through :func:`ratings_to_metric`, one value per unit (a unit that rated
several times contributes its mean). Only units that chose to answer are included, and whether a unit
answers can itself depend on the arm; compare the response rates (:attr:`FeedbackSummary.response_rate`)
before reading much into a satisfaction difference.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sidecar.experiments.feedback_text import (
    DEFAULT_LEXICON,
    MAX_RATING,
    MIN_RATING,
    SATISFIED_RATING,
    Lexicon,
    Priority,
    Sentiment,
    classify,
)
from sidecar.experiments.model import Direction, MetricAggregate, MetricDefinition, MetricKind, MetricRole

_PRIORITY_ORDER = (Priority.CRITICAL, Priority.HIGH, Priority.MEDIUM, Priority.LOW)


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """One piece of feedback from a unit (user, account…) assigned to ``variant``."""

    unit_key: str
    variant: str
    rating: int
    text: str = ""
    category: str | None = None

    def __post_init__(self) -> None:
        if not MIN_RATING <= self.rating <= MAX_RATING:
            raise ValueError(f"rating must be in {MIN_RATING}..{MAX_RATING}, got {self.rating}")


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    """Feedback of one arm. Rating statistics are per response; ``units`` counts distinct responding units.

    ``satisfied_share`` is the share of responses rated 4–5 ("top-two box"); ``rating_counts[i]`` the number
    of ratings equal to ``i + 1``; ``response_rate`` is ``units / exposed units`` when exposures are given.
    """

    variant: str
    responses: int
    units: int
    mean_rating: float
    satisfied_share: float
    rating_counts: tuple[int, ...]
    sentiment_counts: Mapping[Sentiment, int]
    priority_counts: Mapping[Priority, int]
    top_issues: tuple[tuple[str, int], ...]
    top_categories: tuple[tuple[str, int], ...]
    response_rate: float | None


def summarize_feedback(
    entries: Iterable[FeedbackEntry],
    lexicon: Lexicon = DEFAULT_LEXICON,
    *,
    exposures: Mapping[str, int] | None = None,
    top: int = 5,
) -> dict[str, FeedbackSummary]:
    """Per-arm summaries: satisfaction, sentiment and priority mix, and the most frequent issues.

    Issues are the negative and priority terms of each response (counted once per response), ranked by
    frequency then alphabetically; categories are normalised (trimmed, lower case) and ranked the same way.
    Arms listed in ``exposures`` without any feedback get an empty summary.
    """
    grouped: dict[str, list[FeedbackEntry]] = defaultdict(list)
    for entry in entries:
        grouped[entry.variant].append(entry)
    variants = list(grouped)
    if exposures is not None:
        variants += [v for v in exposures if v not in grouped]
    summaries: dict[str, FeedbackSummary] = {}
    for variant in variants:
        items = grouped.get(variant, [])
        ratings = Counter(e.rating for e in items)
        sentiments: Counter[Sentiment] = Counter()
        priorities: Counter[Priority] = Counter()
        issues: Counter[str] = Counter()
        categories: Counter[str] = Counter()
        for e in items:
            c = classify(e.text, lexicon, rating=e.rating)
            sentiments[c.sentiment] += 1
            priorities[c.priority] += 1
            issues.update(set(c.negative_terms) | set(c.priority_terms))
            if e.category and e.category.strip():
                categories[e.category.strip().lower()] += 1
        units = len({e.unit_key for e in items})
        exposed = exposures.get(variant) if exposures is not None else None
        n = len(items)
        summaries[variant] = FeedbackSummary(
            variant=variant,
            responses=n,
            units=units,
            mean_rating=sum(e.rating for e in items) / n if n else 0.0,
            satisfied_share=sum(1 for e in items if e.rating >= SATISFIED_RATING) / n if n else 0.0,
            rating_counts=tuple(ratings.get(r, 0) for r in range(MIN_RATING, MAX_RATING + 1)),
            sentiment_counts={s: sentiments.get(s, 0) for s in Sentiment},
            priority_counts={p: priorities.get(p, 0) for p in _PRIORITY_ORDER},
            top_issues=_top(issues, top),
            top_categories=_top(categories, top),
            response_rate=units / exposed if exposed else None,
        )
    return summaries


def _top(counter: Counter[str], k: int) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:k])


def ratings_to_metric(entries: Iterable[FeedbackEntry]) -> dict[str, MetricAggregate]:
    """Per-arm aggregates of the per-unit mean rating, ready for :class:`ExperimentData` ``metrics``.

    The unit of analysis is the unit, not the response, so a unit that rated three times counts once (with its
    mean rating); otherwise prolific raters would shrink the standard errors artificially.
    """
    per_unit: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in entries:
        per_unit[(e.variant, e.unit_key)].append(e.rating)
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for (variant, _unit), ratings in per_unit.items():
        value = sum(ratings) / len(ratings)
        acc = sums[variant]
        acc[0] += 1
        acc[1] += value
        acc[2] += value * value
    return {v: MetricAggregate(int(acc[0]), acc[1], acc[2]) for v, acc in sums.items()}


def satisfaction_metric(
    name: str = "satisfaction", *, role: MetricRole = MetricRole.SECONDARY, mde: float | None = None
) -> MetricDefinition:
    """The metric definition matching :func:`ratings_to_metric`: continuous, higher is better, and units that
    gave no rating are missing (never zero-filled)."""
    return MetricDefinition(
        name=name,
        kind=MetricKind.CONTINUOUS,
        role=role,
        direction=Direction.INCREASE,
        mde=mde,
        zero_fill=False,
    )
