from __future__ import annotations

from dataclasses import dataclass

import pytest

from sidecar.rollout.breaker import (
    CLOSED,
    BreakerChange,
    BreakerReason,
    BreakerState,
    BreakerStatus,
    advance,
    check_group,
    effective_status,
    record,
)
from sidecar.rollout.model import BreakerSettings

SETTINGS = BreakerSettings(
    consecutive_failures=5,
    error_rate=0.5,
    window_s=10.0,
    min_requests=10,
    cool_down_s=30.0,
    probe_successes=3,
)
OK, FAIL = False, True


def feed(
    state: BreakerState, events: list[tuple[float, bool]], settings: BreakerSettings = SETTINGS
) -> tuple[BreakerState, list[BreakerChange]]:
    changes = []
    for at, failed in events:
        state, change = record(settings, state, failed, at)
        if change is not None:
            changes.append(change)
    return state, changes


def opened_at(at: float) -> BreakerState:
    return BreakerState(BreakerStatus.OPEN, opened_at=at)


@dataclass(frozen=True)
class Case:
    events: list[tuple[float, bool]]
    status: BreakerStatus
    codes: list[BreakerReason]
    start: BreakerState = CLOSED


CASES = {
    "four failures stay closed": Case([(1.0, FAIL)] * 4, BreakerStatus.CLOSED, []),
    "five consecutive failures open": Case(
        [(1.0, FAIL)] * 5, BreakerStatus.OPEN, [BreakerReason.CONSECUTIVE_FAILURES]
    ),
    "a success resets the streak": Case(
        [(1.0, FAIL)] * 4 + [(1.0, OK)] + [(1.0, FAIL)] * 4, BreakerStatus.CLOSED, []
    ),
    "windowed error rate above threshold opens": Case(
        [(1.0, FAIL), (1.0, OK)] * 3 + [(2.0, FAIL), (2.0, FAIL), (2.0, OK), (3.0, FAIL)],
        BreakerStatus.OPEN,
        [BreakerReason.ERROR_RATE],
    ),
    "error rate needs the minimum count": Case(
        [(1.0, FAIL), (1.0, FAIL), (1.0, OK)] * 3, BreakerStatus.CLOSED, []
    ),
    "old failures leave the window": Case(
        [(1.0, FAIL), (1.0, FAIL), (1.0, OK)] * 3 + [(20.0, OK)] * 8 + [(20.0, FAIL)],
        BreakerStatus.CLOSED,
        [],
    ),
    "outcomes while open are ignored": Case(
        [(10.0, FAIL)] * 10, BreakerStatus.OPEN, [], start=opened_at(5.0)
    ),
    "first probe after cool-down counts": Case(
        [(40.0, OK)], BreakerStatus.HALF_OPEN, [BreakerReason.COOL_DOWN_ELAPSED], start=opened_at(5.0)
    ),
    "probe failure right after cool-down reopens": Case(
        [(40.0, FAIL)], BreakerStatus.OPEN, [BreakerReason.PROBE_FAILED], start=opened_at(5.0)
    ),
    "three probe successes close": Case(
        [(40.0, OK)] * 3,
        BreakerStatus.CLOSED,
        [BreakerReason.COOL_DOWN_ELAPSED, BreakerReason.PROBES_SUCCEEDED],
        start=opened_at(5.0),
    ),
    "probe failure in half-open reopens": Case(
        [(1.0, OK), (2.0, FAIL)],
        BreakerStatus.OPEN,
        [BreakerReason.PROBE_FAILED],
        start=BreakerState(BreakerStatus.HALF_OPEN),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_breaker_sequences(case: Case) -> None:
    state, changes = feed(case.start, case.events)
    assert state.status is case.status
    assert [change.code for change in changes] == case.codes


def test_half_open_after_cool_down_via_advance() -> None:
    state, changes = feed(CLOSED, [(100.0, FAIL)] * 5)
    assert state == opened_at(100.0)
    assert changes[0].from_status is BreakerStatus.CLOSED
    assert changes[0].to_status is BreakerStatus.OPEN
    assert advance(SETTINGS, state, 129.9) == (state, None)
    assert effective_status(SETTINGS, state, 129.9) is BreakerStatus.OPEN
    assert effective_status(SETTINGS, state, 130.0) is BreakerStatus.HALF_OPEN
    half_open, change = advance(SETTINGS, state, 130.0)
    assert half_open.status is BreakerStatus.HALF_OPEN
    assert change == BreakerChange(
        BreakerStatus.OPEN,
        BreakerStatus.HALF_OPEN,
        BreakerReason.COOL_DOWN_ELAPSED,
        "cool-down of 30s elapsed; probing V2",
        130.0,
    )


def test_closing_forgets_the_failures_before_opening() -> None:
    state, _ = feed(CLOSED, [(1.0, FAIL)] * 5 + [(40.0, OK)] * 3)
    assert state == CLOSED
    state, changes = feed(state, [(41.0, FAIL)] * 4)
    assert state.status is BreakerStatus.CLOSED
    assert not changes


def test_reopening_restarts_the_cool_down() -> None:
    state, _ = feed(opened_at(0.0), [(30.0, OK), (31.0, FAIL)])
    assert state == opened_at(31.0)
    assert effective_status(SETTINGS, state, 60.0) is BreakerStatus.OPEN


def test_disabled_breaker_never_changes() -> None:
    settings = BreakerSettings(enabled=False)
    state, changes = feed(CLOSED, [(1.0, FAIL)] * 50, settings)
    assert state is CLOSED
    assert changes == []


def test_switched_off_criteria_do_not_open() -> None:
    settings = BreakerSettings(consecutive_failures=None, error_rate=None)
    state, _ = feed(CLOSED, [(1.0, FAIL)] * 50, settings)
    assert state.status is BreakerStatus.CLOSED
    assert state.consecutive_failures == 50


# -- the group's failure rate (peer sync) ------------------------------------------------------------------


def test_failures_seen_by_other_sidecars_open_a_quiet_hosts_breaker() -> None:
    state, change = check_group(SETTINGS, CLOSED, 12, 9, 100.0)
    assert state == opened_at(100.0)
    assert change is not None
    assert change.code is BreakerReason.ERROR_RATE
    assert change.reason == (
        "V2 failure rate 75.0% over the last 10s (9 of 12, 9 of 12 on other sidecars) exceeds 50.0%"
    )


def test_the_group_rate_counts_this_hosts_recent_window_too() -> None:
    local, _ = feed(CLOSED, [(95.0, OK)] * 4 + [(96.0, FAIL)])  # 1 of 5 failed here
    assert check_group(SETTINGS, local, 6, 4, 100.0) == (local, None)  # 5 of 11: not above half
    opened, change = check_group(SETTINGS, local, 6, 5, 100.0)  # 6 of 11
    assert opened.status is BreakerStatus.OPEN
    assert change is not None
    assert "(6 of 11, 5 of 6 on other sidecars)" in change.reason
    # Slots that left the window no longer count: 5 of 6 alone is below the minimum of 10 calls.
    assert check_group(SETTINGS, local, 6, 5, 120.0) == (local, None)


def test_the_group_rate_changes_nothing_without_others_or_when_not_closed() -> None:
    assert check_group(SETTINGS, CLOSED, 0, 0, 100.0) == (CLOSED, None)
    assert check_group(SETTINGS, CLOSED, 9, 9, 100.0) == (CLOSED, None)  # below the minimum of 10 calls
    open_state = opened_at(90.0)
    assert check_group(SETTINGS, open_state, 50, 50, 100.0) == (open_state, None)
    half_open = BreakerState(BreakerStatus.HALF_OPEN)
    assert check_group(SETTINGS, half_open, 50, 50, 100.0) == (half_open, None)
    for settings in (BreakerSettings(enabled=False), BreakerSettings(error_rate=None)):
        assert check_group(settings, CLOSED, 50, 50, 100.0) == (CLOSED, None)
