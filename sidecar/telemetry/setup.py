"""Telemetry settings and the providers that own spans and metrics.

Design rules:

* Exporting happens on SDK background threads (``BatchSpanProcessor``, ``PeriodicExportingMetricReader``);
  the request path only appends to a bounded queue. When the queue is full new spans are dropped, so a
  slow or dead collector costs neither latency nor unbounded memory.
* ``Telemetry.shutdown(timeout_s)`` is bounded: when the deadline passes, in-flight exports are aborted.
* ``exporter_reachable()`` is the health signal (degraded, not down): None when nothing is pushed
  (telemetry disabled, exporters ``none``, nothing exported yet), else whether the latest export of
  every push signal succeeded.
* Nothing is installed globally unless :meth:`Telemetry.install_global` is called, so tests and
  benchmarks can build as many independent instances as they like.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import _logs as logs_api
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.util.types import AttributeValue

from sidecar.telemetry.grpc_tracing import TracingInterceptor
from sidecar.telemetry.instruments import Metrics
from sidecar.telemetry.sampling import PrimableIdGenerator, SamplingShortcut

if TYPE_CHECKING:
    from sidecar.telemetry.prometheus import PrometheusServer

__all__ = [
    "SAMPLERS",
    "Telemetry",
    "TelemetrySettings",
    "setup_telemetry",
]

_log = logging.getLogger(__name__)

SERVICE_NAME = "rollout-sidecar"
INSTRUMENTATION_SCOPE = "sidecar"

Protocol = Literal["grpc", "http/protobuf"]
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
_DEFAULT_PORTS: dict[str, int] = {"grpc": 4317, "http/protobuf": 4318}


_ENDPOINT_ATTRS = ("otlp_endpoint", "otlp_traces_endpoint", "otlp_metrics_endpoint")


class SettingsError(ValueError):
    """A telemetry option or ``OTEL_*`` variable with an unusable value."""


def _parse_headers(raw: str) -> tuple[tuple[str, str], ...]:
    """``OTEL_EXPORTER_OTLP_HEADERS`` format: ``k1=v1,k2=v2`` with URL-encoded values."""
    from urllib.parse import unquote

    out: list[tuple[str, str]] = []
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"malformed OTLP header {item!r} (expected key=value)")
        out.append((unquote(key.strip()).lower(), unquote(value.strip())))
    return tuple(out)


def _normalise_endpoint(endpoint: str | None) -> str | None:
    if not endpoint:
        return None
    # The OTLP exporters treat a scheme-less endpoint as TLS; a local collector is plain http.
    return endpoint if "://" in endpoint else f"http://{endpoint}"


def _number(env: Mapping[str, str], name: str, default: float, *, scale: float = 1.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw) * scale
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"{name}={raw!r} must be a non-negative number")
    return value


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """Everything that shapes the telemetry pipeline.

    Build it with :meth:`from_env` (standard ``OTEL_*`` variables), then apply CLI options with
    :meth:`with_overrides` or :meth:`from_args`. Durations are in seconds.
    """

    enabled: bool = True
    service_name: str = SERVICE_NAME
    # Push exporters: "otlp" or "none" for traces; any of "otlp", "prometheus", "none" for metrics.
    traces_exporter: Literal["otlp", "none"] = "otlp"
    metrics_exporters: tuple[str, ...] = ("otlp",)
    otlp_protocol: Protocol = "grpc"
    # Base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); for http/protobuf, /v1/traces and /v1/metrics are
    # appended. The per-signal endpoints are used verbatim. None: localhost on the protocol's port.
    otlp_endpoint: str | None = None
    otlp_traces_endpoint: str | None = None
    otlp_metrics_endpoint: str | None = None
    otlp_headers: tuple[tuple[str, str], ...] = ()
    otlp_timeout_s: float = 10.0
    # One of SAMPLERS. Roots are sampled at sampler_ratio; a caller's sampled flag is honoured.
    sampler: str = "parentbased_traceidratio"
    sampler_ratio: float = 0.05
    span_queue_size: int = 2048
    span_batch_size: int = 512
    span_schedule_delay_s: float = 5.0
    metrics_export_interval_s: float = 60.0
    metrics_export_timeout_s: float = 30.0
    # "host:port" for a Prometheus text-format scrape endpoint (port 0 picks a free port).
    prometheus_address: str | None = None
    # evaluation_duration is a histogram recorded for one evaluation in N (counts stay exact).
    evaluation_duration_sample_every: int = 16

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise SettingsError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(SAMPLERS)}")
        if not 0.0 <= self.sampler_ratio <= 1.0:
            raise SettingsError(f"sampler ratio {self.sampler_ratio} is outside [0, 1]")
        if self.otlp_protocol not in _DEFAULT_PORTS:
            raise SettingsError(f"unsupported OTLP protocol {self.otlp_protocol!r} (grpc or http/protobuf)")
        if self.traces_exporter not in ("otlp", "none"):
            raise SettingsError(f"unsupported traces exporter {self.traces_exporter!r} (otlp or none)")
        for name in self.metrics_exporters:
            if name not in ("otlp", "prometheus", "none"):
                raise SettingsError(f"unsupported metrics exporter {name!r} (otlp, prometheus or none)")
        if self.span_queue_size < 1 or self.span_batch_size < 1:
            raise SettingsError("span queue and batch sizes must be positive")
        if self.metrics_export_interval_s <= 0:
            raise SettingsError("the metrics export interval must be positive")
        if self.evaluation_duration_sample_every < 1:
            raise SettingsError("evaluation_duration_sample_every must be >= 1")

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelemetrySettings:
        """Read the standard OpenTelemetry SDK variables (unset ones keep this class's defaults).

        OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER,
        OTEL_EXPORTER_OTLP_{,TRACES_,METRICS_}ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
        OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT (milliseconds, per the specification),
        OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_MAX_QUEUE_SIZE,
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_SCHEDULE_DELAY, OTEL_METRIC_EXPORT_INTERVAL,
        OTEL_METRIC_EXPORT_TIMEOUT (milliseconds), OTEL_EXPORTER_PROMETHEUS_HOST/_PORT.
        """
        env = os.environ if environ is None else environ
        d = cls()
        changes: dict[str, Any] = {}
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            changes["enabled"] = False
        if name := env.get("OTEL_SERVICE_NAME", "").strip():
            changes["service_name"] = name
        if raw := env.get("OTEL_TRACES_EXPORTER", "").strip():
            names = _csv(raw)
            changes["traces_exporter"] = "otlp" if "otlp" in names else "none"
        if raw := env.get("OTEL_METRICS_EXPORTER", "").strip():
            changes["metrics_exporters"] = _csv(raw)
        if raw := env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip():
            changes["otlp_protocol"] = "http/protobuf" if raw == "http" else raw
        for var, attr in (
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "otlp_traces_endpoint"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "otlp_metrics_endpoint"),
        ):
            if raw := env.get(var, "").strip():
                changes[attr] = _normalise_endpoint(raw)
        if raw := env.get("OTEL_EXPORTER_OTLP_HEADERS", "").strip():
            changes["otlp_headers"] = _parse_headers(raw)
        changes["otlp_timeout_s"] = _number(env, "OTEL_EXPORTER_OTLP_TIMEOUT", d.otlp_timeout_s, scale=1e-3)
        if raw := env.get("OTEL_TRACES_SAMPLER", "").strip():
            changes["sampler"] = raw.lower()
        if raw := env.get("OTEL_TRACES_SAMPLER_ARG", "").strip():
            changes["sampler_ratio"] = _number(env, "OTEL_TRACES_SAMPLER_ARG", d.sampler_ratio)
        changes["span_queue_size"] = int(_number(env, "OTEL_BSP_MAX_QUEUE_SIZE", d.span_queue_size))
        changes["span_batch_size"] = int(_number(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", d.span_batch_size))
        changes["span_schedule_delay_s"] = _number(
            env, "OTEL_BSP_SCHEDULE_DELAY", d.span_schedule_delay_s, scale=1e-3
        )
        changes["metrics_export_interval_s"] = _number(
            env, "OTEL_METRIC_EXPORT_INTERVAL", d.metrics_export_interval_s, scale=1e-3
        )
        changes["metrics_export_timeout_s"] = _number(
            env, "OTEL_METRIC_EXPORT_TIMEOUT", d.metrics_export_timeout_s, scale=1e-3
        )
        # Push export starts when a collector is named: a sidecar with no collector configured must not dial
        # localhost:4317 forever (nor wait for it at shutdown), as the SDK's own default would.
        if not any(changes.get(attr) for attr in _ENDPOINT_ATTRS):
            changes.setdefault("traces_exporter", "none")
            changes.setdefault("metrics_exporters", ("none",))
        if "prometheus" in changes.get("metrics_exporters", ()):
            host = env.get("OTEL_EXPORTER_PROMETHEUS_HOST", "").strip() or "127.0.0.1"
            port = env.get("OTEL_EXPORTER_PROMETHEUS_PORT", "").strip() or "9464"
            changes["prometheus_address"] = f"{host}:{port}"
        return dataclasses.replace(d, **changes)

    def with_overrides(self, **changes: Any) -> TelemetrySettings:
        """A copy with the given fields replaced; ``None`` values are ignored (unset CLI options)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @staticmethod
    def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
        """Options that override the ``OTEL_*`` environment (all default to "not given")."""
        g = parser.add_argument_group("telemetry")
        g.add_argument("--no-telemetry", action="store_true", default=None, help="disable traces and metrics")
        g.add_argument("--otlp-endpoint", help="OTLP collector endpoint, e.g. http://127.0.0.1:4317")
        g.add_argument("--otlp-protocol", choices=sorted(_DEFAULT_PORTS), help="OTLP transport")
        g.add_argument(
            "--otlp-header", action="append", metavar="KEY=VALUE", help="extra OTLP header (repeatable)"
        )
        g.add_argument("--trace-sampler", choices=SAMPLERS, help="trace sampler (OTEL_TRACES_SAMPLER names)")
        g.add_argument("--trace-sample-ratio", type=float, metavar="R", help="root span sampling ratio 0..1")
        g.add_argument("--metrics-interval", type=float, metavar="SECONDS", help="metrics export interval")
        g.add_argument("--prometheus-listen", metavar="HOST:PORT", help="serve Prometheus text metrics here")

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None
    ) -> TelemetrySettings:
        """Environment first, then the options registered by :meth:`add_cli_arguments`."""
        base = cls.from_env(environ)
        if getattr(args, "otlp_endpoint", None):
            pushed = tuple(e for e in base.metrics_exporters if e not in ("none", "otlp"))
            base = base.with_overrides(traces_exporter="otlp", metrics_exporters=("otlp", *pushed))
        headers = None
        if getattr(args, "otlp_header", None):
            headers = base.otlp_headers + _parse_headers(",".join(args.otlp_header))
        metrics_exporters = None
        prometheus = getattr(args, "prometheus_listen", None)
        if prometheus and "prometheus" not in base.metrics_exporters:
            metrics_exporters = (*(e for e in base.metrics_exporters if e != "none"), "prometheus")
        return base.with_overrides(
            enabled=False if getattr(args, "no_telemetry", None) else None,
            otlp_endpoint=_normalise_endpoint(getattr(args, "otlp_endpoint", None)),
            otlp_protocol=getattr(args, "otlp_protocol", None),
            otlp_headers=headers,
            sampler=getattr(args, "trace_sampler", None),
            sampler_ratio=getattr(args, "trace_sample_ratio", None),
            metrics_export_interval_s=getattr(args, "metrics_interval", None),
            prometheus_address=prometheus,
            metrics_exporters=metrics_exporters,
        )

    # -- derived -----------------------------------------------------------------------------------

    def build_sampler(self) -> Sampler:
        ratio = TraceIdRatioBased(self.sampler_ratio)
        return {
            "always_on": ALWAYS_ON,
            "always_off": ALWAYS_OFF,
            "traceidratio": ratio,
            "parentbased_always_on": ParentBased(ALWAYS_ON),
            "parentbased_always_off": ParentBased(ALWAYS_OFF),
            "parentbased_traceidratio": ParentBased(ratio),
        }[self.sampler]

    def signal_endpoint(self, signal: Literal["traces", "metrics", "logs"]) -> str:
        specific = {"traces": self.otlp_traces_endpoint, "metrics": self.otlp_metrics_endpoint}.get(signal)
        if specific:
            return specific
        base = self.otlp_endpoint or f"http://localhost:{_DEFAULT_PORTS[self.otlp_protocol]}"
        if self.otlp_protocol == "http/protobuf":
            return f"{base.rstrip('/')}/v1/{signal}"
        return base


# -- exporter wrappers: health tracking and bounded shutdown ---------------------------------------


class _ExportHealth:
    """Latest export outcome per push signal (written by exporter threads, read by health checks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, bool] = {}
        self.last_error_at: float | None = None

    def record(self, signal: str, ok: bool) -> None:
        with self._lock:
            self._last[signal] = ok
            if not ok:
                self.last_error_at = time.monotonic()

    def reachable(self) -> bool | None:
        with self._lock:
            if not self._last:
                return None
            return all(self._last.values())


class _TrackedSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, health: _ExportHealth) -> None:
        self._inner = inner
        self._health = health
        self._aborted = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._aborted:
            return SpanExportResult.FAILURE
        try:
            result = self._inner.export(spans)
        except Exception:
            _log.exception("span export raised")
            result = SpanExportResult.FAILURE
        self._health.record("traces", result is SpanExportResult.SUCCESS)
        return result

    def abort(self) -> None:
        """Stop retries and close the connection now (shutdown deadline passed)."""
        if not self._aborted:
            self._aborted = True
            self._inner.shutdown()

    def shutdown(self) -> None:
        if not self._aborted:
            self._aborted = True
            self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class _TrackedMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter, health: _ExportHealth) -> None:
        # The periodic reader takes temporality/aggregation preferences from its exporter.
        super().__init__(
            preferred_temporality=getattr(inner, "_preferred_temporality", None),
            preferred_aggregation=getattr(inner, "_preferred_aggregation", None),
        )
        self._inner = inner
        self._health = health
        self._aborted = False

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if self._aborted:
            return MetricExportResult.FAILURE
        try:
            result = self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception:
            _log.exception("metric export raised")
            result = MetricExportResult.FAILURE
        self._health.record("metrics", result is MetricExportResult.SUCCESS)
        return result

    def abort(self) -> None:
        if not self._aborted:
            self._aborted = True
            self._inner.shutdown(timeout_millis=0)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        if not self._aborted:
            self._aborted = True
            self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def _otlp_span_exporter(settings: TelemetrySettings) -> SpanExporter:
    endpoint = settings.signal_endpoint("traces")
    headers = dict(settings.otlp_headers) or None
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        return GrpcSpanExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

    return HttpSpanExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)


def _otlp_metric_exporter(settings: TelemetrySettings) -> MetricExporter:
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


def _otlp_log_exporter(settings: TelemetrySettings) -> LogRecordExporter:
    endpoint = settings.signal_endpoint("logs")
    headers = dict(settings.otlp_headers) or None
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter

        return GrpcLogExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

    return HttpLogExporter(endpoint=endpoint, headers=headers, timeout=settings.otlp_timeout_s)


# -- the Telemetry object ----------------------------------------------------------------------------


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
        span_exporter: _TrackedSpanExporter | None,
        metric_exporter: _TrackedMetricExporter | None,
        health: _ExportHealth,
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

    def install_global(self) -> None:
        """Make these providers the process-wide OpenTelemetry defaults (once per process)."""
        if self._tracer_provider is not None:
            trace_api.set_tracer_provider(self._tracer_provider)
        if self._meter_provider is not None:
            metrics_api.set_meter_provider(self._meter_provider)

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
    health = _ExportHealth()
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
    tracked_metric_exporter: _TrackedMetricExporter | None = None
    if "otlp" in settings.metrics_exporters:
        tracked_metric_exporter = _TrackedMetricExporter(_otlp_metric_exporter(settings), health)
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
    tracked_span_exporter: _TrackedSpanExporter | None = None
    processor: BatchSpanProcessor | None = None
    inner_span_exporter = span_exporter
    if inner_span_exporter is None and settings.traces_exporter == "otlp":
        inner_span_exporter = _otlp_span_exporter(settings)
    if inner_span_exporter is not None:
        tracked_span_exporter = _TrackedSpanExporter(inner_span_exporter, health)
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
                _otlp_log_exporter(settings),
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
