"""Turns what the domain did (resolutions, routes, outcomes, rollout decisions) into OpenTelemetry.

The servicers and the rollout runtime call these hooks; nothing here decides anything. Metric counters are
plain integer cells (cheap on every request); span events are only built when the current span is sampled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.metrics import CallbackOptions, Observation

from sidecar.alerts.model import AlertEvent, Severity, alert_fields
from sidecar.evaluation.model import Resolution
from sidecar.rollout.decision import Decision, DecisionKind
from sidecar.rollout.model import OutcomeKind, RolloutDefinition
from sidecar.rollout.router import RouteDecision
from sidecar.rollout.state import RolloutState, RolloutStatus
from sidecar.rollout.transitions import AuditEvent, AuditKind
from sidecar.runtime.rollouts import OutcomeReport
from sidecar.store.snapshot import Snapshot
from sidecar.store.sources import SourceStatus
from sidecar.sync.metrics import SyncMetrics
from sidecar.telemetry import (
    DECISIONS_LOGGER,
    RolloutGauge,
    Telemetry,
    record_rollout_decision,
    record_route_decision,
)

PROVIDER_NAME = "rollout-sidecar"
OUTCOME_RESULTS = {
    OutcomeKind.SUCCESS: "success",
    OutcomeKind.ERROR: "error",
    OutcomeKind.FALLBACK: "fallback",
}
ALERT_SEVERITIES = {
    Severity.INFO: SeverityNumber.INFO,
    Severity.WARNING: SeverityNumber.WARN,
    Severity.ERROR: SeverityNumber.ERROR,
    Severity.CRITICAL: SeverityNumber.FATAL,
}
CONFIG_FILES_FAILING = "sidecar.config.files.failing"
decisions_log = logging.getLogger(DECISIONS_LOGGER)


class DaemonTelemetry:
    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry
        self._metrics = telemetry.metrics
        self._tracer = telemetry.tracer
        self._events = telemetry.evaluation_events
        # Read by the metrics exporter thread; replaced entry by entry on the event loop.
        self._gauges: dict[str, RolloutGauge] = {}
        self._metrics.set_rollout_source(lambda: list(self._gauges.values()))

    # -- requests --------------------------------------------------------------------------------------

    def evaluation(
        self,
        snapshot: Snapshot,
        resolution: Resolution,
        context: Mapping[str, Any],
        now: float,
        started: float,
    ) -> None:
        """Every evaluation, unknown flags and errors included: counters, duration sample, events."""
        variant = resolution.variant or ""
        reason = resolution.reason.value
        self._metrics.record_evaluation(resolution.flag_key, variant, reason, time.perf_counter() - started)
        set_id = resolution.metadata.get("flagSetId")
        context_id = context.get("targetingKey")
        self._events.record(
            flag_key=resolution.flag_key,
            variant=resolution.variant,
            reason=reason,
            value=resolution.value if resolution.error_code is None else None,
            provider_name=PROVIDER_NAME,
            context_id=context_id if isinstance(context_id, str) else None,
            set_id=set_id if isinstance(set_id, str) else None,
            version=snapshot.revision,
            error_type=resolution.error_code.value if resolution.error_code else None,
            error_message=resolution.error_message,
        )

    def route(self, rollout_key: str, decision: RouteDecision, context_id: str | None) -> None:
        self._metrics.record_route(rollout_key, decision.version.value, decision.reason.value)
        span = trace.get_current_span()
        if span.is_recording():
            record_route_decision(
                span,
                rollout=rollout_key,
                version=decision.version.value,
                reason=decision.reason.value,
                context_id=context_id,
                sticky=context_id is not None,
            )

    def outcomes(self, outcomes: Sequence[OutcomeReport]) -> None:
        for outcome in outcomes:
            self._metrics.record_outcome(
                outcome.rollout_key, outcome.version.value, OUTCOME_RESULTS[outcome.kind], outcome.latency_ms
            )

    def config_reload(self, ok: bool) -> None:
        self._metrics.record_config_reload(ok)

    # -- rollout runtime (RolloutObserver) -------------------------------------------------------------

    def on_decision(self, definition: RolloutDefinition, state: RolloutState, decision: Decision) -> None:
        percent = definition.phases[state.phase_index].v2_percent
        if state.status is RolloutStatus.ROLLED_BACK:
            percent = 0.0
        elif state.status is RolloutStatus.COMPLETED:
            percent = 100.0
        self._gauges[definition.key] = RolloutGauge(definition.key, state.phase_index, percent)
        if decisions_log.isEnabledFor(logging.DEBUG):
            decisions_log.debug(
                "rollout decision",
                extra={
                    "rollout": definition.key,
                    "decision": decision.kind.value,
                    "code": decision.code.value,
                    "reason": decision.reason,
                    "numbers": dict(decision.numbers),
                    "generation": state.generation,
                    "phase": definition.phases[state.phase_index].name,
                },
            )
        if decision.kind is not DecisionKind.HOLD:
            # Every non-HOLD decision gets its own span so the rollout's history is visible in tracing.
            with self._tracer.start_as_current_span("rollout.decide") as span:
                record_rollout_decision(
                    span,
                    rollout=definition.key,
                    decision=decision.kind.value.lower(),
                    reason=decision.reason,
                    phase_index=state.phase_index,
                    v2_percent=percent,
                    numbers={"code": decision.code.value, **decision.numbers},
                )

    def on_event(self, event: AuditEvent) -> None:
        if event.kind is AuditKind.ROLLED_BACK:
            self._metrics.record_rollback(event.rollout_key, event.code.value if event.code else "manual")
        logging.getLogger("sidecar.rollouts").info(
            "rollout %s: %s -> %s (%s)",
            event.rollout_key,
            event.from_phase,
            event.to_phase,
            event.reason,
            extra={
                "rollout": event.rollout_key,
                "event": event.kind.value,
                "actor": event.actor,
                "status": event.to_status.value,
                "generation": event.generation,
            },
        )

    # -- alerts (AlertObserver) ------------------------------------------------------------------------

    def on_alert_event(self, event: AlertEvent) -> None:
        alert = event.alert
        attributes = {
            f"alert.{key}": value
            for key, value in alert_fields(alert).items()
            if isinstance(value, str | int | float | bool)
        }
        attributes["alert.event"] = event.kind.value
        body = f"alert {alert.rule} {event.kind.value.lower()} at {alert.severity.value}"
        self._telemetry.emit_event("sidecar.alert", body, attributes, ALERT_SEVERITIES[alert.severity])

    # -- configuration ---------------------------------------------------------------------------------

    def watch_config_files(self, sources: Callable[[], Iterable[SourceStatus]]) -> None:
        """Export whether each configuration source fails to load (1) or loads (0); read on the exporter
        thread from the snapshot being served, so a fixed file reads 0 at the next export."""

        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(0 if s.ok else 1, {"file.path": s.path}) for s in sources()]

        self._telemetry.meter.create_observable_gauge(
            CONFIG_FILES_FAILING,
            [observe],
            unit="{file}",
            description="Configuration sources whose last load failed (1), by path; their last good "
            "version serves meanwhile.",
        )

    # -- peer sync -------------------------------------------------------------------------------------

    def watch_sync(self, metrics: SyncMetrics) -> None:
        """Export the sync layer's counters; read on the exporter thread (plain integers and a dict copy)."""
        meter = self._telemetry.meter

        def directions(*pairs: tuple[str, str]) -> Callable[[CallbackOptions], Iterable[Observation]]:
            return lambda _: [
                Observation(getattr(metrics, field), {"direction": label}) for label, field in pairs
            ]

        meter.create_observable_counter(
            "sidecar.sync.bytes",
            [directions(("sent", "bytes_sent"), ("received", "bytes_received"))],
            unit="By",
            description="Bytes exchanged with peers.",
        )
        meter.create_observable_counter(
            "sidecar.sync.entries",
            [
                directions(
                    ("sent", "entries_sent"), ("received", "entries_received"), ("applied", "entries_applied")
                )
            ],
            unit="{entry}",
            description="Replicated entries sent, received, and received that changed this node.",
        )
        meter.create_observable_gauge(
            "sidecar.sync.lag",
            [
                lambda _: [
                    Observation(lag, {"peer.node_id": node})
                    for node, lag in dict(metrics.lag_seconds).items()
                ]
            ],
            unit="s",
            description="Age of the oldest change queued for each peer.",
        )

    def exporter_problem(self) -> str | None:
        reachable = self._telemetry.exporter_reachable()
        return "telemetry exporter unreachable; data is being dropped" if reachable is False else None
