from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from sidecar.telemetry import RolloutGauge, TelemetrySettings, setup_telemetry


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_scrape_endpoint_serves_text_format() -> None:
    tel = setup_telemetry(
        TelemetrySettings(
            traces_exporter="none",
            metrics_exporters=("prometheus",),
            prometheus_address="127.0.0.1:0",
            evaluation_duration_sample_every=1,
        )
    )
    try:
        assert tel.prometheus_address is not None
        host, port = tel.prometheus_address
        m = tel.metrics
        m.record_evaluation("new-search", "on", "SPLIT", 0.000_03)
        m.record_evaluation("new-search", "on", "SPLIT", 0.002)
        m.record_outcome("checkout", "v2", "success", 12.0)
        m.set_rollout_source(lambda: [RolloutGauge('check"out', 1, 12.5)])
        status, ctype, body = _get(f"http://{host}:{port}/metrics")
        assert status == 200
        assert ctype.startswith("text/plain; version=0.0.4")
        lines = body.splitlines()
        assert "# TYPE sidecar_flag_evaluations counter" in lines
        assert (
            'sidecar_flag_evaluations_total{feature_flag_key="new-search",feature_flag_result_variant="on",'
            'feature_flag_result_reason="split"} 2'
        ) in lines
        assert "# TYPE sidecar_flag_evaluation_duration_seconds histogram" in lines
        assert (
            'sidecar_flag_evaluation_duration_seconds_bucket{feature_flag_key="new-search",le="5e-05"} 1'
            in lines
        )
        assert (
            'sidecar_flag_evaluation_duration_seconds_bucket{feature_flag_key="new-search",le="+Inf"} 2'
            in lines
        )
        assert 'sidecar_flag_evaluation_duration_seconds_count{feature_flag_key="new-search"} 2' in lines
        assert 'sidecar_rollout_v2_percent{rollout_name="check\\"out"} 12.5' in lines
        assert any(line.startswith("process_memory_usage_bytes ") for line in lines)
        assert any(
            line.startswith("target_info{") and 'service_name="rollout-sidecar"' in line for line in lines
        )
        with pytest.raises(urllib.error.HTTPError):
            _get(f"http://{host}:{port}/other")
        assert tel.exporter_reachable() is None  # nothing is pushed
    finally:
        tel.shutdown()
