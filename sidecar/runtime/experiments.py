"""The experiment runtime: exposure logging off the evaluation path, event and feedback ingestion, analysis.

Exposure: :meth:`ExperimentRuntime.evaluation` runs inside Evaluate for every resolution. For one that a
fractional split chose (reason SPLIT) of a flag some experiment uses, it appends (experiments, context,
variant, time) to a bounded list and returns: one dict lookup and one append. A background flush decides the
rest (:mod:`sidecar.runtime.experiment_exposures`) and writes to SQLite. Units put into an arm by a targeting
rule rather than the split are not randomised, so they are not exposed.

Events and feedback are checked (:mod:`sidecar.runtime.experiment_intake`), added to in-memory pending state
and acknowledged once a group commit has written them, like rollout outcomes. Analysis first flushes
everything pending, then reads per-unit aggregates, never individual events, and runs the pure analysis in a
worker thread (:mod:`sidecar.runtime.experiment_results`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.clock import Clock
from sidecar.errors import NotFoundError, StorageError
from sidecar.evaluation.model import Reason, Resolution
from sidecar.experiments.config import ExperimentConfig
from sidecar.experiments.feedback_text import classify
from sidecar.experiments.model import Correction
from sidecar.experiments.results import ExperimentResults
from sidecar.runtime.experiment_exposures import Exposure, exposure_rows
from sidecar.runtime.experiment_index import ExperimentIndex, index_experiments
from sidecar.runtime.experiment_intake import (
    FeedbackReceipt,
    FeedbackSubmission,
    TrackedBy,
    TrackedEvent,
    check_events,
    check_feedback,
)
from sidecar.runtime.experiment_results import collection_notes, results_of
from sidecar.runtime.group_commit import GroupCommit
from sidecar.store.config_store import ConfigStore
from sidecar.store.experiment_store import ExperimentStore, FeedbackRow
from sidecar.store.snapshot import Snapshot
from sidecar.tasks import cancel_and_wait, in_slices

log = logging.getLogger(__name__)

MAX_BUFFERED_EXPOSURES = 65_536
EXPOSURE_FLUSH_SECONDS = 0.25
_SPLIT = Reason.SPLIT  # a module global: cheaper to read than an enum member on the hot path


@dataclass(frozen=True, slots=True)
class ExperimentOverview:
    config: ExperimentConfig
    status: str
    problems: tuple[str, ...]
    exposures: Mapping[str, int]


class ExperimentRuntime:
    def __init__(
        self, config: ConfigStore, store: ExperimentStore, clock: Clock, static_context: Mapping[str, Any]
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self._static = dict(static_context)
        self._indexed = ExperimentIndex(None)
        self._exposures: list[Exposure] = []
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

    def _index_for(self, snapshot: Snapshot) -> ExperimentIndex:
        if self._indexed.snapshot is not snapshot:
            self._indexed = index_experiments(snapshot)
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
        by_metric = self._index_for(self._config.require_snapshot()).by_metric
        # Checked whole before anything is added (all or nothing), then added; a slice at a time each.
        checked = 0
        async for part in in_slices(events):
            check_events(part, by_metric, first=checked)
            checked += len(part)
        accepted = 0
        async for part in in_slices(events):
            accepted += sum(self._add(event, by_metric) for event in part)
        await self._commit.durable()
        return accepted, len(events) - accepted

    def _add(self, event: TrackedEvent, by_metric: TrackedBy) -> bool:
        """Add one event to every experiment tracking its metric in whose window it falls; whether any."""
        matched = False
        for experiment, _metric in by_metric.get(event.metric, ()):
            if not experiment.in_window(event.timestamp):
                continue
            sums = self._unit_sums.setdefault((experiment.key, event.metric, event.unit_key), [0.0, 0.0])
            sums[0] += event.value
            sums[1] += 1
            matched = True
        return matched

    async def submit_feedback(self, feedback: FeedbackSubmission) -> FeedbackReceipt:
        check_feedback(feedback)
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
        notes = collection_notes(index.problems.get(key, ()), self.dropped_exposures)
        return await asyncio.to_thread(self._analyze, config, correction, notes)

    def _analyze(
        self, config: ExperimentConfig, correction: Correction | None, notes: list[str]
    ) -> ExperimentResults:
        stored = self._store.load(
            config.key, {m.name: m.kind for m in config.tracked}, (config.start, config.stop or math.inf)
        )
        status = config.status(self._clock.now())
        return results_of(config, stored, correction=correction, notes=notes, status=status)

    # -- durability ------------------------------------------------------------------------------------

    async def _flush(self) -> None:
        exposures, self._exposures = self._exposures, []
        unit_sums, self._unit_sums = self._unit_sums, {}
        feedback, self._feedback = self._feedback, []
        if exposures or unit_sums or feedback:
            try:
                await asyncio.to_thread(self._write, exposures, unit_sums, feedback)
            except StorageError:
                # Exposures come from evaluations nobody waits for: they wait (within the buffer's bound)
                # for the next write. Metric events and feedback fail their callers, who may send them again.
                kept = exposures + self._exposures
                self.dropped_exposures += max(0, len(kept) - MAX_BUFFERED_EXPOSURES)
                self._exposures = kept[:MAX_BUFFERED_EXPOSURES]
                raise

    def _write(
        self,
        exposures: list[Exposure],
        unit_sums: dict[tuple[str, str, str], list[float]],
        feedback: list[FeedbackRow],
    ) -> None:
        self._store.save(exposure_rows(exposures, self._static), unit_sums, feedback)
