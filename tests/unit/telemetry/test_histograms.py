"""Cheap per-call histograms, merged into what every reader collects."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from sidecar.telemetry.histograms import FastHistograms


def _setup(limit_meter: bool = False) -> tuple[FastHistograms, InMemoryMetricReader, MeterProvider]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    histograms = FastHistograms(InstrumentationScope("sidecar"), Resource.create({}))
    histograms.attach(reader)
    if limit_meter:
        provider.get_meter("sidecar").create_counter("c").add(1)
    return histograms, reader, provider


def _points(reader: InMemoryMetricReader, name: str) -> list[HistogramDataPoint]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for p in m.data.data_points
        if isinstance(p, HistogramDataPoint)
    ]


def test_buckets_are_upper_inclusive_and_join_the_sdk_scope() -> None:
    histograms, reader, provider = _setup(limit_meter=True)
    h = histograms.create("d", "s", "durations", (0.1, 1.0))
    cell = h.cell({"k": "v"})
    for value in (0.05, 0.1, 0.5, 1.0, 3.0):
        cell.record(value)
    data = reader.get_metrics_data()
    assert data is not None
    (scope,) = data.resource_metrics[0].scope_metrics  # merged into the SDK's own "sidecar" scope
    assert {m.name for m in scope.metrics} == {"c", "d"}
    (point,) = _points(reader, "d")
    assert list(point.bucket_counts) == [2, 2, 1]
    assert (point.count, point.sum, point.min, point.max) == (5, 4.65, 0.05, 3.0)
    assert point.attributes == {"k": "v"}
    provider.shutdown()


def test_nothing_recorded_adds_nothing_and_empty_collections_get_a_resource() -> None:
    histograms, reader, provider = _setup()
    h = histograms.create("d", "s", "durations", (1.0,))
    h.cell({"k": "v"})
    assert reader.get_metrics_data() is None  # no SDK metrics, no recorded values
    h.cell({"k": "w"}).record(0.5)
    assert len(_points(reader, "d")) == 1
    provider.shutdown()


def test_attribute_sets_beyond_the_limit_fold_into_overflow() -> None:
    histograms, reader, provider = _setup()
    h = histograms.create("d", "s", "durations", (1.0,))
    h._limit = 2
    cells = [h.cell({"i": i}) for i in range(4)]
    for cell in cells:
        cell.record(0.5)
    assert cells[2] is cells[3]
    points = {tuple(sorted(p.attributes.items())): p.count for p in _points(reader, "d")}
    assert points[(("otel.metric.overflow", True),)] == 2
    assert len(points) == 3
    provider.shutdown()
