"""Per-request routing: which version serves this unit right now, and why.

Precedence, first match wins:

1. ``ROLLED_BACK`` → V1 and ``COMPLETED`` → V2, always.
2. The unit's position: its sticky bucket, or a bucket from the caller's random draw when it has no stickiness
   value (``None`` or empty). Out of the split → V1 with reason ``NO_KEY_RANDOM``, ``PAUSED`` or
   ``OUT_OF_SPLIT``.
3. In the split, the breaker: OPEN → V1 ``FALLBACK_ACTIVE``; HALF_OPEN → the sticky probe share goes to V2 as
   ``BREAKER_PROBE``, the rest to V1 as ``FALLBACK_ACTIVE``.
4. Otherwise V2 with reason ``NO_KEY_RANDOM``, ``PAUSED`` or ``IN_SPLIT``.

Paused rollouts keep the current split. That is what an operator reaching for "pause" wants: freeze
everything where it is while they look, with no unit flipping versions (which would itself disturb the
metrics being investigated). Rolling back is the separate, explicit "get off V2" action, and the rollback
triggers stay armed while paused.

Cost: one murmur3 of the unit's key and one result object; thresholds and the hash prefix are precomputed in
the definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sidecar.rollout.assignment import draw_bucket, prefixed_bucket
from sidecar.rollout.breaker import BreakerState, BreakerStatus, effective_status
from sidecar.rollout.model import RolloutDefinition, Version
from sidecar.rollout.state import RolloutState, RolloutStatus


class RouteReason(StrEnum):
    IN_SPLIT = "IN_SPLIT"
    OUT_OF_SPLIT = "OUT_OF_SPLIT"
    NO_KEY_RANDOM = "NO_KEY_RANDOM"
    PAUSED = "PAUSED"
    FALLBACK_ACTIVE = "FALLBACK_ACTIVE"
    BREAKER_PROBE = "BREAKER_PROBE"
    ROLLED_BACK = "ROLLED_BACK"
    COMPLETED = "COMPLETED"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    version: Version
    phase: str
    reason: RouteReason


def route(
    definition: RolloutDefinition,
    state: RolloutState,
    breaker_state: BreakerState,
    stickiness_value: str | None,
    random_draw: float,
    now: float,
) -> RouteDecision:
    """Version for one request. ``breaker_state`` is normally ``state.breaker``; it is separate so a host can
    route on its freshest local breaker while ``state`` comes from a slower replicated snapshot.
    ``random_draw`` is uniform in ``[0, 1)`` and only used without a stickiness value."""
    phase = definition.phases[state.phase_index]
    status = state.status
    if status is RolloutStatus.ROLLED_BACK:
        return RouteDecision(Version.V1, phase.name, RouteReason.ROLLED_BACK)
    if status is RolloutStatus.COMPLETED:
        return RouteDecision(Version.V2, phase.name, RouteReason.COMPLETED)
    if stickiness_value:
        position = prefixed_bucket(definition.hash_prefix, stickiness_value)
        reason = RouteReason.PAUSED if status is RolloutStatus.PAUSED else RouteReason.IN_SPLIT
    else:
        position = draw_bucket(random_draw)
        reason = RouteReason.NO_KEY_RANDOM
    if position >= phase.threshold:
        out = RouteReason.OUT_OF_SPLIT if reason is RouteReason.IN_SPLIT else reason
        return RouteDecision(Version.V1, phase.name, out)
    if breaker_state.status is not BreakerStatus.CLOSED and definition.breaker.enabled:
        probing = effective_status(definition.breaker, breaker_state, now) is BreakerStatus.HALF_OPEN
        if probing and position < definition.probe_thresholds[state.phase_index]:
            return RouteDecision(Version.V2, phase.name, RouteReason.BREAKER_PROBE)
        return RouteDecision(Version.V1, phase.name, RouteReason.FALLBACK_ACTIVE)
    return RouteDecision(Version.V2, phase.name, reason)
