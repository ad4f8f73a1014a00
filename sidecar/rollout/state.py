"""The mutable-over-time part of a rollout, as immutable snapshots: where it is, since when, and why.

Change it only through :mod:`sidecar.rollout.transitions`. The phase clock excludes paused time: a pause
freezes ``min_duration`` and the deadline, while the data gathered during the pause (same split) still counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sidecar.rollout.breaker import CLOSED, BreakerState
from sidecar.rollout.decision import Decision, ReasonCode


class RolloutStatus(StrEnum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    ROLLED_BACK = "ROLLED_BACK"  # everyone on V1 until an operator restarts it
    COMPLETED = "COMPLETED"  # everyone on V2, for good


@dataclass(frozen=True, slots=True)
class PhaseExtension:
    """The phase outlived its ``min_duration``: since when and for which hold code (first one seen)."""

    since: float
    code: ReasonCode


@dataclass(frozen=True, slots=True)
class RolloutState:
    key: str
    generation: int
    phase_index: int
    phase_started_at: float
    status: RolloutStatus = RolloutStatus.RUNNING
    paused_reason: str | None = None
    rolled_back_reason: str | None = None  # the operator's reason or the policy's explanation
    paused_at: float | None = None
    paused_s: float = 0.0  # earlier pauses within this phase, excluded from the phase clock
    extension: PhaseExtension | None = None
    last_decision: Decision | None = None
    last_decided_at: float | None = None
    consecutive_v2_failures: int = 0
    breaker: BreakerState = CLOSED

    @property
    def is_active(self) -> bool:
        """Still moving traffic between versions (RUNNING or PAUSED)."""
        return self.status in (RolloutStatus.RUNNING, RolloutStatus.PAUSED)


def initial_state(key: str, now: float, generation: int = 1) -> RolloutState:
    """A rollout that starts its first phase at ``now``."""
    return RolloutState(key=key, generation=generation, phase_index=0, phase_started_at=now)


def phase_elapsed(state: RolloutState, now: float) -> float:
    """Seconds on the phase clock: time in the current phase minus time spent paused."""
    paused = state.paused_s + (now - state.paused_at if state.paused_at is not None else 0.0)
    return max(0.0, now - state.phase_started_at - paused)
