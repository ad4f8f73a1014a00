"""Publishing alert events: observers that fail do not stop the others, and a lagging watcher is ended."""

from __future__ import annotations

import logging

import pytest

from sidecar.alerts.model import Alert, AlertEvent, AlertEventKind, AlertStatus, Severity
from sidecar.runtime.alert_publish import WATCH_QUEUE, AlertPublisher

ALERT = Alert(
    id="a1",
    rule="v2-errors",
    rollout="svc",
    metric="error_rate{version=V2}",
    description="",
    severity=Severity.CRITICAL,
    status=AlertStatus.FIRING,
    fired_at=100.0,
    value=0.5,
    threshold=0.1,
)
FIRED = AlertEvent(AlertEventKind.FIRED, ALERT, 100.0)


class Seen:
    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    def on_alert_event(self, event: AlertEvent) -> None:
        self.events.append(event)


class Broken:
    def on_alert_event(self, event: AlertEvent) -> None:
        raise RuntimeError("observer bug")


def test_every_observer_hears_the_event_and_it_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    seen = Seen()
    publisher = AlertPublisher("node-a", None, [Broken(), seen])
    with caplog.at_level(logging.INFO, logger="sidecar.alerts"):
        publisher.publish(FIRED, None)
    assert seen.events == [FIRED]
    assert (
        "alert v2-errors [svc] fired at critical: error_rate{version=V2} = 0.5 (threshold 0.1)" in caplog.text
    )
    assert "alert observer" in caplog.text


def test_a_watcher_that_falls_behind_is_ended_and_the_others_keep_watching() -> None:
    publisher = AlertPublisher("node-a", None, [])
    lagging, unwatched = publisher.watch(), publisher.watch()
    publisher.unwatch(unwatched)
    for _ in range(WATCH_QUEUE + 1):
        publisher.publish(FIRED, None)
    items = [lagging.get_nowait() for _ in range(lagging.qsize())]
    assert items[-1] is None  # told to watch again from the current state
    assert len(items) == WATCH_QUEUE
    assert unwatched.empty()
