"""What callers send the experiment runtime (metric events, feedback) and the checks that refuse bad input
with one clear line before anything is buffered."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sidecar.config.limits import (
    CATEGORY_CHARS,
    FEEDBACK_TEXT_CHARS,
    METRIC_CHARS,
    UNIT_KEY_CHARS,
    check_required,
)
from sidecar.errors import InvalidArgumentError
from sidecar.experiments.config import ExperimentConfig
from sidecar.experiments.feedback_text import MAX_RATING, MIN_RATING, Classification
from sidecar.experiments.model import MetricDefinition, MetricKind

TrackedBy = Mapping[str, tuple[tuple[ExperimentConfig, MetricDefinition], ...]]
"""Metric name -> the experiments that track it, with the metric as each defines it."""


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    unit_key: str
    metric: str
    value: float  # 1 when the caller sent none
    timestamp: float  # unix seconds; the time it was received when the caller sent none


@dataclass(frozen=True, slots=True)
class FeedbackSubmission:
    unit_key: str
    rating: int
    text: str
    category: str
    experiment_key: str | None  # None: every experiment the unit is exposed in


@dataclass(frozen=True, slots=True)
class FeedbackReceipt:
    classification: Classification
    arms: Mapping[str, str]  # experiment -> the unit's arm, for the running experiments it is exposed in


def check_events(events: Sequence[TrackedEvent], tracked_by: TrackedBy, first: int = 0) -> None:
    """Refuse the whole batch when any event is malformed or has a value its metric cannot take; ``first``
    is the position of ``events[0]`` in the request. (The batch size is checked where it arrives.)"""
    for position, event in enumerate(events, first):
        _check_event(position, event, tracked_by.get(event.metric, ()))


def _check_event(
    position: int, event: TrackedEvent, tracked_by: Sequence[tuple[ExperimentConfig, MetricDefinition]]
) -> None:
    where = f"events[{position}]"
    check_required(f"{where}.unit_key", event.unit_key, UNIT_KEY_CHARS)
    check_required(f"{where}.metric", event.metric, METRIC_CHARS)
    if not (math.isfinite(event.value) and math.isfinite(event.timestamp)):
        raise InvalidArgumentError(f"{where}: value and timestamp must be finite numbers")
    for experiment, metric in tracked_by:
        if metric.kind is MetricKind.BINOMIAL and event.value not in (0.0, 1.0):
            raise InvalidArgumentError(
                f"{where}: metric {metric.name!r} is binomial in experiment {experiment.key!r}; its value "
                f"is 1 (converted) or 0, got {event.value:g}"
            )
        if metric.kind is MetricKind.COUNT and event.value < 0:
            raise InvalidArgumentError(
                f"{where}: metric {metric.name!r} counts in experiment {experiment.key!r}; its value must be "
                f">= 0, got {event.value:g}"
            )


def check_feedback(feedback: FeedbackSubmission) -> None:
    check_required("unit_key", feedback.unit_key, UNIT_KEY_CHARS)
    if not MIN_RATING <= feedback.rating <= MAX_RATING:
        raise InvalidArgumentError(f"rating must be {MIN_RATING} to {MAX_RATING}, got {feedback.rating}")
    FEEDBACK_TEXT_CHARS.check("text", len(feedback.text))
    CATEGORY_CHARS.check("category", len(feedback.category))
