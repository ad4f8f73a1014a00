"""The experiments of one configuration snapshot, keyed for the paths that look them up: by flag (the
exposure hook), by metric (event intake) and by key (reads), with what is wrong between each experiment and
its flag."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sidecar.experiments.config import ExperimentConfig
from sidecar.experiments.flag_check import cross_check
from sidecar.experiments.model import MetricDefinition
from sidecar.store.sections import EXPERIMENT
from sidecar.store.snapshot import Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExperimentIndex:
    snapshot: Snapshot | None
    experiments: Mapping[str, ExperimentConfig] = field(default_factory=dict)
    by_flag: Mapping[str, tuple[ExperimentConfig, ...]] = field(default_factory=dict)
    by_metric: Mapping[str, tuple[tuple[ExperimentConfig, MetricDefinition], ...]] = field(
        default_factory=dict
    )
    problems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def index_experiments(snapshot: Snapshot) -> ExperimentIndex:
    """Index a snapshot's experiments; logs each one whose flag does not match it (once per snapshot)."""
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
    return ExperimentIndex(
        snapshot,
        experiments,
        {flag: tuple(items) for flag, items in by_flag.items()},
        {metric: tuple(items) for metric, items in by_metric.items()},
        problems,
    )
