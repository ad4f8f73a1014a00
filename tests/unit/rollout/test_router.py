from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from sidecar.rollout.assignment import unit_bucket
from sidecar.rollout.breaker import CLOSED, BreakerState, BreakerStatus
from sidecar.rollout.model import BreakerSettings, Phase, RolloutDefinition, Version
from sidecar.rollout.router import RouteDecision, RouteReason, route
from sidecar.rollout.state import RolloutState, RolloutStatus

DEFINITION = RolloutDefinition(
    key="checkout",
    phases=(Phase("CANARY", 10.0), Phase("HALF", 50.0), Phase("FULL", 100.0)),
    breaker=BreakerSettings(cool_down_s=30.0, probe_percent=20.0),
)
NOW = 1_000.0
RUNNING = RolloutState(key="checkout", generation=1, phase_index=0, phase_started_at=0.0)
PAUSED = replace(RUNNING, status=RolloutStatus.PAUSED, paused_reason="look", paused_at=NOW)
OPEN = BreakerState(BreakerStatus.OPEN, opened_at=NOW - 1)
HALF_OPEN = BreakerState(BreakerStatus.HALF_OPEN)


def unit_with(predicate: object) -> str:
    """The first user id whose bucket satisfies ``predicate``."""
    assert callable(predicate)
    return next(f"user-{i}" for i in range(100_000) if predicate(unit_bucket("checkout", f"user-{i}")))


IN_SPLIT = unit_with(lambda b: 20_000 <= b < 100_000)  # on V2 at 10 %, not a probe at 20 % of it
PROBE = unit_with(lambda b: b < 20_000)  # first 20 % of the 10 % split
IN_HALF_ONLY = unit_with(lambda b: 100_000 <= b < 500_000)
OUT = unit_with(lambda b: b >= 500_000)


@dataclass(frozen=True)
class Case:
    unit: str | None
    expected: RouteDecision
    state: RolloutState = RUNNING
    breaker: BreakerState = CLOSED
    draw: float = 0.5
    definition: RolloutDefinition = DEFINITION


def v1(reason: RouteReason, phase: str = "CANARY") -> RouteDecision:
    return RouteDecision(Version.V1, phase, reason)


def v2(reason: RouteReason, phase: str = "CANARY") -> RouteDecision:
    return RouteDecision(Version.V2, phase, reason)


CASES = {
    "in split": Case(IN_SPLIT, v2(RouteReason.IN_SPLIT)),
    "out of split": Case(OUT, v1(RouteReason.OUT_OF_SPLIT)),
    "later phase includes earlier units": Case(
        IN_SPLIT, v2(RouteReason.IN_SPLIT, "HALF"), replace(RUNNING, phase_index=1)
    ),
    "later phase adds units": Case(
        IN_HALF_ONLY, v2(RouteReason.IN_SPLIT, "HALF"), replace(RUNNING, phase_index=1)
    ),
    "no key, low draw": Case(None, v2(RouteReason.NO_KEY_RANDOM), draw=0.05),
    "no key, high draw": Case(None, v1(RouteReason.NO_KEY_RANDOM), draw=0.5),
    "empty key is no key": Case("", v2(RouteReason.NO_KEY_RANDOM), draw=0.01),
    "paused keeps V2 units on V2": Case(IN_SPLIT, v2(RouteReason.PAUSED), PAUSED),
    "paused keeps V1 units on V1": Case(OUT, v1(RouteReason.PAUSED), PAUSED),
    "rolled back is always V1": Case(
        IN_SPLIT, v1(RouteReason.ROLLED_BACK), replace(RUNNING, status=RolloutStatus.ROLLED_BACK)
    ),
    "completed is always V2": Case(
        OUT,
        v2(RouteReason.COMPLETED, "FULL"),
        replace(RUNNING, phase_index=2, status=RolloutStatus.COMPLETED),
        OPEN,
    ),
    "open breaker falls back": Case(IN_SPLIT, v1(RouteReason.FALLBACK_ACTIVE), breaker=OPEN),
    "open breaker leaves V1 units alone": Case(OUT, v1(RouteReason.OUT_OF_SPLIT), breaker=OPEN),
    "open breaker while paused falls back": Case(IN_SPLIT, v1(RouteReason.FALLBACK_ACTIVE), PAUSED, OPEN),
    "half-open probes its share": Case(PROBE, v2(RouteReason.BREAKER_PROBE), breaker=HALF_OPEN),
    "half-open keeps the rest on V1": Case(IN_SPLIT, v1(RouteReason.FALLBACK_ACTIVE), breaker=HALF_OPEN),
    "expired open already probes": Case(
        PROBE, v2(RouteReason.BREAKER_PROBE), breaker=BreakerState(BreakerStatus.OPEN, opened_at=NOW - 30)
    ),
    "disabled breaker is ignored": Case(
        IN_SPLIT,
        v2(RouteReason.IN_SPLIT),
        breaker=OPEN,
        definition=replace(DEFINITION, breaker=BreakerSettings(enabled=False)),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_route(case: Case) -> None:
    assert route(case.definition, case.state, case.breaker, case.unit, case.draw, NOW) == case.expected


def test_tiny_canary_still_has_a_probe_bucket() -> None:
    definition = RolloutDefinition(key="k", phases=(Phase("TINY", 0.0001), Phase("FULL", 100.0)))
    assert definition.phases[0].threshold == 1
    assert definition.probe_thresholds == (1, 50_000)
