"""The value that shapes the telemetry pipeline: exporters, endpoints, sampling, batching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

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
        if self.evaluation_duration_sample_every < 1:
            raise SettingsError("evaluation_duration_sample_every must be >= 1")

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
        base = self.otlp_endpoint or f"http://localhost:{PROTOCOLS[self.otlp_protocol]}"
        if self.otlp_protocol == "http/protobuf":
            return f"{base.rstrip('/')}/v1/{signal}"
        return base
