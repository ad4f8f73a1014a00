"""A dead collector must cost the request path nothing extra: no blocking, no unbounded memory.

The collector endpoint is a closed 127.0.0.1 port (connections are refused at once). Requests go
through the real interceptor wrapper and record path, called in a tight loop on the event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from opentelemetry import trace

from sidecar.telemetry import Telemetry, TelemetrySettings, record_evaluation, setup_telemetry
from tests.support.otlp_receiver import unused_local_endpoint

QUEUE = 512


class _Ctx:
    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()

    def code(self) -> None:
        return None


# Long enough that a request blocked behind one export attempt could not go unnoticed on a busy machine.
EXPORT_TIMEOUT_S = 10.0


def _settings(endpoint: str, **overrides: Any) -> TelemetrySettings:
    overrides.setdefault("otlp_timeout_s", 1.0)
    return TelemetrySettings(
        otlp_endpoint=endpoint,
        span_queue_size=QUEUE,
        span_batch_size=128,
        span_schedule_delay_s=0.05,
        metrics_export_interval_s=0.2,
        **overrides,
    )


def _drive(tel: Telemetry, n: int) -> tuple[float, float, int]:
    """n requests through interceptor + handler recording one evaluation; (seconds, worst, max queue)."""
    interceptor = tel.server_interceptor()
    metrics = tel.metrics

    async def evaluate(request: bytes, context: Any) -> bytes:
        record_evaluation(
            trace.get_current_span(), flag_key="new-search", variant="on", reason="split", version=3
        )
        metrics.record_evaluation("new-search", "on", "split", 0.000_01)
        return request

    # With telemetry off the interceptor hands gRPC the handler itself, so that is what runs.
    method = interceptor._method("/sidecar.v1.EvaluationService/Evaluate")
    wrapped = interceptor._wrap_unary(method, evaluate) if tel.enabled else evaluate
    processor = tel.span_processor
    queue = processor._batch_processor._queue if processor is not None else []  # type: ignore[attr-defined]
    ctx = _Ctx()

    async def loop() -> tuple[float, float, int]:
        worst = 0.0
        deepest = 0
        start = time.perf_counter()
        for i in range(n):
            t = time.perf_counter()
            await wrapped(b"x", ctx)
            worst = max(worst, time.perf_counter() - t)
            if i % 256 == 0:
                deepest = max(deepest, len(queue))
        return time.perf_counter() - start, worst, deepest

    return asyncio.run(loop())


@pytest.mark.slow
def test_dead_collector_does_not_slow_or_grow() -> None:
    dead = unused_local_endpoint()

    # 1. Every span sampled: the queue fills and must drop, never block or grow. The cost compared with no
    #    telemetry is measured by bench/bench_telemetry_daemon.py, not asserted here.
    tel = setup_telemetry(_settings(dead, sampler="always_on", otlp_timeout_s=EXPORT_TIMEOUT_S))
    _, worst, deepest = _drive(tel, 20_000)
    assert deepest <= QUEUE
    assert tel.span_processor is not None
    assert len(tel.span_processor._batch_processor._queue) <= QUEUE  # type: ignore[attr-defined]
    # A request that waited for an export would take the whole export timeout; none may.
    assert worst < EXPORT_TIMEOUT_S / 2, f"a request took {worst * 1000:.0f} ms"

    # 2. Health turns degraded once an export has failed.
    deadline = time.monotonic() + 15
    while tel.exporter_reachable() is not False and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tel.exporter_reachable() is False

    # 3. Shutdown is bounded even with exports failing and spans queued.
    _drive(tel, 2_000)
    started = time.monotonic()
    tel.shutdown(timeout_s=2.0)
    assert time.monotonic() - started < 4.0
    assert tel.exporter_reachable() is None


@pytest.mark.slow
def test_default_sampling_with_dead_collector_stays_bounded() -> None:
    tel = setup_telemetry(_settings(unused_local_endpoint(), otlp_timeout_s=EXPORT_TIMEOUT_S))
    _, worst, deepest = _drive(tel, 50_000)  # production sampler: 5 % of roots carry a span
    tel.shutdown(timeout_s=2.0)
    assert deepest <= QUEUE
    assert worst < EXPORT_TIMEOUT_S / 2


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_unreachable_collector_reports_degraded_health(protocol: str) -> None:
    tel = setup_telemetry(_settings(unused_local_endpoint(), otlp_protocol=protocol, sampler="always_on"))
    try:
        assert tel.exporter_reachable() is None  # nothing attempted yet
        with tel.tracer.start_as_current_span("startup"):
            pass
        deadline = time.monotonic() + 15
        while tel.exporter_reachable() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tel.exporter_reachable() is False
    finally:
        started = time.monotonic()
        tel.shutdown(timeout_s=2.0)
        assert time.monotonic() - started < 4.0
