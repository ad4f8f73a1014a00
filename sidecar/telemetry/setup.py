"""The providers that own spans, metrics and log events, built from :class:`TelemetrySettings`.

Design rules:

* Exporting happens on SDK background threads (``BatchSpanProcessor``, ``BatchLogRecordProcessor``,
  ``PeriodicExportingMetricReader``); the request path only appends to a bounded queue. When the queue is
  full new spans and events are dropped, so a slow or dead collector costs neither latency nor unbounded
  memory.
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
from dataclasses import dataclass, field

from opentelemetry import _logs as logs_api
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import AttributeValue

from sidecar.telemetry.evaluation_events import EvaluationEvents
from sidecar.telemetry.exporters import (
    ExportHealth,
    TrackedLogExporter,
    TrackedMetricExporter,
    TrackedSpanExporter,
    otlp_log_exporter,
    otlp_metric_exporter,
    otlp_span_exporter,
)
from sidecar.telemetry.grpc_tracing import TracingInterceptor
from sidecar.telemetry.histograms import FastHistograms
from sidecar.telemetry.instruments import Metrics
from sidecar.telemetry.prometheus import PullMetricReader
from sidecar.telemetry.sampling import PrimableIdGenerator, SamplingShortcut
from sidecar.telemetry.settings import TelemetrySettings

__all__ = ["Telemetry", "setup_telemetry"]

_log = logging.getLogger(__name__)

INSTRUMENTATION_SCOPE = "sidecar"


@dataclass(slots=True)
class Pipelines:
    """The SDK objects of one telemetry instance; all None when telemetry is disabled."""

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    logger_provider: LoggerProvider | None = None
    span_processor: BatchSpanProcessor | None = None
    sampling_shortcut: SamplingShortcut | None = None
    histograms: FastHistograms | None = None
    pull_reader: PullMetricReader | None = None
    # Exporters that shutdown may have to abort.
    abortable: list[TrackedSpanExporter | TrackedMetricExporter | TrackedLogExporter] = field(
        default_factory=list
    )


class Telemetry:
    """Owns the tracer, meter and logger providers; create it with :func:`setup_telemetry`.

    Attributes the daemon uses: ``tracer`` (for the gRPC interceptor and the rollout loop),
    ``metrics`` (pre-created instruments, see :class:`~sidecar.telemetry.instruments.Metrics`),
    ``meter`` (for anything else), ``evaluation_events`` (flag evaluation events), ``scrape`` (the
    Prometheus exposition, when a pull reader was asked for).
    """

    def __init__(self, settings: TelemetrySettings, pipelines: Pipelines, health: ExportHealth) -> None:
        self.settings = settings
        self.enabled = pipelines.tracer_provider is not None
        self._p = pipelines
        self.span_processor = pipelines.span_processor
        self.sampling_shortcut = pipelines.sampling_shortcut
        self._health = health
        self._shutdown_lock = threading.Lock()
        self._is_shut_down = False
        version = _package_version()
        self.tracer: trace_api.Tracer = self.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE, version)
        self.meter: metrics_api.Meter = self.meter_provider.get_meter(INSTRUMENTATION_SCOPE, version)
        lp: logs_api.LoggerProvider = pipelines.logger_provider or logs_api.NoOpLoggerProvider()
        self._events: logs_api.Logger = lp.get_logger(INSTRUMENTATION_SCOPE, version)
        self.metrics = Metrics(
            self.meter,
            evaluation_duration_sample_every=settings.evaluation_duration_sample_every,
            enabled=self.enabled,
            histograms=pipelines.histograms,
        )
        self.evaluation_events = EvaluationEvents(
            self._events,
            settings.evaluation_events if self.enabled else "none",
            settings.evaluation_events_ratio if pipelines.logger_provider is not None else 0.0,
        )

    @property
    def tracer_provider(self) -> trace_api.TracerProvider:
        return self._p.tracer_provider or trace_api.NoOpTracerProvider()

    @property
    def meter_provider(self) -> metrics_api.MeterProvider:
        return self._p.meter_provider or metrics_api.NoOpMeterProvider()

    @property
    def scrapes(self) -> bool:
        """Whether :meth:`scrape` has a pull reader to collect from."""
        return self._p.pull_reader is not None and not self._is_shut_down

    def scrape(self, accept: str = "") -> tuple[bytes, str] | None:
        """The Prometheus exposition (body, content type) for ``accept``; None without a pull reader.
        Collects: call it off the event loop."""
        reader = self._p.pull_reader
        return None if reader is None or self._is_shut_down else reader.scrape(accept)

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
        return TracingInterceptor(
            self.tracer,
            sampling_shortcut=self.sampling_shortcut,
            call_duration=self.metrics.rpc_call_duration,
        )

    def exporter_reachable(self) -> bool | None:
        """None: nothing is pushed or nothing exported yet; else did the latest export(s) succeed."""
        if not self.enabled or self._is_shut_down:
            return None
        return self._health.reachable()

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        if not self.enabled or self._is_shut_down:
            return True
        ok = True
        if self._p.tracer_provider is not None:
            ok = self._p.tracer_provider.force_flush(int(timeout_s * 1000)) and ok
        if self._p.logger_provider is not None:
            ok = self._p.logger_provider.force_flush(int(timeout_s * 1000)) and ok
        if self._p.meter_provider is not None:
            ok = self._p.meter_provider.force_flush(timeout_s * 1000) and ok
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
            if self._p.tracer_provider is not None:
                self._p.tracer_provider.shutdown()
            if self._p.logger_provider is not None:
                self._p.logger_provider.shutdown()
            if self._p.meter_provider is not None:
                remaining_ms = max((deadline - time.monotonic()) * 1000, 1.0)
                self._p.meter_provider.shutdown(timeout_millis=remaining_ms)
        finally:
            timer.cancel()

    def _abort_exports(self) -> None:
        _log.warning("telemetry shutdown deadline reached; aborting in-flight exports")
        for exporter in self._p.abortable:
            exporter.abort()


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
    log_exporter: LogRecordExporter | None = None,
) -> Telemetry:
    """Build the tracer, meter and logger providers described by ``settings``.

    ``resource_attrs`` (e.g. ``service.version``, ``deployment.environment.name``) are merged over
    the defaults (``service.name``, ``host.name``, ``process.pid``) and ``OTEL_RESOURCE_ATTRIBUTES``.
    ``span_exporter`` and ``log_exporter`` replace the OTLP ones and ``metric_readers`` are added to
    the configured ones (tests and benchmarks use them). When ``settings.enabled`` is false the result
    hands out no-op tracers, meters and loggers and costs next to nothing per call.
    """
    health = ExportHealth()
    if not settings.enabled:
        return Telemetry(settings, Pipelines(), health)
    resource = _resource(settings, resource_attrs)
    pipelines = Pipelines()
    _add_metrics(pipelines, settings, resource, metric_readers, health)
    _add_traces(pipelines, settings, resource, span_exporter, health)
    _add_logs(pipelines, settings, resource, log_exporter, health)
    telemetry = Telemetry(settings, pipelines, health)
    # A safety net for a daemon that exits without calling shutdown(); shutdown() unregisters it.
    atexit.register(telemetry.shutdown)
    return telemetry


def _resource(settings: TelemetrySettings, extra: Mapping[str, AttributeValue] | None) -> Resource:
    attrs: dict[str, AttributeValue] = {
        "service.name": settings.service_name,
        "service.version": _package_version(),
        "host.name": socket.gethostname(),
        "process.pid": os.getpid(),
    }
    attrs.update(extra or {})
    return Resource.create(attrs)


def _add_metrics(
    p: Pipelines,
    settings: TelemetrySettings,
    resource: Resource,
    extra_readers: Sequence[MetricReader],
    health: ExportHealth,
) -> None:
    readers: list[MetricReader] = list(extra_readers)
    if "otlp" in settings.metrics_exporters:
        exporter = TrackedMetricExporter(otlp_metric_exporter(settings), health)
        p.abortable.append(exporter)
        readers.append(
            PeriodicExportingMetricReader(
                exporter,
                export_interval_millis=settings.metrics_export_interval_s * 1000,
                export_timeout_millis=settings.metrics_export_timeout_s * 1000,
            )
        )
    if settings.metrics_pull or settings.prometheus_address:
        p.pull_reader = PullMetricReader(resource)
        readers.append(p.pull_reader)
    p.meter_provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
    p.histograms = FastHistograms(InstrumentationScope(INSTRUMENTATION_SCOPE, _package_version()), resource)
    for reader in readers:
        p.histograms.attach(reader)


def _add_traces(
    p: Pipelines,
    settings: TelemetrySettings,
    resource: Resource,
    span_exporter: SpanExporter | None,
    health: ExportHealth,
) -> None:
    ids = PrimableIdGenerator()
    p.tracer_provider = TracerProvider(
        resource=resource, sampler=settings.build_sampler(), id_generator=ids, shutdown_on_exit=False
    )
    p.sampling_shortcut = SamplingShortcut(settings.sampler, settings.sampler_ratio, ids)
    if span_exporter is None and settings.traces_exporter == "otlp":
        span_exporter = otlp_span_exporter(settings)
    if span_exporter is None:
        return
    tracked = TrackedSpanExporter(span_exporter, health)
    p.abortable.append(tracked)
    p.span_processor = BatchSpanProcessor(
        tracked,
        max_queue_size=settings.span_queue_size,
        max_export_batch_size=min(settings.span_batch_size, settings.span_queue_size),
        schedule_delay_millis=settings.span_schedule_delay_s * 1000,
        export_timeout_millis=settings.otlp_timeout_s * 1000,
    )
    p.tracer_provider.add_span_processor(p.span_processor)


def _add_logs(
    p: Pipelines,
    settings: TelemetrySettings,
    resource: Resource,
    log_exporter: LogRecordExporter | None,
    health: ExportHealth,
) -> None:
    """Log-based events (flag evaluations, alerts), through the same kind of bounded batch queue."""
    if log_exporter is None and settings.logs_exporter == "otlp":
        log_exporter = otlp_log_exporter(settings)
    if log_exporter is None:
        return
    tracked = TrackedLogExporter(log_exporter, health)
    p.abortable.append(tracked)
    p.logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    p.logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            tracked,
            max_queue_size=settings.span_queue_size,
            max_export_batch_size=min(settings.span_batch_size, settings.span_queue_size),
            schedule_delay_millis=settings.span_schedule_delay_s * 1000,
            export_timeout_millis=settings.otlp_timeout_s * 1000,
        )
    )
