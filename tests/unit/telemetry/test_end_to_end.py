"""A real grpc.aio server (on uvloop) + TracingInterceptor + setup_telemetry -> a real OTLP receiver."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
import uvloop
from opentelemetry import trace
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as PbStatus

from sidecar.telemetry import (
    RolloutGauge,
    Telemetry,
    TelemetrySettings,
    TracingInterceptor,
    configure_logging,
    record_evaluation,
    record_rollout_decision,
    record_route_decision,
    setup_telemetry,
)
from tests.support.otlp_receiver import HistogramValue, OtlpReceiver

SERVICE = "sidecar.v1.EvaluationService"
log = logging.getLogger("sidecar.test.servicer")


def _handlers(telemetry: Telemetry) -> grpc.GenericRpcHandler:
    async def evaluate(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        flag = request.decode()
        span = trace.get_current_span()
        record_evaluation(
            span,
            flag_key=flag,
            variant="on",
            reason="TARGETING_MATCH",
            context_id="user-42",
            set_id="checkout",
            version=7,
        )
        record_route_decision(
            span, rollout="checkout", version="v2", reason="bucket", v2_percent=25.0, bucket=3.5
        )
        telemetry.metrics.record_evaluation(flag, "on", "TARGETING_MATCH", 0.000_2)
        telemetry.metrics.record_route("checkout", "v2", "bucket")
        log.info("evaluated", extra={"flag": flag})
        return b"on"

    async def watch(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[bytes]:
        for i in range(3):
            assert trace.get_current_span().get_span_context().is_valid
            yield str(i).encode()

    async def report(
        request_iterator: AsyncIterator[bytes], context: grpc.aio.ServicerContext[Any, Any]
    ) -> bytes:
        n = 0
        async for _ in request_iterator:
            n += 1
        trace.get_current_span().set_attribute("test.reports", n)
        return str(n).encode()

    async def missing(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such flag")
        raise AssertionError("unreachable")

    async def broken(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        raise RuntimeError("policy store exploded")

    def sync_evaluate(request: bytes, context: grpc.ServicerContext) -> bytes:
        return b"sync:" + format(trace.get_current_span().get_span_context().trace_id, "032x").encode()

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Evaluate": grpc.unary_unary_rpc_method_handler(evaluate),
            "Watch": grpc.unary_stream_rpc_method_handler(watch),
            "Report": grpc.stream_unary_rpc_method_handler(report),
            "Missing": grpc.unary_unary_rpc_method_handler(missing),
            "Broken": grpc.unary_unary_rpc_method_handler(broken),
            "SyncEvaluate": grpc.unary_unary_rpc_method_handler(sync_evaluate),
        },
    )


@pytest.fixture
def telemetry(otlp_receiver: OtlpReceiver) -> Iterator[Telemetry]:
    settings = TelemetrySettings(
        otlp_endpoint=otlp_receiver.endpoint,
        sampler="parentbased_always_on",
        span_schedule_delay_s=0.05,
        metrics_export_interval_s=0.2,
        otlp_timeout_s=5.0,
        evaluation_duration_sample_every=1,
    )
    tel = setup_telemetry(settings, {"deployment.environment.name": "test"})
    yield tel
    tel.shutdown(timeout_s=5)


def _traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


async def _exercise(telemetry: Telemetry, traceparent: str) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        server = grpc.aio.server(pool, interceptors=[telemetry.server_interceptor()])
        server.add_generic_rpc_handlers((_handlers(telemetry),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        results: dict[str, Any] = {}
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                md = (("traceparent", traceparent), ("tracestate", "vendor=abc"))
                evaluate = channel.unary_unary(f"/{SERVICE}/Evaluate")
                for _ in range(3):
                    results["evaluate"] = await evaluate(b"checkout-v2", metadata=md)
                results["untraced"] = await evaluate(b"other-flag")
                watch = channel.unary_stream(f"/{SERVICE}/Watch")
                results["watch"] = [m async for m in watch(b"", metadata=md)]
                report = channel.stream_unary(f"/{SERVICE}/Report")

                async def reports() -> AsyncIterator[bytes]:
                    for i in range(4):
                        yield str(i).encode()

                results["report"] = await report(reports(), metadata=md)
                for name in ("Missing", "Broken"):
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await channel.unary_unary(f"/{SERVICE}/{name}")(b"x", metadata=md)
                    results[name] = err.value.code()
                results["sync"] = await channel.unary_unary(f"/{SERVICE}/SyncEvaluate")(b"", metadata=md)
        finally:
            await server.stop(None)
    return results


def _run(coro: Any) -> Any:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


@pytest.mark.usefixtures("restore_logging")
def test_server_spans_events_metrics_and_logs(telemetry: Telemetry, otlp_receiver: OtlpReceiver) -> None:
    out = io.StringIO()
    configure_logging("INFO", debug_decisions=False, stream=out)
    traceparent, caller_trace, caller_span = _traceparent()
    telemetry.metrics.set_rollout_source(lambda: [RolloutGauge("checkout", 2, 25.0)])
    telemetry.metrics.set_revision_source(lambda: 7)
    telemetry.metrics.record_config_reload(True)
    telemetry.metrics.record_config_reload(False)
    telemetry.metrics.record_config_reload(True)
    telemetry.metrics.record_rollback("search", "error_rate")
    for result, latency in (("success", 12.0), ("success", 30.0), ("error", 250.0), ("fallback", None)):
        telemetry.metrics.record_outcome("checkout", "v2", result, latency)
    with telemetry.tracer.start_as_current_span("policy-tick") as tick:
        record_rollout_decision(
            tick,
            rollout="checkout",
            decision="advance",
            reason="healthy",
            phase_index=1,
            next_phase_index=2,
            v2_percent=10,
            next_v2_percent=25,
            numbers={"v2.error_rate": 0.004, "samples": 1200},
        )

    results = _run(_exercise(telemetry, traceparent))
    assert results["evaluate"] == b"on"
    assert results["watch"] == [b"0", b"1", b"2"]
    assert results["report"] == b"4"
    assert results["Missing"] == grpc.StatusCode.NOT_FOUND
    assert results["Broken"] == grpc.StatusCode.UNKNOWN
    assert results["sync"] == f"sync:{caller_trace}".encode()

    # --- spans ---------------------------------------------------------------------------------
    name = f"{SERVICE}/Evaluate"
    span = otlp_receiver.wait_for_span(name, predicate=lambda s: s.trace_id.hex() == caller_trace)
    assert span.kind == PbSpan.SPAN_KIND_SERVER
    assert span.parent_span_id.hex() == caller_span
    assert span.trace_state == "vendor=abc"
    attrs = OtlpReceiver.span_attributes(span)
    assert attrs["rpc.system.name"] == "grpc"
    assert attrs["rpc.method"] == name
    assert attrs["rpc.response.status_code"] == "OK"
    assert span.status.code == PbStatus.STATUS_CODE_UNSET
    (evaluation,) = OtlpReceiver.events(span, "feature_flag.evaluation")
    assert evaluation == {
        "feature_flag.key": "checkout-v2",
        "feature_flag.result.variant": "on",
        "feature_flag.result.reason": "targeting_match",
        "feature_flag.provider.name": "rollout-sidecar",
        "feature_flag.context.id": "user-42",
        "feature_flag.set.id": "checkout",
        "feature_flag.version": "7",
    }
    (route,) = OtlpReceiver.events(span, "rollout.route")
    assert route["rollout.version"] == "v2"
    assert route["rollout.v2_percent"] == 25.0
    assert route["rollout.bucket"] == 3.5

    untraced = otlp_receiver.wait_for_span(name, predicate=lambda s: s.trace_id.hex() != caller_trace)
    assert untraced.parent_span_id == b""  # a new root, not a child of anything in the server

    watch = otlp_receiver.wait_for_span(f"{SERVICE}/Watch")
    assert watch.trace_id.hex() == caller_trace
    assert OtlpReceiver.span_attributes(watch)["rpc.response.status_code"] == "OK"
    report = otlp_receiver.wait_for_span(f"{SERVICE}/Report")
    assert OtlpReceiver.span_attributes(report)["test.reports"] == 4

    missing = otlp_receiver.wait_for_span(f"{SERVICE}/Missing")
    assert OtlpReceiver.span_attributes(missing)["rpc.response.status_code"] == "NOT_FOUND"
    assert missing.status.code == PbStatus.STATUS_CODE_UNSET  # a client error, not the server's

    broken = otlp_receiver.wait_for_span(f"{SERVICE}/Broken")
    broken_attrs = OtlpReceiver.span_attributes(broken)
    assert broken_attrs["rpc.response.status_code"] == "UNKNOWN"
    assert broken_attrs["error.type"] == "UNKNOWN"
    assert broken.status.code == PbStatus.STATUS_CODE_ERROR
    (exc_event,) = OtlpReceiver.events(broken, "exception")
    assert exc_event["exception.type"] == "RuntimeError"

    tick_span = otlp_receiver.wait_for_span("policy-tick")
    (decision,) = OtlpReceiver.events(tick_span, "rollout.decision")
    assert decision["rollout.decision"] == "advance"
    assert decision["rollout.phase.next_index"] == 2
    assert decision["rollout.stats.samples"] == 1200

    resource = otlp_receiver.resource_attributes()
    assert resource["service.name"] == "rollout-sidecar"
    assert resource["deployment.environment.name"] == "test"

    # --- metrics -------------------------------------------------------------------------------
    evals = {
        "feature_flag.key": "checkout-v2",
        "feature_flag.result.variant": "on",
        "feature_flag.result.reason": "targeting_match",
    }
    assert otlp_receiver.wait_for_metric("sidecar.flag.evaluations", evals, lambda v: v == 3) == 3
    assert otlp_receiver.wait_for_metric("sidecar.flag.evaluations", predicate=lambda v: v == 4) == 4
    duration = otlp_receiver.wait_for_metric(
        "sidecar.flag.evaluation.duration", {"feature_flag.key": "checkout-v2"}, lambda v: v.count == 3
    )
    assert isinstance(duration, HistogramValue)
    assert duration.sum == pytest.approx(0.000_6)
    assert otlp_receiver.wait_for_metric("sidecar.route.decisions", {"rollout.version": "v2"}) == 4
    outcome = {"rollout.name": "checkout", "rollout.version": "v2"}
    assert (
        otlp_receiver.wait_for_metric("sidecar.rollout.outcomes", {**outcome, "rollout.result": "success"})
        == 2
    )
    assert (
        otlp_receiver.metric_value("sidecar.rollout.outcomes", {**outcome, "rollout.result": "fallback"}) == 1
    )
    latency = otlp_receiver.metric_value("sidecar.rollout.outcome.duration", outcome)
    assert latency.count == 3
    assert latency.sum == pytest.approx(0.292)  # reported in ms, recorded in seconds
    calls = {"rpc.system.name": "grpc", "rpc.method": f"{SERVICE}/Evaluate", "rpc.response.status_code": "OK"}
    call_duration = otlp_receiver.metric_value("rpc.server.call.duration", calls)
    assert call_duration.count == 4  # every call, sampled or not
    assert 0 < call_duration.sum < 10
    for method, code in (("Missing", "NOT_FOUND"), ("Broken", "UNKNOWN")):
        failed = {"rpc.method": f"{SERVICE}/{method}", "rpc.response.status_code": code}
        assert otlp_receiver.metric_value("rpc.server.call.duration", failed).count == 1
    assert otlp_receiver.metric_value("sidecar.rollout.phase", {"rollout.name": "checkout"}) == 2
    assert otlp_receiver.metric_value("sidecar.rollout.v2_percent", {"rollout.name": "checkout"}) == 25.0
    assert otlp_receiver.metric_value("sidecar.config.revision") == 7
    assert otlp_receiver.metric_value("sidecar.config.reloads", {"result": "ok"}) == 2
    assert otlp_receiver.metric_value("sidecar.config.reloads", {"result": "error"}) == 1
    assert otlp_receiver.metric_value("sidecar.rollout.rollbacks", {"rollout.name": "search"}) == 1
    assert otlp_receiver.metric_value("process.memory.usage") > 10 * 2**20
    assert otlp_receiver.metric_value("process.cpu.time", {"cpu.mode": "user"}) > 0
    assert telemetry.exporter_reachable() is True

    # --- logs ----------------------------------------------------------------------------------
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    evaluated = [line for line in lines if line["msg"] == "evaluated"]
    assert len(evaluated) == 4
    traced = [line for line in evaluated if line.get("trace_id") == caller_trace]
    assert len(traced) == 3
    assert {line["span_id"] for line in traced} == {
        s.span_id.hex() for s in otlp_receiver.spans_named(name) if s.trace_id.hex() == caller_trace
    }
    first = traced[0]
    assert first["level"] == "INFO"
    assert first["logger"] == "sidecar.test.servicer"
    assert first["flag"] == "checkout-v2"
    assert first["ts"].endswith("Z")


def test_unsampled_caller_gets_no_span_but_keeps_trace_context(otlp_receiver: OtlpReceiver) -> None:
    """ParentBased honours a caller's 'not sampled' flag: nothing is exported for that request."""
    tel = setup_telemetry(
        TelemetrySettings(
            otlp_endpoint=otlp_receiver.endpoint, sampler="parentbased_always_on", span_schedule_delay_s=0.05
        )
    )
    try:
        trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
        seen: list[tuple[str, bool]] = []

        async def scenario() -> None:
            async def evaluate(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
                span = trace.get_current_span()
                seen.append((format(span.get_span_context().trace_id, "032x"), span.is_recording()))
                record_evaluation(span, flag_key="f", variant="on", reason="static")  # a no-op
                return b"ok"

            server = grpc.aio.server(interceptors=[TracingInterceptor(tel.tracer)])
            server.add_generic_rpc_handlers(
                (
                    grpc.method_handlers_generic_handler(
                        SERVICE, {"Evaluate": grpc.unary_unary_rpc_method_handler(evaluate)}
                    ),
                )
            )
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                    call = channel.unary_unary(f"/{SERVICE}/Evaluate")
                    await call(b"", metadata=(("traceparent", f"00-{trace_id}-{span_id}-00"),))
                    # a sampled request afterwards proves the pipeline works
                    await call(b"", metadata=(("traceparent", f"00-{trace_id}-{span_id}-01"),))
            finally:
                await server.stop(None)

        _run(scenario())
        assert seen == [(trace_id, False), (trace_id, True)]
        otlp_receiver.wait_for_span(f"{SERVICE}/Evaluate")
        tel.force_flush()
        assert len(otlp_receiver.spans_named(f"{SERVICE}/Evaluate")) == 1
    finally:
        tel.shutdown()


def test_disabled_telemetry_leaves_handlers_untouched() -> None:
    tel = setup_telemetry(TelemetrySettings(enabled=False))
    interceptor = TracingInterceptor(tel.tracer)
    handler = grpc.unary_unary_rpc_method_handler(lambda request, _context: request)

    async def continuation(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        return handler

    class Details(grpc.HandlerCallDetails):
        method = f"/{SERVICE}/Evaluate"
        invocation_metadata = ()

    assert _run(interceptor.intercept_service(continuation, Details())) is handler
    assert tel.exporter_reachable() is None
    tel.metrics.record_evaluation("f", "on", "static", 0.1)  # no-ops
    tel.shutdown()


def test_streaming_cancellation_and_bidi(
    otlp_receiver: OtlpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    tel = setup_telemetry(
        TelemetrySettings(
            otlp_endpoint=otlp_receiver.endpoint, sampler="parentbased_always_on", span_schedule_delay_s=0.05
        )
    )

    async def scenario() -> list[bytes]:
        stopped = asyncio.Event()

        async def endless(
            request: bytes, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[bytes]:
            try:
                i = 0
                while True:
                    yield str(i).encode()
                    i += 1
                    await asyncio.sleep(0.01)
            finally:
                stopped.set()

        async def echo(
            requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[bytes]:
            async for r in requests:
                yield r.upper()

        server = grpc.aio.server(interceptors=[tel.server_interceptor()])
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    SERVICE,
                    {
                        "Endless": grpc.unary_stream_rpc_method_handler(endless),
                        "Echo": grpc.stream_stream_rpc_method_handler(echo),
                    },
                ),
            )
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                call = channel.unary_stream(f"/{SERVICE}/Endless")(b"")
                got = [await call.read(), await call.read()]
                call.cancel()
                await asyncio.wait_for(stopped.wait(), 5)

                async def words() -> AsyncIterator[bytes]:
                    for w in (b"a", b"b"):
                        yield w

                echoed = [m async for m in channel.stream_stream(f"/{SERVICE}/Echo")(words())]
        finally:
            await server.stop(None)
        return got + echoed

    try:
        assert _run(scenario()) == [b"0", b"1", b"A", b"B"]
        endless = otlp_receiver.wait_for_span(f"{SERVICE}/Endless")
        assert OtlpReceiver.span_attributes(endless)["rpc.response.status_code"] == "CANCELLED"
        assert endless.status.code == PbStatus.STATUS_CODE_UNSET
        echo = otlp_receiver.wait_for_span(f"{SERVICE}/Echo")
        assert OtlpReceiver.span_attributes(echo)["rpc.response.status_code"] == "OK"
        # every context token was detached in the task step that attached it
        assert "Failed to detach context" not in caplog.text
    finally:
        tel.shutdown()
