"""The policy engine: a pure function from (definition, state, V1 and V2 totals, now) to a :class:`Decision`.

Both totals must cover the *current phase's* window — the same buckets for both versions, e.g.
``windows.totals(window, version, since=state.phase_started_at)`` — so V2 is compared with V1 under the same
conditions. Rules, first match wins:

1. ROLLED_BACK / COMPLETED → HOLD with that code.
2. Rollback triggers, checked even while paused (V2 still serves its split):
   a critical alert naming the rollout → ``CRITICAL_ALERT``; ``consecutive_failures`` V2 failures in a row →
   ``CONSECUTIVE_FAILURES``; V2 error or fallback rate above its ceiling once V2 has ``min_requests`` calls →
   ``ERROR_RATE_CEILING`` / ``FALLBACK_RATE_CEILING``; V2 p95 above the ratio or ms trigger with
   ``min_latency_samples`` successful calls on both sides → ``LATENCY_REGRESSION``; an error-rate regression
   → ``ERROR_RATE_REGRESSION`` (below).
3. PAUSED → HOLD ``PAUSED``; breaker not closed → HOLD ``BREAKER_OPEN`` (never advance while V2 is shed).
4. Fewer than ``min_samples`` V2 calls, or a gate without data and none failing → HOLD
   ``INSUFFICIENT_DATA``, or ROLLBACK ``DEADLINE_WITHOUT_DATA`` once the phase clock reaches ``max_duration``.
5. A gate failing → HOLD ``GATE_FAILING``, or ROLLBACK ``DEADLINE_GATES_FAILING`` at the deadline.
6. ``min_duration`` not over → HOLD ``SOAKING``.
7. Otherwise ADVANCE, or COMPLETE from the last phase (``GATES_PASSED``).

So ADVANCE/COMPLETE happen only when every configured gate PASSes.

**Error-rate regression.** Judging V2 − V1 on raw rates after every tick would roll back healthy versions on
a few early errors (2 of 20 is 10 %), and a fixed-sample test re-run every second has a false-alarm rate far
above its nominal alpha. The regression rule therefore uses the always-valid mSPRT
(:func:`sidecar.stats.sequential.sequential_proportion_difference`, V1 as control), which stays valid
however often it is looked at, with ``tau =`` :data:`REGRESSION_TAU` (fixed for every rollout, as the test
requires; it is most sensitive to regressions of about that size) and ``alpha =`` :data:`REGRESSION_ALPHA`. It
rolls back only when the test is significant *and* the observed increase exceeds the phase gate
``max_error_rate_increase`` (without that gate there is no regression rule): significance proves V2 is worse,
the threshold says by enough to matter. Below that, a failing gate only holds the phase.

``Decision.numbers`` keys (present when computable): ``v1_requests``, ``v2_requests``, ``v1_error_rate``,
``v2_error_rate``, ``v2_success_rate``, ``v2_fallback_rate``, ``error_rate_increase``, ``v1_p95_ms``,
``v2_p95_ms``, ``p95_ratio``, ``p95_increase_ms``, ``regression_p_value``, ``regression_ci_low``,
``regression_ci_high``, ``phase_elapsed_s``, ``consecutive_v2_failures``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sidecar.rollout.breaker import BreakerStatus
from sidecar.rollout.decision import Decision, DecisionKind, GateResult, GateVerdict, ReasonCode
from sidecar.rollout.model import Gates, Phase, RolloutDefinition
from sidecar.rollout.state import RolloutState, RolloutStatus, phase_elapsed
from sidecar.rollout.windows import VersionTotals
from sidecar.stats.sequential import SequentialResult, sequential_proportion_difference

REGRESSION_TAU = 0.02
"""Prior standard deviation of the V2 − V1 error-rate difference: two percentage points."""
REGRESSION_ALPHA = 0.05


@dataclass(frozen=True, slots=True)
class _Facts:
    """What ``decide`` derives from the totals once, shared by triggers, gates and ``numbers``."""

    v1: VersionTotals
    v2: VersionTotals
    error_rate_increase: float | None
    p95_ratio: float | None  # None unless both sides have min_latency_samples
    p95_increase_ms: float | None


@dataclass(frozen=True, slots=True)
class _GateSpec:
    attr: str
    value: Callable[[_Facts], float | None]
    at_least: bool  # True for minimum gates, False for maximum gates
    show: Callable[[float], str]


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _times(value: float) -> str:
    return f"{value:.2f}×"


def _millis(value: float) -> str:
    return f"{value:.1f} ms"


_GATES = (
    _GateSpec("min_v2_success_rate", lambda f: f.v2.success_rate, True, _percent),
    _GateSpec("max_v2_error_rate", lambda f: f.v2.error_rate, False, _percent),
    _GateSpec("max_error_rate_increase", lambda f: f.error_rate_increase, False, _percent),
    _GateSpec("max_latency_ratio", lambda f: f.p95_ratio, False, _times),
    _GateSpec("max_latency_increase_ms", lambda f: f.p95_increase_ms, False, _millis),
    _GateSpec("max_fallback_rate", lambda f: f.v2.fallback_rate, False, _percent),
)
_Verdict = tuple[DecisionKind, ReasonCode, str]
_TERMINAL: Mapping[RolloutStatus, tuple[ReasonCode, str]] = {
    RolloutStatus.ROLLED_BACK: (ReasonCode.ROLLED_BACK, "rolled back; all traffic on V1 until restarted"),
    RolloutStatus.COMPLETED: (ReasonCode.COMPLETED, "completed; all traffic on V2"),
}


def decide(
    definition: RolloutDefinition,
    state: RolloutState,
    totals_v1: VersionTotals,
    totals_v2: VersionTotals,
    now: float,
    critical_alert: str | None = None,
) -> Decision:
    """The policy's decision for ``state`` at ``now`` (see the module docstring for the rules).

    ``critical_alert`` is the name of a firing critical alert that names this rollout, if any.
    """
    terminal = _TERMINAL.get(state.status)
    if terminal is not None:
        return Decision(
            DecisionKind.HOLD, terminal[1], terminal[0], {}, (), state.generation, state.phase_index
        )
    phase = definition.phases[state.phase_index]
    facts = _facts(definition, totals_v1, totals_v2)
    elapsed = phase_elapsed(state, now)
    regression = _regression_test(phase, facts)
    gates = tuple(_evaluate_gates(phase.gates, facts))
    kind, code, reason = (
        _rollback_trigger(definition, state, phase, facts, regression, critical_alert)
        or _blocked(state)
        or _judge_phase(phase, facts, gates, elapsed)
        or _move_on(definition, state, phase, facts, elapsed)
    )
    numbers = _numbers(facts, regression, elapsed, state.consecutive_v2_failures)
    return Decision(kind, reason, code, numbers, gates, state.generation, state.phase_index)


def _blocked(state: RolloutState) -> _Verdict | None:
    if state.status is RolloutStatus.PAUSED:
        return DecisionKind.HOLD, ReasonCode.PAUSED, f"paused: {state.paused_reason}"
    if state.breaker.status is not BreakerStatus.CLOSED:
        reason = f"V2 circuit breaker is {state.breaker.status.value}; not advancing while V2 traffic is shed"
        return DecisionKind.HOLD, ReasonCode.BREAKER_OPEN, reason
    return None


def _judge_phase(
    phase: Phase, facts: _Facts, gates: tuple[GateResult, ...], elapsed: float
) -> _Verdict | None:
    """Hold (or roll back at the deadline) while data is short or a gate fails; None when all is well."""
    deadline = phase.max_duration_s
    past_deadline = deadline is not None and elapsed >= deadline
    failing = [gate for gate in gates if gate.verdict is GateVerdict.FAIL]
    no_data = [gate.name for gate in gates if gate.verdict is GateVerdict.NO_DATA]
    short = facts.v2.requests < phase.min_samples
    if short or (no_data and not failing):
        if short:
            missing = f"V2 has {facts.v2.requests} of {phase.min_samples} calls needed"
        else:
            missing = f"no data yet for {', '.join(no_data)}"
        if past_deadline:
            reason = f"phase {phase.name} reached its {deadline:g}s deadline and {missing}"
            return DecisionKind.ROLLBACK, ReasonCode.DEADLINE_WITHOUT_DATA, reason
        return DecisionKind.HOLD, ReasonCode.INSUFFICIENT_DATA, f"waiting for data: {missing}"
    if failing:
        failures = "; ".join(_describe_failure(gate) for gate in failing)
        if past_deadline:
            reason = f"phase {phase.name} reached its {deadline:g}s deadline with {failures}"
            return DecisionKind.ROLLBACK, ReasonCode.DEADLINE_GATES_FAILING, reason
        return DecisionKind.HOLD, ReasonCode.GATE_FAILING, f"holding: {failures}"
    return None


def _move_on(
    definition: RolloutDefinition, state: RolloutState, phase: Phase, facts: _Facts, elapsed: float
) -> _Verdict:
    if elapsed < phase.min_duration_s:
        reason = f"soaking: {elapsed:.0f}s of {phase.min_duration_s:g}s in phase {phase.name}"
        return DecisionKind.HOLD, ReasonCode.SOAKING, reason
    summary = f"all gates passed after {elapsed:.0f}s with {facts.v2.requests} V2 calls"
    if state.phase_index == definition.last_phase_index:
        return DecisionKind.COMPLETE, ReasonCode.GATES_PASSED, f"{summary}; completing"
    following = definition.phases[state.phase_index + 1]
    reason = f"{summary}; advancing to {following.name} ({following.v2_percent:g}%)"
    return DecisionKind.ADVANCE, ReasonCode.GATES_PASSED, reason


def _facts(definition: RolloutDefinition, v1: VersionTotals, v2: VersionTotals) -> _Facts:
    increase = None
    if v1.error_rate is not None and v2.error_rate is not None:
        increase = v2.error_rate - v1.error_rate
    ratio = increase_ms = None
    enough = min(v1.latency.n, v2.latency.n) >= definition.min_latency_samples
    if enough and v1.p95_ms is not None and v2.p95_ms is not None:
        increase_ms = v2.p95_ms - v1.p95_ms
        ratio = v2.p95_ms / v1.p95_ms if v1.p95_ms > 0.0 else None
    return _Facts(v1, v2, increase, ratio, increase_ms)


def _regression_test(phase: Phase, facts: _Facts) -> SequentialResult | None:
    if phase.gates.max_error_rate_increase is None or facts.error_rate_increase is None:
        return None
    v1, v2 = facts.v1, facts.v2
    return sequential_proportion_difference(
        v1.errors, v1.requests, v2.errors, v2.requests, alpha=REGRESSION_ALPHA, tau=REGRESSION_TAU
    )


def _rollback_trigger(
    definition: RolloutDefinition,
    state: RolloutState,
    phase: Phase,
    facts: _Facts,
    regression: SequentialResult | None,
    critical_alert: str | None,
) -> _Verdict | None:
    triggers = definition.triggers
    v1, v2 = facts.v1, facts.v2
    if critical_alert and triggers.on_critical_alert:
        return (
            DecisionKind.ROLLBACK,
            ReasonCode.CRITICAL_ALERT,
            f"critical alert {critical_alert!r} names this rollout",
        )
    limit = triggers.consecutive_failures
    if limit is not None and state.consecutive_v2_failures >= limit:
        reason = f"V2 failed {state.consecutive_v2_failures} calls in a row (trigger {limit})"
        return DecisionKind.ROLLBACK, ReasonCode.CONSECUTIVE_FAILURES, reason
    if v2.requests >= triggers.min_requests:
        ceilings = (
            (ReasonCode.ERROR_RATE_CEILING, "error", v2.error_rate, triggers.max_error_rate),
            (ReasonCode.FALLBACK_RATE_CEILING, "fallback", v2.fallback_rate, triggers.max_fallback_rate),
        )
        for code, what, rate, ceiling in ceilings:
            if ceiling is not None and rate is not None and rate > ceiling:
                return DecisionKind.ROLLBACK, code, f"V2 {what} rate {rate:.1%} exceeds ceiling {ceiling:.1%}"
    latency = _latency_trigger(definition, facts)
    if latency is not None:
        return DecisionKind.ROLLBACK, ReasonCode.LATENCY_REGRESSION, latency
    allowed = phase.gates.max_error_rate_increase
    increase = facts.error_rate_increase
    if (
        regression is not None
        and allowed is not None
        and increase is not None
        and regression.p_value <= REGRESSION_ALPHA
        and increase > allowed
    ):
        reason = (
            f"V2 error rate {v2.error_rate:.1%} vs V1 {v1.error_rate:.1%}: +{increase * 100:.1f} points "
            f"(always-valid p={regression.p_value:.2g}) exceeds the allowed +{allowed * 100:.1f}"
        )
        return DecisionKind.ROLLBACK, ReasonCode.ERROR_RATE_REGRESSION, reason
    return None


def _latency_trigger(definition: RolloutDefinition, facts: _Facts) -> str | None:
    triggers = definition.triggers
    v1_p95, v2_p95 = facts.v1.p95_ms, facts.v2.p95_ms
    ratio, ceiling = facts.p95_ratio, triggers.max_latency_ratio
    if ratio is not None and ceiling is not None and ratio > ceiling:
        return f"V2 p95 {v2_p95:.1f} ms is {ratio:.2f}× V1 p95 {v1_p95:.1f} ms (trigger {ceiling:.2f}×)"
    increase, allowed = facts.p95_increase_ms, triggers.max_latency_increase_ms
    if increase is not None and allowed is not None and increase > allowed:
        above = f"{increase:.1f} ms above V1 p95 {v1_p95:.1f} ms"
        return f"V2 p95 {v2_p95:.1f} ms is {above} (trigger {allowed:g} ms)"
    return None


def _evaluate_gates(gates: Gates, facts: _Facts) -> list[GateResult]:
    results = []
    for spec in _GATES:
        threshold: float | None = getattr(gates, spec.attr)
        if threshold is None:
            continue
        value = spec.value(facts)
        if value is None:
            verdict = GateVerdict.NO_DATA
        elif value >= threshold if spec.at_least else value <= threshold:
            verdict = GateVerdict.PASS
        else:
            verdict = GateVerdict.FAIL
        results.append(GateResult(spec.attr, value, threshold, verdict))
    return results


def _describe_failure(gate: GateResult) -> str:
    spec = next(spec for spec in _GATES if spec.attr == gate.name)
    assert gate.value is not None
    relation = "below" if spec.at_least else "above"
    return f"{gate.name} {spec.show(gate.value)} is {relation} {spec.show(gate.threshold)}"


def _numbers(
    facts: _Facts, regression: SequentialResult | None, elapsed: float, consecutive: int
) -> dict[str, float]:
    v1, v2 = facts.v1, facts.v2
    candidates: dict[str, float | None] = {
        "v1_requests": v1.requests,
        "v2_requests": v2.requests,
        "v1_error_rate": v1.error_rate,
        "v2_error_rate": v2.error_rate,
        "v2_success_rate": v2.success_rate,
        "v2_fallback_rate": v2.fallback_rate,
        "error_rate_increase": facts.error_rate_increase,
        "v1_p95_ms": v1.p95_ms,
        "v2_p95_ms": v2.p95_ms,
        "p95_ratio": facts.p95_ratio,
        "p95_increase_ms": facts.p95_increase_ms,
        "regression_p_value": regression.p_value if regression else None,
        "regression_ci_low": regression.ci_low if regression else None,
        "regression_ci_high": regression.ci_high if regression else None,
        "phase_elapsed_s": elapsed,
        "consecutive_v2_failures": consecutive,
    }
    # Infinite bounds (an uninformative test) are left out: they carry nothing and break JSON encoders.
    return {
        name: float(value) for name, value in candidates.items() if value is not None and math.isfinite(value)
    }
