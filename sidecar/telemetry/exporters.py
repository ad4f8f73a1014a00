"""Exporter wrappers that record export health and can be aborted, and the OTLP exporters they wrap.

Exporting happens on SDK background threads; these wrappers only note whether the latest export of each
signal succeeded (the health signal) and let shutdown abort a slow collector.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from sidecar.telemetry.settings import TelemetrySettings

_log = logging.getLogger(__name__)


class ExportHealth:
    """Latest export outcome per push signal (written by exporter threads, read by health checks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, bool] = {}

    def record(self, signal: str, ok: bool) -> None:
        with self._lock:
            self._last[signal] = ok

    def reachable(self) -> bool | None:
        with self._lock:
            if not self._last:
                return None
            return all(self._last.values())


R = TypeVar("R")


class _Guard:
    """What every tracked exporter does around its inner one: note the outcome, refuse after abort."""

    def __init__(self, signal: str, health: ExportHealth, stop: Callable[[], None]) -> None:
        self._signal = signal
        self._health = health
        self._stop = stop
        self.aborted = False

    def run(self, export: Callable[[], R], success: R, failure: R) -> R:
        if self.aborted:
            return failure
        try:
            result = export()
        except Exception:
            _log.exception("%s export raised", self._signal)
            result = failure
        self._health.record(self._signal, result is success)
        return result

    def stop(self) -> None:
        """Stop retries and close the connection now (shutdown, or its deadline passed)."""
        if not self.aborted:
            self.aborted = True
            self._stop()


class TrackedSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, health: ExportHealth) -> None:
        self._inner = inner
        self._guard = _Guard("traces", health, inner.shutdown)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._guard.run(
            lambda: self._inner.export(spans), SpanExportResult.SUCCESS, SpanExportResult.FAILURE
        )

    def abort(self) -> None:
        self._guard.stop()

    def shutdown(self) -> None:
        self._guard.stop()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class TrackedLogExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter, health: ExportHealth) -> None:
        self._inner = inner
        self._guard = _Guard("logs", health, inner.shutdown)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return self._guard.run(
            lambda: self._inner.export(batch), LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE
        )

    def abort(self) -> None:
        self._guard.stop()

    def shutdown(self) -> None:
        self._guard.stop()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class TrackedMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter, health: ExportHealth) -> None:
        # The periodic reader takes temporality/aggregation preferences from its exporter.
        super().__init__(
            preferred_temporality=getattr(inner, "_preferred_temporality", None),
            preferred_aggregation=getattr(inner, "_preferred_aggregation", None),
        )
        self._inner = inner
        self._guard = _Guard("metrics", health, lambda: inner.shutdown(timeout_millis=0))

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        return self._guard.run(
            lambda: self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs),
            MetricExportResult.SUCCESS,
            MetricExportResult.FAILURE,
        )

    def abort(self) -> None:
        self._guard.stop()

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:  # noqa: ARG002
        # The reader has exported its final collection by now; nothing is left to wait for.
        self._guard.stop()


def otlp_span_exporter(settings: TelemetrySettings) -> SpanExporter:
    endpoint = settings.signal_endpoint("traces")
    headers = dict(settings.otlp_headers) or None
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        return GrpcSpanExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

    return HttpSpanExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)


def otlp_metric_exporter(settings: TelemetrySettings) -> MetricExporter:
    endpoint = settings.signal_endpoint("metrics")
    headers = dict(settings.otlp_headers) or None
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )

        return GrpcMetricExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)


def otlp_log_exporter(settings: TelemetrySettings) -> LogRecordExporter:
    endpoint = settings.signal_endpoint("logs")
    headers = dict(settings.otlp_headers) or None
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter

        return GrpcLogExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

    return HttpLogExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)
