"""The providers that own spans, metrics and log events, built from :class:`TelemetrySettings`.

Design rules:

* Exporting happens on SDK background threads (``BatchSpanProcessor``, ``PeriodicExportingMetricReader``);
  the request path only appends to a bounded queue. When the queue is full new spans are dropped, so a
  slow or dead collector costs neither latency nor unbounded memory.
* ``Telemetry.shutdown(timeout_s)`` is bounded: when the deadline passes, in-flight exports are aborted.
* ``exporter_reachable()`` is the health signal (degraded, not down): None when nothing is pushed
  (telemetry disabled, exporters ``none``, nothing exported yet), else whether the latest export of
  every push signal succeeded.
* Nothing is installed globally, so tests and benchmarks can build as many independent instances as
  they like.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from opentelemetry import _logs as logs_api
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.util.types import AttributeValue

from sidecar.telemetry.exporters import (
    ExportHealth,
    TrackedMetricExporter,
    TrackedSpanExporter,
    otlp_log_exporter,
    otlp_metric_exporter,
    otlp_span_exporter,
)
from sidecar.telemetry.grpc_tracing import TracingInterceptor
from sidecar.telemetry.instruments import Metrics
from sidecar.telemetry.sampling import PrimableIdGenerator, SamplingShortcut
from sidecar.telemetry.settings import TelemetrySettings

if TYPE_CHECKING:
    from sidecar.telemetry.prometheus import PrometheusServer

__all__ = ["Telemetry", "setup_telemetry"]

_log = logging.getLogger(__name__)

INSTRUMENTATION_SCOPE = "sidecar"


class Telemetry:
    """Owns the tracer and meter providers; create it with :func:`setup_telemetry`.

    Attributes the daemon uses: ``tracer`` (for the gRPC interceptor and the rollout loop),
    ``metrics`` (pre-created instruments, see :class:`~sidecar.telemetry.instruments.Metrics`),
    ``meter`` (for anything else), ``prometheus_address`` (the bound scrape address, if any).
    """

    def __init__(
        self,
        settings: TelemetrySettings,
        *,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        span_processor: BatchSpanProcessor | None,
        span_exporter: TrackedSpanExporter | None,
        metric_exporter: TrackedMetricExporter | None,
        health: ExportHealth,
        prometheus: PrometheusServer | None = None,
        sampling_shortcut: SamplingShortcut | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        self.settings = settings
        self.enabled = tracer_provider is not None
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self.span_processor = span_processor
        self._span_exporter = span_exporter
        self._metric_exporter = metric_exporter
        self._health = health
        self._prometheus = prometheus
        self.sampling_shortcut = sampling_shortcut
        self._logger_provider = logger_provider
        self._shutdown_lock = threading.Lock()
        self._is_shut_down = False
        tp: trace_api.TracerProvider = tracer_provider or trace_api.NoOpTracerProvider()
        mp: metrics_api.MeterProvider = meter_provider or metrics_api.NoOpMeterProvider()
        version = _package_version()
        self.tracer: trace_api.Tracer = tp.get_tracer(INSTRUMENTATION_SCOPE, version)
        self.meter: metrics_api.Meter = mp.get_meter(INSTRUMENTATION_SCOPE, version)
        lp: logs_api.LoggerProvider = logger_provider or logs_api.NoOpLoggerProvider()
        self._events: logs_api.Logger = lp.get_logger(INSTRUMENTATION_SCOPE, version)
        self.metrics = Metrics(
            self.meter,
            evaluation_duration_sample_every=settings.evaluation_duration_sample_every,
            enabled=self.enabled,
        )

    @property
    def tracer_provider(self) -> trace_api.TracerProvider:
        return self._tracer_provider or trace_api.NoOpTracerProvider()

    @property
    def meter_provider(self) -> metrics_api.MeterProvider:
        return self._meter_provider or metrics_api.NoOpMeterProvider()

    @property
    def prometheus_address(self) -> tuple[str, int] | None:
        return None if self._prometheus is None else self._prometheus.address

    def emit_event(
        self,
        name: str,
        body: str,
        attributes: Mapping[str, AttributeValue],
        severity: logs_api.SeverityNumber,
    ) -> None:
        """An OpenTelemetry log event (e.g. an alert firing); queued, exported in the background."""
        self._events.emit(
            event_name=name,
            body=body,
            attributes=attributes,
            severity_number=severity,
            severity_text=severity.name,
            timestamp=time.time_ns(),
        )

    def server_interceptor(self) -> TracingInterceptor:
        """The gRPC server interceptor for this pipeline (with the unsampled-request fast path)."""
        return TracingInterceptor(self.tracer, sampling_shortcut=self.sampling_shortcut)

    def exporter_reachable(self) -> bool | None:
        """None: nothing is pushed or nothing exported yet; else did the latest export(s) succeed."""
        if not self.enabled or self._is_shut_down:
            return None
        return self._health.reachable()

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        if not self.enabled or self._is_shut_down:
            return True
        ok = True
        if self._tracer_provider is not None:
            ok = self._tracer_provider.force_flush(int(timeout_s * 1000)) and ok
        if self._meter_provider is not None:
            ok = self._meter_provider.force_flush(timeout_s * 1000) and ok
        return ok

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush what is queued and stop the exporter threads, in at most about ``timeout_s``.

        Idempotent. If the collector is slow or gone, exports still running at the deadline are
        aborted (their data is dropped) so the daemon's own shutdown is never held up.
        """
        with self._shutdown_lock:
            if self._is_shut_down:
                return
            self._is_shut_down = True
        atexit.unregister(self.shutdown)
        deadline = time.monotonic() + timeout_s
        timer = threading.Timer(max(timeout_s * 0.8, 0.0), self._abort_exports)
        timer.daemon = True
        timer.start()
        try:
            if self._tracer_provider is not None:
                self._tracer_provider.shutdown()
            if self._logger_provider is not None:
                self._logger_provider.shutdown()
            if self._meter_provider is not None:
                remaining_ms = max((deadline - time.monotonic()) * 1000, 1.0)
                self._meter_provider.shutdown(timeout_millis=remaining_ms)
        finally:
            timer.cancel()
            if self._prometheus is not None:
                self._prometheus.close()

    def _abort_exports(self) -> None:
        _log.warning("telemetry shutdown deadline reached; aborting in-flight exports")
        if self._span_exporter is not None:
            self._span_exporter.abort()
        if self._metric_exporter is not None:
            self._metric_exporter.abort()


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rollout-sidecar")
    except PackageNotFoundError:
        return "0+unknown"


def setup_telemetry(
    settings: TelemetrySettings,
    resource_attrs: Mapping[str, AttributeValue] | None = None,
    *,
    span_exporter: SpanExporter | None = None,
    metric_readers: Sequence[MetricReader] = (),
) -> Telemetry:
    """Build the tracer and meter providers described by ``settings``.

    ``resource_attrs`` (e.g. ``service.version``, ``deployment.environment.name``) are merged over
    the defaults (``service.name``, ``host.name``, ``process.pid``) and ``OTEL_RESOURCE_ATTRIBUTES``.
    ``span_exporter`` replaces the OTLP span exporter and ``metric_readers`` are added to the
    configured ones (tests and benchmarks use both). When ``settings.enabled`` is false the result
    hands out no-op tracers and meters and costs next to nothing per call.
    """
    health = ExportHealth()
    if not settings.enabled:
        return Telemetry(
            settings,
            tracer_provider=None,
            meter_provider=None,
            span_processor=None,
            span_exporter=None,
            metric_exporter=None,
            health=health,
        )

    attrs: dict[str, AttributeValue] = {
        "service.name": settings.service_name,
        "service.version": _package_version(),
        "host.name": socket.gethostname(),
        "process.pid": os.getpid(),
    }
    attrs.update(resource_attrs or {})
    resource = Resource.create(attrs)

    readers: list[MetricReader] = list(metric_readers)
    tracked_metric_exporter: TrackedMetricExporter | None = None
    if "otlp" in settings.metrics_exporters:
        tracked_metric_exporter = TrackedMetricExporter(otlp_metric_exporter(settings), health)
        readers.append(
            PeriodicExportingMetricReader(
                tracked_metric_exporter,
                export_interval_millis=settings.metrics_export_interval_s * 1000,
                export_timeout_millis=settings.metrics_export_timeout_s * 1000,
            )
        )
    prometheus = None
    if settings.prometheus_address:
        from sidecar.telemetry.prometheus import PrometheusServer

        prometheus = PrometheusServer.start(settings.prometheus_address, resource=resource)
        readers.append(prometheus.reader)

    meter_provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)

    ids = PrimableIdGenerator()
    tracer_provider = TracerProvider(
        resource=resource, sampler=settings.build_sampler(), id_generator=ids, shutdown_on_exit=False
    )
    tracked_span_exporter: TrackedSpanExporter | None = None
    processor: BatchSpanProcessor | None = None
    inner_span_exporter = span_exporter
    if inner_span_exporter is None and settings.traces_exporter == "otlp":
        inner_span_exporter = otlp_span_exporter(settings)
    if inner_span_exporter is not None:
        tracked_span_exporter = TrackedSpanExporter(inner_span_exporter, health)
        processor = BatchSpanProcessor(
            tracked_span_exporter,
            max_queue_size=settings.span_queue_size,
            max_export_batch_size=min(settings.span_batch_size, settings.span_queue_size),
            schedule_delay_millis=settings.span_schedule_delay_s * 1000,
            export_timeout_millis=settings.otlp_timeout_s * 1000,
        )
        tracer_provider.add_span_processor(processor)

    logger_provider = None
    if settings.traces_exporter == "otlp":
        # Log events (alerts) go wherever traces go, through the same kind of bounded batch queue.
        logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(
                otlp_log_exporter(settings),
                max_queue_size=settings.span_queue_size,
                max_export_batch_size=min(settings.span_batch_size, settings.span_queue_size),
                schedule_delay_millis=settings.span_schedule_delay_s * 1000,
                export_timeout_millis=settings.otlp_timeout_s * 1000,
            )
        )

    telemetry = Telemetry(
        settings,
        logger_provider=logger_provider,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        span_processor=processor,
        span_exporter=tracked_span_exporter,
        metric_exporter=tracked_metric_exporter,
        health=health,
        prometheus=prometheus,
        sampling_shortcut=SamplingShortcut(settings.sampler, settings.sampler_ratio, ids),
    )
    # A safety net for a daemon that exits without calling shutdown(); shutdown() unregisters it.
    atexit.register(telemetry.shutdown)
    return telemetry
