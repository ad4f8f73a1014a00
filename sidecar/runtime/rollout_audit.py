"""The audit rows the rollout runtime writes: a rollout's adoption, its redefinition, and every core event."""

from __future__ import annotations

from typing import Any

from sidecar.rollout import transitions
from sidecar.rollout.model import RolloutDefinition
from sidecar.rollout.state import RolloutState
from sidecar.rollout.transitions import AuditEvent
from sidecar.store.database import AuditDraft
from sidecar.store.rollout_store import AuditRow


def started_row(definition: RolloutDefinition, state: RolloutState, now: float) -> AuditRow:
    """A rollout seen for the first time starts at its first phase."""
    reason = f"rollout defined in {definition.source}; starting at {definition.phases[0].name}"
    draft = AuditDraft(now, transitions.POLICY_ACTOR, "rollout.started", definition.key, reason)
    return AuditRow(draft, None, _summary(definition, state))


def redefined_row(
    definition: RolloutDefinition, before: RolloutState, after: RolloutState, now: float
) -> AuditRow:
    reason = "definition changed: phase analysis restarted"
    draft = AuditDraft(now, transitions.POLICY_ACTOR, "rollout.redefined", after.key, reason)
    return AuditRow(draft, _summary(definition, before), _summary(definition, after))


def event_row(event: AuditEvent) -> AuditRow:
    before = {"status": event.from_status.value, "phase": event.from_phase, "generation": event.generation}
    after: dict[str, Any] = {
        "status": event.to_status.value,
        "phase": event.to_phase,
        "generation": event.generation,
    }
    if event.code is not None:
        after["code"] = event.code.value
    if event.numbers:
        after["numbers"] = dict(event.numbers)
    draft = AuditDraft(
        event.at, event.actor, f"rollout.{event.kind.value.lower()}", event.rollout_key, event.reason
    )
    return AuditRow(draft, before, after)


def _summary(definition: RolloutDefinition, state: RolloutState) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "phase": definition.phases[state.phase_index].name,
        "phaseIndex": state.phase_index,
        "generation": state.generation,
    }
