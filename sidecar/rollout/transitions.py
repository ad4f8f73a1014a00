"""Every way a rollout's state changes, as pure functions returning ``(new_state, audit_event | None)``.

``None`` means nothing happened worth recording (and the returned state may be the same object). Manual
actions need a non-empty operator reason and are idempotent: applying one twice has the effect of applying it
once.
Actions that could step twice on a retry name their target — ``promote`` the phase to reach, ``restart`` the
generation it replaces — so a retried request finds the work done and changes nothing.

Terminal states: a rolled-back rollout stays ROLLED_BACK (all traffic on V1) until an operator restarts it; a
completed rollout stays COMPLETED for good (to go back, define a new rollout).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from sidecar.errors import FailedPreconditionError, InvalidArgumentError
from sidecar.rollout import breaker
from sidecar.rollout.breaker import BreakerChange, BreakerReason, BreakerStatus
from sidecar.rollout.decision import Decision, DecisionKind, ReasonCode
from sidecar.rollout.model import OutcomeKind, RolloutDefinition, Version
from sidecar.rollout.state import PhaseExtension, RolloutState, RolloutStatus, initial_state, phase_elapsed

POLICY_ACTOR = "policy"
BREAKER_ACTOR = "breaker"

# Holds that mean "this phase is taking longer than planned" once min_duration is over.
_EXTENDING_CODES = frozenset({ReasonCode.INSUFFICIENT_DATA, ReasonCode.GATE_FAILING})


class AuditKind(StrEnum):
    ADVANCED = "ADVANCED"
    COMPLETED = "COMPLETED"
    ROLLED_BACK = "ROLLED_BACK"
    EXTENDED = "EXTENDED"
    PAUSED = "PAUSED"
    RESUMED = "RESUMED"
    PROMOTED = "PROMOTED"
    RESTARTED = "RESTARTED"
    BREAKER_OPENED = "BREAKER_OPENED"
    BREAKER_HALF_OPENED = "BREAKER_HALF_OPENED"
    BREAKER_CLOSED = "BREAKER_CLOSED"


_BREAKER_KINDS = {
    BreakerStatus.OPEN: AuditKind.BREAKER_OPENED,
    BreakerStatus.HALF_OPEN: AuditKind.BREAKER_HALF_OPENED,
    BreakerStatus.CLOSED: AuditKind.BREAKER_CLOSED,
}


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One recorded change. ``actor`` is ``"policy"``, ``"breaker"`` or the operator's identity; ``code`` is
    the policy's or breaker's reason code (None for manual actions, whose ``reason`` is the operator's)."""

    rollout_key: str
    generation: int
    at: float
    kind: AuditKind
    actor: str
    reason: str
    code: ReasonCode | BreakerReason | None
    from_status: RolloutStatus
    to_status: RolloutStatus
    from_phase: str
    to_phase: str
    numbers: Mapping[str, float] = field(default_factory=dict)


Transition = tuple[RolloutState, AuditEvent | None]


def apply_decision(
    definition: RolloutDefinition, state: RolloutState, decision: Decision, now: float
) -> Transition:
    """Carry out what :func:`sidecar.rollout.policy.decide` concluded.

    A decision computed for another generation or phase (an operator acted in between) changes nothing.
    """
    if (decision.generation, decision.phase_index) != (state.generation, state.phase_index):
        return state, None
    if not state.is_active:
        # A finished rollout keeps the decision that finished it: later ticks must not bury the reason.
        return state, None
    noted = replace(state, last_decision=decision, last_decided_at=now)
    if decision.kind is DecisionKind.HOLD:
        return _maybe_extend(definition, state, noted, decision, now)
    if decision.kind is DecisionKind.ROLLBACK and state.is_active:
        after = replace(
            _unpause(noted, now), status=RolloutStatus.ROLLED_BACK, rolled_back_reason=decision.reason
        )
        return after, _decision_event(definition, state, after, AuditKind.ROLLED_BACK, decision, now)
    if state.status is not RolloutStatus.RUNNING:
        return noted, None  # only a running rollout moves forward
    if decision.kind is DecisionKind.COMPLETE or state.phase_index == definition.last_phase_index:
        after = replace(noted, status=RolloutStatus.COMPLETED, extension=None)
        return after, _decision_event(definition, state, after, AuditKind.COMPLETED, decision, now)
    after = _enter_phase(noted, state.phase_index + 1, now)
    return after, _decision_event(definition, state, after, AuditKind.ADVANCED, decision, now)


def record_outcome(
    definition: RolloutDefinition, state: RolloutState, version: Version, kind: OutcomeKind, now: float
) -> Transition:
    """Count one reported call against the consecutive-failure trigger and the breaker (V2 only)."""
    if version is not Version.V2 or not state.is_active:
        return state, None
    failed = kind is not OutcomeKind.SUCCESS
    breaker_state, change = breaker.record(definition.breaker, state.breaker, failed, now)
    consecutive = state.consecutive_v2_failures + 1 if failed else 0
    if breaker_state is state.breaker and consecutive == state.consecutive_v2_failures:
        return state, None
    after = replace(state, breaker=breaker_state, consecutive_v2_failures=consecutive)
    return after, _breaker_event(definition, after, change)


def tick_breaker(
    definition: RolloutDefinition, state: RolloutState, now: float, group_v2: tuple[int, int] = (0, 0)
) -> Transition:
    """Let time pass for the breaker (OPEN → HALF_OPEN after the cool-down) and check the group's V2 failure
    rate, ``group_v2`` being the other sidecars' recent (calls, failures); call it every tick."""
    breaker_state, change = breaker.advance(definition.breaker, state.breaker, now)
    if change is None:
        breaker_state, change = breaker.check_group(definition.breaker, state.breaker, *group_v2, now)
    if change is None:
        return state, None
    after = replace(state, breaker=breaker_state)
    return after, _breaker_event(definition, after, change)


def pause(
    definition: RolloutDefinition, state: RolloutState, reason: str, actor: str, now: float
) -> Transition:
    """Freeze the rollout where it is: the split keeps serving, nothing advances, the phase clock stops.

    Rollback triggers stay armed, since V2 still serves its share. Pausing a paused rollout changes nothing.
    """
    reason = _operator_reason(reason)
    if state.status is RolloutStatus.PAUSED:
        return state, None
    _require_active(state, "pause")
    after = replace(state, status=RolloutStatus.PAUSED, paused_reason=reason, paused_at=now)
    return after, _event(definition, state, after, AuditKind.PAUSED, actor=actor, reason=reason, at=now)


def resume(
    definition: RolloutDefinition, state: RolloutState, reason: str, actor: str, now: float
) -> Transition:
    """Restart the phase clock where it stopped. Resuming a running rollout changes nothing."""
    reason = _operator_reason(reason)
    if state.status is RolloutStatus.RUNNING:
        return state, None
    _require_active(state, "resume")
    after = _unpause(state, now)
    return after, _event(definition, state, after, AuditKind.RESUMED, actor=actor, reason=reason, at=now)


def promote(
    definition: RolloutDefinition, state: RolloutState, to_phase: int, reason: str, actor: str, now: float
) -> Transition:
    """Move to phase ``to_phase`` now, skipping what is left of the checks before it; a promoted rollout
    runs, even if it was paused. ``to_phase == len(definition.phases)`` (one past the last) completes it.

    "Next" is ``phase_index + 1`` (from the last phase, that completes); "full" is
    ``definition.last_phase_index``, where the 100 % phase still bakes under the rollback triggers. Resolve
    "next" against the phase the operator saw, so a retry is a no-op: reaching a phase the rollout already
    reached or passed changes nothing.
    """
    reason = _operator_reason(reason)
    if state.status is RolloutStatus.COMPLETED:
        return state, None
    _require_active(state, "promote")
    if not 0 <= to_phase <= len(definition.phases):
        raise InvalidArgumentError(f"rollout {state.key!r} has no phase {to_phase}")
    if to_phase <= state.phase_index:
        return state, None
    after = _enter_phase(state, min(to_phase, definition.last_phase_index), now)
    if to_phase == len(definition.phases):
        after = replace(after, status=RolloutStatus.COMPLETED)
    return after, _event(definition, state, after, AuditKind.PROMOTED, actor=actor, reason=reason, at=now)


def rollback(
    definition: RolloutDefinition, state: RolloutState, reason: str, actor: str, now: float
) -> Transition:
    """Send everyone to V1 until a restart. Rolling back a rolled-back rollout changes nothing."""
    reason = _operator_reason(reason)
    if state.status is RolloutStatus.ROLLED_BACK:
        return state, None
    _require_active(state, "roll back")
    after = replace(_unpause(state, now), status=RolloutStatus.ROLLED_BACK, rolled_back_reason=reason)
    return after, _event(definition, state, after, AuditKind.ROLLED_BACK, actor=actor, reason=reason, at=now)


def restart(
    definition: RolloutDefinition,
    state: RolloutState,
    from_generation: int,
    reason: str,
    actor: str,
    now: float,
) -> Transition:
    """Start over at phase 0 as generation ``from_generation + 1``, with a fresh breaker and counters.

    A retry (``from_generation`` older than the current generation) changes nothing. Outcome windows should be
    read from the new ``phase_started_at`` on, so the old generation's data does not judge the new one.
    """
    reason = _operator_reason(reason)
    if from_generation < state.generation:
        return state, None
    if from_generation > state.generation:
        raise InvalidArgumentError(
            f"rollout {state.key!r} is at generation {state.generation}, not {from_generation}"
        )
    if state.status is RolloutStatus.COMPLETED:
        raise FailedPreconditionError(f"rollout {state.key!r} is completed; define a new rollout to go back")
    after = initial_state(state.key, now, state.generation + 1)
    return after, _event(definition, state, after, AuditKind.RESTARTED, actor=actor, reason=reason, at=now)


def _maybe_extend(
    definition: RolloutDefinition, before: RolloutState, noted: RolloutState, decision: Decision, now: float
) -> Transition:
    phase = definition.phases[before.phase_index]
    if (
        before.status is not RolloutStatus.RUNNING
        or before.extension is not None
        or decision.code not in _EXTENDING_CODES
        or phase_elapsed(before, now) < phase.min_duration_s
    ):
        return noted, None
    after = replace(noted, extension=PhaseExtension(now, decision.code))
    return after, _decision_event(definition, before, after, AuditKind.EXTENDED, decision, now)


def _enter_phase(state: RolloutState, index: int, now: float) -> RolloutState:
    return replace(
        state,
        phase_index=index,
        phase_started_at=now,
        status=RolloutStatus.RUNNING,
        paused_reason=None,
        paused_at=None,
        paused_s=0.0,
        extension=None,
    )


def _unpause(state: RolloutState, now: float) -> RolloutState:
    if state.paused_at is None:
        return state
    return replace(
        state,
        status=RolloutStatus.RUNNING,
        paused_reason=None,
        paused_at=None,
        paused_s=state.paused_s + max(0.0, now - state.paused_at),
    )


def _operator_reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidArgumentError("a manual rollout action needs a reason")
    return reason.strip()


def _require_active(state: RolloutState, action: str) -> None:
    if not state.is_active:
        hint = "restart it first" if state.status is RolloutStatus.ROLLED_BACK else "it is final"
        raise FailedPreconditionError(
            f"cannot {action} rollout {state.key!r}: it is {state.status.value}; {hint}"
        )


def _event(
    definition: RolloutDefinition,
    before: RolloutState,
    after: RolloutState,
    kind: AuditKind,
    *,
    actor: str,
    reason: str,
    at: float,
    code: ReasonCode | BreakerReason | None = None,
    numbers: Mapping[str, float] | None = None,
) -> AuditEvent:
    return AuditEvent(
        rollout_key=after.key,
        generation=after.generation,
        at=at,
        kind=kind,
        actor=actor,
        reason=reason,
        code=code,
        from_status=before.status,
        to_status=after.status,
        from_phase=definition.phases[before.phase_index].name,
        to_phase=definition.phases[after.phase_index].name,
        numbers=numbers if numbers is not None else {},
    )


def _decision_event(
    definition: RolloutDefinition,
    before: RolloutState,
    after: RolloutState,
    kind: AuditKind,
    decision: Decision,
    now: float,
) -> AuditEvent:
    return _event(
        definition,
        before,
        after,
        kind,
        actor=POLICY_ACTOR,
        reason=decision.reason,
        at=now,
        code=decision.code,
        numbers=decision.numbers,
    )


def _breaker_event(
    definition: RolloutDefinition, state: RolloutState, change: BreakerChange | None
) -> AuditEvent | None:
    if change is None:
        return None
    kind = _BREAKER_KINDS[change.to_status]
    return _event(
        definition,
        state,
        state,
        kind,
        actor=BREAKER_ACTOR,
        reason=change.reason,
        at=change.at,
        code=change.code,
    )
