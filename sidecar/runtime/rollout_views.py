"""What the rollout runtime shows: one rollout's current totals, and V1 against V2 over a generation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sidecar.rollout.model import RolloutDefinition, Version
from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts, VersionTotals, WindowKey, sum_counts, totals
from sidecar.stats.compare import VersionComparison, VersionSample, compare_versions


@dataclass(frozen=True, slots=True)
class RolloutView:
    """Everything GetRollout shows about one rollout at one instant."""

    definition: RolloutDefinition
    state: RolloutState
    v1: VersionTotals
    v2: VersionTotals
    now: float

    @classmethod
    def of(
        cls,
        definition: RolloutDefinition,
        state: RolloutState,
        window: Mapping[WindowKey, BucketCounts],
        now: float,
    ) -> RolloutView:
        """The view of ``state`` with both versions' totals over its current phase of ``window``."""
        v1 = totals(window, Version.V1, state.phase_started_at)
        v2 = totals(window, Version.V2, state.phase_started_at)
        return cls(definition, state, v1, v2, now)


def compare_generation(
    window: Mapping[WindowKey, BucketCounts], bucket_seconds: int, now: float
) -> VersionComparison:
    """V1 vs V2 over every bucket of ``window`` (a whole generation, from every node's stored rows)."""
    starts = [start for start, _ in window] or [int(now)]
    duration = max(starts) - min(starts) + bucket_seconds
    samples = {
        version: _sample(sum_counts(c for (_, v), c in window.items() if v is version), duration)
        for version in (Version.V1, Version.V2)
    }
    return compare_versions(samples[Version.V1], samples[Version.V2])


def _sample(counts: BucketCounts, duration_s: float) -> VersionSample:
    # The report counts rescued V2 failures as errors too: it compares how often each version failed.
    return VersionSample(
        requests=counts.requests,
        errors=counts.errors + counts.fallbacks,
        latency_sum_ms=counts.latency_sum_us / 1e3,
        latency_sum_sq_ms=counts.latency_sum_sq_us2 / 1e6,
        latency_buckets=counts.histogram,
        duration_s=float(duration_s),
    )
