"""From buffered evaluations to exposure rows: the decisions the exposure hook leaves to the background
flush (experiment window, eligibility rule, one row per unit with first and last seen)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sidecar.evaluation.model import FlagResolver, Reason
from sidecar.experiments.config import ExperimentConfig
from sidecar.store.experiment_store import ExposureRow
from sidecar.store.snapshot import Snapshot

TARGETING_KEY = "targetingKey"

Exposure = tuple[tuple[ExperimentConfig, ...], Mapping[str, Any], str, float, Snapshot]
"""One buffered exposure: the flag's experiments, the request context, the variant, when, and the snapshot
(for flag_value in eligibility rules)."""


def exposure_rows(exposures: Sequence[Exposure], static_context: Mapping[str, Any]) -> list[ExposureRow]:
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
