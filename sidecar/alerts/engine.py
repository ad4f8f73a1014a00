"""The alert engine: a pure function from (rules, values, previous states, now) to new states and events.

Per alert instance (rule, rollout) and evaluation:

* A severity's threshold is *crossed* when ``value <comparison> threshold``. It *holds* once it has been
  crossed in every evaluation for at least the rule's ``for`` (0: at once).
* Not firing and some severity holds → **FIRED** at the highest one that holds.
* Firing and a higher severity holds → **ESCALATED**. A lower value never de-escalates: the alert keeps the
  highest severity it reached until it resolves, as an incident does.
* Firing and no threshold crossed at all → **RESOLVED**. No data (``None``: e.g. no V2 calls in the window)
  crosses nothing, so an alert whose subject went quiet resolves.
* Anything else → no event: re-evaluating an unchanged situation never repeats a notification.

Instances of a rule that is no longer defined, or of a rollout that no longer exists, resolve too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

from sidecar.alerts.model import (
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertKey,
    AlertRule,
    AlertStatus,
    Severity,
)


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the engine remembers of one alert instance between evaluations."""

    # Since when each currently crossed severity has been crossed without interruption.
    crossed_since: Mapping[Severity, float] = field(default_factory=dict)
    alert: Alert | None = None  # the firing alert, if any


@dataclass(frozen=True, slots=True)
class Step:
    states: dict[AlertKey, AlertState]
    events: list[AlertEvent]


def evaluate(
    rules: Mapping[str, AlertRule],
    due: Collection[str],
    values: Mapping[AlertKey, float | None],
    previous: Mapping[AlertKey, AlertState],
    now: float,
    new_id: Callable[[], str],
) -> Step:
    """One evaluation round.

    ``rules`` are all defined rules by name; ``due`` names those evaluated now, and ``values`` holds the
    current value of every instance of the due rules. Instances of rules not due are carried unchanged.
    """
    states: dict[AlertKey, AlertState] = {}
    events: list[AlertEvent] = []
    for key, state in previous.items():
        if key in values:
            continue  # evaluated below
        if key[0] in rules and key[0] not in due:
            states[key] = state
        elif state.alert is not None:  # its rule was deleted, or its rollout is gone
            events.append(_resolve(state.alert, state.alert.value, now))
    for key, value in values.items():
        state, event = _step(rules[key[0]], key, value, previous.get(key, AlertState()), now, new_id)
        if state.alert is not None or state.crossed_since:
            states[key] = state
        if event is not None:
            events.append(event)
    return Step(states, events)


def _step(
    rule: AlertRule,
    key: AlertKey,
    value: float | None,
    state: AlertState,
    now: float,
    new_id: Callable[[], str],
) -> tuple[AlertState, AlertEvent | None]:
    crossed = {
        severity: state.crossed_since.get(severity, now)
        for severity, threshold in rule.thresholds
        if value is not None and rule.comparison.holds(value, threshold)
    }
    holding = [severity for severity, since in crossed.items() if now - since >= rule.for_s]
    target = max(holding, key=lambda severity: severity.rank, default=None)
    alert = state.alert
    if alert is None:
        if target is None or value is None:
            return AlertState(crossed), None
        fired = Alert(
            id=new_id(),
            rule=rule.name,
            rollout=key[1],
            metric=str(rule.metric),
            description=rule.description,
            severity=target,
            status=AlertStatus.FIRING,
            fired_at=now,
            value=value,
            threshold=rule.threshold(target),
        )
        return AlertState(crossed, fired), AlertEvent(AlertEventKind.FIRED, fired, now)
    if not crossed or value is None:
        return AlertState(), _resolve(alert, alert.value if value is None else value, now)
    if target is not None and target.rank > alert.severity.rank:
        escalated = replace(alert, severity=target, value=value, threshold=rule.threshold(target))
        event = AlertEvent(AlertEventKind.ESCALATED, escalated, now, previous_severity=alert.severity)
        return AlertState(crossed, escalated), event
    return AlertState(crossed, alert), None


def _resolve(alert: Alert, value: float, now: float) -> AlertEvent:
    resolved = replace(alert, status=AlertStatus.RESOLVED, resolved_at=now, value=value)
    return AlertEvent(AlertEventKind.RESOLVED, resolved, now)


def firing(states: Mapping[AlertKey, AlertState]) -> list[Alert]:
    """The firing alerts of ``states``, most severe first, then oldest first."""
    alerts = [state.alert for state in states.values() if state.alert is not None]
    return sorted(alerts, key=lambda a: (-a.severity.rank, a.fired_at, a.id))


def critical_rollouts(states: Mapping[AlertKey, AlertState]) -> dict[str, str]:
    """Rollout key → name of a firing critical alert naming it (the oldest, if several)."""
    critical: dict[str, str] = {}
    for alert in firing(states):
        if alert.severity is Severity.CRITICAL and alert.rollout:
            critical.setdefault(alert.rollout, alert.rule)
    return critical
