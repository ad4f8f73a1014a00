"""Alerts end to end through a real daemon: rules in the config directory, real webhooks, real rollbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2, alerts_pb2_grpc, evaluation_pb2, routing_pb2_grpc
from sidecar.v1 import alerts_pb2 as pb
from sidecar.v1 import routing_pb2 as routing_pb
from tests.support.daemon import Daemon, refused_address, wait_for
from tests.support.rollout_traffic import Traffic, failing_v2
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

FAST = ("--tick-seconds", "0.2", "--outcome-bucket-seconds", "1")
# Only the alert may roll this rollout back: every built-in trigger and the regression rule are off, and the
# phase never ends by itself.
ROLLOUT: dict[str, Any] = {
    "phases": [{"name": "HALF", "percent": 50, "minDuration": "1h"}, {"name": "FULL", "percent": 100}],
    "gates": {"maxV2ErrorRate": 0.9},
    "breaker": {"enabled": False},
    "rollbackTriggers": {
        "maxErrorRate": None,
        "maxFallbackRate": None,
        "maxLatencyRatio": None,
        "consecutiveFailures": None,
    },
}
ERROR_FLAG = {
    "flags": {
        "broken": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"var": "pick"},  # names a variant that does not exist: REASON_ERROR
        }
    }
}


def write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def rule(metric: str, thresholds: dict[str, float], **fields: Any) -> dict[str, Any]:
    return {"metric": metric, "thresholds": thresholds, "interval": "200ms", **fields}


@pytest.fixture
def start(config_dir: Path, state_dir: Path) -> Iterator[Any]:
    daemons: list[Daemon] = []

    def start_daemon(alerts: dict[str, Any], **files: dict[str, Any]) -> Daemon:
        write(config_dir / "alerts.yaml", {"alerts": alerts})
        for name, content in files.items():
            write(config_dir / f"{name}.yaml", content)
        daemon = Daemon(config_dir, state_dir, *FAST).start()
        daemons.append(daemon)
        return daemon

    yield start_daemon
    for daemon in daemons:
        daemon.stop()


def alerts_stub(daemon: Daemon) -> alerts_pb2_grpc.AlertServiceStub:
    return alerts_pb2_grpc.AlertServiceStub(daemon.channel())


def list_alerts(daemon: Daemon, all_alerts: bool = False) -> pb.ListAlertsResponse:
    request = pb.ListAlertsRequest(filter=pb.ALERT_FILTER_ALL if all_alerts else pb.ALERT_FILTER_FIRING)
    return alerts_stub(daemon).ListAlerts(request, metadata=daemon.auth(), timeout=5)


def rollout_status(daemon: Daemon) -> routing_pb.RolloutStatus:
    stub = routing_pb2_grpc.RolloutServiceStub(daemon.channel())
    request = routing_pb.GetRolloutRequest(rollout_key="svc")
    return stub.GetRollout(request, metadata=daemon.auth(), timeout=5).rollout


def drive(traffic: Traffic, condition: Any, timeout: float) -> Any:
    """Send traffic until ``condition()`` returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        traffic.step(40)
        if result := condition():
            return result
    raise AssertionError(f"condition not reached in {timeout}s; alerts: {list_alerts(traffic.daemon)}")


def test_v2_errors_fire_warning_then_critical_roll_back_and_resolve(start: Any) -> None:
    with WebhookReceiver() as receiver:
        errors = rule(
            "error_rate",
            {"warning": 0.05, "critical": 0.3},
            rollout="svc",
            window="3s",
            description="V2 fails",
            webhooks=[receiver.url],
        )
        daemon = start({"svc-errors": errors}, rollouts={"rollouts": {"svc": ROLLOUT}})
        traffic = Traffic(daemon, "svc", failing_v2(0.15))

        # About 15% of V2 calls fail: a warning, and only one, however often the rule is evaluated.
        (fired,) = drive(traffic, lambda: receiver.events("FIRED"), timeout=20)
        assert fired["alert"]["severity"] == "warning"
        assert fired["alert"]["rule"] == "svc-errors"
        assert fired["alert"]["rollout"] == "svc"
        assert fired["alert"]["metric"] == "error_rate{version=V2}"
        assert 0.05 < fired["alert"]["value"] < 0.3
        assert (fired["alert"]["threshold"], fired["alert"]["status"]) == (0.05, "firing")
        assert fired["previous_severity"] is None
        assert fired["node"]
        for _ in range(10):  # ~2 s: about ten more evaluations at the same severity
            traffic.step(40)
            time.sleep(0.1)
        assert [e["event"] for e in receiver.events()] == ["FIRED"]
        (alert,) = list_alerts(daemon).alerts
        assert (alert.id, alert.severity) == (fired["alert"]["id"], pb.ALERT_SEVERITY_WARNING)
        # A warning rolls nothing back.
        assert rollout_status(daemon).state == routing_pb.ROLLOUT_STATE_RUNNING

        # An operator takes it on; acknowledging again changes nothing.
        before = time.time()
        acked = (
            alerts_stub(daemon)
            .AcknowledgeAlert(
                pb.AcknowledgeAlertRequest(id=alert.id, note="looking into it"),
                metadata=daemon.auth("alice"),
                timeout=5,
            )
            .alert
        )
        assert (acked.ack_by, acked.ack_note) == ("alice", "looking into it")
        assert before - 1 <= acked.ack_at <= time.time() + 1
        again = (
            alerts_stub(daemon)
            .AcknowledgeAlert(
                pb.AcknowledgeAlertRequest(id=alert.id, note="me too"), metadata=daemon.auth("bob"), timeout=5
            )
            .alert
        )
        assert (again.ack_by, again.ack_at, again.ack_note) == ("alice", acked.ack_at, "looking into it")
        audit = daemon.admin().ListAudit(
            admin_pb2.ListAuditRequest(target=f"alert/{alert.id}"), metadata=daemon.auth(), timeout=5
        )
        assert [(e.actor, e.action, e.reason) for e in audit.entries] == [
            ("alice", "alert.acknowledged", "looking into it")
        ]

        # Most V2 calls fail: the alert escalates to critical and the policy rolls the rollout back.
        traffic.behaviour = failing_v2(0.7)
        (escalated,) = drive(traffic, lambda: receiver.events("ESCALATED"), timeout=20)
        assert (escalated["alert"]["severity"], escalated["previous_severity"]) == ("critical", "warning")
        assert escalated["alert"]["id"] == alert.id
        assert escalated["alert"]["ack_by"] == "alice"
        rolled_back = routing_pb.ROLLOUT_STATE_ROLLED_BACK
        status = wait_for(lambda: (s := rollout_status(daemon)).state == rolled_back and s, timeout=5)
        assert status.last_decision.kind == "ROLLBACK"
        assert status.last_decision.code == "CRITICAL_ALERT"
        assert "svc-errors" in status.last_decision.reason

        # V2 gets no more traffic, so its errors leave the window and the alert resolves by itself.
        (resolved,) = drive(traffic, lambda: receiver.events("RESOLVED"), timeout=20)
        assert resolved["alert"]["id"] == alert.id
        assert resolved["alert"]["status"] == "resolved"
        assert resolved["alert"]["resolved_at"] >= escalated["at"]
        assert [e["event"] for e in receiver.events()] == ["FIRED", "ESCALATED", "RESOLVED"]
        assert list_alerts(daemon).alerts == []
        (stored,) = list_alerts(daemon, all_alerts=True).alerts
        assert (stored.status, stored.severity, stored.ack_by) == (
            pb.ALERT_STATUS_RESOLVED,
            pb.ALERT_SEVERITY_CRITICAL,
            "alice",
        )
        (webhook,) = list_alerts(daemon).webhooks
        assert (webhook.url, webhook.delivered, webhook.failed, webhook.dropped) == (receiver.url, 3, 0, 0)
        assert "alert svc-errors [svc] fired at warning" in daemon.log()


def test_watch_streams_firing_alerts_then_changes(start: Any, config_dir: Path) -> None:
    failures = rule("reload_failures", {"warning": 1, "error": 2}, comparison=">=")
    daemon = start({"config-broken": failures}, flags=ERROR_FLAG)
    (config_dir / "one.yaml").write_text("flags: [\n")
    wait_for(lambda: list_alerts(daemon).alerts, timeout=10)

    responses: list[pb.WatchAlertsResponse] = []
    stream = alerts_stub(daemon).WatchAlerts(pb.WatchAlertsRequest(), metadata=daemon.auth(), timeout=30)

    errors: list[grpc.RpcError] = []

    def read() -> None:
        try:
            responses.extend(stream)
        except grpc.RpcError as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        wait_for(lambda: responses, timeout=5)
        first = responses[0]
        assert first.WhichOneof("update") == "firing"
        (current,) = first.firing.alerts
        assert (current.rule, current.value) == ("config-broken", 1)
        assert current.severity == pb.ALERT_SEVERITY_WARNING

        (config_dir / "two.yaml").write_text("flags: {x: 1\n")
        wait_for(lambda: len(responses) >= 2, timeout=10)
        (config_dir / "one.yaml").unlink()
        (config_dir / "two.yaml").unlink()
        wait_for(lambda: len(responses) >= 3, timeout=10)
    finally:
        stream.cancel()
        reader.join(5)
    assert [e.code() for e in errors] in ([], [grpc.StatusCode.CANCELLED])
    events = [r.event for r in responses[1:]]
    assert [(e.kind, e.alert.severity) for e in events] == [
        (pb.ALERT_EVENT_KIND_ESCALATED, pb.ALERT_SEVERITY_ERROR),
        (pb.ALERT_EVENT_KIND_RESOLVED, pb.ALERT_SEVERITY_ERROR),
    ]
    assert events[0].previous_severity == pb.ALERT_SEVERITY_WARNING
    assert {e.alert.id for e in events} == {current.id}


def test_dead_webhook_is_retried_then_dropped_while_evaluate_keeps_answering(start: Any) -> None:
    with refused_address() as address:
        dead = f"http://{address}/nobody-listens"
        errors = rule("evaluation_errors", {"warning": 1}, window="1m", webhooks=[dead])
        daemon = start({"eval-errors": errors}, flags=ERROR_FLAG)
        stub = daemon.evaluation()
        request = evaluation_pb2.EvaluateRequest(flag_key="broken", context=to_struct({"pick": "nope"}))
        slowest = 0.0

        def webhook_failed() -> list[pb.WebhookStatus] | None:
            # About 4 s of retries with backoff happen meanwhile; every Evaluate must stay fast.
            nonlocal slowest
            started = time.perf_counter()
            response = stub.Evaluate(request, timeout=5)
            slowest = max(slowest, time.perf_counter() - started)
            assert response.reason == evaluation_pb2.REASON_ERROR
            webhooks = list(list_alerts(daemon).webhooks)
            return webhooks if webhooks and webhooks[0].failed else None

        (webhook,) = wait_for(webhook_failed, timeout=30)
        assert (webhook.url, webhook.delivered, webhook.failed, webhook.queued) == (dead, 0, 1, 0)
        assert "ConnectionRefusedError" in webhook.last_error
        assert slowest < 0.5
        (alert,) = list_alerts(daemon).alerts
        assert (alert.rule, alert.metric, alert.rollout) == ("eval-errors", "evaluation_errors", "")
        log = daemon.log()
        assert "(attempt 3 of 4)" in log
        assert f"webhook POST to {dead} failed after 4 attempt(s)" in log


def test_invalid_rules_are_reported_with_file_and_line_and_the_last_good_ones_keep_running(
    start: Any, config_dir: Path
) -> None:
    daemon = start({"mem": rule("memory_rss_mb", {"info": 1})})
    wait_for(lambda: list_alerts(daemon).alerts, timeout=10)  # any daemon uses more than 1 MiB
    (config_dir / "alerts.yaml").write_text(
        "alerts:\n  mem:\n    metric: memory_rss_mb\n    thresholds: {info: 1}\n    interval: 1ms\n"
    )

    def problems() -> list[str]:
        status = daemon.admin().GetStatus(admin_pb2.GetStatusRequest(), metadata=daemon.auth(), timeout=5)
        return [e for s in status.sources if s.path.endswith("alerts.yaml") for e in s.errors]

    (problem,) = wait_for(problems, timeout=10)
    assert problem.endswith("alerts.yaml:5: alerts.mem.interval: must be at least 100ms, got '1ms'")
    (alert,) = list_alerts(daemon).alerts
    assert (alert.rule, alert.status) == ("mem", pb.ALERT_STATUS_FIRING)


def test_alert_calls_need_the_admin_token(start: Any) -> None:
    daemon = start({})
    with pytest.raises(grpc.RpcError) as raised:
        alerts_stub(daemon).ListAlerts(pb.ListAlertsRequest(), timeout=5)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as raised:
        alerts_stub(daemon).AcknowledgeAlert(pb.AcknowledgeAlertRequest(id="nope"), metadata=daemon.auth())
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_cli_lists_acknowledges_and_watches(start: Any) -> None:
    daemon = start({"mem": rule("memory_rss_mb", {"info": 1}, description="resident memory")})
    wait_for(lambda: list_alerts(daemon).alerts, timeout=10)
    env = {
        **os.environ,
        "SIDECAR_ADDRESS": daemon.tcp_target,
        "SIDECAR_STATE_DIR": str(daemon.state_dir),
        "SIDECAR_ACTOR": "carol",
    }
    command = [sys.executable, "-m", "sidecar.cli.main", "alerts"]

    def cli(*args: str) -> str:
        run = subprocess.run
        return run([*command, *args], capture_output=True, text=True, env=env, timeout=60, check=True).stdout

    (line,) = cli("list").splitlines()
    alert_id, severity, status, rule_name, rollout, value, _, acked = line.split("\t")
    assert (severity, status, rule_name, rollout, acked) == ("info", "firing", "mem", "-", "unacked")
    assert value.startswith("memory_rss_mb=")
    acked_alert = json.loads(cli("ack", alert_id, "--note", "expected"))["alert"]
    assert (acked_alert["ack_by"], acked_alert["ack_note"]) == ("carol", "expected")
    (listed,) = json.loads(cli("list", "--all", "--json"))["alerts"]
    assert (listed["id"], listed["ack_by"]) == (alert_id, "carol")

    with subprocess.Popen([*command, "watch"], stdout=subprocess.PIPE, text=True, env=env) as watch:
        assert watch.stdout is not None
        first = json.loads(watch.stdout.readline())
        watch.terminate()
    (current,) = first["firing"]["alerts"]
    assert (current["id"], current["description"]) == (alert_id, "resident memory")


def test_firing_alerts_survive_a_restart_and_resolve_once_their_rule_is_gone(
    start: Any, config_dir: Path
) -> None:
    daemon = start({"mem": rule("memory_rss_mb", {"info": 1})})
    (alert,) = wait_for(lambda: list_alerts(daemon).alerts, timeout=10)
    daemon.kill9()
    daemon.start()
    time.sleep(1.0)  # several evaluations: the same alert goes on firing, no new one
    (again,) = list_alerts(daemon).alerts
    assert (again.id, again.fired_at) == (alert.id, alert.fired_at)
    assert again.version >= alert.version

    daemon.stop()
    (config_dir / "alerts.yaml").unlink()
    daemon.start()
    wait_for(lambda: not list_alerts(daemon).alerts, timeout=10)
    (stored,) = list_alerts(daemon, all_alerts=True).alerts
    assert (stored.id, stored.status) == (alert.id, pb.ALERT_STATUS_RESOLVED)
