"""Telling the others about an alert event: the ``sidecar.alerts`` log, observers, WatchAlerts streams and
webhooks. Nothing here waits: webhooks are queued, and a stream that falls too far behind is ended."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Protocol

from sidecar.alerts.model import AlertEvent, AlertEventKind, AlertRule, event_payload
from sidecar.runtime.webhooks import WebhookSender, WebhookStats

log = logging.getLogger("sidecar.alerts")

WATCH_QUEUE = 256  # events a WatchAlerts stream may fall behind before it is ended
_LOG_LEVELS = {
    AlertEventKind.FIRED: logging.WARNING,
    AlertEventKind.ESCALATED: logging.WARNING,
    AlertEventKind.RESOLVED: logging.INFO,
    AlertEventKind.ACKNOWLEDGED: logging.INFO,
}


class AlertObserver(Protocol):
    """Told of every alert event (fired, escalated, resolved, acknowledged); must not block."""

    def on_alert_event(self, event: AlertEvent) -> None: ...


class AlertPublisher:
    def __init__(
        self, node_id: str, webhooks: WebhookSender | None, observers: Iterable[AlertObserver]
    ) -> None:
        self._node_id = node_id
        self._webhooks = webhooks or WebhookSender()
        self._observers = list(observers)
        self._watchers: set[asyncio.Queue[AlertEvent | None]] = set()

    def publish(self, event: AlertEvent, rule: AlertRule | None) -> None:
        """Log, tell observers and watchers, and (with ``rule``, except acknowledgements) queue webhooks."""
        payload = event_payload(event, self._node_id)
        log.log(_LOG_LEVELS[event.kind], "%s", _describe(event), extra={"alert_event": payload})
        for observer in self._observers:
            try:
                observer.on_alert_event(event)
            except Exception:
                log.exception("alert observer %r failed", observer)
        for queue in list(self._watchers):
            if queue.full():  # a watcher this far behind is ended; it can watch again from the current state
                self._watchers.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)
            else:
                queue.put_nowait(event)
        if rule is not None and event.kind is not AlertEventKind.ACKNOWLEDGED:
            body = json.dumps(payload, sort_keys=True).encode()
            for url in rule.webhooks:
                self._webhooks.send(url, body)

    def watch(self) -> asyncio.Queue[AlertEvent | None]:
        queue: asyncio.Queue[AlertEvent | None] = asyncio.Queue(maxsize=WATCH_QUEUE)
        self._watchers.add(queue)
        return queue

    def unwatch(self, queue: asyncio.Queue[AlertEvent | None]) -> None:
        self._watchers.discard(queue)

    def webhook_stats(self) -> list[WebhookStats]:
        return self._webhooks.stats()

    async def stop(self) -> None:
        await self._webhooks.stop()


def _describe(event: AlertEvent) -> str:
    alert = event.alert
    subject = f"{alert.rule}" + (f" [{alert.rollout}]" if alert.rollout else "")
    if event.kind is AlertEventKind.ACKNOWLEDGED:
        return f"alert {subject} acknowledged by {alert.ack_by}: {alert.ack_note or '(no note)'}"
    return (
        f"alert {subject} {event.kind.value.lower()} at {alert.severity.value}: "
        f"{alert.metric} = {alert.value:g} (threshold {alert.threshold:g})"
    )
