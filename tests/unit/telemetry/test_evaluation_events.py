"""feature_flag.evaluation as log-based events: modes, sampling ratio, errors, trace context."""

from __future__ import annotations

import pytest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sidecar.telemetry import Telemetry, TelemetrySettings, setup_telemetry


class Collected(InMemoryLogRecordExporter):
    @property
    def records(self) -> list[ReadableLogRecord]:
        return list(self.get_finished_logs())


def _telemetry(logs: Collected, spans: InMemorySpanExporter, mode: str, ratio: float = 1.0) -> Telemetry:
    settings = TelemetrySettings(
        traces_exporter="none",
        metrics_exporters=("none",),
        logs_exporter="none",
        sampler="always_on",
        evaluation_events=mode,
        evaluation_events_ratio=ratio,
    )
    return setup_telemetry(settings, span_exporter=spans, log_exporter=logs)


def _evaluate(tel: Telemetry, key: str = "f", **extra: object) -> None:
    with tel.tracer.start_as_current_span("rpc"):
        tel.evaluation_events.record(flag_key=key, variant="on", reason="STATIC", value=True, **extra)


@pytest.mark.parametrize(
    ("mode", "logged", "on_span"), [("log", 1, 0), ("span", 0, 1), ("both", 1, 1), ("none", 0, 0)]
)
def test_modes(mode: str, logged: int, on_span: int) -> None:
    logs, spans = Collected(), InMemorySpanExporter()
    tel = _telemetry(logs, spans, mode)
    _evaluate(tel)
    assert tel.force_flush()
    tel.shutdown()
    assert len(logs.records) == logged
    (span,) = spans.get_finished_spans()
    assert len(span.events) == on_span
    if logged:
        record = logs.records[0].log_record
        assert record.event_name == "feature_flag.evaluation"
        assert dict(record.attributes or {})["feature_flag.result.value"] is True
        assert record.trace_id == span.context.trace_id  # emitted inside the request's span
        assert record.severity_text == "INFO"


def test_errors_are_warnings_with_error_type() -> None:
    logs, spans = Collected(), InMemorySpanExporter()
    tel = _telemetry(logs, spans, "log")
    _evaluate(tel, "missing", error_type="FLAG_NOT_FOUND", error_message="no such flag")
    tel.shutdown()
    (record,) = (r.log_record for r in logs.records)
    assert record.severity_text == "WARN"
    assert dict(record.attributes or {})["error.type"] == "flag_not_found"


def test_ratio_keeps_about_that_share() -> None:
    logs, spans = Collected(), InMemorySpanExporter()
    tel = _telemetry(logs, spans, "log", ratio=0.25)
    for i in range(2000):
        tel.evaluation_events.record(flag_key=f"f{i % 7}", variant="on", reason="STATIC")
    tel.shutdown()
    assert 350 < len(logs.records) < 650  # binomial(2000, 0.25): mean 500, sd 19


def test_no_logger_provider_no_log_events() -> None:
    spans = InMemorySpanExporter()
    tel = setup_telemetry(
        TelemetrySettings(traces_exporter="none", metrics_exporters=("none",), logs_exporter="none"),
        span_exporter=spans,
    )
    assert not tel.evaluation_events.to_log
    tel.shutdown()
