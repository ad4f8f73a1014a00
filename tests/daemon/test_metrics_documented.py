"""Every metric family a real daemon exposes is in the README's telemetry table, under the name it has there.

The daemon runs the bundled example configuration with peer sync on, and is given an evaluation, a route
and outcomes first, so the families that appear only once used are exposed too.
"""

from __future__ import annotations

import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.server.convert import to_struct
from sidecar.telemetry.prometheus import prometheus_name
from sidecar.v1 import evaluation_pb2, routing_pb2, routing_pb2_grpc
from tests.support.daemon import Daemon

ROOT = Path(__file__).resolve().parents[2]
SECRET = "group-secret-for-metrics-0123456789"
ROW = re.compile(r"^\| `(?P<otlp>[a-z0-9_.]+)` \| `(?P<prometheus>[a-z0-9_]+)` \|", re.M)


def documented() -> dict[str, str]:
    """Prometheus family name -> OTLP name, from the README's metrics table."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("**Metrics.**") : text.index("**Prometheus.**")]
    return {m["prometheus"]: m["otlp"] for m in ROW.finditer(section)}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("metrics")
    shutil.copytree(ROOT / "examples" / "config", base / "config")
    secret = base / "group.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    args = ("--group-secret-file", str(secret))
    with Daemon(base / "config", base / "state", *args, sync_listen=True) as running:
        yield running


def scraped_families(daemon: Daemon) -> set[str]:
    context = to_struct({"targetingKey": "user-1"})
    daemon.evaluation().Evaluate(evaluation_pb2.EvaluateRequest(flag_key="new-search", context=context))
    routing = routing_pb2_grpc.RoutingServiceStub(daemon.channel())
    routing.Route(routing_pb2.RouteRequest(rollout_key="checkout-v2", context=context))
    outcome = routing_pb2.Outcome(
        rollout_key="checkout-v2", version=routing_pb2.VERSION_V2, success=True, latency_ms=3
    )
    routing.ReportOutcomes(routing_pb2.ReportOutcomesRequest(outcomes=[outcome]))
    with urllib.request.urlopen(f"{daemon.management_url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def test_every_exposed_family_is_documented(daemon: Daemon) -> None:
    exposed = scraped_families(daemon) - {"target_info"}
    names = documented()
    assert {"sidecar_rollout_outcomes_total", "sidecar_sync_bytes_total"} <= exposed  # the fixture's work
    assert exposed - names.keys() == set()


def test_every_documented_name_is_its_otlp_name_translated() -> None:
    units = {"seconds": "s", "bytes": "By", "percent": "%"}
    for prometheus, otlp in documented().items():
        unit = next(
            (u for suffix, u in units.items() if prometheus.removesuffix("_total").endswith(suffix)), ""
        )
        assert prometheus.removesuffix("_total") == prometheus_name(otlp, unit), (otlp, prometheus)
