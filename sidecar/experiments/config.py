"""One experiment as configured: the arms and their split, the window, the eligibility rule and the
metrics, ready to be turned into an :class:`~sidecar.experiments.model.ExperimentDefinition`. The file format
and its validation are :mod:`sidecar.experiments.config_parse`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sidecar.evaluation.coercion import truthy
from sidecar.evaluation.model import FlagResolver, Targeting
from sidecar.experiments.model import AnalysisMode, Correction, ExperimentDefinition, MetricDefinition

SATISFACTION = "satisfaction"
"""The name of the feedback-ratings metric."""


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """One validated experiment. ``arms`` and ``weights`` are in the order written; times are unix seconds."""

    key: str
    flag: str
    control: str
    arms: tuple[str, ...]
    weights: tuple[float, ...]
    hypothesis: str
    start: float
    stop: float | None
    alpha: float
    power: float
    mode: AnalysisMode
    correction: Correction
    tracked: tuple[MetricDefinition, ...]
    """Metrics fed by TrackEvents."""
    satisfaction: MetricDefinition | None
    """Feedback ratings as a metric, when configured."""
    source: str
    targeting: Any = None
    """The eligibility rule as written; compared instead of its compiled closure."""
    eligibility: Targeting | None = field(default=None, compare=False)

    @property
    def metrics(self) -> tuple[MetricDefinition, ...]:
        return self.tracked if self.satisfaction is None else (*self.tracked, self.satisfaction)

    def in_window(self, ts: float) -> bool:
        return self.start <= ts and (self.stop is None or ts < self.stop)

    def status(self, now: float) -> str:
        if now < self.start:
            return "scheduled"
        return "running" if self.stop is None or now < self.stop else "ended"

    def eligible(self, data: Mapping[str, Any], resolver: FlagResolver | None) -> bool:
        """Whether a unit with evaluation data ``data`` may enter; a rule that fails admits no one."""
        if self.eligibility is None:
            return True
        try:
            return truthy(self.eligibility.rule(data, resolver))
        except Exception:
            return False

    def definition(self, correction: Correction | None = None) -> ExperimentDefinition:
        return ExperimentDefinition(
            key=self.key,
            arms=self.arms,
            control=self.control,
            weights=self.weights,
            metrics=self.metrics,
            alpha=self.alpha,
            power=self.power,
            mode=self.mode,
            correction=correction or self.correction,
        )
