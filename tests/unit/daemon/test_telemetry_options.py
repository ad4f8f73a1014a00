"""OTEL_* variables and telemetry flags become one TelemetrySettings."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

import pytest
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from sidecar.daemon.options import Reader, add_options
from sidecar.daemon.parsers import BadValue
from sidecar.daemon.telemetry_options import TELEMETRY_FLAGS, telemetry_settings
from sidecar.telemetry import TelemetrySettings


def settings(environ: Mapping[str, str], argv: Sequence[str] = ()) -> TelemetrySettings:
    parser = argparse.ArgumentParser()
    add_options(parser, TELEMETRY_FLAGS)
    return telemetry_settings(Reader(parser.parse_args(argv), environ))


def test_defaults_push_nothing_until_a_collector_is_named() -> None:
    s = settings({})
    assert s == TelemetrySettings(traces_exporter="none", metrics_exporters=("none",), logs_exporter="none")
    assert s.enabled
    assert s.service_name == "rollout-sidecar"
    assert s.signal_endpoint("traces") == "http://localhost:4317"
    sampler = s.build_sampler()
    assert isinstance(sampler, ParentBased)
    assert "TraceIdRatioBased{0.05}" in sampler.get_description()


@pytest.mark.parametrize(
    ("environ", "argv"),
    [
        pytest.param({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, [], id="env"),
        pytest.param({}, ["--otlp-endpoint", "http://collector:4317"], id="cli"),
    ],
)
def test_naming_a_collector_turns_otlp_export_on(environ: dict[str, str], argv: list[str]) -> None:
    s = settings(environ, argv)
    assert (s.traces_exporter, s.metrics_exporters) == ("otlp", ("otlp",))


def test_standard_variables() -> None:
    s = settings(
        {
            "OTEL_SERVICE_NAME": "sidecar-eu1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "collector.local:4317",
            "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc, x-tenant = t1",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            "OTEL_TRACES_SAMPLER": "traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_BSP_MAX_QUEUE_SIZE": "100",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10",
            "OTEL_BSP_SCHEDULE_DELAY": "250",
            "OTEL_METRIC_EXPORT_INTERVAL": "15000",
            "OTEL_METRICS_EXPORTER": "otlp,prometheus",
            "OTEL_EXPORTER_PROMETHEUS_PORT": "9999",
        }
    )
    assert s.service_name == "sidecar-eu1"
    assert s.signal_endpoint("traces") == "http://collector.local:4317"  # scheme-less means plain http
    assert s.otlp_headers == (("authorization", "Bearer abc"), ("x-tenant", "t1"))
    assert s.otlp_timeout_s == 2.5
    assert isinstance(s.build_sampler(), TraceIdRatioBased)
    assert s.sampler_ratio == 0.25
    assert (s.span_queue_size, s.span_batch_size, s.span_schedule_delay_s) == (100, 10, 0.25)
    assert s.metrics_export_interval_s == 15.0
    assert s.metrics_exporters == ("otlp", "prometheus")
    assert s.prometheus_address == "127.0.0.1:9999"


def test_http_protocol_appends_signal_paths_unless_signal_specific() -> None:
    s = settings(
        {
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example:4318/",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://metrics.example/ingest",
        }
    )
    assert s.signal_endpoint("traces") == "https://otlp.example:4318/v1/traces"
    assert s.signal_endpoint("metrics") == "https://metrics.example/ingest"
    assert TelemetrySettings(otlp_protocol="http/protobuf").signal_endpoint("traces") == (
        "http://localhost:4318/v1/traces"
    )


def test_disabled_and_none_exporters() -> None:
    assert not settings({"OTEL_SDK_DISABLED": "true"}).enabled
    s = settings({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"})
    assert s.traces_exporter == "none"
    assert s.metrics_exporters == ("none",)


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_TRACES_SAMPLER": "sometimes"},
        {"OTEL_TRACES_SAMPLER_ARG": "1.5"},
        {"OTEL_TRACES_SAMPLER_ARG": "half"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
        {"OTEL_EXPORTER_OTLP_HEADERS": "novalue"},
        {"OTEL_METRICS_EXPORTER": "statsd"},
        {"OTEL_METRIC_EXPORT_INTERVAL": "0"},
        {"OTEL_BSP_MAX_QUEUE_SIZE": "-1"},
    ],
)
def test_bad_values_are_reported(env: dict[str, str]) -> None:
    with pytest.raises(BadValue, match=next(iter(env))):
        settings(env)


def test_cli_options_override_the_environment() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4317", "OTEL_TRACES_SAMPLER_ARG": "0.5"}
    assert settings(env).sampler_ratio == 0.5
    s = settings(
        env,
        [
            "--otlp-endpoint",
            "127.0.0.1:14317",
            "--trace-sample-ratio",
            "0.01",
            "--trace-sampler",
            "parentbased_always_on",
            "--otlp-header",
            "x-a=1",
            "--metrics-interval",
            "5",
            "--prometheus-listen",
            "127.0.0.1:0",
        ],
    )
    assert s.signal_endpoint("traces") == "http://127.0.0.1:14317"
    assert s.sampler_ratio == 0.01
    assert s.sampler == "parentbased_always_on"
    assert s.otlp_headers == (("x-a", "1"),)
    assert s.metrics_export_interval_s == 5.0
    assert s.prometheus_address == "127.0.0.1:0"
    assert "prometheus" in s.metrics_exporters
    assert not settings(env, ["--no-telemetry"]).enabled
