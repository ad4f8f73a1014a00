"""Telemetry options: the standard ``OTEL_*`` variables and the flags that override them."""

from __future__ import annotations

from sidecar.daemon import parsers as p
from sidecar.daemon.options import Option, Reader
from sidecar.telemetry.settings import (
    EVALUATION_EVENT_MODES,
    LOGS_EXPORTERS,
    METRICS_EXPORTERS,
    PROTOCOLS,
    SAMPLERS,
    TRACES_EXPORTERS,
    TelemetrySettings,
)

NO_TELEMETRY = Option("--no-telemetry", "OTEL_SDK_DISABLED", "disable traces and metrics", switch=True)
OTLP_ENDPOINT = Option(
    "--otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP collector endpoint, e.g. http://127.0.0.1:4317"
)
OTLP_PROTOCOL = Option(
    "--otlp-protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTLP transport: grpc or http/protobuf"
)
OTLP_HEADER = Option(
    "--otlp-header",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "extra OTLP header, repeatable; added to the variable's",
    metavar="KEY=VALUE",
    repeat=True,
)
TRACE_SAMPLER = Option("--trace-sampler", "OTEL_TRACES_SAMPLER", "trace sampler: " + ", ".join(SAMPLERS))
TRACE_SAMPLE_RATIO = Option(
    "--trace-sample-ratio", "OTEL_TRACES_SAMPLER_ARG", "root span sampling ratio 0..1", metavar="R"
)
METRICS_INTERVAL = Option(
    "--metrics-interval",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "metrics export interval in seconds; the variable is in milliseconds",
    metavar="SECONDS",
)
PROMETHEUS_LISTEN = Option(
    "--prometheus-listen",
    None,
    "also serve the management endpoints (/metrics) here; port 0 picks one",
    metavar="HOST:PORT",
)
EVALUATION_EVENTS = Option(
    "--evaluation-events",
    "SIDECAR_EVALUATION_EVENTS",
    "where feature_flag.evaluation events go: " + ", ".join(EVALUATION_EVENT_MODES) + " (default log)",
)
EVALUATION_EVENTS_RATIO = Option(
    "--evaluation-events-ratio",
    "SIDECAR_EVALUATION_EVENTS_RATIO",
    "share of evaluations exported as log events, 0..1 (default 1)",
    metavar="R",
)
SERVICE_NAME = Option(None, "OTEL_SERVICE_NAME")
TRACES_EXPORTER = Option(None, "OTEL_TRACES_EXPORTER")
METRICS_EXPORTER = Option(None, "OTEL_METRICS_EXPORTER")
TRACES_ENDPOINT = Option(None, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
METRICS_ENDPOINT = Option(None, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
LOGS_EXPORTER = Option(None, "OTEL_LOGS_EXPORTER")
LOGS_ENDPOINT = Option(None, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
OTLP_TIMEOUT = Option(None, "OTEL_EXPORTER_OTLP_TIMEOUT")
QUEUE_SIZE = Option(None, "OTEL_BSP_MAX_QUEUE_SIZE")
BATCH_SIZE = Option(None, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
SCHEDULE_DELAY = Option(None, "OTEL_BSP_SCHEDULE_DELAY")
METRICS_TIMEOUT = Option(None, "OTEL_METRIC_EXPORT_TIMEOUT")
PROMETHEUS_HOST = Option(None, "OTEL_EXPORTER_PROMETHEUS_HOST")
PROMETHEUS_PORT = Option(None, "OTEL_EXPORTER_PROMETHEUS_PORT")

TELEMETRY_FLAGS = (
    NO_TELEMETRY,
    OTLP_ENDPOINT,
    OTLP_PROTOCOL,
    OTLP_HEADER,
    TRACE_SAMPLER,
    TRACE_SAMPLE_RATIO,
    METRICS_INTERVAL,
    PROMETHEUS_LISTEN,
    EVALUATION_EVENTS,
    EVALUATION_EVENTS_RATIO,
)


def _protocol(text: str) -> str:
    name = p.choice((*PROTOCOLS, "http"))(text)
    return "http/protobuf" if name == "http" else name


def _traces_exporter(text: str) -> str:
    return "otlp" if "otlp" in p.choices(TRACES_EXPORTERS)(text) else "none"


def _logs_exporter(text: str) -> str:
    return "otlp" if "otlp" in p.choices(LOGS_EXPORTERS)(text) else "none"


def telemetry_settings(read: Reader, metrics_pull: bool = False) -> TelemetrySettings:
    """OTEL_* variables, then the telemetry flags; unset ones keep :class:`TelemetrySettings` defaults.

    ``metrics_pull``: something will scrape (the management listener's /metrics)."""
    d = TelemetrySettings()
    traces, metrics = _exporters(read)
    logs = read.variable(LOGS_EXPORTER, _logs_exporter) or traces
    headers = read.variable(OTLP_HEADER, p.headers) or ()
    headers += read.flag(OTLP_HEADER, p.headers) or ()  # flags add to the variable's headers
    return TelemetrySettings(
        enabled=not read.get(NO_TELEMETRY, p.boolean, False),
        service_name=read.get(SERVICE_NAME, p.text, d.service_name),
        traces_exporter="otlp" if traces == "otlp" else "none",
        metrics_exporters=metrics,
        logs_exporter="otlp" if logs == "otlp" else "none",
        otlp_protocol="http/protobuf" if read.get(OTLP_PROTOCOL, _protocol) == "http/protobuf" else "grpc",
        otlp_endpoint=read.get(OTLP_ENDPOINT, p.endpoint),
        otlp_traces_endpoint=read.get(TRACES_ENDPOINT, p.endpoint),
        otlp_metrics_endpoint=read.get(METRICS_ENDPOINT, p.endpoint),
        otlp_logs_endpoint=read.get(LOGS_ENDPOINT, p.endpoint),
        otlp_headers=headers,
        otlp_timeout_s=read.get(OTLP_TIMEOUT, p.non_negative_milliseconds, d.otlp_timeout_s),
        sampler=read.get(TRACE_SAMPLER, p.choice(SAMPLERS), d.sampler),
        sampler_ratio=read.get(TRACE_SAMPLE_RATIO, p.ratio, d.sampler_ratio),
        span_queue_size=read.get(QUEUE_SIZE, p.positive_int, d.span_queue_size),
        span_batch_size=read.get(BATCH_SIZE, p.positive_int, d.span_batch_size),
        span_schedule_delay_s=read.get(SCHEDULE_DELAY, p.non_negative_milliseconds, d.span_schedule_delay_s),
        metrics_export_interval_s=_metrics_interval(read, d.metrics_export_interval_s),
        metrics_export_timeout_s=read.get(
            METRICS_TIMEOUT, p.non_negative_milliseconds, d.metrics_export_timeout_s
        ),
        metrics_pull=metrics_pull,
        prometheus_address=_prometheus_address(read, metrics),
        evaluation_events=read.get(EVALUATION_EVENTS, p.choice(EVALUATION_EVENT_MODES), d.evaluation_events),
        evaluation_events_ratio=read.get(EVALUATION_EVENTS_RATIO, p.ratio, d.evaluation_events_ratio),
    )


def _metrics_interval(read: Reader, default: float) -> float:
    # The flag is in seconds, the standard variable in milliseconds.
    flag = read.flag(METRICS_INTERVAL, p.positive_seconds)
    if flag is not None:
        return flag
    return read.get(METRICS_INTERVAL, p.positive_milliseconds, default)


def _exporters(read: Reader) -> tuple[str, tuple[str, ...]]:
    traces = read.variable(TRACES_EXPORTER, _traces_exporter)
    metrics = read.variable(METRICS_EXPORTER, p.choices(METRICS_EXPORTERS))
    if read.flag(OTLP_ENDPOINT, p.endpoint) is not None:
        # Naming a collector on the command line turns OTLP export on, whatever the variables say.
        pushed = tuple(m for m in metrics or () if m not in ("none", "otlp"))
        traces, metrics = "otlp", ("otlp", *pushed)
    # Push export starts when a collector is named: a sidecar with no collector configured must not dial
    # localhost:4317 forever (nor wait for it at shutdown), as the SDK's own default would.
    named = any(
        read.given(option) for option in (OTLP_ENDPOINT, TRACES_ENDPOINT, METRICS_ENDPOINT, LOGS_ENDPOINT)
    )
    traces = traces or ("otlp" if named else "none")
    metrics = metrics or (("otlp",) if named else ("none",))
    if read.flag_text(PROMETHEUS_LISTEN) is not None and "prometheus" not in metrics:
        metrics = (*(m for m in metrics if m != "none"), "prometheus")
    return traces, metrics


def _prometheus_address(read: Reader, metrics: tuple[str, ...]) -> str | None:
    flag = read.flag(PROMETHEUS_LISTEN, p.bind_address)
    if flag is not None:
        return flag
    if "prometheus" not in metrics:
        return None
    host = read.get(PROMETHEUS_HOST, p.text, "127.0.0.1")
    return f"{host}:{read.get(PROMETHEUS_PORT, p.port, 9464)}"
