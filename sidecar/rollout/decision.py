"""What the policy engine concluded and why: vocabulary shared by the policy, the state and the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class DecisionKind(StrEnum):
    HOLD = "HOLD"
    ADVANCE = "ADVANCE"
    ROLLBACK = "ROLLBACK"
    COMPLETE = "COMPLETE"


class ReasonCode(StrEnum):
    """Stable machine-readable reason of a decision; the human-readable text may change, these do not."""

    # ADVANCE / COMPLETE
    GATES_PASSED = "GATES_PASSED"
    # HOLD
    SOAKING = "SOAKING"  # data and gates fine, min_duration not over yet
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"  # fewer than min_samples V2 calls, or a gate has NO_DATA
    GATE_FAILING = "GATE_FAILING"  # a gate fails but no rollback trigger fired (yet)
    BREAKER_OPEN = "BREAKER_OPEN"  # never advance while V2's breaker is not closed
    PAUSED = "PAUSED"
    ROLLED_BACK = "ROLLED_BACK"
    COMPLETED = "COMPLETED"
    # ROLLBACK
    CRITICAL_ALERT = "CRITICAL_ALERT"
    CONSECUTIVE_FAILURES = "CONSECUTIVE_FAILURES"
    ERROR_RATE_CEILING = "ERROR_RATE_CEILING"
    FALLBACK_RATE_CEILING = "FALLBACK_RATE_CEILING"
    LATENCY_REGRESSION = "LATENCY_REGRESSION"
    ERROR_RATE_REGRESSION = "ERROR_RATE_REGRESSION"
    DEADLINE_WITHOUT_DATA = "DEADLINE_WITHOUT_DATA"
    DEADLINE_GATES_FAILING = "DEADLINE_GATES_FAILING"


class GateVerdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NO_DATA = "NO_DATA"


@dataclass(frozen=True, slots=True)
class GateResult:
    """One configured gate of the current phase: ``name`` is the :class:`~sidecar.rollout.model.Gates`
    attribute (e.g. ``max_v2_error_rate``), ``value`` is None with NO_DATA."""

    name: str
    value: float | None
    threshold: float
    verdict: GateVerdict


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's verdict for one rollout at one instant.

    ``generation`` and ``phase_index`` name the state it was computed for, so applying a decision that an
    operator action overtook is a no-op instead of a double step.
    """

    kind: DecisionKind
    reason: str
    code: ReasonCode
    numbers: Mapping[str, float]
    gates: tuple[GateResult, ...]
    generation: int
    phase_index: int
