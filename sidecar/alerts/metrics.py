"""Metric values over a rule's window, from the totals the daemon already keeps.

The rollout runtime exposes each version's totals since the current phase began, and the evaluation servicer
a running count of errors. Both only grow (within one phase), so what happened in the last ``W`` seconds is
the current total minus the total sampled ``W`` seconds ago. :class:`CumulativeHistory` keeps just enough
samples for that, which spares the hot paths any per-window bookkeeping. A window never reaches back past the
start of the current phase (or generation): data from before is about a different split.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping
from typing import Generic, TypeVar

from sidecar.alerts.model import Metric
from sidecar.rollout.decision import Decision
from sidecar.rollout.model import Version
from sidecar.rollout.windows import EMPTY_COUNTS, BucketCounts, VersionTotals, summarize

T = TypeVar("T")


class CumulativeHistory(Generic[T]):
    """Timestamped samples of a total that grows from zero at ``started_at``."""

    def __init__(self, started_at: float) -> None:
        self._started_at = started_at
        self._samples: deque[tuple[float, T]] = deque()

    def add(self, at: float, total: T, keep_s: float) -> None:
        """Record ``total`` at ``at``; keep what windows of up to ``keep_s`` seconds need."""
        self._samples.append((at, total))
        # The newest sample at or before ``at - keep_s`` is the baseline of the longest window; older go.
        while len(self._samples) > 1 and self._samples[1][0] <= at - keep_s:
            self._samples.popleft()

    def latest(self) -> T | None:
        return self._samples[-1][1] if self._samples else None

    def baseline(self, at: float, window_s: float) -> T | None:
        """The total ``window_s`` before ``at``: None (zero) when the window reaches back to the start, else
        the newest sample no later than that — or the oldest one, while sampling has not gone back so far."""
        cutoff = at - window_s
        if cutoff <= self._started_at or not self._samples:
            return None
        found = self._samples[0][1]
        for sampled_at, total in self._samples:
            if sampled_at > cutoff:
                break
            found = total
        return found


def counts_between(later: BucketCounts, earlier: BucketCounts) -> BucketCounts:
    """The outcomes added between two samples of the same growing totals (error types are not kept)."""
    return BucketCounts(
        later.requests - earlier.requests,
        later.successes - earlier.successes,
        later.errors - earlier.errors,
        later.fallbacks - earlier.fallbacks,
        later.latency_n - earlier.latency_n,
        later.latency_sum_us - earlier.latency_sum_us,
        later.latency_sum_sq_us2 - earlier.latency_sum_sq_us2,
        tuple(a - b for a, b in zip(later.histogram, earlier.histogram, strict=True)),
    )


SeriesId = tuple[int, float]
"""(generation, phase start): totals of one rollout grow only while this stays the same."""
OutcomeTotals = Mapping[Version, BucketCounts]


class OutcomeWindows:
    """Per rollout, each version's totals over the last ``window`` seconds."""

    def __init__(self) -> None:
        self._series: dict[str, tuple[SeriesId, CumulativeHistory[OutcomeTotals]]] = {}

    def record(self, rollout: str, series: SeriesId, totals: OutcomeTotals, at: float, keep_s: float) -> None:
        current = self._series.get(rollout)
        if current is None or current[0] != series:
            current = (series, CumulativeHistory(series[1]))  # a new phase or generation counts from zero
            self._series[rollout] = current
        current[1].add(at, totals, keep_s)

    def retain(self, rollouts: Collection[str]) -> None:
        """Forget rollouts that no longer exist."""
        for key in self._series.keys() - set(rollouts):
            del self._series[key]

    def totals(self, rollout: str, version: Version, at: float, window_s: float) -> VersionTotals:
        if rollout not in self._series:
            return summarize(version, EMPTY_COUNTS)
        history = self._series[rollout][1]
        latest = history.latest() or {}
        baseline = history.baseline(at, window_s) or {}
        return summarize(
            version,
            counts_between(latest.get(version, EMPTY_COUNTS), baseline.get(version, EMPTY_COUNTS)),
        )


def outcome_value(metric: Metric, totals: VersionTotals, *, min_requests: int) -> float | None:
    """An outcome metric's value; None (no data) with fewer than ``min_requests`` calls in the window, and
    without successful calls for latency: one failure out of one call is no reason to roll back."""
    if totals.requests < min_requests:
        return None
    if metric is Metric.ERROR_RATE:
        return totals.error_rate
    if metric is Metric.FALLBACK_RATE:
        return totals.fallback_rate
    return totals.p95_ms


def gate_value(decision: Decision | None, gate: str) -> float | None:
    """The value of ``gate`` in the policy's last decision; None when not configured or without data."""
    if decision is None:
        return None
    return next((result.value for result in decision.gates if result.name == gate), None)
