"""Per-rollout circuit breaker on V2 calls, as a pure state machine.

* **CLOSED** — V2 gets its split. Opens after ``consecutive_failures`` V2 failures in a row, or when the V2
  failure rate over the last ``window_s`` seconds exceeds ``error_rate`` with at least ``min_requests`` calls.
* **OPEN** — every unit goes to V1 (router reason ``FALLBACK_ACTIVE``). After ``cool_down_s`` it is half-open;
  the router already treats an expired OPEN as HALF_OPEN, so routing does not wait for the next tick.
* **HALF_OPEN** — ``probe_percent`` of the units in the V2 split probe V2 (sticky, so a probe unit does not
  flip back and forth); the rest stay on V1. ``probe_successes`` successful probes close it, one failed probe
  reopens it and restarts the cool-down.

A failure is any V2 outcome that is not a success (error or fallback). The breaker's state is host-local: it
protects this host's callers within a second or two, while the rollout policy decides about the rollout as a
whole. In a sync group the error-rate criterion also counts the other sidecars' recent V2 outcomes
(:func:`check_group`, every policy tick), so a host with little traffic opens on what the group sees.
Every function returns the new state and the change (or ``None``) for the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from sidecar.rollout.model import BreakerSettings


class BreakerStatus(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class BreakerReason(StrEnum):
    CONSECUTIVE_FAILURES = "CONSECUTIVE_FAILURES"
    ERROR_RATE = "ERROR_RATE"
    COOL_DOWN_ELAPSED = "COOL_DOWN_ELAPSED"
    PROBE_FAILED = "PROBE_FAILED"
    PROBES_SUCCEEDED = "PROBES_SUCCEEDED"


@dataclass(frozen=True, slots=True)
class WindowSlot:
    """V2 calls and failures in one whole second of the short window."""

    second: int
    calls: int
    failures: int


@dataclass(frozen=True, slots=True)
class BreakerState:
    status: BreakerStatus = BreakerStatus.CLOSED
    consecutive_failures: int = 0
    window: tuple[WindowSlot, ...] = ()  # oldest first; only slots inside the short window
    opened_at: float | None = None
    probe_successes: int = 0


CLOSED = BreakerState()


@dataclass(frozen=True, slots=True)
class BreakerChange:
    from_status: BreakerStatus
    to_status: BreakerStatus
    code: BreakerReason
    reason: str
    at: float


BreakerStep = tuple[BreakerState, BreakerChange | None]


def effective_status(settings: BreakerSettings, state: BreakerState, now: float) -> BreakerStatus:
    """The status routing should use at ``now``: an OPEN breaker whose cool-down has passed is HALF_OPEN."""
    if state.status is BreakerStatus.OPEN and _cooled_down(settings, state, now):
        return BreakerStatus.HALF_OPEN
    return state.status


def advance(settings: BreakerSettings, state: BreakerState, now: float) -> BreakerStep:
    """Let time pass: OPEN → HALF_OPEN once the cool-down is over. Call it on every tick."""
    if state.status is not BreakerStatus.OPEN or not _cooled_down(settings, state, now):
        return state, None
    half_open = BreakerState(BreakerStatus.HALF_OPEN)
    reason = f"cool-down of {settings.cool_down_s:g}s elapsed; probing V2"
    return half_open, BreakerChange(
        state.status, half_open.status, BreakerReason.COOL_DOWN_ELAPSED, reason, now
    )


def record(settings: BreakerSettings, state: BreakerState, failed: bool, now: float) -> BreakerStep:
    """Account one V2 outcome.

    Outcomes reported while OPEN (calls routed before it opened) are ignored. When the cool-down has just
    ended, the outcome is the first probe and the returned change runs from OPEN to wherever it led.
    """
    if not settings.enabled:
        return state, None
    state, woke = advance(settings, state, now)
    if state.status is BreakerStatus.OPEN:
        return state, None
    handle = _record_closed if state.status is BreakerStatus.CLOSED else _record_probe
    new_state, change = handle(settings, state, failed, now)
    if woke is not None:
        change = woke if change is None else replace(change, from_status=woke.from_status)
    return new_state, change


def _record_closed(settings: BreakerSettings, state: BreakerState, failed: bool, now: float) -> BreakerStep:
    consecutive = state.consecutive_failures + 1 if failed else 0
    window = _slide(state.window, int(now), settings.window_s, failed)
    if settings.consecutive_failures is not None and consecutive >= settings.consecutive_failures:
        return _open(state, BreakerReason.CONSECUTIVE_FAILURES, f"{consecutive} consecutive V2 failures", now)
    if failed and (reason := _rate_exceeded(settings, window, 0, 0, now)) is not None:
        return _open(state, BreakerReason.ERROR_RATE, reason, now)
    return BreakerState(BreakerStatus.CLOSED, consecutive, window), None


def check_group(
    settings: BreakerSettings, state: BreakerState, other_calls: int, other_failures: int, now: float
) -> BreakerStep:
    """Open a closed breaker when the V2 failure rate across the group exceeds ``error_rate``: this host's
    window plus ``other_calls``/``other_failures``, the other sidecars' V2 outcomes of about the same window
    (from peer sync). Call it every tick; without others' outcomes it changes nothing."""
    if not settings.enabled or state.status is not BreakerStatus.CLOSED or other_calls == 0:
        return state, None
    reason = _rate_exceeded(settings, state.window, other_calls, other_failures, now)
    if reason is None:
        return state, None
    return _open(state, BreakerReason.ERROR_RATE, reason, now)


def _rate_exceeded(
    settings: BreakerSettings,
    window: tuple[WindowSlot, ...],
    other_calls: int,
    other_failures: int,
    now: float,
) -> str | None:
    """Why the failure rate over the window opens the breaker, or None while it does not."""
    if settings.error_rate is None:
        return None
    recent = [slot for slot in window if slot.second > now - settings.window_s]
    calls = other_calls + sum(slot.calls for slot in recent)
    failures = other_failures + sum(slot.failures for slot in recent)
    if calls < settings.min_requests or failures <= settings.error_rate * calls:
        return None
    where = f", {other_failures} of {other_calls} on other sidecars" if other_calls else ""
    return (
        f"V2 failure rate {failures / calls:.1%} over the last {settings.window_s:g}s "
        f"({failures} of {calls}{where}) exceeds {settings.error_rate:.1%}"
    )


def _record_probe(settings: BreakerSettings, state: BreakerState, failed: bool, now: float) -> BreakerStep:
    if failed:
        return _open(state, BreakerReason.PROBE_FAILED, "a V2 probe failed; cool-down restarted", now)
    successes = state.probe_successes + 1
    if successes < settings.probe_successes:
        return replace(state, probe_successes=successes), None
    reason = f"{successes} V2 probes succeeded"
    return CLOSED, BreakerChange(state.status, CLOSED.status, BreakerReason.PROBES_SUCCEEDED, reason, now)


def _open(state: BreakerState, code: BreakerReason, reason: str, now: float) -> BreakerStep:
    opened = BreakerState(BreakerStatus.OPEN, opened_at=now)
    return opened, BreakerChange(state.status, opened.status, code, reason, now)


def _cooled_down(settings: BreakerSettings, state: BreakerState, now: float) -> bool:
    return state.opened_at is not None and now - state.opened_at >= settings.cool_down_s


def _slide(
    window: tuple[WindowSlot, ...], second: int, window_s: float, failed: bool
) -> tuple[WindowSlot, ...]:
    """Add one call to the 1-second slots and drop slots that left the window."""
    oldest = second - window_s
    kept = tuple(slot for slot in window if slot.second > oldest and slot.second != second)
    current = next((slot for slot in window if slot.second == second), None)
    calls, failures = (current.calls, current.failures) if current is not None else (0, 0)
    return (*kept, WindowSlot(second, calls + 1, failures + int(failed)))
