"""The experiment runtime: exposure logging off the evaluation path, event and feedback ingestion, analysis.

Exposure: :meth:`ExperimentRuntime.evaluation` runs inside Evaluate for every resolution. For one that a
fractional split chose (reason SPLIT) of a flag some experiment uses, it appends (experiments, context,
variant, time) to a bounded list and returns: one dict lookup and one append. A background flush decides the
rest (experiment window, eligibility rule, one row per unit with first and last seen) and writes to SQLite.
Units put into an arm by a targeting rule rather than the split are not randomised, so they are not exposed.

Events and feedback are added to in-memory pending state and acknowledged once a group commit has written
them, like rollout outcomes. Analysis first flushes everything pending, then reads per-unit aggregates, never
individual events, and runs the pure analysis in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sidecar.clock import Clock
from sidecar.errors import InvalidArgumentError, NotFoundError
from sidecar.evaluation.model import FlagResolver, Reason, Resolution
from sidecar.experiments.analysis import (
    Correction,
    ExperimentData,
    MetricDefinition,
    MetricKind,
    analyze_experiment,
)
from sidecar.experiments.config import SATISFACTION, ExperimentConfig, cross_check
from sidecar.experiments.feedback import (
    MAX_RATING,
    MIN_RATING,
    Classification,
    classify,
    ratings_to_metric,
    summarize_feedback,
)
from sidecar.experiments.results import ExperimentResults
from sidecar.runtime.group_commit import GroupCommit
from sidecar.store.config_store import ConfigStore
from sidecar.store.experiment_store import ExperimentStore, ExposureRow, FeedbackRow
from sidecar.store.sections import EXPERIMENT
from sidecar.store.snapshot import Snapshot
from sidecar.tasks import cancel_and_wait

log = logging.getLogger(__name__)

MAX_EVENTS_PER_BATCH = 10_000
MAX_BUFFERED_EXPOSURES = 65_536
EXPOSURE_FLUSH_SECONDS = 0.25
MAX_UNIT_KEY = 256
MAX_METRIC_NAME = 128
MAX_FEEDBACK_TEXT = 4096
MAX_CATEGORY = 64
TARGETING_KEY = "targetingKey"
_SPLIT = Reason.SPLIT  # a module global: cheaper to read than an enum member on the hot path

# One buffered exposure: the flag's experiments, the request context, the variant, when, and the snapshot
# (for flag_value in eligibility rules).
_Exposure = tuple[tuple[ExperimentConfig, ...], Mapping[str, Any], str, float, Snapshot]


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


@dataclass(frozen=True, slots=True)
class ExperimentOverview:
    config: ExperimentConfig
    status: str
    problems: tuple[str, ...]
    exposures: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class _Index:
    """The experiments of one snapshot, keyed for the paths that look them up."""

    snapshot: Snapshot | None
    experiments: Mapping[str, ExperimentConfig] = field(default_factory=dict)
    by_flag: Mapping[str, tuple[ExperimentConfig, ...]] = field(default_factory=dict)
    by_metric: Mapping[str, tuple[tuple[ExperimentConfig, MetricDefinition], ...]] = field(
        default_factory=dict
    )
    problems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _index(snapshot: Snapshot) -> _Index:
    experiments: dict[str, ExperimentConfig] = {
        key: value
        for key, value in snapshot.section(EXPERIMENT).items()
        if isinstance(value, ExperimentConfig)
    }
    by_flag: dict[str, list[ExperimentConfig]] = {}
    by_metric: dict[str, list[tuple[ExperimentConfig, MetricDefinition]]] = {}
    problems: dict[str, tuple[str, ...]] = {}
    for key, experiment in sorted(experiments.items()):
        by_flag.setdefault(experiment.flag, []).append(experiment)
        for metric in experiment.tracked:
            by_metric.setdefault(metric.name, []).append((experiment, metric))
        found = cross_check(experiment, snapshot.flags)
        if found:
            problems[key] = tuple(found)
            log.error("experiment %r (%s): %s", key, experiment.source, "; ".join(found))
    return _Index(
        snapshot,
        experiments,
        {flag: tuple(items) for flag, items in by_flag.items()},
        {metric: tuple(items) for metric, items in by_metric.items()},
        problems,
    )


class ExperimentRuntime:
    def __init__(
        self, config: ConfigStore, store: ExperimentStore, clock: Clock, static_context: Mapping[str, Any]
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self._static = dict(static_context)
        self._indexed = _Index(None)
        self._exposures: list[_Exposure] = []
        self.dropped_exposures = 0
        self._unit_sums: dict[tuple[str, str, str], list[float]] = {}
        self._feedback: list[FeedbackRow] = []
        self._commit = GroupCommit(self._flush)
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._commit.start()
        self._task = asyncio.create_task(self._flush_exposures(), name="experiment-exposures")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self._commit.stop()

    async def _flush_exposures(self) -> None:
        while True:
            await asyncio.sleep(EXPOSURE_FLUSH_SECONDS)
            if self._exposures:
                self._commit.request()

    def _index_for(self, snapshot: Snapshot) -> _Index:
        if self._indexed.snapshot is not snapshot:
            self._indexed = _index(snapshot)
        return self._indexed

    # -- hot path --------------------------------------------------------------------------------------

    def evaluation(
        self,
        snapshot: Snapshot,
        resolution: Resolution,
        context: Mapping[str, Any],
        now: float,
        started: float,  # noqa: ARG002
    ) -> None:
        """Note a possible exposure; never raises and never waits."""
        if resolution.reason is not _SPLIT:
            return
        try:
            index = self._indexed
            if index.snapshot is not snapshot:
                index = self._index_for(snapshot)
            experiments = index.by_flag.get(resolution.flag_key)
            if experiments is None:
                return
            exposures = self._exposures
            if len(exposures) < MAX_BUFFERED_EXPOSURES:
                exposures.append((experiments, context, resolution.variant or "", now, snapshot))
            else:
                self.dropped_exposures += 1
        except Exception:  # an evaluation must never fail because of experiment bookkeeping
            log.exception("exposure logging failed")

    # -- data plane ------------------------------------------------------------------------------------

    async def track(self, events: Sequence[TrackedEvent]) -> tuple[int, int]:
        """Add a batch of metric events (all or nothing) to every experiment that tracks their metric and
        whose window holds their time; returns (accepted, unmatched) once they are on disk."""
        if len(events) > MAX_EVENTS_PER_BATCH:
            raise InvalidArgumentError(f"at most {MAX_EVENTS_PER_BATCH} events per call, got {len(events)}")
        by_metric = self._index_for(self._config.require_snapshot()).by_metric
        for position, event in enumerate(events):
            _check_event(position, event, by_metric.get(event.metric, ()))
        accepted = 0
        for event in events:
            matched = False
            for experiment, _metric in by_metric.get(event.metric, ()):
                if not experiment.in_window(event.timestamp):
                    continue
                sums = self._unit_sums.setdefault((experiment.key, event.metric, event.unit_key), [0.0, 0.0])
                sums[0] += event.value
                sums[1] += 1
                matched = True
            accepted += matched
        await self._commit.durable()
        return accepted, len(events) - accepted

    async def submit_feedback(self, feedback: FeedbackSubmission) -> FeedbackReceipt:
        _check_feedback(feedback)
        now = self._clock.now()
        index = self._index_for(self._config.require_snapshot())
        if feedback.experiment_key is not None and feedback.experiment_key not in index.experiments:
            raise NotFoundError(f"experiment {feedback.experiment_key!r} does not exist")
        self._feedback.append(
            FeedbackRow(
                feedback.unit_key,
                feedback.experiment_key,
                feedback.rating,
                feedback.text,
                feedback.category,
                now,
            )
        )
        await self._commit.durable()  # also writes the unit's pending exposures, so the lookup sees them
        arms = await asyncio.to_thread(self._store.arms_of, feedback.unit_key)
        return FeedbackReceipt(
            classify(feedback.text, rating=feedback.rating),
            {
                key: arm
                for key, arm in sorted(arms.items())
                if key in index.experiments
                and index.experiments[key].in_window(now)
                and feedback.experiment_key in (None, key)
            },
        )

    # -- reads -----------------------------------------------------------------------------------------

    async def overview(self) -> list[ExperimentOverview]:
        index = self._index_for(self._config.require_snapshot())
        await self._commit.durable()
        counts = await asyncio.to_thread(self._store.exposure_counts)
        now = self._clock.now()
        return [
            ExperimentOverview(config, config.status(now), index.problems.get(key, ()), counts.get(key, {}))
            for key, config in sorted(index.experiments.items())
        ]

    async def analyze(self, key: str, correction: Correction | None = None) -> ExperimentResults:
        index = self._index_for(self._config.require_snapshot())
        config = index.experiments.get(key)
        if config is None:
            raise NotFoundError(f"experiment {key!r} does not exist")
        await self._commit.durable()  # everything acknowledged or evaluated so far is in the analysis
        notes = [f"Configuration: {problem}." for problem in index.problems.get(key, ())]
        if self.dropped_exposures:
            notes.append(
                f"{self.dropped_exposures} exposures were dropped since the daemon started because the "
                "exposure buffer was full; their units may be missing or count as unexposed."
            )
        return await asyncio.to_thread(self._analyze, config, correction, notes)

    def _analyze(
        self, config: ExperimentConfig, correction: Correction | None, notes: list[str]
    ) -> ExperimentResults:
        stored = self._store.load(
            config.key, {m.name: m.kind for m in config.tracked}, (config.start, config.stop or math.inf)
        )
        metrics = dict(stored.metrics)
        if config.satisfaction is not None:
            metrics[SATISFACTION] = ratings_to_metric(stored.feedback)
        report = analyze_experiment(
            config.definition(correction), ExperimentData(stored.exposures, metrics, stored.unexposed_events)
        )
        if stored.switched_units:
            notes.append(
                f"{stored.switched_units} units were served more than one arm (did the flag's split change "
                "during the experiment?); each is analysed in the arm it saw first."
            )
        if stored.unattributed_feedback:
            notes.append(
                f"{stored.unattributed_feedback} feedback entries named this experiment but came from units "
                "never exposed to it; they are excluded."
            )
        exposures = {arm: stored.exposures.get(arm, 0) for arm in config.arms}
        return ExperimentResults(
            config,
            config.status(self._clock.now()),
            replace(report, warnings=(*notes, *report.warnings)),  # ours first: they qualify the rest
            summarize_feedback(stored.feedback, exposures=exposures),
        )

    # -- durability ------------------------------------------------------------------------------------

    async def _flush(self) -> None:
        exposures, self._exposures = self._exposures, []
        unit_sums, self._unit_sums = self._unit_sums, {}
        feedback, self._feedback = self._feedback, []
        if exposures or unit_sums or feedback:
            await asyncio.to_thread(self._write, exposures, unit_sums, feedback)

    def _write(
        self,
        exposures: list[_Exposure],
        unit_sums: dict[tuple[str, str, str], list[float]],
        feedback: list[FeedbackRow],
    ) -> None:
        self._store.save(exposure_rows(exposures, self._static), unit_sums, feedback)


def exposure_rows(exposures: Sequence[_Exposure], static_context: Mapping[str, Any]) -> list[ExposureRow]:
    """One row per (experiment, unit) for the buffered exposures that fall in their experiment's window
    and pass its eligibility rule, which sees what flag rules see (request and daemon context, ``$flagd``)."""
    rows: dict[tuple[str, str], ExposureRow] = {}
    for experiments, context, variant, now, snapshot in exposures:
        unit = context.get(TARGETING_KEY)
        if not isinstance(unit, str) or not unit:
            continue
        for experiment in experiments:
            if not experiment.in_window(now):
                continue
            if experiment.eligibility is not None:
                data = {
                    **context,
                    **static_context,
                    "$flagd": {"flagKey": experiment.flag, "timestamp": math.floor(now)},
                }
                resolver = _resolver(snapshot, context, now) if experiment.eligibility.reads_flags else None
                if not experiment.eligible(data, resolver):
                    continue
            key = (experiment.key, unit)
            seen = rows.get(key)
            rows[key] = (
                ExposureRow(experiment.key, unit, variant, now, now, False)
                if seen is None
                else replace(
                    seen,
                    last_seen=max(seen.last_seen, now),
                    switched=seen.switched or seen.variant != variant,
                )
            )
    return list(rows.values())


def _resolver(snapshot: Snapshot, context: Mapping[str, Any], now: float) -> FlagResolver:
    def resolve(flag_key: str) -> Any:
        resolution = snapshot.evaluator.evaluate(flag_key, context, now)
        return None if resolution.reason is Reason.ERROR else resolution.value

    return resolve


def _check_event(
    position: int, event: TrackedEvent, tracked_by: Sequence[tuple[ExperimentConfig, MetricDefinition]]
) -> None:
    where = f"events[{position}]"
    if not event.unit_key or len(event.unit_key) > MAX_UNIT_KEY:
        raise InvalidArgumentError(f"{where}: unit_key must be 1-{MAX_UNIT_KEY} characters")
    if not event.metric or len(event.metric) > MAX_METRIC_NAME:
        raise InvalidArgumentError(f"{where}: metric must be 1-{MAX_METRIC_NAME} characters")
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


def _check_feedback(feedback: FeedbackSubmission) -> None:
    if not feedback.unit_key or len(feedback.unit_key) > MAX_UNIT_KEY:
        raise InvalidArgumentError(f"unit_key must be 1-{MAX_UNIT_KEY} characters")
    if not MIN_RATING <= feedback.rating <= MAX_RATING:
        raise InvalidArgumentError(f"rating must be {MIN_RATING} to {MAX_RATING}, got {feedback.rating}")
    if len(feedback.text) > MAX_FEEDBACK_TEXT:
        raise InvalidArgumentError(f"text is longer than {MAX_FEEDBACK_TEXT} characters")
    if len(feedback.category) > MAX_CATEGORY:
        raise InvalidArgumentError(f"category is longer than {MAX_CATEGORY} characters")
