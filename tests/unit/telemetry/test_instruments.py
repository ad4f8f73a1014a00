from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from sidecar.telemetry import Metrics, RolloutGauge


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def _metrics(reader: InMemoryMetricReader, **kwargs: Any) -> tuple[Metrics, MeterProvider]:
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    return Metrics(provider.get_meter("test"), **kwargs), provider


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    out: dict[str, list[Any]] = {}
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out[m.name] = list(m.data.data_points)
    return out


def _value(points: list[Any], **attrs: Any) -> Any:
    matching = [p for p in points if all(p.attributes.get(k) == v for k, v in attrs.items())]
    assert len(matching) == 1, matching
    return matching[0]


def test_counts_durations_and_lowercase_reasons(reader: InMemoryMetricReader) -> None:
    m, provider = _metrics(reader, evaluation_duration_sample_every=1)
    for _ in range(5):
        m.record_evaluation("new-search", "on", "TARGETING_MATCH", 0.000_1)
    m.record_evaluation("new-search", "off", "DEFAULT", 0.000_3)
    m.record_evaluation("dark-mode", "on", "STATIC")  # no duration measured
    points = _points(reader)
    evals = points["sidecar.flag.evaluations"]
    assert _value(evals, **{"feature_flag.key": "new-search", "feature_flag.result.variant": "on"}).value == 5
    p = _value(evals, **{"feature_flag.result.variant": "off"})
    assert p.attributes["feature_flag.result.reason"] == "default"
    assert _value(evals, **{"feature_flag.key": "dark-mode"}).value == 1
    hist = _value(points["sidecar.flag.evaluation.duration"], **{"feature_flag.key": "new-search"})
    assert hist.count == 6
    assert hist.sum == pytest.approx(0.000_8)
    provider.shutdown()


def test_attribute_dicts_are_cached_not_rebuilt(reader: InMemoryMetricReader) -> None:
    m, provider = _metrics(reader)
    m.record_evaluation("f", "on", "SPLIT")
    cell = m._evaluations.root["f"]["on"]["SPLIT"]
    attrs = cell.attrs
    for _ in range(10):
        m.record_evaluation("f", "on", "SPLIT")
    assert m._evaluations.root["f"]["on"]["SPLIT"] is cell
    assert cell.attrs is attrs
    assert cell.value == 11
    provider.shutdown()


def test_duration_histogram_samples_one_in_n(reader: InMemoryMetricReader) -> None:
    m, provider = _metrics(reader, evaluation_duration_sample_every=4)
    for _ in range(40):
        m.record_evaluation("f", "on", "split", 0.001)
    points = _points(reader)
    assert points["sidecar.flag.evaluations"][0].value == 40
    assert points["sidecar.flag.evaluation.duration"][0].count == 10
    provider.shutdown()


def test_cardinality_is_bounded(reader: InMemoryMetricReader) -> None:
    m, provider = _metrics(reader, max_attribute_sets=3)
    for i in range(10):
        m.record_evaluation(f"flag-{i}", "on", "split")
        m.record_route(f"rollout-{i}", "v2", "bucket")
    points = _points(reader)
    evals = points["sidecar.flag.evaluations"]
    assert len(evals) == 4
    assert _value(evals, **{"otel.metric.overflow": True}).value == 7
    assert sum(p.value for p in points["sidecar.route.decisions"]) == 10
    provider.shutdown()


def test_routes_outcomes_gauges_and_rare_events(reader: InMemoryMetricReader) -> None:
    m, provider = _metrics(reader)
    m.record_route("checkout", "v1", "bucket")
    m.record_route("checkout", "v2", "sticky")
    m.record_outcome("checkout", "v2", "success", 10.0)
    m.record_outcome("checkout", "v2", "error", 40.0)
    m.record_outcome("checkout", "v1", "fallback")
    m.record_rollback("checkout", "latency")
    m.record_config_reload(True)
    m.record_config_reload(False)
    state = [RolloutGauge("checkout", 1, 10.0), RolloutGauge("search", 3, 100.0)]
    m.set_rollout_source(lambda: state)
    m.set_revision_source(lambda: 12)
    points = _points(reader)
    assert _value(points["sidecar.route.decisions"], **{"rollout.reason": "sticky"}).value == 1
    outcomes = points["sidecar.rollout.outcomes"]
    assert _value(outcomes, **{"rollout.result": "error"}).value == 1
    latency = _value(points["sidecar.rollout.outcome.duration"], **{"rollout.version": "v2"})
    assert (latency.count, latency.sum) == (2, pytest.approx(0.05))  # ms in, seconds out
    assert _value(points["sidecar.rollout.phase"], **{"rollout.name": "search"}).value == 3
    assert _value(points["sidecar.rollout.v2_percent"], **{"rollout.name": "checkout"}).value == 10.0
    assert _value(points["sidecar.rollout.rollbacks"], **{"rollout.reason": "latency"}).value == 1
    assert _value(points["sidecar.config.reloads"], result="error").value == 1
    assert points["sidecar.config.revision"][0].value == 12
    assert points["process.memory.usage"][0].value > 0
    assert {p.attributes["cpu.mode"] for p in points["process.cpu.time"]} == {"user", "system"}
    provider.shutdown()


def test_failing_callbacks_are_contained(
    reader: InMemoryMetricReader, caplog: pytest.LogCaptureFixture
) -> None:
    m, provider = _metrics(reader)

    def broken() -> list[RolloutGauge]:
        raise RuntimeError("engine not ready")

    m.set_rollout_source(broken)
    m.set_revision_source(lambda: None)
    points = _points(reader)
    assert "sidecar.rollout.phase" not in points or points["sidecar.rollout.phase"] == []
    assert "sidecar.config.revision" not in points or points["sidecar.config.revision"] == []
    assert "rollout-state callback failed" in caplog.text
    provider.shutdown()


def test_disabled_metrics_record_nothing(reader: InMemoryMetricReader) -> None:
    m, provider = _metrics(reader, enabled=False)
    m.record_evaluation("f", "on", "split", 0.1)
    m.record_route("r", "v1", "x")
    m.record_outcome("r", "v1", "success", 1.0)
    m.record_rollback("r", "x")
    m.record_config_reload(True)
    points = _points(reader)
    assert points.get("sidecar.flag.evaluations", []) == []
    assert points.get("sidecar.rollout.outcome.duration", []) == []
    provider.shutdown()
