"""Explicit-bucket histograms cheap enough for every request, handed to the SDK's readers at collection.

The SDK's ``Histogram.record`` costs about 10 µs in CPython (attribute hashing, view matching, locks,
exemplar checks), more than all the rest of an unsampled request's telemetry. A histogram recorded on
every RPC therefore keeps its counts here instead: one ``bisect`` and three additions into the cell of its
attribute set, which is cached by the caller. At collection time each reader's collect callback is
wrapped (:meth:`FastHistograms.attach`) so the points join the SDK's own, in the sidecar's
instrumentation scope, as ordinary cumulative explicit-bucket histograms: OTLP and Prometheus readers,
and the in-memory reader tests use, all see them.

Cells are written on the event-loop thread and read on exporter threads; a collection may see a
record half-applied (a count without its sum), which the next collection corrects.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricReader,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.util.types import AttributeValue

__all__ = ["FastHistogram", "FastHistograms", "HistogramCell"]

OVERFLOW: Mapping[str, AttributeValue] = {"otel.metric.overflow": True}


class HistogramCell:
    """The running distribution of one attribute set."""

    __slots__ = ("attributes", "bounds", "count", "counts", "max", "min", "sum")

    def __init__(self, attributes: Mapping[str, AttributeValue], bounds: tuple[float, ...]) -> None:
        self.attributes = attributes
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    def record(self, value: float) -> None:
        # Buckets are upper-inclusive, as in OpenTelemetry: value == bound falls into that bound's bucket.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)


class FastHistogram:
    """One histogram instrument: a name, a unit, bucket bounds and at most ``limit`` attribute sets."""

    def __init__(
        self, name: str, unit: str, description: str, bounds: Sequence[float], limit: int = 2_000
    ) -> None:
        self.name = name
        self.unit = unit
        self.description = description
        self.bounds = tuple(bounds)
        self._limit = limit
        self._lock = threading.Lock()
        self._cells: list[HistogramCell] = []
        self._overflow: HistogramCell | None = None
        self._start_ns = time.time_ns()

    def cell(self, attributes: Mapping[str, AttributeValue]) -> HistogramCell:
        """A new cell for ``attributes``; the caller caches it (asking twice makes two series)."""
        with self._lock:
            if len(self._cells) < self._limit:
                cell = HistogramCell(attributes, self.bounds)
                self._cells.append(cell)
                return cell
            if self._overflow is None:
                self._overflow = HistogramCell(OVERFLOW, self.bounds)
                self._cells.append(self._overflow)
            return self._overflow

    def metric(self, now_ns: int) -> Metric | None:
        with self._lock:
            cells = [c for c in self._cells if c.count]
        if not cells:
            return None
        points = [
            HistogramDataPoint(
                attributes=dict(c.attributes),
                start_time_unix_nano=self._start_ns,
                time_unix_nano=now_ns,
                count=sum(c.counts),
                sum=c.sum,
                bucket_counts=list(c.counts),
                explicit_bounds=self.bounds,
                min=c.min,
                max=c.max,
            )
            for c in cells
        ]
        data = Histogram(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE)
        return Metric(name=self.name, description=self.description, unit=self.unit, data=data)


Collect = Callable[..., Iterable[Metric] | MetricsData | None]


class FastHistograms:
    """The fast histograms of one meter provider, merged into whatever its readers collect."""

    def __init__(self, scope: InstrumentationScope, resource: Resource) -> None:
        self._scope = scope
        self._resource = resource
        self._histograms: list[FastHistogram] = []

    def create(self, name: str, unit: str, description: str, bounds: Sequence[float]) -> FastHistogram:
        histogram = FastHistogram(name, unit, description, bounds)
        self._histograms.append(histogram)
        return histogram

    def attach(self, reader: MetricReader) -> None:
        """Wrap ``reader``'s collect callback (set when the MeterProvider registered it)."""
        collect: Collect | None = reader._collect
        if collect is None:
            return

        def merged(r: MetricReader, timeout_millis: float = 10_000) -> MetricsData | None:
            return self.merge(collect(r, timeout_millis=timeout_millis))  # type: ignore[arg-type]

        reader._set_collect_callback(merged)  # type: ignore[arg-type]

    def merge(self, data: MetricsData | None) -> MetricsData | None:
        now = time.time_ns()
        extra = [m for m in (h.metric(now) for h in self._histograms) if m is not None]
        if not extra:
            return data
        resources = list(data.resource_metrics) if data is not None else []
        if not resources:
            resources = [ResourceMetrics(resource=self._resource, scope_metrics=[], schema_url="")]
        first = resources[0]
        scopes = list(first.scope_metrics)
        for i, scope_metrics in enumerate(scopes):
            if scope_metrics.scope.name == self._scope.name:
                scopes[i] = replace(scope_metrics, metrics=[*scope_metrics.metrics, *extra])
                break
        else:
            scopes.append(ScopeMetrics(scope=self._scope, metrics=extra, schema_url=""))
        resources[0] = replace(first, scope_metrics=scopes)
        return MetricsData(resource_metrics=resources)
