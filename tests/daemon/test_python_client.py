"""The Python client library against a real daemon, and against no daemon at all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rollout_sidecar_client import SidecarClient

from sidecar.v1 import routing_pb2 as pb
from sidecar.v1 import routing_pb2_grpc
from tests.support.daemon import Daemon, refused_address, wait_for


@pytest.fixture
def daemon(config_dir: Path, state_dir: Path) -> Iterator[Daemon]:
    (config_dir / "rollouts.yaml").write_text(
        "rollouts:\n  svc:\n    phases:\n      - {name: HALF, percent: 50, minDuration: 1h}\n"
        "      - {name: FULL, percent: 100}\n"
    )
    with Daemon(config_dir, state_dir) as running:
        yield running


def counts(daemon: Daemon) -> pb.RolloutStatus:
    stub = routing_pb2_grpc.RolloutServiceStub(daemon.channel())
    return stub.GetRollout(pb.GetRolloutRequest(rollout_key="svc"), metadata=daemon.auth(), timeout=5).rollout


def test_route_is_sticky_and_split(daemon: Daemon) -> None:
    with SidecarClient(daemon.unix_target, timeout=1.0) as client:
        routes = [client.route("svc", {"targetingKey": f"user-{i}"}) for i in range(400)]
        again = [client.route("svc", {"targetingKey": f"user-{i}"}) for i in range(400)]
    assert [r.version for r in routes] == [r.version for r in again]
    share = sum(r.version == "V2" for r in routes) / len(routes)
    assert 0.4 < share < 0.6
    assert {r.phase for r in routes} == {"HALF"}


def test_call_falls_back_to_v1_and_reports_outcomes_in_background(daemon: Daemon) -> None:
    def broken_v2() -> str:
        raise TimeoutError("v2 timed out")

    with SidecarClient(daemon.tcp_target, timeout=1.0, flush_interval=0.05) as client:
        results = [
            client.call("svc", {"targetingKey": f"user-{i}"}, v1=lambda: "v1", v2=broken_v2)
            for i in range(200)
        ]
        assert set(results) == {"v1"}
        client.flush()
    status = wait_for(lambda: (s := counts(daemon)).v1.requests + s.v2.requests == 200 and s, timeout=5)
    assert status.v2.fallbacks == status.v2.requests > 0
    assert status.v1.errors == 0


def test_v1_exceptions_propagate_and_are_reported(daemon: Daemon) -> None:
    def broken() -> str:
        raise ValueError("service bug")

    with SidecarClient(daemon.tcp_target, timeout=1.0) as client:
        unit = next(
            f"u{i}" for i in range(100) if client.route("svc", {"targetingKey": f"u{i}"}).version == "V1"
        )
        with pytest.raises(ValueError, match="service bug"):
            client.call("svc", {"targetingKey": unit}, v1=broken, v2=lambda: "v2")
        client.flush()
    wait_for(lambda: counts(daemon).v1.errors == 1, timeout=5)


def test_unreachable_sidecar_answers_v1_quickly_and_never_raises() -> None:
    with refused_address() as address, SidecarClient(address, timeout=0.05) as client:
        started = time.monotonic()
        route = client.route("svc", {"targetingKey": "u"})
        assert (route.version, route.reason) == ("V1", "SIDECAR_UNAVAILABLE")
        assert client.call("svc", {"targetingKey": "u"}, v1=lambda: "old", v2=lambda: "new") == "old"
        client.report("svc", "V2", success=True, latency_ms=1.0)
        assert time.monotonic() - started < 5
