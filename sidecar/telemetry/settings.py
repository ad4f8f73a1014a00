"""The value that shapes the telemetry pipeline: exporters, endpoints, sampling, batching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.sampling import Sampler

SERVICE_NAME = "rollout-sidecar"

Protocol = Literal["grpc", "http/protobuf"]
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
PROTOCOLS: dict[str, int] = {"grpc": 4317, "http/protobuf": 4318}  # each with its default port
TRACES_EXPORTERS = ("otlp", "none")
LOGS_EXPORTERS = ("otlp", "none")
# Where feature_flag.evaluation events go: log-based events (the current semantic conventions), events on
# the request's span (what older backends read), both, or nowhere.
EVALUATION_EVENT_MODES = ("log", "span", "both", "none")
METRICS_EXPORTERS = ("otlp", "prometheus", "none")


class SettingsError(ValueError):
    """Telemetry settings that contradict themselves."""


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """Everything that shapes the telemetry pipeline.

    The daemon builds it from ``OTEL_*`` variables and CLI options (``sidecar.daemon``); tests and
    benchmarks construct it directly. Durations are in seconds.
    """

    enabled: bool = True
    service_name: str = SERVICE_NAME
    # Push exporters: "otlp" or "none" for traces; any of "otlp", "prometheus", "none" for metrics.
    traces_exporter: Literal["otlp", "none"] = "otlp"
    metrics_exporters: tuple[str, ...] = ("otlp",)
    # Log-based events (flag evaluations, alerts).
    logs_exporter: Literal["otlp", "none"] = "otlp"
    otlp_protocol: Protocol = "grpc"
    # Base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); for http/protobuf, /v1/traces and /v1/metrics are
    # appended. The per-signal endpoints are used verbatim. None: localhost on the protocol's port.
    otlp_endpoint: str | None = None
    otlp_traces_endpoint: str | None = None
    otlp_metrics_endpoint: str | None = None
    otlp_logs_endpoint: str | None = None
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
    # Keep a pull reader for scrapes (the management listener's /metrics).
    metrics_pull: bool = False
    # "host:port" of an extra listener serving /metrics (OTEL_METRICS_EXPORTER=prometheus); it implies a
    # pull reader. The daemon opens it; this package only collects.
    prometheus_address: str | None = None
    # evaluation_duration is a histogram recorded for one evaluation in N (counts stay exact).
    evaluation_duration_sample_every: int = 16
    # One of EVALUATION_EVENT_MODES; log events are kept for this share of evaluations (span events
    # follow the trace sampler).
    evaluation_events: str = "log"
    evaluation_events_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise SettingsError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(SAMPLERS)}")
        if not 0.0 <= self.sampler_ratio <= 1.0:
            raise SettingsError(f"sampler ratio {self.sampler_ratio} is outside [0, 1]")
        if self.otlp_protocol not in PROTOCOLS:
            raise SettingsError(f"unsupported OTLP protocol {self.otlp_protocol!r} (grpc or http/protobuf)")
        if self.traces_exporter not in TRACES_EXPORTERS:
            raise SettingsError(f"unsupported traces exporter {self.traces_exporter!r} (otlp or none)")
        for name in self.metrics_exporters:
            if name not in METRICS_EXPORTERS:
                raise SettingsError(f"unsupported metrics exporter {name!r} (otlp, prometheus or none)")
        if self.span_queue_size < 1 or self.span_batch_size < 1:
            raise SettingsError("span queue and batch sizes must be positive")
        if self.metrics_export_interval_s <= 0:
            raise SettingsError("the metrics export interval must be positive")
        if self.logs_exporter not in LOGS_EXPORTERS:
            raise SettingsError(f"unsupported logs exporter {self.logs_exporter!r} (otlp or none)")
        if self.evaluation_events not in EVALUATION_EVENT_MODES:
            raise SettingsError(f"unknown evaluation events mode {self.evaluation_events!r}")
        if not 0.0 <= self.evaluation_events_ratio <= 1.0:
            raise SettingsError(f"evaluation events ratio {self.evaluation_events_ratio} is outside [0, 1]")
        if self.evaluation_duration_sample_every < 1:
            raise SettingsError("evaluation_duration_sample_every must be >= 1")

    # -- derived -----------------------------------------------------------------------------------

    def build_sampler(self) -> Sampler:
        # Imported here: the CLI reads these settings' option tables without starting the SDK.
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased

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
        specific = {
            "traces": self.otlp_traces_endpoint,
            "metrics": self.otlp_metrics_endpoint,
            "logs": self.otlp_logs_endpoint,
        }[signal]
        if specific:
            return specific
        base = self.otlp_endpoint or f"http://localhost:{PROTOCOLS[self.otlp_protocol]}"
        if self.otlp_protocol == "http/protobuf":
            return f"{base.rstrip('/')}/v1/{signal}"
        return base
