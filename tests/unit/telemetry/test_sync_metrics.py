"""Peer-sync counters reach OpenTelemetry as metrics."""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from sidecar.server.observability import DaemonTelemetry
from sidecar.sync.metrics import SyncMetrics
from sidecar.telemetry import TelemetrySettings, setup_telemetry


def points(reader: InMemoryMetricReader) -> dict[str, dict[tuple[tuple[str, object], ...], float]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, dict[tuple[tuple[str, object], ...], float]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = tuple(sorted(dict(point.attributes or {}).items()))
                    found.setdefault(metric.name, {})[key] = point.value  # type: ignore[union-attr]
    return found


def test_sync_bytes_entries_and_lag_are_exported() -> None:
    reader = InMemoryMetricReader()
    telemetry = setup_telemetry(
        TelemetrySettings(traces_exporter="none", metrics_exporters=("none",)), metric_readers=[reader]
    )
    metrics = SyncMetrics(
        bytes_sent=1200, bytes_received=800, entries_sent=7, entries_received=5, entries_applied=3
    )
    metrics.lag_seconds["node-b"] = 0.25
    DaemonTelemetry(telemetry).watch_sync(metrics)
    found = points(reader)
    telemetry.shutdown()
    assert found["sidecar.sync.bytes"] == {(("direction", "sent"),): 1200, (("direction", "received"),): 800}
    assert found["sidecar.sync.entries"][(("direction", "applied"),)] == 3
    assert found["sidecar.sync.lag"] == {(("peer.node_id", "node-b"),): 0.25}
