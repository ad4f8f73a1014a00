from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from sidecar.errors import FailedPreconditionError, InvalidArgumentError
from sidecar.rollout.breaker import BreakerReason, BreakerStatus
from sidecar.rollout.decision import Decision, DecisionKind, ReasonCode
from sidecar.rollout.model import BreakerSettings, OutcomeKind, Phase, RolloutDefinition, Version
from sidecar.rollout.policy import decide
from sidecar.rollout.state import PhaseExtension, RolloutState, RolloutStatus, initial_state, phase_elapsed
from sidecar.rollout.transitions import (
    AuditKind,
    Transition,
    apply_decision,
    pause,
    promote,
    record_outcome,
    restart,
    resume,
    rollback,
    tick_breaker,
)
from tests.unit.rollout.builders import START, v1_totals, v2_totals

DEFINITION = RolloutDefinition(
    key="checkout",
    phases=(
        Phase("CANARY", 1.0, min_duration_s=600.0),
        Phase("TESTING", 10.0, min_duration_s=600.0),
        Phase("FULL", 100.0),
    ),
    breaker=BreakerSettings(consecutive_failures=3, cool_down_s=30.0),
)
RUNNING = initial_state("checkout", START)
PAUSED = replace(RUNNING, status=RolloutStatus.PAUSED, paused_reason="look", paused_at=START + 10)
ROLLED_BACK = replace(RUNNING, status=RolloutStatus.ROLLED_BACK)
COMPLETED = replace(RUNNING, phase_index=2, status=RolloutStatus.COMPLETED)
LATER = START + 100

Action = Callable[[RolloutState], Transition]
ACTIONS: dict[str, Action] = {
    "pause": lambda s: pause(DEFINITION, s, "investigating", "alice", LATER),
    "resume": lambda s: resume(DEFINITION, s, "all clear", "alice", LATER),
    "promote next": lambda s: promote(DEFINITION, s, 1, "looks good", "alice", LATER),
    "promote full": lambda s: promote(DEFINITION, s, DEFINITION.last_phase_index, "to 100%", "alice", LATER),
    "promote to completion": lambda s: promote(
        DEFINITION, s, len(DEFINITION.phases), "ship it", "alice", LATER
    ),
    "rollback": lambda s: rollback(DEFINITION, s, "bad", "alice", LATER),
    "restart": lambda s: restart(DEFINITION, s, 1, "fixed", "alice", LATER),
}


def decision(kind: DecisionKind, code: ReasonCode, state: RolloutState = RUNNING) -> Decision:
    return Decision(kind, f"{code.value} for test", code, {"x": 1.0}, (), state.generation, state.phase_index)


@pytest.mark.parametrize("start", [RUNNING, PAUSED], ids=["running", "paused"])
@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
def test_manual_actions_are_idempotent(action: Action, start: RolloutState) -> None:
    once, event = action(start)
    twice, second_event = action(once)
    assert twice == once
    assert second_event is None
    if once != start:
        assert event is not None
        assert event.actor == "alice"


@pytest.mark.parametrize(
    ("name", "start", "error"),
    [
        pytest.param("pause", ROLLED_BACK, FailedPreconditionError, id="pause-rolled-back"),
        pytest.param("resume", ROLLED_BACK, FailedPreconditionError, id="resume-rolled-back"),
        pytest.param("promote next", ROLLED_BACK, FailedPreconditionError, id="promote-rolled-back"),
        pytest.param("pause", COMPLETED, FailedPreconditionError, id="pause-completed"),
        pytest.param("rollback", COMPLETED, FailedPreconditionError, id="rollback-completed"),
        pytest.param("restart", COMPLETED, FailedPreconditionError, id="restart-completed"),
    ],
)
def test_terminal_states_refuse_actions(name: str, start: RolloutState, error: type[Exception]) -> None:
    with pytest.raises(error):
        ACTIONS[name](start)


@pytest.mark.parametrize(
    ("name", "start"),
    [
        pytest.param("rollback", ROLLED_BACK, id="rollback-rolled-back"),
        pytest.param("promote next", COMPLETED, id="promote-completed"),
        pytest.param("promote to completion", COMPLETED, id="promote-to-completion-completed"),
    ],
)
def test_terminal_states_accept_repeats_as_no_ops(name: str, start: RolloutState) -> None:
    assert ACTIONS[name](start) == (start, None)


def test_rolled_back_stays_rolled_back_until_restart() -> None:
    state = ROLLED_BACK
    for kind in DecisionKind:
        assert apply_decision(DEFINITION, state, decision(kind, ReasonCode.GATES_PASSED), LATER)[
            0
        ].status is (RolloutStatus.ROLLED_BACK)
    held = decide(DEFINITION, state, v1_totals(9_000), v2_totals(1_000), START + 10_000)
    assert (held.kind, held.code) == (DecisionKind.HOLD, ReasonCode.ROLLED_BACK)
    restarted, event = restart(DEFINITION, state, 1, "fixed the bug", "bob", LATER)
    assert restarted == initial_state("checkout", LATER, generation=2)
    assert event is not None
    assert (event.kind, event.generation, event.to_status) == (
        AuditKind.RESTARTED,
        2,
        RolloutStatus.RUNNING,
    )


def test_completed_stays_completed() -> None:
    for kind in DecisionKind:
        assert (
            apply_decision(DEFINITION, COMPLETED, decision(kind, ReasonCode.GATES_PASSED, COMPLETED), LATER)[
                0
            ].status
            is RolloutStatus.COMPLETED
        )


def test_restart_bumps_generation_once_per_request() -> None:
    first, _ = restart(
        DEFINITION, replace(RUNNING, phase_index=1, consecutive_v2_failures=7), 1, "again", "bob", LATER
    )
    assert (first.generation, first.phase_index, first.consecutive_v2_failures) == (2, 0, 0)
    assert restart(DEFINITION, first, 1, "again", "bob", LATER + 1) == (first, None)
    second, _ = restart(DEFINITION, first, 2, "and again", "bob", LATER + 2)
    assert second.generation == 3
    with pytest.raises(InvalidArgumentError):
        restart(DEFINITION, first, 5, "future", "bob", LATER)


def test_manual_actions_need_a_reason() -> None:
    with pytest.raises(InvalidArgumentError, match="reason"):
        pause(DEFINITION, RUNNING, "  ", "alice", LATER)


def test_promote_moves_to_the_named_phase_and_runs() -> None:
    promoted, event = promote(DEFINITION, PAUSED, 1, "looks good", "alice", LATER)
    assert (promoted.phase_index, promoted.status, promoted.phase_started_at) == (
        1,
        RolloutStatus.RUNNING,
        LATER,
    )
    assert promoted.paused_at is None
    assert promoted.paused_s == 0.0
    assert event is not None
    assert (event.from_phase, event.to_phase, event.kind) == (
        "CANARY",
        "TESTING",
        AuditKind.PROMOTED,
    )
    with pytest.raises(InvalidArgumentError):
        promote(DEFINITION, RUNNING, 4, "no such phase", "alice", LATER)


def test_promote_to_full_bakes_and_past_the_last_phase_completes() -> None:
    full, _ = promote(DEFINITION, RUNNING, DEFINITION.last_phase_index, "to 100%", "alice", LATER)
    assert (full.phase_index, full.status) == (2, RolloutStatus.RUNNING)
    done, event = promote(DEFINITION, full, full.phase_index + 1, "ship", "alice", LATER + 1)
    assert (done.phase_index, done.status) == (2, RolloutStatus.COMPLETED)
    assert event is not None
    assert (event.from_status, event.to_status) == (RolloutStatus.RUNNING, RolloutStatus.COMPLETED)
    skipped, event = promote(DEFINITION, PAUSED, len(DEFINITION.phases), "ship", "alice", LATER)
    assert (skipped.phase_index, skipped.status, skipped.paused_at) == (2, RolloutStatus.COMPLETED, None)
    assert event is not None
    assert (event.from_phase, event.to_phase) == ("CANARY", "FULL")


@pytest.mark.parametrize(
    ("start", "act", "reason"),
    [
        pytest.param(RUNNING, ACTIONS["rollback"], "bad", id="operator"),
        pytest.param(
            PAUSED,
            lambda s: apply_decision(
                DEFINITION, s, decision(DecisionKind.ROLLBACK, ReasonCode.CRITICAL_ALERT), LATER
            ),
            "CRITICAL_ALERT for test",
            id="policy-while-paused",
        ),
    ],
)
def test_rollback_records_why_and_clears_the_pause(start: RolloutState, act: Action, reason: str) -> None:
    rolled, _ = act(start)
    assert (rolled.status, rolled.rolled_back_reason) == (RolloutStatus.ROLLED_BACK, reason)
    assert (rolled.paused_reason, rolled.paused_at) == (None, None)


def test_pause_stops_the_phase_clock() -> None:
    paused, _ = pause(DEFINITION, RUNNING, "look", "alice", START + 100)
    assert phase_elapsed(paused, START + 400) == 100.0
    resumed, event = resume(DEFINITION, paused, "done", "alice", START + 400)
    assert event is not None
    assert event.kind is AuditKind.RESUMED
    assert resumed.paused_s == 300.0
    assert phase_elapsed(resumed, START + 500) == 200.0


@pytest.mark.parametrize(
    ("kind", "code", "phase_index", "status", "audit"),
    [
        pytest.param(
            DecisionKind.ADVANCE,
            ReasonCode.GATES_PASSED,
            1,
            RolloutStatus.RUNNING,
            AuditKind.ADVANCED,
            id="advance",
        ),
        pytest.param(
            DecisionKind.ROLLBACK,
            ReasonCode.ERROR_RATE_CEILING,
            0,
            RolloutStatus.ROLLED_BACK,
            AuditKind.ROLLED_BACK,
            id="rollback",
        ),
        pytest.param(
            DecisionKind.COMPLETE,
            ReasonCode.GATES_PASSED,
            0,
            RolloutStatus.COMPLETED,
            AuditKind.COMPLETED,
            id="complete",
        ),
        pytest.param(DecisionKind.HOLD, ReasonCode.SOAKING, 0, RolloutStatus.RUNNING, None, id="hold"),
    ],
)
def test_apply_decision(
    kind: DecisionKind, code: ReasonCode, phase_index: int, status: RolloutStatus, audit: AuditKind | None
) -> None:
    made = decision(kind, code)
    after, event = apply_decision(DEFINITION, RUNNING, made, LATER)
    assert (after.phase_index, after.status, after.last_decision, after.last_decided_at) == (
        phase_index,
        status,
        made,
        LATER,
    )
    assert (event.kind if event else None) is audit
    if event is not None:
        assert (event.actor, event.code, event.reason, event.numbers) == (
            "policy",
            code,
            made.reason,
            {"x": 1.0},
        )


def test_advance_restarts_the_phase_clock() -> None:
    after, _ = apply_decision(
        DEFINITION, RUNNING, decision(DecisionKind.ADVANCE, ReasonCode.GATES_PASSED), LATER
    )
    assert after.phase_started_at == LATER
    assert after.extension is None


def test_stale_decision_is_ignored() -> None:
    advanced, _ = apply_decision(
        DEFINITION, RUNNING, decision(DecisionKind.ADVANCE, ReasonCode.GATES_PASSED), LATER
    )
    stale = decision(DecisionKind.ADVANCE, ReasonCode.GATES_PASSED, RUNNING)
    assert apply_decision(DEFINITION, advanced, stale, LATER + 1) == (advanced, None)


def test_rollback_decision_applies_while_paused_but_advance_does_not() -> None:
    rolled, event = apply_decision(
        DEFINITION, PAUSED, decision(DecisionKind.ROLLBACK, ReasonCode.CRITICAL_ALERT), LATER
    )
    assert rolled.status is RolloutStatus.ROLLED_BACK
    assert event is not None
    held, event = apply_decision(
        DEFINITION, PAUSED, decision(DecisionKind.ADVANCE, ReasonCode.GATES_PASSED), LATER
    )
    assert (held.status, held.phase_index, event) == (RolloutStatus.PAUSED, 0, None)


def test_extension_is_recorded_once_after_min_duration() -> None:
    waiting = decision(DecisionKind.HOLD, ReasonCode.INSUFFICIENT_DATA)
    early, event = apply_decision(DEFINITION, RUNNING, waiting, START + 300)
    assert early.extension is None
    assert event is None
    extended, event = apply_decision(DEFINITION, early, waiting, START + 700)
    assert extended.extension == PhaseExtension(START + 700, ReasonCode.INSUFFICIENT_DATA)
    assert event is not None
    assert event.kind is AuditKind.EXTENDED
    again, event = apply_decision(DEFINITION, extended, waiting, START + 800)
    assert again.extension == extended.extension
    assert event is None


def test_outcomes_drive_the_failure_streak_and_the_breaker() -> None:
    state = RUNNING
    assert record_outcome(DEFINITION, state, Version.V1, OutcomeKind.ERROR, START) == (state, None)
    events = []
    for _ in range(3):
        state, event = record_outcome(DEFINITION, state, Version.V2, OutcomeKind.FALLBACK, START + 1)
        events.append(event)
    assert state.consecutive_v2_failures == 3
    assert state.breaker.status is BreakerStatus.OPEN
    assert events[:2] == [None, None]
    opened = events[2]
    assert opened is not None
    assert (opened.kind, opened.actor, opened.code) == (
        AuditKind.BREAKER_OPENED,
        "breaker",
        BreakerReason.CONSECUTIVE_FAILURES,
    )
    assert tick_breaker(DEFINITION, state, START + 10) == (state, None)
    half_open, event = tick_breaker(DEFINITION, state, START + 31)
    assert half_open.breaker.status is BreakerStatus.HALF_OPEN
    assert event is not None
    assert event.kind is AuditKind.BREAKER_HALF_OPENED
    recovered, _ = record_outcome(DEFINITION, half_open, Version.V2, OutcomeKind.SUCCESS, START + 32)
    assert recovered.consecutive_v2_failures == 0


def test_outcomes_after_the_end_change_nothing() -> None:
    assert record_outcome(DEFINITION, ROLLED_BACK, Version.V2, OutcomeKind.ERROR, LATER) == (
        ROLLED_BACK,
        None,
    )


def test_a_finished_rollout_keeps_the_decision_that_finished_it() -> None:
    rollback = decision(DecisionKind.ROLLBACK, ReasonCode.ERROR_RATE_CEILING)
    rolled_back, _ = apply_decision(DEFINITION, RUNNING, rollback, LATER)
    later = decide(DEFINITION, rolled_back, v1_totals(9_000), v2_totals(1_000), LATER + 5)
    assert later.kind is DecisionKind.HOLD
    assert apply_decision(DEFINITION, rolled_back, later, LATER + 5) == (rolled_back, None)
    assert rolled_back.last_decision == rollback
