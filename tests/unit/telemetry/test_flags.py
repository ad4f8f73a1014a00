from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from sidecar.telemetry import record_evaluation, record_rollout_decision, record_route_decision


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _tracer(exporter: InMemorySpanExporter) -> trace.Tracer:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("t")


def test_evaluation_event_follows_semconv(exporter: InMemorySpanExporter) -> None:
    with _tracer(exporter).start_as_current_span("rpc") as span:
        record_evaluation(
            span,
            flag_key="new-search",
            variant="off",
            reason="ERROR",
            context_id="u-1",
            set_id="shop",
            version=3,
            error_type="FLAG_NOT_FOUND",
            error_message="no flag new-search in revision 3",
        )
        record_evaluation(span, flag_key="minimal", variant=None, reason="default")
    (finished,) = exporter.get_finished_spans()
    full, minimal = finished.events
    assert full.name == minimal.name == "feature_flag.evaluation"
    assert dict(full.attributes or {}) == {
        "feature_flag.key": "new-search",
        "feature_flag.result.variant": "off",
        "feature_flag.result.reason": "error",
        "feature_flag.provider.name": "rollout-sidecar",
        "feature_flag.context.id": "u-1",
        "feature_flag.set.id": "shop",
        "feature_flag.version": "3",
        "error.type": "flag_not_found",
        "feature_flag.error.message": "no flag new-search in revision 3",
    }
    assert dict(minimal.attributes or {}) == {
        "feature_flag.key": "minimal",
        "feature_flag.result.reason": "default",
        "feature_flag.provider.name": "rollout-sidecar",
    }


def test_route_and_rollout_events(exporter: InMemorySpanExporter) -> None:
    with _tracer(exporter).start_as_current_span("rpc") as span:
        record_route_decision(
            span, rollout="checkout", version="v1", reason="sticky", phase_index=2, v2_percent=5, sticky=True
        )
        record_rollout_decision(
            span, rollout="checkout", decision="rollback", reason="error_rate", numbers={"p_value": 0.001}
        )
    route, decision = exporter.get_finished_spans()[0].events
    assert route.name == "rollout.route"
    assert route.attributes is not None
    assert route.attributes["rollout.v2_percent"] == 5.0
    assert route.attributes["rollout.sticky"] is True
    assert decision.name == "rollout.decision"
    assert decision.attributes is not None
    assert decision.attributes["rollout.stats.p_value"] == 0.001


class _Exploding(trace.NonRecordingSpan):
    def add_event(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("must not build events for a non-recording span")


def test_non_recording_spans_cost_nothing(exporter: InMemorySpanExporter) -> None:
    span = _Exploding(trace.INVALID_SPAN_CONTEXT)
    record_evaluation(span, flag_key="f", variant="on", reason="static")
    record_route_decision(span, rollout="r", version="v1", reason="x")
    record_rollout_decision(span, rollout="r", decision="hold", reason="x")
    provider = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    with provider.get_tracer("t").start_as_current_span("rpc") as unsampled:
        record_evaluation(unsampled, flag_key="f", variant="on", reason="static")
    record_evaluation(trace.get_current_span(), flag_key="f", variant="on", reason="static")
