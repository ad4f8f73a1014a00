"""The pure alert engine: firing, escalation, resolution, "for", de-duplication and retirement."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from sidecar.alerts.engine import AlertState, critical_rollouts, evaluate, firing
from sidecar.alerts.model import (
    ALL_ROLLOUTS,
    DAEMON_WIDE,
    AlertEventKind,
    AlertKey,
    AlertRule,
    AlertStatus,
    Comparison,
    Metric,
    MetricRef,
    Severity,
)

FIRED, ESCALATED, RESOLVED = AlertEventKind.FIRED, AlertEventKind.ESCALATED, AlertEventKind.RESOLVED
INFO, WARNING, ERROR, CRITICAL = Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL


def rule(
    comparison: Comparison = Comparison.GT,
    thresholds: Sequence[tuple[Severity, float]] = ((WARNING, 0.05), (CRITICAL, 0.2)),
    for_s: float = 0.0,
    name: str = "errors",
) -> AlertRule:
    return AlertRule(
        name=name,
        metric=MetricRef(Metric.ERROR_RATE),
        comparison=comparison,
        thresholds=tuple(thresholds),
        rollout=ALL_ROLLOUTS,
        window_s=60.0,
        interval_s=1.0,
        for_s=for_s,
        description="V2 errors",
    )


DEFAULT_RULE = rule()


@dataclass(frozen=True)
class Case:
    name: str
    values: Sequence[float | None]  # one evaluation per second, starting at t=0
    expected: Sequence[tuple[int, AlertEventKind, Severity]]  # (t, kind, severity after the event)
    rule: AlertRule = DEFAULT_RULE


CASES = [
    Case("below every threshold: nothing", [0.0, 0.01, 0.04], []),
    Case("crossing warning fires once", [0.0, 0.1, 0.1, 0.1], [(1, FIRED, WARNING)]),
    Case("equal to the threshold does not cross '>'", [0.05, 0.05], []),
    Case(
        "equal to the threshold crosses '>='",
        [0.05],
        [(0, FIRED, WARNING)],
        rule(Comparison.GE),
    ),
    Case("straight to critical fires at critical", [0.5], [(0, FIRED, CRITICAL)]),
    Case(
        "warning then critical escalates once",
        [0.1, 0.3, 0.3, 0.3],
        [(0, FIRED, WARNING), (1, ESCALATED, CRITICAL)],
    ),
    Case(
        "never de-escalates: critical stays critical at warning level",
        [0.3, 0.1, 0.1],
        [(0, FIRED, CRITICAL)],
    ),
    Case(
        "resolves when below every threshold",
        [0.1, 0.3, 0.01],
        [(0, FIRED, WARNING), (1, ESCALATED, CRITICAL), (2, RESOLVED, CRITICAL)],
    ),
    Case("no data resolves", [0.1, None], [(0, FIRED, WARNING), (1, RESOLVED, WARNING)]),
    Case("no data never fires", [None, None], []),
    Case(
        "fires again after resolving",
        [0.1, 0.0, 0.1],
        [(0, FIRED, WARNING), (1, RESOLVED, WARNING), (2, FIRED, WARNING)],
    ),
    Case(
        "'for' waits until the condition held long enough",
        [0.1, 0.1, 0.1, 0.1],
        [(2, FIRED, WARNING)],
        rule(for_s=2.0),
    ),
    Case(
        "'for' restarts after an interruption",
        [0.1, 0.1, 0.0, 0.1, 0.1, 0.1],
        [(5, FIRED, WARNING)],
        rule(for_s=2.0),
    ),
    Case(
        "'for' applies to escalation too; warning held since t=0",
        [0.1, 0.1, 0.3, 0.3, 0.3],
        [(2, FIRED, WARNING), (4, ESCALATED, CRITICAL)],
        rule(for_s=2.0),
    ),
    Case(
        "'for': a critical spike counts toward warning",
        [0.3, 0.3, 0.3],
        [(2, FIRED, CRITICAL)],
        rule(for_s=2.0),
    ),
    Case(
        "'<' fires as the value drops",
        [0.99, 0.95, 0.85, 0.97, 0.999],
        [(1, FIRED, WARNING), (2, ESCALATED, CRITICAL), (4, RESOLVED, CRITICAL)],
        rule(Comparison.LT, ((WARNING, 0.98), (CRITICAL, 0.9))),
    ),
    Case(
        "four severities climb one by one",
        [1, 2, 3, 4, 0],
        [
            (0, FIRED, INFO),
            (1, ESCALATED, WARNING),
            (2, ESCALATED, ERROR),
            (3, ESCALATED, CRITICAL),
            (4, RESOLVED, CRITICAL),
        ],
        rule(thresholds=((INFO, 0.5), (WARNING, 1.5), (ERROR, 2.5), (CRITICAL, 3.5))),
    ),
]


def run(case_rule: AlertRule, values: Sequence[float | None]) -> list[tuple[int, AlertEventKind, Severity]]:
    ids = (f"a{n}" for n in itertools.count())
    states: dict[AlertKey, AlertState] = {}
    seen: list[tuple[int, AlertEventKind, Severity]] = []
    key = (case_rule.name, "svc")
    for t, value in enumerate(values):
        step = evaluate(
            {case_rule.name: case_rule}, {case_rule.name}, {key: value}, states, float(t), lambda: next(ids)
        )
        states = step.states
        seen.extend((t, e.kind, e.alert.severity) for e in step.events)
    return seen


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_engine(case: Case) -> None:
    assert run(case.rule, case.values) == list(case.expected)


def _fire(value: float = 0.1, key: AlertKey = ("errors", "svc")) -> dict[AlertKey, AlertState]:
    step = evaluate({"errors": rule()}, {"errors"}, {key: value}, {}, 0.0, lambda: "a1")
    return step.states


def test_fired_alert_records_what_it_saw() -> None:
    step = evaluate({"errors": rule()}, {"errors"}, {("errors", "svc"): 0.3}, {}, 5.0, lambda: "a1")
    (event,) = step.events
    alert = event.alert
    assert (alert.id, alert.rule, alert.rollout, alert.metric) == (
        "a1",
        "errors",
        "svc",
        "error_rate{version=V2}",
    )
    assert (alert.severity, alert.status, alert.fired_at, alert.value, alert.threshold) == (
        CRITICAL,
        AlertStatus.FIRING,
        5.0,
        0.3,
        0.2,
    )
    assert alert.description == "V2 errors"


def test_escalation_keeps_identity_and_acknowledgement() -> None:
    states = _fire(0.1)
    key = ("errors", "svc")
    alert = states[key].alert
    assert alert is not None
    acked = replace(alert, ack_by="alice", ack_at=1.0, ack_note="on it")
    states = {key: replace(states[key], alert=acked)}
    step = evaluate({"errors": rule()}, {"errors"}, {key: 0.5}, states, 2.0, lambda: "other")
    (event,) = step.events
    assert (event.kind, event.previous_severity) == (ESCALATED, WARNING)
    assert (event.alert.id, event.alert.fired_at, event.alert.ack_by) == ("a1", 0.0, "alice")
    assert (event.alert.value, event.alert.threshold) == (0.5, 0.2)


def test_resolution_keeps_last_value_without_data() -> None:
    states = _fire(0.1)
    step = evaluate({"errors": rule()}, {"errors"}, {("errors", "svc"): None}, states, 3.0, lambda: "x")
    (event,) = step.events
    assert (event.alert.status, event.alert.resolved_at, event.alert.value) == (
        AlertStatus.RESOLVED,
        3.0,
        0.1,
    )
    assert step.states == {}


def test_rule_not_due_is_carried_unchanged() -> None:
    states = _fire(0.1)
    step = evaluate({"errors": rule()}, set(), {}, states, 9.0, lambda: "x")
    assert step.events == []
    assert step.states == states


def test_deleted_rule_resolves_its_alerts() -> None:
    states = _fire(0.1)
    step = evaluate({}, set(), {}, states, 9.0, lambda: "x")
    assert [(e.kind, e.alert.id, e.alert.resolved_at) for e in step.events] == [(RESOLVED, "a1", 9.0)]
    assert step.states == {}


def test_rollout_that_disappeared_resolves_while_others_stay() -> None:
    states = {**_fire(0.1, ("errors", "gone")), **_fire(0.1, ("errors", "svc"))}
    step = evaluate({"errors": rule()}, {"errors"}, {("errors", "svc"): 0.1}, states, 9.0, lambda: "x")
    assert [(e.kind, e.alert.rollout) for e in step.events] == [(RESOLVED, "gone")]
    assert set(step.states) == {("errors", "svc")}


def test_pending_state_is_kept_between_evaluations() -> None:
    slow = rule(for_s=10.0)
    step = evaluate({"errors": slow}, {"errors"}, {("errors", "svc"): 0.1}, {}, 0.0, lambda: "x")
    assert step.events == []
    assert step.states[("errors", "svc")].crossed_since == {WARNING: 0.0}


def test_firing_orders_most_severe_then_oldest_and_critical_rollouts_picks_oldest() -> None:
    rules = {"a": rule(name="a"), "b": rule(name="b")}
    ids = iter(["1", "2", "3"])
    a_values: dict[AlertKey, float | None] = {("a", "svc"): 0.3, ("a", DAEMON_WIDE): 0.3}
    states = evaluate(rules, {"a"}, a_values, {}, 0.0, lambda: next(ids)).states
    states = evaluate(rules, {"b"}, {("b", "svc"): 0.1}, states, 1.0, lambda: next(ids)).states
    later = evaluate(rules, {"b"}, {("b", "svc"): 0.5}, states, 2.0, lambda: next(ids)).states
    assert [(a.rule, a.rollout, a.severity) for a in firing(later)] == [
        ("a", "svc", CRITICAL),
        ("a", DAEMON_WIDE, CRITICAL),
        ("b", "svc", CRITICAL),
    ]
    # Daemon-wide alerts name no rollout, so they roll nothing back.
    assert critical_rollouts(later) == {"svc": "a"}
