"""The rollout runtime end to end on one node: reports are durable, ticks advance, restarts keep the state."""

from __future__ import annotations

import pytest

from sidecar.errors import InvalidArgumentError
from sidecar.rollout.model import OutcomeKind, Version
from sidecar.rollout.state import RolloutStatus
from sidecar.rollout.transitions import AuditEvent, AuditKind
from sidecar.runtime.rollouts import OutcomeReport
from tests.unit.runtime.conftest import Harness, scenario


def outcome(
    key: str, kind: OutcomeKind = OutcomeKind.SUCCESS, version: Version = Version.V2, generation: int = 0
) -> OutcomeReport:
    return OutcomeReport(
        key, version, kind, 20.0, None if kind is OutcomeKind.SUCCESS else "boom", generation
    )


class Events:
    def __init__(self) -> None:
        self.kinds: list[tuple[str, AuditKind]] = []

    def on_decision(self, *_: object) -> None:
        pass

    def on_event(self, event: AuditEvent) -> None:
        self.kinds.append((event.rollout_key, event.kind))


@scenario
async def test_a_mixed_batch_counts_each_rollout_and_skips_stale_generations(harness: Harness) -> None:
    runtime = await harness.make()
    batch = [outcome("checkout"), outcome("search"), outcome("checkout", OutcomeKind.ERROR)]
    batch += [outcome("checkout", generation=7), outcome("search", OutcomeKind.FALLBACK, generation=1)]
    assert await runtime.report(batch) == (4, 1)
    checkout, search = runtime.view("checkout"), runtime.view("search")
    assert (checkout.v2.requests, checkout.v2.errors, checkout.v2.fallbacks) == (2, 1, 0)
    assert (search.v2.requests, search.v2.errors, search.v2.fallbacks) == (2, 0, 1)


@scenario
async def test_a_bad_outcome_refuses_the_whole_batch(harness: Harness) -> None:
    runtime = await harness.make()
    with pytest.raises(InvalidArgumentError, match=r"outcomes\[1\]: rollout 'nope' does not exist"):
        await runtime.report([outcome("checkout"), outcome("nope")])
    assert runtime.view("checkout").v2.requests == 0


@scenario
async def test_what_was_acknowledged_survives_a_restart(harness: Harness) -> None:
    runtime = await harness.make()
    await runtime.report([outcome("checkout")] * 5 + [outcome("checkout", OutcomeKind.ERROR)])
    await runtime.stop()
    restarted = await harness.make()
    view = restarted.view("checkout")
    assert (view.v2.requests, view.v2.errors) == (6, 1)
    assert view.state.consecutive_v2_failures == 1


@scenario
async def test_ticks_advance_a_healthy_rollout_once_its_phase_has_soaked(harness: Harness) -> None:
    events = Events()
    runtime = await harness.make()
    runtime._observers.append(events)
    await runtime.report(
        [outcome("checkout", version=v) for v in (Version.V1, Version.V2) for _ in range(30)]
    )
    runtime.tick()
    assert runtime.view("checkout").state.phase_index == 0  # still soaking
    harness.clock.advance(31)
    runtime.tick()
    state = runtime.view("checkout").state
    assert (state.phase_index, state.status) == (1, RolloutStatus.RUNNING), state.last_decision
    assert ("checkout", AuditKind.ADVANCED) in events.kinds
    assert runtime.last_tick_at == harness.clock.now()


@scenario
async def test_consecutive_v2_failures_open_the_breaker_within_one_batch(harness: Harness) -> None:
    events = Events()
    runtime = await harness.make()
    runtime._observers.append(events)
    await runtime.report([outcome("search", OutcomeKind.FALLBACK)] * 5)
    assert events.kinds == [("search", AuditKind.BREAKER_OPENED)]
    assert runtime.view("search").state.breaker.status.value == "OPEN"
