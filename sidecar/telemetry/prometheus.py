"""A Prometheus scrape endpoint built on the SDK's pull ``MetricReader``; no extra dependency.

``GET /metrics`` collects from the meter provider and renders the text exposition format 0.0.4:
OpenTelemetry names with dots turned into underscores plus a unit suffix (``_seconds``,
``_milliseconds``, ``_bytes``, ``_percent``), monotonic sums as ``counter`` with ``_total``,
histograms as ``_bucket``/``_sum``/``_count``, and the resource as ``target_info``. It is served by
``http.server`` on a daemon thread, so scrapes never run on (or wait for) the event loop.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    MetricReader,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.resources import Resource

__all__ = ["PrometheusServer", "PullMetricReader", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_UNIT_SUFFIX = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "%": "percent", "1": "ratio"}
_INVALID = re.compile(r"[^a-zA-Z0-9_:]")


class PullMetricReader(MetricReader):
    """Collects on demand; ``scrape()`` returns the current cumulative data."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._latest: MetricsData | None = None

    def _receive_metrics(
        self,
        metrics_data: MetricsData,
        timeout_millis: float = 10_000,  # noqa: ARG002 - the SDK's signature
        **kwargs: Any,  # noqa: ARG002
    ) -> None:
        self._latest = metrics_data

    def scrape(self) -> MetricsData | None:
        with self._lock:
            self._latest = None
            self.collect()
            return self._latest

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def _name(name: str) -> str:
    cleaned = _INVALID.sub("_", name)
    return f"_{cleaned}" if cleaned[:1].isdigit() else cleaned


def _metric_name(name: str, unit: str | None) -> str:
    base = _name(name)
    suffix = _UNIT_SUFFIX.get(unit or "")
    if suffix and not base.endswith(f"_{suffix}"):
        base = f"{base}_{suffix}"
    return base


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(attrs: Mapping[str, Any] | None, extra: Iterable[tuple[str, str]] = ()) -> str:
    parts = [f'{_name(k)}="{_escape(_value(v))}"' for k, v in (attrs or {}).items()]
    parts.extend(f'{k}="{_escape(v)}"' for k, v in extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(_value(x) for x in v)
    return str(v)


def _number(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    return repr(float(v)) if isinstance(v, float) else str(v)


def _histogram_lines(name: str, d: Histogram) -> Iterable[str]:
    for hp in d.data_points:
        cumulative = 0
        for bound, count in zip(hp.explicit_bounds, hp.bucket_counts, strict=False):
            cumulative += count
            yield f"{name}_bucket{_labels(hp.attributes, [('le', _number(bound))])} {cumulative}"
        yield f"{name}_bucket{_labels(hp.attributes, [('le', '+Inf')])} {hp.count}"
        yield f"{name}_sum{_labels(hp.attributes)} {_number(hp.sum)}"
        yield f"{name}_count{_labels(hp.attributes)} {hp.count}"


def render(data: MetricsData | None, resource: Resource | None = None) -> str:
    lines: list[str] = []
    if resource is not None and resource.attributes:
        lines += ["# HELP target_info Target metadata", "# TYPE target_info gauge"]
        lines.append(f"target_info{_labels(resource.attributes)} 1")
    seen: set[str] = set()
    for rm in data.resource_metrics if data is not None else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                name = _metric_name(metric.name, metric.unit)
                d = metric.data
                if isinstance(d, Sum):
                    kind = "counter" if d.is_monotonic else "gauge"
                    sample = f"{name}_total" if d.is_monotonic and not name.endswith("_total") else name
                elif isinstance(d, Gauge):
                    kind, sample = "gauge", name
                elif isinstance(d, Histogram):
                    kind, sample = "histogram", name
                else:  # exponential histograms are not configured by the sidecar
                    continue
                if name not in seen:
                    seen.add(name)
                    lines.append(f"# HELP {name} {_escape(metric.description or metric.name)}")
                    lines.append(f"# TYPE {name} {kind}")
                if isinstance(d, Histogram):
                    lines.extend(_histogram_lines(name, d))
                else:
                    lines.extend(f"{sample}{_labels(p.attributes)} {_number(p.value)}" for p in d.data_points)
    return "\n".join(lines) + "\n"


class PrometheusServer:
    """``PrometheusServer.start("127.0.0.1:9464")``; add ``.reader`` to the MeterProvider."""

    def __init__(
        self, server: ThreadingHTTPServer, reader: PullMetricReader, resource: Resource | None
    ) -> None:
        self._server = server
        self.reader = reader
        self._resource = resource
        self._thread = threading.Thread(target=server.serve_forever, name="sidecar-prometheus", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @classmethod
    def start(cls, address: str, *, resource: Resource | None = None) -> PrometheusServer:
        host, sep, port = address.rpartition(":")
        if not sep:
            raise ValueError(f"Prometheus address {address!r} is not host:port")
        reader = PullMetricReader()
        owner: list[PrometheusServer] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self.send_error(404)
                    return
                body = render(owner[0].reader.scrape(), owner[0]._resource).encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((host.strip("[]") or "127.0.0.1", int(port)), Handler)
        server.daemon_threads = True
        instance = cls(server, reader, resource)
        owner.append(instance)
        instance._thread.start()
        return instance

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
