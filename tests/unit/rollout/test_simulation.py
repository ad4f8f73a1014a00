"""The whole pure loop on a fake clock: route, outcomes, windows, decide, apply — every simulated second."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import pytest

from sidecar.rollout.decision import ReasonCode
from sidecar.rollout.model import (
    DEFAULT_GATES,
    OutcomeKind,
    Phase,
    RolloutDefinition,
    Version,
    without_comparative,
)
from sidecar.rollout.policy import decide
from sidecar.rollout.router import RouteReason, route
from sidecar.rollout.state import RolloutState, RolloutStatus, initial_state
from sidecar.rollout.transitions import AuditEvent, AuditKind, apply_decision, record_outcome, tick_breaker
from sidecar.rollout.windows import (
    EMPTY_COUNTS,
    BucketCounts,
    WindowKey,
    add_outcome,
    prune,
    totals,
    window_key,
)
from tests.unit.rollout.builders import START

DEFINITION = RolloutDefinition(
    key="sim",
    phases=(
        Phase("CANARY", 1.0, min_duration_s=60.0, min_samples=50, max_duration_s=900.0, gates=DEFAULT_GATES),
        Phase(
            "TESTING", 10.0, min_duration_s=60.0, min_samples=200, max_duration_s=900.0, gates=DEFAULT_GATES
        ),
        Phase(
            "VALIDATION",
            50.0,
            min_duration_s=60.0,
            min_samples=500,
            max_duration_s=900.0,
            gates=DEFAULT_GATES,
        ),
        Phase(
            "FULL_ROLLOUT",
            100.0,
            min_duration_s=30.0,
            min_samples=200,
            gates=without_comparative(DEFAULT_GATES),
        ),
    ),
    min_latency_samples=50,
)
REQUESTS_PER_SECOND = 200
USERS = 50_000


@dataclass
class Run:
    state: RolloutState
    events: list[AuditEvent] = field(default_factory=list)
    phases: list[float] = field(default_factory=list)
    seconds: int = 0


def simulate(v2_error_rate: float, seed: int, max_seconds: int = 3_600) -> Run:
    rng = random.Random(seed)
    run = Run(initial_state(DEFINITION.key, START))
    window: dict[WindowKey, BucketCounts] = {}
    sticky_v2: set[str] = set()
    for second in range(max_seconds):
        run.seconds = second
        phase = DEFINITION.phases[run.state.phase_index]
        if not run.phases or run.phases[-1] != phase.v2_percent:
            run.phases.append(phase.v2_percent)
        for i in range(REQUESTS_PER_SECOND):
            now = START + second + i / REQUESTS_PER_SECOND
            unit = f"user-{rng.randrange(USERS)}"
            decision = route(DEFINITION, run.state, run.state.breaker, unit, rng.random(), now)
            if decision.reason is RouteReason.IN_SPLIT:
                sticky_v2.add(unit)
            elif decision.reason is RouteReason.OUT_OF_SPLIT:
                assert unit not in sticky_v2, "a unit on V2 went back to V1 while the split only grew"
            error_rate = v2_error_rate if decision.version is Version.V2 else 0.005
            kind = OutcomeKind.ERROR if rng.random() < error_rate else OutcomeKind.SUCCESS
            latency = rng.lognormvariate(math.log(20.0), 0.3)
            key = window_key(decision.version, now)
            window[key] = add_outcome(window.get(key, EMPTY_COUNTS), kind, latency, "boom")
            run.state, event = record_outcome(DEFINITION, run.state, decision.version, kind, now)
            run.events.extend([event] if event else [])
        now = START + second + 1
        run.state, event = tick_breaker(DEFINITION, run.state, now)
        run.events.extend([event] if event else [])
        since = run.state.phase_started_at
        v1, v2 = totals(window, Version.V1, since), totals(window, Version.V2, since)
        verdict = decide(DEFINITION, run.state, v1, v2, now)
        run.state, event = apply_decision(DEFINITION, run.state, verdict, now)
        run.events.extend([event] if event else [])
        window = prune(window, keep_since=run.state.phase_started_at)
        if not run.state.is_active:
            break
    return run


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_healthy_v2_walks_every_phase_to_completion(seed: int) -> None:
    run = simulate(v2_error_rate=0.005, seed=seed)
    assert run.state.status is RolloutStatus.COMPLETED
    assert run.phases == [1.0, 10.0, 50.0, 100.0]
    policy_events = [
        event.kind for event in run.events if event.actor == "policy" and event.kind is not AuditKind.EXTENDED
    ]
    assert policy_events == [AuditKind.ADVANCED] * 3 + [AuditKind.COMPLETED]
    assert run.seconds < 400  # 3 × 60 s soaks + 30 s bake + data collection, no stalls


@pytest.mark.parametrize("seed", [1, 2])
def test_v2_with_30_percent_errors_rolls_back_from_the_canary(seed: int) -> None:
    run = simulate(v2_error_rate=0.30, seed=seed)
    assert run.state.status is RolloutStatus.ROLLED_BACK
    assert run.phases == [1.0]
    rollback = run.events[-1]
    assert (rollback.kind, rollback.code) == (AuditKind.ROLLED_BACK, ReasonCode.ERROR_RATE_CEILING)
    assert run.seconds < 120
