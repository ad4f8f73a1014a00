"""Staged V1 → V2 rollouts: the pure domain (no I/O, no threads, no clocks — ``now`` is always passed in).

* :mod:`~sidecar.rollout.model` — definitions (phases, gates, triggers, breaker settings) and defaults;
  :mod:`~sidecar.rollout.parse` reads them from configuration (YAML shape documented there).
* :mod:`~sidecar.rollout.assignment` — deterministic, monotonic unit → bucket assignment.
* :mod:`~sidecar.rollout.router` — per-request :func:`route`.
* :mod:`~sidecar.rollout.windows` — mergeable outcome aggregates and per-version totals.
* :mod:`~sidecar.rollout.breaker` — per-host circuit breaker state machine.
* :mod:`~sidecar.rollout.policy` — :func:`decide`, the policy engine.
* :mod:`~sidecar.rollout.state` and :mod:`~sidecar.rollout.transitions` — rollout state and every change to
  it, each returning the new state and an audit event.
* :mod:`~sidecar.rollout.steps` — the one call per reported batch (:func:`~sidecar.rollout.steps.record`)
  and per policy tick (:func:`~sidecar.rollout.steps.tick`) that the runtime makes.

One tick of the daemon's loop, per rollout, is what :func:`~sidecar.rollout.steps.tick` does::

    state, event = tick_breaker(definition, state, now)
    v1 = totals(window, Version.V1, since=state.phase_started_at)
    v2 = totals(window, Version.V2, since=state.phase_started_at)
    decision = decide(definition, state, v1, v2, now, critical_alert)
    state, event = apply_decision(definition, state, decision, now)
"""

from sidecar.rollout.assignment import unit_bucket
from sidecar.rollout.breaker import BreakerChange, BreakerReason, BreakerState, BreakerStatus
from sidecar.rollout.decision import Decision, DecisionKind, GateResult, GateVerdict, ReasonCode
from sidecar.rollout.model import (
    DEFAULT_GATES,
    BreakerSettings,
    Gates,
    OutcomeKind,
    Phase,
    RollbackTriggers,
    RolloutDefinition,
    Version,
    default_phases,
    outcome_kind,
)
from sidecar.rollout.parse import parse_duration, parse_rollouts, rollout_from_mapping
from sidecar.rollout.policy import decide
from sidecar.rollout.router import RouteDecision, RouteReason, route
from sidecar.rollout.state import PhaseExtension, RolloutState, RolloutStatus, initial_state, phase_elapsed
from sidecar.rollout.transitions import (
    AuditEvent,
    AuditKind,
    apply_decision,
    pause,
    promote,
    record_outcome,
    restart,
    resume,
    rollback,
    tick_breaker,
)
from sidecar.rollout.windows import (
    EMPTY_COUNTS,
    BucketCounts,
    VersionTotals,
    add_outcome,
    add_outcomes,
    merge_counts,
    merge_windows,
    prune,
    totals,
    window_key,
)

__all__ = [
    "DEFAULT_GATES",
    "EMPTY_COUNTS",
    "AuditEvent",
    "AuditKind",
    "BreakerChange",
    "BreakerReason",
    "BreakerSettings",
    "BreakerState",
    "BreakerStatus",
    "BucketCounts",
    "Decision",
    "DecisionKind",
    "GateResult",
    "GateVerdict",
    "Gates",
    "OutcomeKind",
    "Phase",
    "PhaseExtension",
    "ReasonCode",
    "RollbackTriggers",
    "RolloutDefinition",
    "RolloutState",
    "RolloutStatus",
    "RouteDecision",
    "RouteReason",
    "Version",
    "VersionTotals",
    "add_outcome",
    "add_outcomes",
    "apply_decision",
    "decide",
    "default_phases",
    "initial_state",
    "merge_counts",
    "merge_windows",
    "outcome_kind",
    "parse_duration",
    "parse_rollouts",
    "pause",
    "phase_elapsed",
    "promote",
    "prune",
    "record_outcome",
    "restart",
    "resume",
    "rollback",
    "rollout_from_mapping",
    "route",
    "tick_breaker",
    "totals",
    "unit_bucket",
    "window_key",
]
