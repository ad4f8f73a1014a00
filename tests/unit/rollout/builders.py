"""Small constructors shared by the rollout tests."""

from __future__ import annotations

from sidecar.rollout.model import DEFAULT_GATES, Gates, Phase, RollbackTriggers, RolloutDefinition, Version
from sidecar.rollout.windows import BucketCounts, VersionTotals, summarize
from sidecar.stats.histogram import LATENCY_BUCKET_COUNT, bucket_index

START = 1_700_000_000.0
DEFAULT_TRIGGERS = RollbackTriggers()


def counts(
    requests: int, errors: int = 0, fallbacks: int = 0, latency_ms: float | None = 100.0
) -> BucketCounts:
    """Aggregates where every success took ``latency_ms`` (none recorded when it is None)."""
    successes = requests - errors - fallbacks
    assert successes >= 0
    histogram = [0] * LATENCY_BUCKET_COUNT
    latency_n = successes if latency_ms is not None else 0
    micros = round(latency_ms * 1000) if latency_ms is not None else 0
    if latency_n:
        histogram[bucket_index(latency_ms or 0.0)] = latency_n
    return BucketCounts(
        requests=requests,
        successes=successes,
        errors=errors,
        fallbacks=fallbacks,
        latency_n=latency_n,
        latency_sum_us=micros * latency_n,
        latency_sum_sq_us2=micros * micros * latency_n,
        histogram=tuple(histogram),
        error_types=(("boom", errors + fallbacks),) if errors + fallbacks else (),
    )


def v1_totals(
    requests: int, errors: int = 0, fallbacks: int = 0, latency_ms: float | None = 100.0
) -> VersionTotals:
    return summarize(Version.V1, counts(requests, errors, fallbacks, latency_ms))


def v2_totals(
    requests: int, errors: int = 0, fallbacks: int = 0, latency_ms: float | None = 100.0
) -> VersionTotals:
    return summarize(Version.V2, counts(requests, errors, fallbacks, latency_ms))


def two_phase_definition(
    gates: Gates = DEFAULT_GATES,
    triggers: RollbackTriggers = DEFAULT_TRIGGERS,
    min_latency_samples: int = 100,
) -> RolloutDefinition:
    """CANARY 10 % (10 min soak, 100 samples, 1 h deadline) then FULL 100 % (no soak, 100 samples)."""
    full_gates = Gates(
        max_v2_error_rate=gates.max_v2_error_rate, min_v2_success_rate=gates.min_v2_success_rate
    )
    return RolloutDefinition(
        key="checkout",
        phases=(
            Phase("CANARY", 10.0, min_duration_s=600.0, min_samples=100, max_duration_s=3_600.0, gates=gates),
            Phase("FULL", 100.0, min_duration_s=0.0, min_samples=100, gates=full_gates),
        ),
        triggers=triggers,
        min_latency_samples=min_latency_samples,
    )
