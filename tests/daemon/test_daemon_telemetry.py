"""The real daemon exporting to a real OTLP receiver: spans, flag-evaluation events and metric values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from sidecar.server.convert import to_struct
from sidecar.v1 import evaluation_pb2, routing_pb2, routing_pb2_grpc
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags
from tests.support.otlp_receiver import OtlpReceiver, attributes

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def daemon(config_dir: Path, state_dir: Path, receiver: OtlpReceiver) -> Iterator[Daemon]:
    write_flags(
        config_dir,
        "flags.json",
        {
            "switch": boolean_flag("on"),
            "split": {**boolean_flag("off"), "targeting": {"fractional": [["on", 50], ["off", 50]]}},
        },
        metadata={"flagSetId": "shop"},
    )
    (config_dir / "rollouts.yaml").write_text(
        "rollouts:\n  svc:\n    phases:\n      - {name: HALF, percent: 50, minDuration: 1h}\n"
        "      - {name: FULL, percent: 100}\n"
    )
    with Daemon(
        config_dir,
        state_dir,
        "--otlp-endpoint",
        receiver.endpoint,
        "--trace-sampler",
        "parentbased_always_on",
        "--metrics-interval",
        "0.5",
        "--evaluation-events",
        "both",
        env={"OTEL_BSP_SCHEDULE_DELAY": "100"},
    ) as running:
        yield running


def test_known_calls_produce_known_spans_events_and_metrics(daemon: Daemon, receiver: OtlpReceiver) -> None:
    evaluation = daemon.evaluation()
    for _ in range(3):
        evaluation.Evaluate(
            evaluation_pb2.EvaluateRequest(flag_key="switch", context=to_struct({"targetingKey": "u1"})),
            metadata=[("traceparent", TRACEPARENT)],
            timeout=5,
        )
    routing = routing_pb2_grpc.RoutingServiceStub(daemon.channel())
    route = routing.Route(
        routing_pb2.RouteRequest(rollout_key="svc", context=to_struct({"targetingKey": "u1"})), timeout=5
    )
    outcomes = [
        routing_pb2.Outcome(
            rollout_key="svc", version=routing_pb2.VERSION_V2, success=i != 0, latency_ms=10.0
        )
        for i in range(4)
    ]
    routing.ReportOutcomes(routing_pb2.ReportOutcomesRequest(outcomes=outcomes), timeout=5)

    # The caller's trace continues: the server span is a child of the caller's span, in the caller's trace.
    span = receiver.wait_for_span("sidecar.v1.EvaluationService/Evaluate")
    assert receiver.trace_id(span) == CALLER_TRACE_ID
    assert span.parent_span_id.hex() == "00f067aa0ba902b7"
    event = receiver.events(span, "feature_flag.evaluation")[0]
    assert event["feature_flag.key"] == "switch"
    assert event["feature_flag.result.variant"] == "on"
    assert event["feature_flag.result.reason"] == "static"
    assert event["feature_flag.provider.name"] == "rollout-sidecar"
    assert event["feature_flag.context.id"] == "u1"
    assert event["feature_flag.set.id"] == "shop"
    assert str(event["feature_flag.version"]) == "1"
    assert event["feature_flag.result.value"] is True
    # The same evaluation as a log-based event (the current conventions), inside the request's trace.
    logged = receiver.wait_for_event("feature_flag.evaluation", lambda e: e["feature_flag.key"] == "switch")
    assert {k: v for k, v in logged.items() if not k.startswith("event.")} == event
    assert logged["event.trace_id"] == CALLER_TRACE_ID
    assert logged["event.severity"] == "INFO"

    route_span = receiver.wait_for_span("sidecar.v1.RoutingService/Route")
    route_event = receiver.events(route_span, "rollout.route")[0]
    assert route_event["rollout.name"] == "svc"
    assert route_event["rollout.version"] == routing_pb2.Version.Name(route.version).removeprefix("VERSION_")
    assert route_event["rollout.reason"] in ("IN_SPLIT", "OUT_OF_SPLIT")
    assert route_event["feature_flag.context.id"] == "u1"

    receiver.wait_for_metric(
        "sidecar.flag.evaluations",
        {"feature_flag.key": "switch", "feature_flag.result.variant": "on"},
        lambda value: value == 3,
    )
    receiver.wait_for_metric("sidecar.route.decisions", {}, lambda value: value == 1)
    receiver.wait_for_metric(
        "sidecar.rollout.outcomes", {"rollout.result": "success"}, lambda value: value == 3
    )
    receiver.wait_for_metric(
        "sidecar.rollout.outcomes", {"rollout.result": "error"}, lambda value: value == 1
    )
    receiver.wait_for_metric("sidecar.config.revision", {}, lambda value: value >= 1)
    receiver.wait_for_metric(
        "rpc.server.call.duration",
        {
            "rpc.system.name": "grpc",
            "rpc.method": "sidecar.v1.EvaluationService/Evaluate",
            "rpc.response.status_code": "OK",
        },
        lambda value: value.count == 3,
    )
    receiver.wait_for_metric(
        "rpc.server.call.duration",
        {"rpc.method": "sidecar.v1.RoutingService/ReportOutcomes"},
        lambda value: value.count == 1,
    )
    duration = receiver.wait_for_metric(
        "sidecar.rollout.outcome.duration", {"rollout.name": "svc"}, lambda value: value.count == 4
    )
    assert duration.sum == pytest.approx(0.04)  # 4 x 10 ms, in seconds
    receiver.wait_for_metric("sidecar.rollout.v2_percent", {}, lambda value: value == 50)
    assert receiver.resource_attributes()["service.name"] == "rollout-sidecar"


def test_unknown_flags_leave_an_event_and_a_count(daemon: Daemon, receiver: OtlpReceiver) -> None:
    with pytest.raises(grpc.RpcError) as failed:
        daemon.evaluation().Evaluate(
            evaluation_pb2.EvaluateRequest(
                flag_key="no-such-flag", context=to_struct({"targetingKey": "u9"})
            ),
            timeout=5,
        )
    assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    event = receiver.wait_for_event(
        "feature_flag.evaluation", lambda e: e["feature_flag.key"] == "no-such-flag"
    )
    assert event["error.type"] == "flag_not_found"
    assert event["feature_flag.result.reason"] == "error"
    assert event["feature_flag.context.id"] == "u9"
    assert "feature_flag.error.message" in event
    assert event["event.severity"] == "WARN"
    receiver.wait_for_metric(
        "sidecar.flag.evaluations",
        {"feature_flag.key": "no-such-flag", "feature_flag.result.reason": "error"},
        lambda value: value == 1,
    )
    receiver.wait_for_metric(
        "rpc.server.call.duration",
        {"rpc.method": "sidecar.v1.EvaluationService/Evaluate", "rpc.response.status_code": "NOT_FOUND"},
        lambda value: value.count == 1,
    )


def test_error_evaluations_carry_error_type(daemon: Daemon, receiver: OtlpReceiver, config_dir: Path) -> None:
    write_flags(
        config_dir,
        "broken.json",
        {"bad": {**boolean_flag("off"), "targeting": {"if": [True, "missing-variant", "off"]}}},
    )

    def evaluated() -> evaluation_pb2.EvaluateResponse | None:
        try:  # NOT_FOUND until the daemon has loaded the new file
            return daemon.evaluation().Evaluate(
                evaluation_pb2.EvaluateRequest(flag_key="bad"),
                metadata=[("traceparent", TRACEPARENT)],
                timeout=5,
            )
        except grpc.RpcError:
            return None

    response = wait_for(evaluated, timeout=30)
    assert response.reason == evaluation_pb2.REASON_ERROR
    span = receiver.wait_for_span(
        "sidecar.v1.EvaluationService/Evaluate",
        predicate=lambda s: any(
            e.name == "feature_flag.evaluation"
            and receiver.events(s, "feature_flag.evaluation")[0].get("error.type") == "general"
            for e in s.events
        ),
    )
    assert receiver.events(span, "feature_flag.evaluation")[0]["error.type"] == "general"


def test_alert_events_are_exported_as_log_events(
    daemon: Daemon, receiver: OtlpReceiver, config_dir: Path
) -> None:
    (config_dir / "alerts.yaml").write_text(
        "alerts:\n  memory:\n    metric: memory_rss_mb\n    thresholds: {warning: 1}\n    interval: 100ms\n"
    )

    def alert_records() -> list[dict[str, object]]:
        return [
            {"event": record.event_name, "severity": record.severity_text, **attributes(record.attributes)}
            for request in receiver.log_requests
            for resource in request.resource_logs
            for scope in resource.scope_logs
            for record in scope.log_records
            if record.event_name == "sidecar.alert"
        ]

    records = receiver.wait_until(alert_records, timeout=15, what="alert log event")
    assert records[0]["alert.rule"] == "memory"
    assert records[0]["alert.event"] == "FIRED"
    assert records[0]["alert.severity"] == "warning"
    assert records[0]["severity"] == "WARN"
