"""Per-call cost of the telemetry hot paths, in process (no network, no gRPC transport).

    .venv/bin/python -m bench.bench_telemetry_inprocess [--calls N] [--json]

Modes:
  off        telemetry disabled (no-op tracer and meter)
  unsampled  telemetry on, production sampler shape (parentbased_traceidratio) at ratio 0
  sampled    telemetry on, every span sampled and exported to an exporter that discards

Paths measured:
  record     record_evaluation(span, ...) on the current span + Metrics.record_evaluation(...)
  route      record_route_decision(span, ...) + Metrics.record_route(...)
  event      one feature_flag.evaluation log-based event (evaluation_events.record, the daemon's path) at
             ratio 1 into a BatchLogRecordProcessor whose exporter discards; event_r0.1 at ratio 0.1
  rpc        the TracingInterceptor's wrapper around a trivial async unary handler, called directly
             (span start from a caller traceparent, attach/detach, status, end)
  rpc_root   the same without a traceparent (a root span: trace id generation + root sampling)
  request    rpc + one record path inside the handler: the per-request telemetry cost
  baseline   the trivial handler called without the interceptor (subtract it from rpc/request)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from sidecar.telemetry import (
    Telemetry,
    TelemetrySettings,
    record_evaluation,
    record_route_decision,
    setup_telemetry,
)

METHOD = "/sidecar.v1.EvaluationService/Evaluate"


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class _DiscardLogs(LogRecordExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class _FakeContext:
    """The parts of grpc.aio.ServicerContext the interceptor touches."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def code(self) -> None:
        return None


def _telemetry(mode: str, events_ratio: float = 1.0) -> Telemetry:
    common: dict[str, Any] = {
        "metrics_exporters": ("none",),
        "span_schedule_delay_s": 0.2,
        "span_queue_size": 1 << 16,  # the log-event queue too: measure the steady state, not drops
        "evaluation_events_ratio": events_ratio,
    }
    if mode == "off":
        return setup_telemetry(TelemetrySettings(enabled=False))
    if mode == "unsampled":
        settings = TelemetrySettings(sampler="parentbased_traceidratio", sampler_ratio=0.0, **common)
    else:
        settings = TelemetrySettings(sampler="always_on", **common)
    return setup_telemetry(settings, span_exporter=_Discard(), log_exporter=_DiscardLogs())


def _time(fn: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` mean nanoseconds per call."""
    results = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        results.append((time.perf_counter_ns() - start) / calls)
    return min(results)


def _time_async(make: Callable[[], Any], calls: int, repeats: int = 5) -> float:
    async def loop() -> float:
        best = []
        for _ in range(repeats):
            gc.collect()
            start = time.perf_counter_ns()
            for _ in range(calls):
                await make()
            best.append((time.perf_counter_ns() - start) / calls)
        return min(best)

    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(loop())
    except ImportError:  # pragma: no cover
        return asyncio.run(loop())


def bench_mode(mode: str, calls: int) -> dict[str, float]:
    tel = _telemetry(mode)
    m = tel.metrics
    # A caller that sampled the request (flag 01) makes a parent-based sampler record the span; the
    # unsampled mode models the common case of a caller that did not (flag 00).
    flags = "00" if mode == "unsampled" else "01"
    traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-{flags}"
    results: dict[str, float] = {}
    try:
        with tel.tracer.start_as_current_span("bench-request") as span:

            def record() -> None:
                record_evaluation(
                    span,
                    flag_key="checkout-v2",
                    variant="on",
                    reason="TARGETING_MATCH",
                    context_id="user-42",
                    version=7,
                )
                m.record_evaluation("checkout-v2", "on", "TARGETING_MATCH", 0.000_05)

            def route() -> None:
                record_route_decision(
                    span, rollout="checkout", version="v2", reason="bucket", v2_percent=25.0
                )
                m.record_route("checkout", "v2", "bucket")

            results["record"] = _time(record, calls)
            results["route"] = _time(route, calls)
            sampled_tel = _telemetry(mode, 0.1)
            try:
                for name, events in (
                    ("event", tel.evaluation_events),
                    ("event_r0.1", sampled_tel.evaluation_events),
                ):

                    def event(events: Any = events) -> None:
                        events.record(
                            flag_key="checkout-v2",
                            variant="on",
                            reason="TARGETING_MATCH",
                            value=True,
                            context_id="user-42",
                            version=7,
                        )

                    results[name] = _time(event, calls)
            finally:
                sampled_tel.shutdown(timeout_s=2)

        async def trivial(request: bytes, context: Any) -> bytes:  # noqa: ARG001
            return request

        async def with_record(request: bytes, context: Any) -> bytes:  # noqa: ARG001
            s = trace.get_current_span()
            record_evaluation(s, flag_key="checkout-v2", variant="on", reason="TARGETING_MATCH", version=7)
            m.record_evaluation("checkout-v2", "on", "TARGETING_MATCH", 0.000_05)
            return request

        interceptor = tel.server_interceptor()

        def wrapped(behavior: Any) -> Any:
            handler = grpc.unary_unary_rpc_method_handler(behavior)

            async def continuation(_details: Any) -> Any:
                return handler

            class Details:
                method = METHOD
                invocation_metadata = ()

            async def get() -> Any:
                return await interceptor.intercept_service(continuation, Details())  # type: ignore[arg-type]

            with asyncio.Runner() as r:
                return r.run(get()).unary_unary

        traced_ctx = _FakeContext((("traceparent", traceparent),))
        root_ctx = _FakeContext(())
        rpc = wrapped(trivial)
        request = wrapped(with_record)
        results["baseline"] = _time_async(lambda: trivial(b"x", traced_ctx), calls)
        results["rpc"] = _time_async(lambda: rpc(b"x", traced_ctx), calls)
        results["rpc_root"] = _time_async(lambda: rpc(b"x", root_ctx), calls)
        results["request"] = _time_async(lambda: request(b"x", traced_ctx), calls)
    finally:
        tel.shutdown(timeout_s=2)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000, help="calls per timing run (best of 5)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    modes = ("off", "unsampled", "sampled")
    table = {mode: bench_mode(mode, args.calls) for mode in modes}
    if args.json:
        print(json.dumps({"unit": "ns/call", "results": table}, indent=2))
        return 0
    paths = list(table["off"])
    print(f"telemetry hot paths, ns per call (best of 5 x {args.calls}), python {sys.version.split()[0]}")
    print(f"{'path':<10}" + "".join(f"{mode:>12}" for mode in modes))
    for path in paths:
        print(f"{path:<10}" + "".join(f"{table[mode][path]:>12,.0f}" for mode in modes))
    overhead = {mode: table[mode]["request"] - table[mode]["baseline"] for mode in modes}
    print(
        "per-request telemetry overhead (request - baseline): "
        + ", ".join(f"{mode} {ns / 1000:.1f} us" for mode, ns in overhead.items())
    )
    print(f"median of modes for 'record': {statistics.median(t['record'] for t in table.values()):,.0f} ns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
