"""Helpers that turn simulated per-unit values into the aggregates the analysis takes."""

from __future__ import annotations

import numpy as np

from sidecar.experiments import MetricAggregate


def aggregate(values: np.ndarray) -> MetricAggregate:
    """Per-unit values → mergeable aggregates (binomial successes filled in for 0/1 data)."""
    total = float(values.sum())
    ones = int(np.count_nonzero(values == 1.0))
    binary = bool(np.all((values == 0.0) | (values == 1.0)))
    return MetricAggregate(len(values), total, float((values * values).sum()), ones if binary else None)


def binomial(successes: int, n: int) -> MetricAggregate:
    return MetricAggregate.binomial(int(successes), int(n))
