"""A real OTLP/gRPC receiver for tests, built on the ``opentelemetry-proto`` generated servicers.

It listens on 127.0.0.1 on an ephemeral port, accepts traces, metrics and logs exactly as a collector
would, and keeps every request in thread-safe lists. Helpers wait for a span by name, decode attribute
lists, find span events, and read the latest value of a metric by name and attributes.

Use the ``otlp_receiver`` fixture (import it into a conftest: ``from otlp_receiver import
otlp_receiver``, or ``from tests.support.otlp_receiver import ...`` when ``tests`` is a package) and point the
code under test at ``receiver.endpoint``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = [
    "HistogramValue",
    "OtlpReceiver",
    "any_value",
    "attributes",
    "otlp_receiver",
    "unused_local_endpoint",
]

T = TypeVar("T")


def any_value(value: AnyValue) -> Any:
    """Decode an OTLP ``AnyValue`` into the Python value it carries."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(kvs: Sequence[KeyValue]) -> dict[str, Any]:
    """Decode an OTLP attribute list into a dict."""
    return {kv.key: any_value(kv.value) for kv in kvs}


def unused_local_endpoint() -> str:
    """An http://127.0.0.1:PORT endpoint nothing listens on (bound, then closed: refuses connections)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class HistogramValue:
    count: int
    sum: float
    bucket_counts: tuple[int, ...]
    explicit_bounds: tuple[float, ...]


@dataclass(frozen=True)
class _Series:
    attrs: dict[str, Any]
    time_unix_nano: int
    value: Any
    kind: str


class OtlpReceiver:
    """An in-process OTLP/gRPC collector. ``start()``/``stop()``, or use it as a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._cond = threading.Condition()
        self.trace_requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.metric_requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.log_requests: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self.metadata: list[dict[str, str]] = []
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-receiver"))
        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(
                self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
            ) -> trace_service_pb2.ExportTraceServiceResponse:
                receiver._store(receiver.trace_requests, request, context)
                return trace_service_pb2.ExportTraceServiceResponse()

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(
                self, request: metrics_service_pb2.ExportMetricsServiceRequest, context: grpc.ServicerContext
            ) -> metrics_service_pb2.ExportMetricsServiceResponse:
                receiver._store(receiver.metric_requests, request, context)
                return metrics_service_pb2.ExportMetricsServiceResponse()

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):
            def Export(
                self, request: logs_service_pb2.ExportLogsServiceRequest, context: grpc.ServicerContext
            ) -> logs_service_pb2.ExportLogsServiceResponse:
                receiver._store(receiver.log_requests, request, context)
                return logs_service_pb2.ExportLogsServiceResponse()

        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), self._server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), self._server)
        self.port = self._server.add_insecure_port(f"{host}:0")
        self.endpoint = f"http://{host}:{self.port}"

    def _store(self, bucket: list[T], request: T, context: grpc.ServicerContext) -> None:
        md = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        with self._cond:
            bucket.append(request)
            self.metadata.append(md)
            self._cond.notify_all()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> OtlpReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None).wait(5)

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def clear(self) -> None:
        with self._cond:
            self.trace_requests.clear()
            self.metric_requests.clear()
            self.log_requests.clear()
            self.metadata.clear()

    def wait_until(self, predicate: Callable[[], T | None], timeout: float = 10.0, what: str = "data") -> T:
        """Re-evaluate ``predicate`` whenever data arrives until it returns something truthy."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {what} within {timeout}s")
                self._cond.wait(min(remaining, 0.1))

    # -- traces ------------------------------------------------------------------------------------

    def spans(self) -> list[Span]:
        with self._cond:
            requests = list(self.trace_requests)
        return [
            span
            for req in requests
            for rs in req.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def resource_attributes(self) -> dict[str, Any]:
        """Resource attributes of the most recent trace or metric export."""
        with self._cond:
            for req in reversed(self.trace_requests):
                for rs in req.resource_spans:
                    return attributes(rs.resource.attributes)
            for mreq in reversed(self.metric_requests):
                for rm in mreq.resource_metrics:
                    return attributes(rm.resource.attributes)
        return {}

    def spans_named(self, name: str) -> list[Span]:
        return [s for s in self.spans() if s.name == name]

    def wait_for_span(
        self, name: str, timeout: float = 10.0, predicate: Callable[[Span], bool] | None = None
    ) -> Span:
        def find() -> Span | None:
            for span in self.spans_named(name):
                if predicate is None or predicate(span):
                    return span
            return None

        return self.wait_until(find, timeout, f"span {name!r}")

    @staticmethod
    def span_attributes(span: Span) -> dict[str, Any]:
        return attributes(span.attributes)

    @staticmethod
    def events(span: Span, name: str | None = None) -> list[dict[str, Any]]:
        """Attributes of the span's events (optionally only those called ``name``)."""
        return [attributes(e.attributes) for e in span.events if name is None or e.name == name]

    @staticmethod
    def trace_id(span: Span) -> str:
        return span.trace_id.hex()

    @staticmethod
    def span_id(span: Span) -> str:
        return span.span_id.hex()

    # -- logs --------------------------------------------------------------------------------------

    def events_named(self, event_name: str) -> list[dict[str, Any]]:
        """Log-based events with that EventName: their attributes, plus ``event.severity`` and, when
        emitted inside a span, ``event.trace_id``/``event.span_id`` (hex)."""
        with self._cond:
            requests = list(self.log_requests)
        out = []
        for request in requests:
            for resource in request.resource_logs:
                for scope in resource.scope_logs:
                    for record in scope.log_records:
                        if record.event_name != event_name:
                            continue
                        event = {**attributes(record.attributes), "event.severity": record.severity_text}
                        if record.trace_id:
                            event["event.trace_id"] = record.trace_id.hex()
                            event["event.span_id"] = record.span_id.hex()
                        out.append(event)
        return out

    def wait_for_event(
        self, event_name: str, predicate: Callable[[dict[str, Any]], bool] = bool, timeout: float = 10.0
    ) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((e for e in self.events_named(event_name) if predicate(e)), None)

        return self.wait_until(find, timeout, f"event {event_name!r}")

    # -- metrics -----------------------------------------------------------------------------------

    def metrics_named(self, name: str) -> list[Metric]:
        with self._cond:
            requests = list(self.metric_requests)
        return [
            m
            for req in requests
            for rm in req.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.name == name
        ]

    def _series(self, name: str) -> list[_Series]:
        out: list[_Series] = []
        for metric in self.metrics_named(name):
            kind = metric.WhichOneof("data")
            if kind in ("sum", "gauge"):
                for p in getattr(metric, kind).data_points:
                    value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                    out.append(_Series(attributes(p.attributes), p.time_unix_nano, value, kind))
            elif kind == "histogram":
                for hp in metric.histogram.data_points:
                    value = HistogramValue(
                        hp.count, hp.sum, tuple(hp.bucket_counts), tuple(hp.explicit_bounds)
                    )
                    out.append(_Series(attributes(hp.attributes), hp.time_unix_nano, value, kind))
        return out

    def metric_value(self, name: str, attributes: Mapping[str, Any] | None = None) -> Any:
        """Latest exported value of metric ``name`` for the series whose attributes include ``attributes``.

        Returns None if nothing matched. If several series match, sums are added up (e.g. all
        variants of one flag) and anything else is an error. Histograms give a :class:`HistogramValue`.
        """
        want = dict(attributes or {})
        latest: dict[tuple[tuple[str, Any], ...], _Series] = {}
        for s in self._series(name):
            if all(s.attrs.get(k) == v for k, v in want.items()):
                key = tuple(sorted((k, repr(v)) for k, v in s.attrs.items()))
                if key not in latest or s.time_unix_nano >= latest[key].time_unix_nano:
                    latest[key] = s
        if not latest:
            return None
        if len(latest) == 1:
            return next(iter(latest.values())).value
        kinds = {s.kind for s in latest.values()}
        if kinds == {"sum"}:
            return sum(s.value for s in latest.values())
        raise ValueError(f"{len(latest)} {name} series match {want}; give more attributes")

    def wait_for_metric(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        predicate: Callable[[Any], bool] = lambda value: value is not None,
        timeout: float = 10.0,
    ) -> Any:
        """Wait until ``metric_value(name, attributes)`` satisfies ``predicate``; return that value."""
        box: list[Any] = []

        def check() -> bool:
            value = self.metric_value(name, attributes)
            if value is not None and predicate(value):
                box.append(value)
                return True
            return False

        self.wait_until(check, timeout, f"metric {name!r} {dict(attributes or {})}")
        return box[0]


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A started :class:`OtlpReceiver`, stopped after the test."""
    with OtlpReceiver() as receiver:
        yield receiver
