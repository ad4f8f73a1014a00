"""The Prometheus exposition of a real pipeline, read back by strict parsers and by promtool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from sidecar.telemetry import RolloutGauge, Telemetry, TelemetrySettings, setup_telemetry
from sidecar.telemetry.prometheus import prometheus_name

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def promtool() -> str | None:
    """Debian's promtool: on PATH, or where `make test` unpacks it into the virtualenv."""
    beside = Path(sys.executable).with_name("promtool")
    return str(beside) if os.access(beside, os.X_OK) else shutil.which("promtool")


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    tel = setup_telemetry(
        TelemetrySettings(
            traces_exporter="none",
            metrics_exporters=("none",),
            logs_exporter="none",
            metrics_pull=True,
            evaluation_duration_sample_every=1,
        )
    )
    m = tel.metrics
    m.record_evaluation("new-search", "on", "SPLIT", 0.000_03)
    m.record_evaluation("new-search", "on", "SPLIT", 0.002)
    m.record_outcome("checkout", "v2", "success", 12.0)
    m.record_config_reload(True)
    m.set_rollout_source(lambda: [RolloutGauge('check"out', 1, 12.5)])
    m.set_revision_source(lambda: 4)
    assert m.rpc_call_duration is not None
    m.rpc_call_duration.cell({"rpc.method": "sidecar.v1.EvaluationService/Evaluate"}).record(0.000_2)
    yield tel
    tel.shutdown()


def _scrape(tel: Telemetry, accept: str = "") -> tuple[str, str]:
    result = tel.scrape(accept)
    assert result is not None
    body, content_type = result
    return body.decode(), content_type


def test_text_format_has_help_type_and_total_for_every_counter(telemetry: Telemetry) -> None:
    body, content_type = _scrape(telemetry)
    assert content_type.startswith("text/plain; version=0.0.4")
    lines = body.splitlines()
    families = {f.name: f for f in parse_text(body)}  # the parser strips _total from counter families
    for name, family in families.items():
        # In 0.0.4 a counter's HELP and TYPE carry the _total name its samples have.
        shown = f"{name}_total" if family.type == "counter" else name
        assert f"# HELP {shown} {family.documentation}" in lines, name
        assert f"# TYPE {shown} {family.type}" in lines, name
        assert family.samples, name
    assert families["sidecar_flag_evaluations"].type == "counter"
    assert (
        'sidecar_flag_evaluations_total{feature_flag_key="new-search",feature_flag_result_reason="split",'
        'feature_flag_result_variant="on"} 2.0'
    ) in lines
    assert families["sidecar_config_reloads"].type == "counter"
    assert families["process_cpu_time_seconds"].type == "counter"
    assert families["sidecar_flag_evaluation_duration_seconds"].type == "histogram"
    assert families["sidecar_rollout_outcome_duration_seconds"].type == "histogram"
    assert families["rpc_server_call_duration_seconds"].type == "histogram"
    assert families["process_memory_usage_bytes"].type == "gauge"
    assert families["sidecar_rollout_v2_percent"].type == "gauge"
    assert 'sidecar_rollout_v2_percent{rollout_name="check\\"out"} 12.5' in lines
    # Annotations are not units: no _ratio on a revision number.
    assert "sidecar_config_revision 4.0" in lines
    assert (
        'sidecar_flag_evaluation_duration_seconds_bucket{feature_flag_key="new-search",le="5e-05"} 1.0'
        in lines
    )
    assert any(line.startswith("target_info{") and 'service_name="rollout-sidecar"' in line for line in lines)


def test_openmetrics_on_request_passes_the_strict_parser(telemetry: Telemetry) -> None:
    body, content_type = _scrape(telemetry, OPENMETRICS)
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    assert body.endswith("# EOF\n")
    families = {f.name: f for f in parse_openmetrics(body)}  # raises on anything OpenMetrics forbids
    counter = families["sidecar_flag_evaluations"]  # the family name has no _total, its samples do
    assert counter.type == "counter"
    assert {s.name for s in counter.samples} == {"sidecar_flag_evaluations_total"}
    assert families["sidecar_rollout_outcome_duration_seconds"].unit == "seconds"
    assert families["process_memory_usage_bytes"].unit == "bytes"
    outcome = families["sidecar_rollout_outcome_duration_seconds"]
    total = next(s for s in outcome.samples if s.name.endswith("_sum"))
    assert total.value == pytest.approx(0.012)
    assert families["target"].type == "info"
    rpc = families["rpc_server_call_duration_seconds"]
    count = next(s for s in rpc.samples if s.name.endswith("_count"))
    assert count.value == 1
    assert count.labels == {"rpc_method": "sidecar.v1.EvaluationService/Evaluate"}


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        ("application/openmetrics-text;version=abc;q=x", "application/openmetrics-text; version=1.0.0"),
        (
            "application/openmetrics-text;version=1.0.0x, text/plain",
            "application/openmetrics-text; version=1.0.0",
        ),
        ("text/plain;version=;q=1", "text/plain; version=0.0.4"),
        ("text/plain; version=0.0.4", "text/plain; version=0.0.4"),
    ],
)
def test_a_version_that_is_not_a_version_gets_the_default_one(
    telemetry: Telemetry, accept: str, served: str
) -> None:
    _body, content_type = _scrape(telemetry, accept)
    assert content_type.startswith(served)


def test_promtool_accepts_the_scrape(telemetry: Telemetry) -> None:
    """promtool's `check metrics` reads the text format (OpenMetrics is for the parser above)."""
    tool = promtool()
    if tool is None:
        pytest.skip("promtool not installed (`make test` unpacks it from Debian's prometheus package)")
    body, _ = _scrape(telemetry)
    checked = subprocess.run(
        [tool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60, check=False
    )
    # promtool prints lint findings and exits 3 for them, 1 for a parse error: any output is a finding.
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


def test_names_follow_the_compatibility_rules() -> None:
    assert prometheus_name("sidecar.sync.bytes", "By", counter=True) == "sidecar_sync_bytes"
    assert prometheus_name("a.b_total", "{request}", counter=True) == "a_b"
    assert prometheus_name("process.cpu.time", "s", counter=True) == "process_cpu_time_seconds"
    assert prometheus_name("x.latency", "ms") == "x_latency_milliseconds"
    assert prometheus_name("1st..thing", "1") == "_1st_thing"


def test_no_pull_reader_no_scrape() -> None:
    tel = setup_telemetry(TelemetrySettings(traces_exporter="none", metrics_exporters=("none",)))
    try:
        assert tel.scrape() is None
        assert not tel.scrapes
        assert tel.exporter_reachable() is None  # nothing is pushed
    finally:
        tel.shutdown()
