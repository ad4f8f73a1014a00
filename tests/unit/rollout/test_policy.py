from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.rollout.breaker import BreakerState, BreakerStatus
from sidecar.rollout.decision import DecisionKind, GateVerdict, ReasonCode
from sidecar.rollout.model import Gates, RollbackTriggers, RolloutDefinition
from sidecar.rollout.policy import decide
from sidecar.rollout.state import RolloutState, RolloutStatus
from sidecar.rollout.windows import VersionTotals
from tests.unit.rollout.builders import START, two_phase_definition, v1_totals, v2_totals

DEFINITION = two_phase_definition()
RUNNING = RolloutState(key="checkout", generation=1, phase_index=0, phase_started_at=START)
HEALTHY_V1 = v1_totals(9_000, errors=90)
HEALTHY_V2 = v2_totals(1_000, errors=10)

# Which kind each code may come with: a code never means two different things.
CODE_KINDS = {
    ReasonCode.GATES_PASSED: {DecisionKind.ADVANCE, DecisionKind.COMPLETE},
    **{
        code: {DecisionKind.HOLD}
        for code in (
            ReasonCode.SOAKING,
            ReasonCode.INSUFFICIENT_DATA,
            ReasonCode.GATE_FAILING,
            ReasonCode.BREAKER_OPEN,
            ReasonCode.PAUSED,
            ReasonCode.ROLLED_BACK,
            ReasonCode.COMPLETED,
        )
    },
    **{
        code: {DecisionKind.ROLLBACK}
        for code in (
            ReasonCode.CRITICAL_ALERT,
            ReasonCode.CONSECUTIVE_FAILURES,
            ReasonCode.ERROR_RATE_CEILING,
            ReasonCode.FALLBACK_RATE_CEILING,
            ReasonCode.LATENCY_REGRESSION,
            ReasonCode.ERROR_RATE_REGRESSION,
            ReasonCode.DEADLINE_WITHOUT_DATA,
            ReasonCode.DEADLINE_GATES_FAILING,
        )
    },
}


@dataclass(frozen=True)
class Scenario:
    kind: DecisionKind
    code: ReasonCode
    v1: VersionTotals = HEALTHY_V1
    v2: VersionTotals = HEALTHY_V2
    elapsed: float = 700.0
    state: RolloutState = RUNNING
    definition: RolloutDefinition = DEFINITION
    critical_alert: str | None = None
    reason: str | None = None


SCENARIOS = {
    "healthy V2 advances": Scenario(
        DecisionKind.ADVANCE,
        ReasonCode.GATES_PASSED,
        reason="all gates passed after 700s with 1000 V2 calls; advancing to FULL (100%)",
    ),
    "healthy last phase completes": Scenario(
        DecisionKind.COMPLETE,
        ReasonCode.GATES_PASSED,
        v1=v1_totals(0),
        v2=v2_totals(500, errors=2),
        elapsed=1.0,
        state=replace(RUNNING, phase_index=1),
    ),
    "healthy but still soaking": Scenario(DecisionKind.HOLD, ReasonCode.SOAKING, elapsed=300.0),
    "30% V2 errors roll back on the ceiling": Scenario(
        DecisionKind.ROLLBACK,
        ReasonCode.ERROR_RATE_CEILING,
        v2=v2_totals(200, errors=60),
        elapsed=60.0,
        reason="V2 error rate 30.0% exceeds ceiling 10.0%",
    ),
    "ceiling waits for min requests": Scenario(
        DecisionKind.HOLD, ReasonCode.INSUFFICIENT_DATA, v2=v2_totals(30, errors=9), elapsed=60.0
    ),
    "fallback ceiling": Scenario(
        DecisionKind.ROLLBACK, ReasonCode.FALLBACK_RATE_CEILING, v2=v2_totals(400, fallbacks=120)
    ),
    "V2 p95 3x V1 rolls back on the latency trigger": Scenario(
        DecisionKind.ROLLBACK, ReasonCode.LATENCY_REGRESSION, v2=v2_totals(1_000, errors=10, latency_ms=300.0)
    ),
    "latency ms trigger": Scenario(
        DecisionKind.ROLLBACK,
        ReasonCode.LATENCY_REGRESSION,
        v2=v2_totals(1_000, errors=10, latency_ms=140.0),
        definition=two_phase_definition(triggers=RollbackTriggers(max_latency_increase_ms=25.0)),
    ),
    "latency trigger needs samples on both sides": Scenario(
        DecisionKind.HOLD,
        ReasonCode.INSUFFICIENT_DATA,
        v2=v2_totals(150, errors=1, latency_ms=300.0),
        definition=two_phase_definition(min_latency_samples=200),
        reason="waiting for data: no data yet for max_latency_ratio",
    ),
    "p95 1.8x V1 holds on the gate": Scenario(
        DecisionKind.HOLD, ReasonCode.GATE_FAILING, v2=v2_totals(1_000, errors=10, latency_ms=180.0)
    ),
    "p95 1.8x V1 at the deadline rolls back": Scenario(
        DecisionKind.ROLLBACK,
        ReasonCode.DEADLINE_GATES_FAILING,
        v2=v2_totals(1_000, errors=10, latency_ms=180.0),
        elapsed=3_600.0,
    ),
    "no traffic holds": Scenario(
        DecisionKind.HOLD, ReasonCode.INSUFFICIENT_DATA, v1=v1_totals(0), v2=v2_totals(0), elapsed=1_000.0
    ),
    "no traffic at the deadline rolls back": Scenario(
        DecisionKind.ROLLBACK,
        ReasonCode.DEADLINE_WITHOUT_DATA,
        v1=v1_totals(0),
        v2=v2_totals(0),
        elapsed=3_600.0,
        reason="phase CANARY reached its 3600s deadline and V2 has 0 of 100 calls needed",
    ),
    "2 errors in the first 20 calls do not roll back": Scenario(
        DecisionKind.HOLD,
        ReasonCode.INSUFFICIENT_DATA,
        v1=v1_totals(180, errors=2),
        v2=v2_totals(20, errors=2),
        elapsed=10.0,
    ),
    "4 errors in 100 calls hold but do not roll back": Scenario(
        DecisionKind.HOLD, ReasonCode.GATE_FAILING, v1=v1_totals(900, errors=9), v2=v2_totals(100, errors=4)
    ),
    "V1 1% vs V2 6% over thousands rolls back": Scenario(
        DecisionKind.ROLLBACK,
        ReasonCode.ERROR_RATE_REGRESSION,
        v1=v1_totals(9_000, errors=90),
        v2=v2_totals(2_000, errors=120),
    ),
    "significant increase below the allowed one advances": Scenario(
        DecisionKind.ADVANCE,
        ReasonCode.GATES_PASSED,
        v1=v1_totals(90_000, errors=900),
        v2=v2_totals(10_000, errors=190),
    ),
    "consecutive failures roll back": Scenario(
        DecisionKind.ROLLBACK,
        ReasonCode.CONSECUTIVE_FAILURES,
        state=replace(RUNNING, consecutive_v2_failures=20),
        reason="V2 failed 20 calls in a row (trigger 20)",
    ),
    "critical alert rolls back": Scenario(
        DecisionKind.ROLLBACK,
        ReasonCode.CRITICAL_ALERT,
        critical_alert="CheckoutLatencySLO",
        reason="critical alert 'CheckoutLatencySLO' names this rollout",
    ),
    "critical alert ignored when switched off": Scenario(
        DecisionKind.ADVANCE,
        ReasonCode.GATES_PASSED,
        critical_alert="CheckoutLatencySLO",
        definition=two_phase_definition(triggers=RollbackTriggers(on_critical_alert=False)),
    ),
    "paused holds": Scenario(
        DecisionKind.HOLD,
        ReasonCode.PAUSED,
        state=replace(
            RUNNING, status=RolloutStatus.PAUSED, paused_reason="investigating", paused_at=START + 700
        ),
        reason="paused: investigating",
    ),
    "paused still rolls back on a ceiling": Scenario(
        DecisionKind.ROLLBACK,
        ReasonCode.ERROR_RATE_CEILING,
        v2=v2_totals(200, errors=60),
        state=replace(RUNNING, status=RolloutStatus.PAUSED, paused_reason="investigating", paused_at=START),
    ),
    "paused does not hit the deadline": Scenario(
        DecisionKind.HOLD,
        ReasonCode.PAUSED,
        v2=v2_totals(0),
        elapsed=10_000.0,
        state=replace(RUNNING, status=RolloutStatus.PAUSED, paused_reason="night", paused_at=START + 100),
    ),
    "rolled back holds": Scenario(
        DecisionKind.HOLD, ReasonCode.ROLLED_BACK, state=replace(RUNNING, status=RolloutStatus.ROLLED_BACK)
    ),
    "rolled back holds even with an alert": Scenario(
        DecisionKind.HOLD,
        ReasonCode.ROLLED_BACK,
        state=replace(RUNNING, status=RolloutStatus.ROLLED_BACK),
        critical_alert="X",
    ),
    "completed holds": Scenario(
        DecisionKind.HOLD, ReasonCode.COMPLETED, state=replace(RUNNING, status=RolloutStatus.COMPLETED)
    ),
    "open breaker blocks advancing": Scenario(
        DecisionKind.HOLD,
        ReasonCode.BREAKER_OPEN,
        state=replace(RUNNING, breaker=BreakerState(BreakerStatus.OPEN, opened_at=START)),
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_policy_scenarios(scenario: Scenario) -> None:
    decision = decide(
        scenario.definition,
        scenario.state,
        scenario.v1,
        scenario.v2,
        START + scenario.elapsed,
        scenario.critical_alert,
    )
    assert (decision.kind, decision.code) == (scenario.kind, scenario.code), decision.reason
    if scenario.reason is not None:
        assert decision.reason == scenario.reason
    assert (decision.generation, decision.phase_index) == (
        scenario.state.generation,
        scenario.state.phase_index,
    )


def test_decision_carries_numbers_and_gate_results() -> None:
    decision = decide(
        DEFINITION, RUNNING, v1_totals(9_000, errors=90), v2_totals(2_000, errors=120), START + 700
    )
    assert decision.numbers["v2_error_rate"] == pytest.approx(0.06)
    assert decision.numbers["error_rate_increase"] == pytest.approx(0.05)
    assert decision.numbers["regression_p_value"] < 0.05
    assert decision.numbers["regression_ci_low"] > 0.0
    assert decision.numbers["phase_elapsed_s"] == 700.0
    assert all(math.isfinite(value) for value in decision.numbers.values())
    assert [(gate.name, gate.verdict) for gate in decision.gates] == [
        ("max_v2_error_rate", GateVerdict.FAIL),
        ("max_error_rate_increase", GateVerdict.FAIL),
        ("max_latency_ratio", GateVerdict.PASS),
    ]
    assert decision.reason.startswith("V2 error rate 6.0% vs V1 1.0%: +5.0 points (always-valid p=")


def test_gate_failure_reason_names_gate_and_numbers() -> None:
    decision = decide(
        DEFINITION, RUNNING, HEALTHY_V1, v2_totals(1_000, errors=10, latency_ms=180.0), START + 700
    )
    assert decision.reason.startswith("holding: max_latency_ratio 1.")
    assert decision.reason.endswith("× is above 1.50×")


def test_pause_excludes_paused_time_from_min_duration() -> None:
    paused_for_a_while = replace(RUNNING, paused_s=400.0)
    decision = decide(DEFINITION, paused_for_a_while, HEALTHY_V1, HEALTHY_V2, START + 700)
    assert decision.code is ReasonCode.SOAKING


# --- properties ---------------------------------------------------------------------------------------------

optional_rate = st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0))
gates_strategy = st.builds(
    Gates,
    min_v2_success_rate=optional_rate,
    max_v2_error_rate=optional_rate,
    max_error_rate_increase=optional_rate,
    max_latency_ratio=st.one_of(st.none(), st.floats(min_value=0.5, max_value=3.0)),
    max_latency_increase_ms=st.one_of(st.none(), st.floats(min_value=0.0, max_value=500.0)),
    max_fallback_rate=optional_rate,
)


@st.composite
def totals_strategy(draw: st.DrawFn, v2: bool) -> VersionTotals:
    requests = draw(st.integers(min_value=0, max_value=5_000))
    errors = draw(st.integers(min_value=0, max_value=requests))
    fallbacks = draw(st.integers(min_value=0, max_value=requests - errors))
    latency = draw(st.one_of(st.none(), st.floats(min_value=0.01, max_value=5_000.0)))
    build = v2_totals if v2 else v1_totals
    return build(requests, errors, fallbacks, latency)


@settings(max_examples=300, deadline=None)
@given(
    gates=gates_strategy,
    v1=totals_strategy(v2=False),
    v2=totals_strategy(v2=True),
    elapsed=st.floats(min_value=0.0, max_value=10_000.0),
    phase_index=st.integers(min_value=0, max_value=1),
    consecutive=st.integers(min_value=0, max_value=30),
    paused=st.booleans(),
    min_latency_samples=st.integers(min_value=1, max_value=200),
)
def test_never_advances_past_a_failing_or_unknown_gate(
    gates: Gates,
    v1: VersionTotals,
    v2: VersionTotals,
    elapsed: float,
    phase_index: int,
    consecutive: int,
    paused: bool,
    min_latency_samples: int,
) -> None:
    definition = two_phase_definition(gates=gates, min_latency_samples=min_latency_samples)
    state = replace(
        RUNNING,
        phase_index=phase_index,
        consecutive_v2_failures=consecutive,
        status=RolloutStatus.PAUSED if paused else RolloutStatus.RUNNING,
        paused_at=START if paused else None,
        paused_reason="test" if paused else None,
    )
    decision = decide(definition, state, v1, v2, START + elapsed)
    assert decision.kind in CODE_KINDS[decision.code]
    assert len(decision.gates) == sum(
        getattr(definition.phases[phase_index].gates, name) is not None for name in Gates.__dataclass_fields__
    )
    if decision.kind in (DecisionKind.ADVANCE, DecisionKind.COMPLETE):
        assert all(gate.verdict is GateVerdict.PASS for gate in decision.gates)
        assert v2.requests >= definition.phases[phase_index].min_samples
        assert elapsed >= definition.phases[phase_index].min_duration_s
        assert not paused
        assert (decision.kind is DecisionKind.COMPLETE) == (phase_index == 1)
    assert all(math.isfinite(value) for value in decision.numbers.values())
