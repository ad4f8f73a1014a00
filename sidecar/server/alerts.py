"""AlertService: list, acknowledge and watch alerts (authenticated)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from sidecar.alerts.model import Alert, AlertEvent, AlertEventKind, AlertStatus, Severity
from sidecar.config.limits import ALERT_ID_CHARS, LIST_ENTRIES, check_request_key, check_required
from sidecar.errors import ResourceExhaustedError
from sidecar.runtime.alerts import WATCH_QUEUE, AlertRuntime
from sidecar.runtime.webhooks import WebhookStats
from sidecar.server.admin import check_reason
from sidecar.server.auth import AdminAuth
from sidecar.v1 import alerts_pb2 as pb
from sidecar.v1 import alerts_pb2_grpc

DEFAULT_LIMIT = 100

SEVERITIES: dict[Severity, pb.AlertSeverity] = {
    severity: getattr(pb, f"ALERT_SEVERITY_{severity.name}") for severity in Severity
}
STATUSES: dict[AlertStatus, pb.AlertStatus] = {
    status: getattr(pb, f"ALERT_STATUS_{status.name}") for status in AlertStatus
}
EVENT_KINDS: dict[AlertEventKind, pb.AlertEventKind] = {
    kind: getattr(pb, f"ALERT_EVENT_KIND_{kind.name}") for kind in AlertEventKind
}


def alert_message(alert: Alert) -> pb.Alert:
    return pb.Alert(
        id=alert.id,
        rule=alert.rule,
        rollout=alert.rollout,
        metric=alert.metric,
        description=alert.description,
        severity=SEVERITIES[alert.severity],
        status=STATUSES[alert.status],
        fired_at=alert.fired_at,
        resolved_at=alert.resolved_at or 0.0,
        value=alert.value,
        threshold=alert.threshold,
        ack_by=alert.ack_by or "",
        ack_at=alert.ack_at or 0.0,
        ack_note=alert.ack_note or "",
        version=alert.version,
    )


def event_message(event: AlertEvent) -> pb.AlertEvent:
    return pb.AlertEvent(
        kind=EVENT_KINDS[event.kind],
        alert=alert_message(event.alert),
        previous_severity=SEVERITIES[event.previous_severity] if event.previous_severity else None,
        at=event.at,
    )


def webhook_message(stats: WebhookStats) -> pb.WebhookStatus:
    return pb.WebhookStatus(
        url=stats.url,
        delivered=stats.delivered,
        failed=stats.failed,
        dropped=stats.dropped,
        queued=stats.queued,
        last_error=stats.last_error,
    )


def _rollout_filter(rollout: str) -> str | None:
    check_request_key("rollout", rollout, required=False)
    return rollout or None


class AlertServicer(alerts_pb2_grpc.AlertServiceServicer):
    def __init__(self, runtime: AlertRuntime, auth: AdminAuth) -> None:
        self._runtime = runtime
        self._auth = auth

    async def ListAlerts(
        self, request: pb.ListAlertsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListAlertsResponse:
        self._auth.authorize(context)
        LIST_ENTRIES.check("limit", request.limit)
        alerts = await self._runtime.list_alerts(
            firing_only=request.filter != pb.ALERT_FILTER_ALL,
            rollout=_rollout_filter(request.rollout),
            limit=request.limit or DEFAULT_LIMIT,
        )
        return pb.ListAlertsResponse(
            alerts=[alert_message(a) for a in alerts],
            webhooks=[webhook_message(s) for s in self._runtime.webhook_stats()],
        )

    async def AcknowledgeAlert(
        self, request: pb.AcknowledgeAlertRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.AcknowledgeAlertResponse:
        actor = self._auth.authorize(context)
        check_required("id", request.id, ALERT_ID_CHARS)
        alert = await self._runtime.acknowledge(request.id, actor, check_reason(request.note))
        return pb.AcknowledgeAlertResponse(alert=alert_message(alert))

    async def WatchAlerts(
        self, request: pb.WatchAlertsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.WatchAlertsResponse]:
        self._auth.authorize(context)
        rollout = _rollout_filter(request.rollout)
        firing, queue = self._runtime.watch()
        try:
            current = [alert_message(a) for a in firing if rollout is None or a.rollout == rollout]
            yield pb.WatchAlertsResponse(firing=pb.FiringAlerts(alerts=current))
            while True:
                event = await queue.get()
                if event is None:
                    raise ResourceExhaustedError(
                        f"this watch fell more than {WATCH_QUEUE} events behind; watch again"
                    )
                if rollout is None or event.alert.rollout == rollout:
                    yield pb.WatchAlertsResponse(event=event_message(event))
        finally:
            self._runtime.unwatch(queue)
