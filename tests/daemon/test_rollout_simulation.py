"""Staged rollouts driven end to end through a real daemon with phases of seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecar.v1 import admin_pb2, routing_pb2_grpc
from sidecar.v1 import routing_pb2 as pb
from tests.support.daemon import Daemon, wait_for
from tests.support.rollout_traffic import Traffic, failing_v2, healthy, slow_v2

pytestmark = pytest.mark.slow

FAST = ("--tick-seconds", "0.2", "--outcome-bucket-seconds", "1")


def plan(**overrides: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "minLatencySamples": 30,
        "phases": [
            {"name": "CANARY", "percent": 10, "minDuration": "2s", "minSamples": 40, "maxDuration": "40s"},
            {"name": "HALF", "percent": 50, "minDuration": "2s", "minSamples": 40, "maxDuration": "40s"},
            {"name": "FULL", "percent": 100, "minDuration": "1s", "minSamples": 40},
        ],
        "rollbackTriggers": {"minRequests": 30},
    }
    definition.update(overrides)
    return definition


def write_rollout(config_dir: Path, key: str, definition: dict[str, Any]) -> None:
    (config_dir / "rollouts.yaml").write_text(yaml.safe_dump({"rollouts": {key: definition}}))


@pytest.fixture
def start(config_dir: Path, state_dir: Path) -> Iterator[Any]:
    daemons: list[Daemon] = []

    def start_daemon(definition: dict[str, Any], key: str = "svc") -> Daemon:
        write_rollout(config_dir, key, definition)
        daemon = Daemon(config_dir, state_dir, *FAST).start()
        daemons.append(daemon)
        return daemon

    yield start_daemon
    for daemon in daemons:
        daemon.stop()


def rollout(daemon: Daemon, key: str = "svc") -> pb.RolloutStatus:
    stub = routing_pb2_grpc.RolloutServiceStub(daemon.channel())
    return stub.GetRollout(pb.GetRolloutRequest(rollout_key=key), metadata=daemon.auth(), timeout=5).rollout


def drive_until(traffic: Traffic, condition: Any, timeout: float, units: int = 60) -> pb.RolloutStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        traffic.step(units)
        status = rollout(traffic.daemon, traffic.rollout)
        if condition(status):
            return status
        time.sleep(0.05)
    raise AssertionError(
        f"condition not reached in {timeout}s; last status:\n{rollout(traffic.daemon, traffic.rollout)}"
    )


def test_healthy_v2_advances_through_every_phase_to_complete(start: Any) -> None:
    daemon = start(plan())
    traffic = Traffic(daemon, "svc", healthy)
    seen: list[str] = []

    def completed(status: pb.RolloutStatus) -> bool:
        if not seen or seen[-1] != status.phase:
            seen.append(status.phase)
        return status.state == pb.ROLLOUT_STATE_COMPLETED

    status = drive_until(traffic, completed, timeout=60)
    assert seen == ["CANARY", "HALF", "FULL"]
    assert status.last_decision.kind == "COMPLETE"
    assert status.last_decision.code == "GATES_PASSED"
    assert all(r.version == pb.VERSION_V2 and r.reason == pb.ROUTE_REASON_COMPLETED for r in traffic.step(20))
    audit = daemon.admin().ListAudit(
        admin_pb2.ListAuditRequest(target="svc"), metadata=daemon.auth(), timeout=5
    )
    actions = [e.action for e in reversed(audit.entries)]
    assert actions[0] == "rollout.started"
    assert actions.count("rollout.advanced") == 2
    assert actions[-1] == "rollout.completed"


def test_v2_with_30_percent_errors_rolls_back_and_routes_v1(start: Any) -> None:
    # Only the ceiling judges here: without maxErrorRateIncrease the sequential regression rule is off.
    daemon = start(plan(breaker={"enabled": False}, gates={"maxV2ErrorRate": 0.05, "maxLatencyRatio": 1.5}))
    traffic = Traffic(daemon, "svc", failing_v2(0.30))
    status = drive_until(traffic, lambda s: s.state == pb.ROLLOUT_STATE_ROLLED_BACK, timeout=40)
    assert status.last_decision.kind == "ROLLBACK"
    assert status.last_decision.code == "ERROR_RATE_CEILING"
    assert "error rate" in status.last_decision.reason
    assert status.last_decision.numbers["v2_error_rate"] > 0.2
    responses = traffic.step(200)
    assert {r.version for r in responses} == {pb.VERSION_V1}
    assert {r.reason for r in responses} == {pb.ROUTE_REASON_ROLLED_BACK}


def test_v2_three_times_slower_rolls_back_on_latency(start: Any) -> None:
    daemon = start(plan())
    traffic = Traffic(daemon, "svc", slow_v2(3.0))
    status = drive_until(traffic, lambda s: s.state == pb.ROLLOUT_STATE_ROLLED_BACK, timeout=40)
    assert status.last_decision.code == "LATENCY_REGRESSION"
    assert "p95" in status.last_decision.reason


def test_v2_without_traffic_holds_then_rolls_back_at_deadline(start: Any) -> None:
    definition = plan()
    definition["phases"][0]["maxDuration"] = "4s"
    daemon = start(definition)
    wait_for(lambda: rollout(daemon).last_decision.code == "INSUFFICIENT_DATA", timeout=5)
    assert rollout(daemon).state == pb.ROLLOUT_STATE_RUNNING
    status = wait_for(lambda: (s := rollout(daemon)).state == pb.ROLLOUT_STATE_ROLLED_BACK and s, timeout=10)
    assert status.last_decision.code == "DEADLINE_WITHOUT_DATA"


def test_ten_v2_failures_in_a_row_open_the_circuit_which_recovers(start: Any) -> None:
    daemon = start(
        plan(
            breaker={"consecutiveFailures": 10, "coolDown": "2s", "probePercent": 100, "probeSuccesses": 3},
            rollbackTriggers={"minRequests": 30, "consecutiveFailures": None, "maxErrorRate": None},
        )
    )
    traffic = Traffic(daemon, "svc")
    v2_units = [f"user-{i}" for i in range(400) if traffic.route(f"user-{i}").version == pb.VERSION_V2][:10]
    assert len(v2_units) == 10
    failures = [
        pb.Outcome(
            rollout_key="svc", version=pb.VERSION_V2, success=False, latency_ms=5, error_type="timeout"
        )
        for _ in range(10)
    ]
    traffic.stub.ReportOutcomes(pb.ReportOutcomesRequest(outcomes=failures), timeout=5)
    assert rollout(daemon).circuit == "OPEN"
    assert {traffic.route(u).reason for u in v2_units} == {pb.ROUTE_REASON_FALLBACK_ACTIVE}
    assert {traffic.route(u).version for u in v2_units} == {pb.VERSION_V1}
    # After the cool-down the breaker lets probes through; successes close it again.
    wait_for(lambda: traffic.route(v2_units[0]).reason == pb.ROUTE_REASON_BREAKER_PROBE, timeout=5)
    successes = [
        pb.Outcome(rollout_key="svc", version=pb.VERSION_V2, success=True, latency_ms=5) for _ in range(3)
    ]
    traffic.stub.ReportOutcomes(pb.ReportOutcomesRequest(outcomes=successes), timeout=5)
    assert rollout(daemon).circuit == "CLOSED"
    assert {traffic.route(u).reason for u in v2_units} == {pb.ROUTE_REASON_IN_SPLIT}


def test_kill_9_mid_phase_resumes_same_phase_generation_and_elapsed_time(start: Any) -> None:
    definition = plan()
    definition["phases"][1].update(minDuration="10m", maxDuration="20m")  # park in HALF
    daemon = start(definition)
    traffic = Traffic(daemon, "svc", healthy)
    drive_until(traffic, lambda s: s.phase == "HALF", timeout=30)

    def a_second_into_the_phase() -> pb.RolloutStatus | None:
        # Some time in the phase, so that keeping the elapsed time across the restart is visible.
        status = rollout(daemon)
        return status if status.phase_elapsed_seconds >= 1.0 else None

    before = wait_for(a_second_into_the_phase, timeout=30)
    audit_before = (
        daemon.admin()
        .ListAudit(admin_pb2.ListAuditRequest(target="svc"), metadata=daemon.auth(), timeout=5)
        .entries
    )
    daemon.kill9()
    daemon.start()
    after = rollout(daemon)
    assert (after.phase, after.generation, after.phase_started_at) == (
        before.phase,
        before.generation,
        before.phase_started_at,
    )
    assert after.phase_elapsed_seconds >= before.phase_elapsed_seconds
    assert after.v2.requests >= before.v2.requests - 5  # outcomes acknowledged before the kill were kept
    audit_after = (
        daemon.admin()
        .ListAudit(admin_pb2.ListAuditRequest(target="svc"), metadata=daemon.auth(), timeout=5)
        .entries
    )
    assert [e.id for e in audit_after[-len(audit_before) :]] == [e.id for e in audit_before]


def test_rolled_back_rollout_stays_rolled_back_after_restart_until_restarted(start: Any) -> None:
    daemon = start(plan())
    stub = routing_pb2_grpc.RolloutServiceStub(daemon.channel())
    stub.RollbackRollout(
        pb.RollbackRolloutRequest(rollout_key="svc", reason="bad deploy"), metadata=daemon.auth(), timeout=5
    )
    daemon.kill9()
    daemon.start()
    stub = routing_pb2_grpc.RolloutServiceStub(daemon.channel())
    status = rollout(daemon)
    assert status.state == pb.ROLLOUT_STATE_ROLLED_BACK
    assert status.state_reason == "bad deploy"
    traffic = Traffic(daemon, "svc", healthy)
    assert {r.reason for r in traffic.step(50)} == {pb.ROUTE_REASON_ROLLED_BACK}
    time.sleep(1.0)  # several policy ticks: nothing retries by itself
    assert rollout(daemon).state == pb.ROLLOUT_STATE_ROLLED_BACK
    restarted = stub.RestartRollout(
        pb.RestartRolloutRequest(rollout_key="svc", reason="fixed", from_generation=1),
        metadata=daemon.auth(),
        timeout=5,
    ).rollout
    assert (restarted.state, restarted.generation, restarted.phase) == (pb.ROLLOUT_STATE_RUNNING, 2, "CANARY")
    again = stub.RestartRollout(
        pb.RestartRolloutRequest(rollout_key="svc", reason="retry", from_generation=1),
        metadata=daemon.auth(),
        timeout=5,
    ).rollout
    assert again.generation == 2
