"""The management HTTP listener of a real daemon: /healthz, /readyz and /metrics over a real socket."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from sidecar.v1 import evaluation_pb2
from tests.support.daemon import Daemon, read_ready_file
from tests.support.flagfiles import boolean_flag, write_flags


def get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_probes_and_metrics(config_dir: Path, state_dir: Path) -> None:
    write_flags(config_dir, "flags.json", {"switch": boolean_flag("on")})
    with Daemon(config_dir, state_dir) as daemon:
        report = read_ready_file(daemon.ready_path)
        assert report is not None
        assert report["management"] == daemon.management_address
        assert report["management"].startswith("127.0.0.1:")
        daemon.evaluation().Evaluate(evaluation_pb2.EvaluateRequest(flag_key="switch"), timeout=5)
        base = daemon.management_url

        assert get(f"{base}/healthz")[0] == 200
        status, ctype, body = get(f"{base}/readyz")
        assert (status, body) == (200, "ready\n")
        status, ctype, body = get(f"{base}/readyz", "application/json")
        assert (status, json.loads(body)) == (200, {"status": "ready", "problems": {}})

        status, ctype, body = get(f"{base}/metrics")
        assert status == 200
        assert ctype.startswith("text/plain; version=0.0.4")
        text = {f.name: f for f in parse_text(body)}
        evaluations = text["sidecar_flag_evaluations"]
        assert any(s.labels.get("feature_flag_key") == "switch" for s in evaluations.samples)
        rpc = text["rpc_server_call_duration_seconds"]
        assert any(s.labels.get("rpc_method") == "sidecar.v1.EvaluationService/Evaluate" for s in rpc.samples)

        status, ctype, body = get(f"{base}/metrics", "application/openmetrics-text; version=1.0.0")
        assert ctype.startswith("application/openmetrics-text")
        assert body.endswith("# EOF\n")
        assert "sidecar_flag_evaluations" in {f.name for f in parse_openmetrics(body)}

        assert get(f"{base}/nowhere")[0] == 404


def test_readyz_names_the_problem(config_dir: Path, state_dir: Path) -> None:
    """A configuration that never loaded keeps gRPC health NOT_SERVING, and /readyz says why: 503."""
    (config_dir / "flags.json").write_text("{ this is not json")
    daemon = Daemon(config_dir, state_dir).start(wait_serving=False)
    try:
        status, _, body = get(f"{daemon.management_url}/readyz")
        assert status == 503
        assert body.startswith("not ready\nconfig: ")
        status, _, body = get(f"{daemon.management_url}/readyz?format=json")
        assert status == 503
        problems = json.loads(body)["problems"]
        assert "configuration never loaded cleanly" in problems["config"]
        assert get(f"{daemon.management_url}/healthz")[0] == 200  # alive, just not ready
    finally:
        daemon.stop()


def test_off_means_no_listener(config_dir: Path, state_dir: Path) -> None:
    write_flags(config_dir, "flags.json", {"switch": boolean_flag("on")})
    with Daemon(config_dir, state_dir, "--management-listen", "off") as daemon:
        report = read_ready_file(daemon.ready_path)
        assert report is not None
        assert report["management"] is None


def test_a_taken_port_stops_the_daemon_with_one_line(config_dir: Path, state_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        command = [sys.executable, "-m", "sidecar.cli.main", "serve", "--config-dir", str(config_dir)]
        command += ["--state-dir", str(state_dir), "--listen", "127.0.0.1:0", "--management-listen", address]
        command += ["--flagd-sync-listen", "off", "--ofrep-listen", "off"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if address in line]
    assert "management listener" in line


def test_prometheus_listen_opens_a_second_listener(config_dir: Path, state_dir: Path) -> None:
    write_flags(config_dir, "flags.json", {"switch": boolean_flag("on")})
    with Daemon(config_dir, state_dir, "--prometheus-listen", "127.0.0.1:0") as daemon:
        report = read_ready_file(daemon.ready_path)
        assert report is not None
        assert report["prometheus"] not in (None, report["management"])
        status, _, body = get(f"http://{report['prometheus']}/metrics")
        assert status == 200
        assert "# TYPE process_cpu_time_seconds_total counter" in body
