"""The Python client library against a real daemon, and against no daemon at all."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from rollout_sidecar_client import SidecarClient

from sidecar.v1 import routing_pb2 as pb
from sidecar.v1 import routing_pb2_grpc
from tests.support.daemon import Daemon, refused_address, wait_for


def _flag(variants: dict[str, object], default: str, **extra: object) -> dict[str, object]:
    return {"state": "ENABLED", "variants": variants, "defaultVariant": default, **extra}


FLAGS = {
    "dark-mode": _flag({"on": True, "off": False}, "on"),
    "banner": _flag({"a": "hello", "b": "bye"}, "a"),
    "page-size": _flag({"small": 10, "big": 50}, "big"),
    "ratio": _flag({"low": 0.25}, "low"),
    "layout": _flag({"grid": {"columns": 3}}, "grid"),
    "beta": _flag(
        {"on": True, "off": False}, "off", targeting={"if": [{"==": [{"var": "plan"}, "pro"]}, "on"]}
    ),
    "retired": {**_flag({"on": True}, "on"), "state": "DISABLED"},
}


@pytest.fixture
def daemon(config_dir: Path, state_dir: Path) -> Iterator[Daemon]:
    (config_dir / "rollouts.yaml").write_text(
        "rollouts:\n  svc:\n    phases:\n      - {name: HALF, percent: 50, minDuration: 1h}\n"
        "      - {name: FULL, percent: 100}\n"
    )
    (config_dir / "flags.json").write_text(json.dumps({"flags": FLAGS}))
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


def test_typed_helpers_answer_values_and_defaults_with_reasons(daemon: Daemon) -> None:
    with SidecarClient(daemon.unix_target, timeout=1.0) as client:
        assert client.bool_value("dark-mode", False) is True
        assert client.string_value("banner", "") == "hello"
        assert client.int_value("page-size", 0) == 50
        assert client.float_value("ratio", 0.0) == 0.25
        assert client.object_value("layout", {}) == {"columns": 3}
        assert client.bool_value("beta", False, {"plan": "pro"}) is True
        on = client.bool_details("beta", False, {"plan": "pro"})
        assert (on.variant, on.reason) == ("on", "TARGETING_MATCH")
        missing = client.bool_details("no-such-flag", True)
        assert (missing.value, missing.reason, missing.error_code) == (True, "ERROR", "FLAG_NOT_FOUND")
        wrong = client.int_details("banner", 7)
        assert (wrong.value, wrong.error_code) == (7, "TYPE_MISMATCH")
        disabled = client.bool_details("retired", False)
        assert (disabled.value, disabled.reason, disabled.error_code) == (False, "DISABLED", "")


def test_context_values_of_common_types_reach_the_sidecar(daemon: Daemon) -> None:
    context = {
        "targetingKey": uuid.uuid4(),
        "plan": "pro",
        "spent": Decimal("9.99"),
        "since": datetime(2026, 1, 1, tzinfo=UTC),
        "token": b"\x01\x02",
        "coupon": None,
    }
    with SidecarClient(daemon.tcp_target, timeout=1.0) as client:
        assert client.route("svc", context).reason not in ("SIDECAR_UNAVAILABLE", "CIRCUIT_OPEN")
        assert client.bool_details("beta", False, context).reason == "TARGETING_MATCH"
        assert client.call("svc", context, v1=lambda: "v1", v2=lambda: "v2") in ("v1", "v2")


def test_a_hung_sidecar_opens_the_circuit_and_close_stays_within_its_budget(daemon: Daemon) -> None:
    client = SidecarClient(daemon.tcp_target, timeout=0.05, circuit_failures=3, circuit_cooldown=30)
    assert client.route("svc", {"targetingKey": "u"}).reason != "SIDECAR_UNAVAILABLE"
    daemon.signal(signal.SIGSTOP)
    try:
        first = [client.route("svc", {"targetingKey": "u"}).reason for _ in range(3)]
        assert first == ["SIDECAR_UNAVAILABLE"] * 3  # each waited for its deadline
        assert client.circuit.is_open
        assert client.route("svc", {"targetingKey": "u"}).reason == "CIRCUIT_OPEN"
        assert client.bool_details("dark-mode", False).error_code == "PROVIDER_NOT_READY"
        assert client.call("svc", {"targetingKey": "u"}, v1=lambda: "v1", v2=lambda: "v2") == "v1"
        for i in range(50):
            client.report("svc", "V2", success=True, latency_ms=1.0 + i)
        started = time.monotonic()
        client.close()
        assert time.monotonic() - started < 1.5  # CLOSE_BUDGET is 1 s; the slack is for a busy machine
    finally:
        daemon.signal(signal.SIGCONT)


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_the_client_answers_from_a_restarted_sidecar_soon(daemon: Daemon, transport: str) -> None:
    target = daemon.unix_target if transport == "unix" else daemon.tcp_target
    with SidecarClient(target, timeout=0.2, circuit_cooldown=0.5) as client:
        assert client.route("svc", {"targetingKey": "u"}).reason != "SIDECAR_UNAVAILABLE"
        daemon.kill9()
        down = {client.route("svc", {"targetingKey": "u"}).reason for _ in range(5)}
        assert down <= {"SIDECAR_UNAVAILABLE", "CIRCUIT_OPEN"}
        daemon.start()
        wait_for(
            lambda: (
                client.route("svc", {"targetingKey": "u"}).reason
                not in ("SIDECAR_UNAVAILABLE", "CIRCUIT_OPEN")
            ),
            timeout=3.0,  # the cool-down (0.5 s) and one reconnect backoff (at most 1 s), with slack
        )
