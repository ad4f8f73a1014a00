"""Deterministic, monotonic V1/V2 assignment.

A unit (the value of the rollout's stickiness attribute) gets a fixed bucket in ``[0, 1_000_000)``:
``(murmur3_32(UTF-8 of "{rollout_key}/{value}") * 1_000_000) >> 32``. It is on V2 iff its bucket is below
``percent × 10_000``. Because the bucket never changes and the threshold only grows, a unit on V2 at 10 % is
still on V2 at 50 %: raising the percentage only moves units from V1 to V2. Salting with the rollout key keeps
different rollouts' canary populations independent. Resolution is 0.0001 %.
"""

from __future__ import annotations

from sidecar.evaluation.murmur3 import murmur3_32

BUCKETS = 1_000_000
BUCKETS_PER_PERCENT = BUCKETS // 100


def hash_prefix(rollout_key: str) -> bytes:
    """The constant part of a unit's hash input; rollout definitions precompute it."""
    return f"{rollout_key}/".encode()


def prefixed_bucket(prefix: bytes, stickiness_value: str) -> int:
    """Bucket of ``stickiness_value`` under a precomputed :func:`hash_prefix`."""
    return (murmur3_32(prefix + stickiness_value.encode()) * BUCKETS) >> 32


def unit_bucket(rollout_key: str, stickiness_value: str) -> int:
    """Bucket in ``[0, BUCKETS)`` of one unit in one rollout."""
    return prefixed_bucket(hash_prefix(rollout_key), stickiness_value)


def draw_bucket(random_draw: float) -> int:
    """Bucket for a unit without a stickiness value, from a caller-supplied uniform draw in ``[0, 1)``."""
    return min(BUCKETS - 1, max(0, int(random_draw * BUCKETS)))


def percent_threshold(percent: float) -> int:
    """Buckets below this threshold are on V2 at ``percent`` (0–100)."""
    return round(percent * BUCKETS_PER_PERCENT)


def is_v2(bucket: int, percent: float) -> bool:
    return bucket < percent_threshold(percent)
