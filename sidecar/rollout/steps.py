"""One pure call per outcome batch and one per policy tick: what happens to a rollout, without any I/O.

The runtime makes the call, then persists and publishes what came back; it never walks the core step by
step. :func:`record` counts reported outcomes into the phase window and feeds V2's to the breaker and the
consecutive-failure trigger; :func:`tick` lets time pass for the breaker, asks the policy and carries out
its decision.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from sidecar.config.limits import LATENCY_MS
from sidecar.errors import InvalidArgumentError
from sidecar.rollout import transitions
from sidecar.rollout.decision import Decision
from sidecar.rollout.model import OutcomeKind, RolloutDefinition, Version
from sidecar.rollout.policy import decide
from sidecar.rollout.state import RolloutState
from sidecar.rollout.transitions import AuditEvent, Transition
from sidecar.rollout.windows import (
    BUCKET_SECONDS,
    EMPTY_COUNTS,
    BucketCounts,
    OutcomeRecord,
    WindowKey,
    add_outcomes,
    phase_window_key,
    totals,
)


@dataclass(frozen=True, slots=True)
class OutcomeReport:
    """One reported call, as the routing API receives it."""

    rollout_key: str
    version: Version
    kind: OutcomeKind
    latency_ms: float
    error_type: str | None
    generation: int  # 0: the current generation


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a batch of one rollout's outcomes changed: ``buckets`` holds only the buckets it touched."""

    state: RolloutState
    buckets: Mapping[WindowKey, BucketCounts]
    events: tuple[AuditEvent, ...]
    accepted: int
    stale: int


@dataclass(frozen=True, slots=True)
class Ticked:
    """One policy round of one rollout: the breaker's step, the decision taken on its result, and the
    decision's step (observers see the decision with the state it was taken on)."""

    checked: Transition
    decision: Decision
    decided: Transition


def check_batch(outcomes: Sequence[OutcomeReport], rollouts: Mapping[str, RolloutDefinition]) -> None:
    """Refuse the whole batch at its first bad outcome, naming it."""
    for index, outcome in enumerate(outcomes):
        if outcome.rollout_key not in rollouts:
            raise InvalidArgumentError(f"outcomes[{index}]: rollout {outcome.rollout_key!r} does not exist")
        # Refused above the limit; windows clamp what they count lower still.
        if not 0.0 <= outcome.latency_ms <= LATENCY_MS.value:
            raise InvalidArgumentError(
                f"outcomes[{index}].latency_ms must be between 0 and {LATENCY_MS.value} ms"
                f" (limit {LATENCY_MS.name})"
            )


def runs(outcomes: Sequence[OutcomeReport]) -> Iterator[tuple[str, list[OutcomeReport]]]:
    """Consecutive outcomes of the same rollout, in order: one :func:`record` call per run keeps events in
    the order the outcomes were reported in."""
    for rollout_key, run in itertools.groupby(outcomes, key=lambda outcome: outcome.rollout_key):
        yield rollout_key, list(run)


def record(
    definition: RolloutDefinition,
    state: RolloutState,
    window: Mapping[WindowKey, BucketCounts],
    outcomes: Sequence[OutcomeReport],
    now: float,
    bucket_seconds: int = BUCKET_SECONDS,
) -> Recorded:
    """Account ``outcomes`` (all of ``definition``'s rollout, in the order reported) at ``now``.

    Outcomes of another generation are stale and change nothing; the others land in the phase-aligned
    bucket of ``now``, and V2's move the breaker and the consecutive-failure trigger one by one.
    """
    grouped: dict[WindowKey, list[OutcomeRecord]] = {}
    events: list[AuditEvent] = []
    stale = 0
    for outcome in outcomes:
        if outcome.generation and outcome.generation != state.generation:
            stale += 1
            continue
        key = phase_window_key(outcome.version, now, state.phase_started_at, bucket_seconds)
        grouped.setdefault(key, []).append((outcome.kind, outcome.latency_ms, outcome.error_type))
        state, event = transitions.record_outcome(definition, state, outcome.version, outcome.kind, now)
        if event is not None:
            events.append(event)
    buckets = {key: add_outcomes(window.get(key, EMPTY_COUNTS), batch) for key, batch in grouped.items()}
    return Recorded(state, buckets, tuple(events), len(outcomes) - stale, stale)


def tick(
    definition: RolloutDefinition,
    state: RolloutState,
    window: Mapping[WindowKey, BucketCounts],
    group_v2: tuple[int, int],
    now: float,
    critical_alert: str | None = None,
) -> Ticked:
    """One policy round: breaker time (with the group's recent V2 ``(calls, failures)``), then the policy's
    decision on the phase window (the fleet's, when synced) and its transition."""
    checked = transitions.tick_breaker(definition, state, now, group_v2)
    state = checked[0]
    v1 = totals(window, Version.V1, state.phase_started_at)
    v2 = totals(window, Version.V2, state.phase_started_at)
    decision = decide(definition, state, v1, v2, now, critical_alert)
    return Ticked(checked, decision, transitions.apply_decision(definition, state, decision, now))
