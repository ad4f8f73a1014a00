"""Prometheus exposition of the SDK's metrics: a pull ``MetricReader`` and the conversion to families.

``scrape(accept)`` collects from the meter provider and renders with ``prometheus_client``'s encoders,
picked from the scraper's ``Accept`` header: the text format 0.0.4 by default, OpenMetrics 1.0 for
``application/openmetrics-text``. Names follow the OpenTelemetry-to-Prometheus compatibility rules: dots
become underscores, the unit becomes a suffix (``s`` -> ``_seconds``, ``By`` -> ``_bytes``, ``%`` ->
``_percent``; annotations such as ``{request}`` are dropped), monotonic sums are counters (``_total``
samples, and in OpenMetrics a family name without it), histograms keep their explicit buckets, and the
resource is ``target_info``. Every family has HELP and TYPE.

Collection runs the SDK's callbacks and can take milliseconds; the HTTP side calls ``scrape`` off the
event loop.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import Gauge, Histogram, MetricReader, MetricsData, Sum
from opentelemetry.sdk.metrics.export import Metric as OtelMetric
from opentelemetry.sdk.resources import Resource
from prometheus_client import utils as prometheus_utils
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

__all__ = ["PullMetricReader", "families", "prometheus_name", "render"]

# Go's float formatting, as Prometheus writes bucket bounds ("1e-05", "0.25", "+Inf").
_go_float: Callable[[float], str] = prometheus_utils.floatToGoString
_UNIT_SUFFIX = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "%": "percent"}
_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
# An Accept parameter ``version=`` that is not dotted numbers: prometheus_client's encoder choice raises
# TypeError on one (version=abc), so it is dropped first and the type's default version is served.
_BAD_VERSION = re.compile(r";\s*version\s*=\s*(?![0-9]+(?:\.[0-9]+)*\s*(?:;|,|$))[^;,]*")
_REPEATED = re.compile(r"__+")


class PullMetricReader(MetricReader):
    """Collects on demand; ``scrape(accept)`` returns the rendered body and its content type."""

    def __init__(self, resource: Resource | None = None) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._latest: MetricsData | None = None
        self._resource = resource

    def _receive_metrics(
        self,
        metrics_data: MetricsData,
        timeout_millis: float = 10_000,  # noqa: ARG002 - the SDK's signature
        **kwargs: Any,  # noqa: ARG002
    ) -> None:
        self._latest = metrics_data

    def collect_now(self) -> MetricsData | None:
        with self._lock:
            self._latest = None
            self.collect()
            return self._latest

    def scrape(self, accept: str = "") -> tuple[bytes, str]:
        return render(self.collect_now(), self._resource, accept)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def _clean(name: str) -> str:
    cleaned = _REPEATED.sub("_", _INVALID.sub("_", name))
    return f"_{cleaned}" if cleaned[:1].isdigit() else cleaned


def _unit(unit: str | None) -> str:
    if not unit or unit.startswith("{") or unit == "1":  # annotations and dimensionless: no suffix
        return ""
    return _UNIT_SUFFIX.get(unit, _clean(unit))


def prometheus_name(name: str, unit: str | None, counter: bool = False) -> str:
    """The family name a scraper sees (counters without the ``_total`` their samples carry)."""
    base = _clean(name)
    if counter:
        base = base.removesuffix("_total")
    suffix = _unit(unit)
    if suffix and not base.endswith(f"_{suffix}"):
        base = f"{base}_{suffix}"
    return base


def _labels(attrs: Mapping[str, Any] | None) -> dict[str, str]:
    return {_clean(key): _text(value) for key, value in (attrs or {}).items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    return str(value)


def _family(metric: OtelMetric) -> Metric | None:
    d, doc, unit = metric.data, metric.description or metric.name, _unit(metric.unit)
    if isinstance(d, Sum) and d.is_monotonic:
        counter = CounterMetricFamily(prometheus_name(metric.name, metric.unit, True), doc, unit=unit)
        for p in d.data_points:
            counter.add_sample(f"{counter.name}_total", _labels(p.attributes), p.value)
        return counter
    if isinstance(d, Sum | Gauge):
        gauge = GaugeMetricFamily(prometheus_name(metric.name, metric.unit), doc, unit=unit)
        for p in d.data_points:
            gauge.add_sample(gauge.name, _labels(p.attributes), p.value)
        return gauge
    if isinstance(d, Histogram):
        histogram = HistogramMetricFamily(prometheus_name(metric.name, metric.unit), doc, unit=unit)
        name = histogram.name
        for hp in d.data_points:
            labels, cumulative = _labels(hp.attributes), 0
            for bound, count in zip(hp.explicit_bounds, hp.bucket_counts, strict=False):
                cumulative += count
                histogram.add_sample(f"{name}_bucket", {**labels, "le": _go_float(bound)}, cumulative)
            histogram.add_sample(f"{name}_bucket", {**labels, "le": "+Inf"}, hp.count)
            histogram.add_sample(f"{name}_count", labels, hp.count)
            histogram.add_sample(f"{name}_sum", labels, hp.sum)
        return histogram
    return None  # exponential histograms are not configured by the sidecar


def families(data: MetricsData | None, resource: Resource | None = None) -> list[Metric]:
    """Prometheus families for ``data``; two OpenTelemetry metrics with one Prometheus name share it."""
    out: dict[str, Metric] = {}
    if resource is not None and resource.attributes:
        info = InfoMetricFamily("target", "Target metadata")
        info.add_metric([], _labels(resource.attributes))
        out["target"] = info
    for metric in _metrics(data):
        family = _family(metric)
        if family is None:
            continue
        existing = out.get(family.name)
        if existing is None:
            out[family.name] = family
        elif existing.type == family.type:
            existing.samples.extend(family.samples)
    return list(out.values())


def _metrics(data: MetricsData | None) -> Iterator[OtelMetric]:
    for rm in data.resource_metrics if data is not None else ():
        for sm in rm.scope_metrics:
            yield from sm.metrics


class _Families:
    """What prometheus_client's encoders take: something with ``collect()``."""

    def __init__(self, items: Iterable[Metric]) -> None:
        self._items = list(items)

    def collect(self) -> list[Metric]:
        return self._items


def render(data: MetricsData | None, resource: Resource | None = None, accept: str = "") -> tuple[bytes, str]:
    """The body and content type for a scraper that sent ``accept``."""
    encoder, content_type = choose_encoder(_BAD_VERSION.sub("", accept))
    return encoder(_Families(families(data, resource))), content_type
