"""Rollout definitions: what a staged V1 → V2 migration looks like, as validated, immutable data.

Build definitions with :func:`sidecar.rollout.parse.parse_rollouts` or
:func:`~sidecar.rollout.parse.rollout_from_mapping`: those validate every field. Constructing the dataclasses
directly skips validation and is meant for tests and the built-in defaults below.

Units: anything named ``*_percent`` is 0–100, anything named ``*_rate`` a fraction 0–1, durations are seconds,
latencies milliseconds. Each tunable field carries its YAML name and kind in ``metadata`` so the parser, the
policy's gate names and the documentation share one spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sidecar.rollout.assignment import hash_prefix, percent_threshold

DEFAULT_MIN_SAMPLES = 100  # V2 calls a phase needs before it may advance
DEFAULT_MIN_LATENCY_SAMPLES = 100  # successful calls per version before p95s are compared


class Version(StrEnum):
    V1 = "V1"
    V2 = "V2"


class OutcomeKind(StrEnum):
    """How one call ended, as the service reports it (see :func:`outcome_kind`).

    ``FALLBACK`` means V2 failed or timed out and V1 answered instead: degraded but not user-visible, so it is
    counted apart from ``ERROR`` and has its own, looser ceiling.
    """

    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    FALLBACK = "FALLBACK"


def outcome_kind(success: bool, fallback: bool) -> OutcomeKind:
    """Classify a reported call (``success`` after any fallback; ``fallback``: V2 failed, V1 was tried).

    ===========  ============  ==========
    ``success``  ``fallback``  kind
    ===========  ============  ==========
    True         False         SUCCESS
    True         True          FALLBACK   V2 failed, V1 rescued the call
    False        True          ERROR      V2 failed and so did V1: the user saw the failure
    False        False         ERROR
    ===========  ============  ==========

    Every V2 failure, rescued or not, is a non-SUCCESS kind, so the breaker and the consecutive-failure
    trigger count all of them. With one kind per call the rates cannot also say that: ``error_rate`` (its
    gate, ceiling, regression test and alert) counts user-visible failures only, while rescued V2 failures
    show in ``fallback_rate`` (its own gate, ceiling and alert); the V1/V2 report counts both as errors.
    """
    if not success:
        return OutcomeKind.ERROR
    return OutcomeKind.FALLBACK if fallback else OutcomeKind.SUCCESS


class FieldKind(StrEnum):
    """How the parser reads and checks one scalar field."""

    RATE = "RATE"  # fraction in [0, 1]
    RATIO = "RATIO"  # number > 0
    MILLIS = "MILLIS"  # number >= 0, milliseconds
    COUNT = "COUNT"  # whole number >= 1
    DURATION = "DURATION"  # seconds > 0, number or "30s" / "10m" / "1h"
    PERCENT = "PERCENT"  # number in (0, 100]
    FLAG = "FLAG"  # boolean


def _spec(yaml: str, kind: FieldKind, default: Any, *, nullable: bool = False) -> Any:
    """A dataclass field with its YAML name; ``nullable`` fields accept ``null`` to switch the check off."""
    return field(default=default, metadata={"yaml": yaml, "kind": kind, "nullable": nullable})


@dataclass(frozen=True, slots=True)
class Gates:
    """Conditions a phase must meet to advance; ``None`` switches a gate off.

    Comparative gates (``max_error_rate_increase``, ``max_latency_*``) compare V2 with V1 over the same window
    and so cannot apply to a 100 % phase, where V1 gets no traffic.
    """

    min_v2_success_rate: float | None = _spec("minV2SuccessRate", FieldKind.RATE, None, nullable=True)
    max_v2_error_rate: float | None = _spec("maxV2ErrorRate", FieldKind.RATE, None, nullable=True)
    max_error_rate_increase: float | None = _spec("maxErrorRateIncrease", FieldKind.RATE, None, nullable=True)
    max_latency_ratio: float | None = _spec("maxLatencyRatio", FieldKind.RATIO, None, nullable=True)
    max_latency_increase_ms: float | None = _spec(
        "maxLatencyIncreaseMs", FieldKind.MILLIS, None, nullable=True
    )
    max_fallback_rate: float | None = _spec("maxFallbackRate", FieldKind.RATE, None, nullable=True)


COMPARATIVE_GATES = frozenset({"max_error_rate_increase", "max_latency_ratio", "max_latency_increase_ms"})
"""Gate attributes that need V1 traffic in the same window."""

DEFAULT_GATES = Gates(max_v2_error_rate=0.05, max_error_rate_increase=0.02, max_latency_ratio=1.5)
"""Rollout-wide gates when a definition names none: V2 under 5 % errors, at most 2 points worse than V1 and
a p95 at most 1.5× V1's."""


@dataclass(frozen=True, slots=True)
class RollbackTriggers:
    """Conditions that roll back at once, in any phase, paused or not.

    Rate ceilings are judged only once V2 has ``min_requests`` calls in the phase window (until then the
    consecutive-failure trigger is the safety net); latency triggers need
    :attr:`RolloutDefinition.min_latency_samples` on both sides.
    """

    max_error_rate: float | None = _spec("maxErrorRate", FieldKind.RATE, 0.10, nullable=True)
    max_fallback_rate: float | None = _spec("maxFallbackRate", FieldKind.RATE, 0.25, nullable=True)
    max_latency_ratio: float | None = _spec("maxLatencyRatio", FieldKind.RATIO, 2.0, nullable=True)
    max_latency_increase_ms: float | None = _spec(
        "maxLatencyIncreaseMs", FieldKind.MILLIS, None, nullable=True
    )
    consecutive_failures: int | None = _spec("consecutiveFailures", FieldKind.COUNT, 20, nullable=True)
    on_critical_alert: bool = _spec("onCriticalAlert", FieldKind.FLAG, True)
    min_requests: int = _spec("minRequests", FieldKind.COUNT, 50)


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """Per-host circuit breaker on V2 calls (see :mod:`sidecar.rollout.breaker`)."""

    enabled: bool = _spec("enabled", FieldKind.FLAG, True)
    consecutive_failures: int | None = _spec("consecutiveFailures", FieldKind.COUNT, 5, nullable=True)
    error_rate: float | None = _spec("errorRate", FieldKind.RATE, 0.5, nullable=True)
    window_s: float = _spec("window", FieldKind.DURATION, 10.0)
    min_requests: int = _spec("minRequests", FieldKind.COUNT, 20)
    cool_down_s: float = _spec("coolDown", FieldKind.DURATION, 30.0)
    probe_percent: float = _spec("probePercent", FieldKind.PERCENT, 5.0)
    probe_successes: int = _spec("probeSuccesses", FieldKind.COUNT, 3)


@dataclass(frozen=True, slots=True)
class Phase:
    """One step of the plan: ``v2_percent`` of units on V2 until the policy moves on.

    ``max_duration_s`` is the deadline on the phase clock (which excludes paused time): a phase that reaches
    it without ``min_samples`` V2 calls, or with a gate still failing, rolls back. ``None`` waits forever.
    """

    name: str
    v2_percent: float
    min_duration_s: float = 0.0
    min_samples: int = DEFAULT_MIN_SAMPLES
    max_duration_s: float | None = None
    gates: Gates = Gates()
    # Assignment threshold in the 1,000,000-bucket space: unit is on V2 iff its bucket < threshold.
    threshold: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", percent_threshold(self.v2_percent))


def default_phases(gates: Gates = DEFAULT_GATES) -> tuple[Phase, ...]:
    """The plan used when a definition names none: 1 % → 10 % → 50 % → 100 %.

    Deadlines give a 1 % canary two hours to collect 100 V2 calls (about 1.4 requests per second overall);
    slower services should set their own plan. The 100 % phase keeps only the absolute gates.
    """
    return (
        Phase("CANARY", 1.0, 600.0, 100, 7_200.0, gates),
        Phase("TESTING", 10.0, 1_800.0, 500, 21_600.0, gates),
        Phase("VALIDATION", 50.0, 3_600.0, 1_000, 43_200.0, gates),
        Phase("FULL_ROLLOUT", 100.0, 0.0, 100, None, without_comparative(gates)),
    )


def without_comparative(gates: Gates) -> Gates:
    """``gates`` with the comparative gates switched off, for a 100 % phase."""
    return replace(gates, **dict.fromkeys(COMPARATIVE_GATES))


@dataclass(frozen=True, slots=True)
class RolloutDefinition:
    """A staged migration of one call path from V1 to V2.

    ``stickiness`` names the evaluation-context attribute whose value keeps a unit on one version (flagd's
    ``targetingKey`` by default). ``source`` says where the definition came from (file path or ``"admin"``).
    """

    key: str
    phases: tuple[Phase, ...] = default_phases()
    stickiness: str = "targetingKey"
    triggers: RollbackTriggers = RollbackTriggers()
    breaker: BreakerSettings = BreakerSettings()
    min_latency_samples: int = DEFAULT_MIN_LATENCY_SAMPLES
    source: str = "admin"
    description: str = ""
    # Precomputed for the per-request router: murmur3 input prefix and per-phase probe thresholds.
    hash_prefix: bytes = field(init=False, repr=False, compare=False)
    probe_thresholds: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash_prefix", hash_prefix(self.key))
        share = self.breaker.probe_percent / 100.0
        # At least one bucket so a half-open breaker on a tiny canary still gets probes.
        probes = tuple(max(1, round(p.threshold * share)) if p.threshold else 0 for p in self.phases)
        object.__setattr__(self, "probe_thresholds", probes)

    @property
    def last_phase_index(self) -> int:
        return len(self.phases) - 1

    def phase_index(self, name: str) -> int:
        """Index of the phase called ``name``; ``KeyError`` when there is none."""
        for index, phase in enumerate(self.phases):
            if phase.name == name:
                return index
        raise KeyError(name)
