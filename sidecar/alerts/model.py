"""Alert rules, alerts and alert events as immutable data.

Build rules with :func:`sidecar.alerts.rules.parse_alerts` (it validates every field); constructing
:class:`AlertRule` directly skips validation and is meant for tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sidecar.rollout.model import Version

ALL_ROLLOUTS = "*"
DAEMON_WIDE = ""  # the "rollout" of an alert on a daemon-wide metric
GATE_PREFIX = "gate:"


class Severity(StrEnum):
    """Ordered from least to most severe; compare with :attr:`rank`."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {severity: index for index, severity in enumerate(Severity)}


class Comparison(StrEnum):
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="

    def holds(self, value: float, threshold: float) -> bool:
        if self is Comparison.GT:
            return value > threshold
        if self is Comparison.GE:
            return value >= threshold
        if self is Comparison.LT:
            return value < threshold
        return value <= threshold

    @property
    def upward(self) -> bool:
        """True for ``>``/``>=``: higher values are worse, so thresholds rise with severity."""
        return self in (Comparison.GT, Comparison.GE)


class Metric(StrEnum):
    ERROR_RATE = "error_rate"
    FALLBACK_RATE = "fallback_rate"
    P95_LATENCY_MS = "p95_latency_ms"
    GATE = "gate"  # spelled "gate:<gate name>" in a rule, e.g. "gate:max_v2_error_rate"
    EVALUATION_ERRORS = "evaluation_errors"
    RELOAD_FAILURES = "reload_failures"
    MEMORY_RSS_MB = "memory_rss_mb"


OUTCOME_METRICS = frozenset({Metric.ERROR_RATE, Metric.FALLBACK_RATE, Metric.P95_LATENCY_MS})
"""Computed from one version's reported outcomes over the rule's window; they take a version."""
ROLLOUT_METRICS = OUTCOME_METRICS | {Metric.GATE}
"""One value per rollout; every other metric has one value for the whole daemon."""


@dataclass(frozen=True, slots=True)
class MetricRef:
    metric: Metric
    version: Version = Version.V2  # outcome metrics only
    gate: str = ""  # gate metrics only: a rollout gate name such as "max_v2_error_rate"

    @property
    def per_rollout(self) -> bool:
        return self.metric in ROLLOUT_METRICS

    def __str__(self) -> str:
        if self.metric is Metric.GATE:
            return GATE_PREFIX + self.gate
        if self.metric in OUTCOME_METRICS:
            return f"{self.metric.value}{{version={self.version.value}}}"
        return self.metric.value


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    metric: MetricRef
    comparison: Comparison
    # (severity, threshold) from least to most severe; thresholds move in the comparison's bad direction.
    thresholds: tuple[tuple[Severity, float], ...]
    # A rollout key or ALL_ROLLOUTS for per-rollout metrics; None for daemon-wide metrics.
    rollout: str | None
    window_s: float
    interval_s: float
    for_s: float = 0.0  # how long a threshold must be crossed before its severity fires
    # Outcome metrics only: with fewer calls in the window the value is no data, not a rate of 1 in 1.
    min_requests: int = 1
    description: str = ""
    webhooks: tuple[str, ...] = ()
    source: str = ""

    def threshold(self, severity: Severity) -> float:
        """The threshold of one of this rule's severities."""
        return dict(self.thresholds)[severity]

    def covers(self, rollout_key: str) -> bool:
        return self.rollout in (ALL_ROLLOUTS, rollout_key)


AlertKey = tuple[str, str]
"""(rule name, rollout key or DAEMON_WIDE): one alert instance of a rule."""


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alert:
    """One episode of an alert instance, from firing to resolution; what the ``alerts`` table stores."""

    id: str
    rule: str
    rollout: str
    metric: str
    description: str
    severity: Severity  # the highest reached while firing: an alert never de-escalates
    status: AlertStatus
    fired_at: float
    value: float  # the metric's value at the last change (firing, escalation or resolution)
    threshold: float  # the threshold of ``severity``
    resolved_at: float | None = None
    ack_by: str | None = None
    ack_at: float | None = None
    ack_note: str | None = None
    version: str = ""  # HLC timestamp of the last stored change; set by the store adapter

    @property
    def key(self) -> AlertKey:
        return self.rule, self.rollout


class AlertEventKind(StrEnum):
    FIRED = "FIRED"
    ESCALATED = "ESCALATED"
    RESOLVED = "RESOLVED"
    ACKNOWLEDGED = "ACKNOWLEDGED"  # raised by an operator, never by the engine


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: AlertEventKind
    alert: Alert  # as it is after the change
    at: float
    previous_severity: Severity | None = None  # ESCALATED only


def alert_fields(alert: Alert) -> dict[str, Any]:
    """The alert as JSON-able data (webhook bodies, log records)."""
    return {
        "id": alert.id,
        "rule": alert.rule,
        "rollout": alert.rollout,
        "metric": alert.metric,
        "description": alert.description,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "value": alert.value,
        "threshold": alert.threshold,
        "ack_by": alert.ack_by,
        "ack_at": alert.ack_at,
        "ack_note": alert.ack_note,
    }


def event_payload(event: AlertEvent, node_id: str) -> Mapping[str, Any]:
    """The webhook body and structured-log form of one event."""
    return {
        "event": event.kind.value,
        "at": event.at,
        "node": node_id,
        "previous_severity": event.previous_severity.value if event.previous_severity else None,
        "alert": alert_fields(event.alert),
    }
