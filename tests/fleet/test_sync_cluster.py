"""Peer sync between five real sidecar processes on 127.0.0.1.

The tests share one group and run in file order; each leaves the group connected and converged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from sidecar.sync.auth import AUTH_HEADER
from sidecar.sync.transport import SERVICE_NAME
from sidecar.v1 import alerts_pb2 as apb
from sidecar.v1 import routing_pb2 as rpb
from sidecar.v1 import sync_pb2
from tests.support.daemon import Daemon, wait_for
from tests.support.sync_cluster import FAST, Cluster, Member, flag, holding_rollout, time_until

pytestmark = pytest.mark.slow

SIZE = 5


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    rollouts = {"svc": holding_rollout(), "guarded": guarded_rollout()}
    group = Cluster(tmp_path_factory.mktemp("sync"), SIZE, extra=FAST, rollouts=rollouts).start()
    try:
        wait_for(lambda: all(len(m.connected_nodes()) >= 2 for m in group.members), timeout=15)
        yield group
    finally:
        group.stop()


def guarded_rollout() -> dict[str, Any]:
    """A holding rollout whose breaker opens on the V2 failure rate alone (half of 20 calls in 30 s)."""
    breaker = {"consecutiveFailures": None, "errorRate": 0.5, "window": "30s", "minRequests": 20}
    return {**holding_rollout(), "breaker": breaker}


def all_serve(cluster: Cluster, key: str, variant: str | None) -> bool:
    return all(m.variant(key) == variant for m in cluster.members)


def test_a_flag_written_on_one_sidecar_is_served_by_all_within_a_second(cluster: Cluster) -> None:
    first, *_, last = cluster.members
    first.put_flag("sync-flag", flag("a"))
    assert time_until(lambda: all_serve(cluster, "sync-flag", "a"), timeout=1.0) < 1.0
    last.put_flag("sync-flag", flag("b"))  # a later write elsewhere wins everywhere
    assert time_until(lambda: all_serve(cluster, "sync-flag", "b"), timeout=1.0) < 1.0
    cluster.members[2].delete_flag("sync-flag")  # a deletion travels like a write
    assert time_until(lambda: all_serve(cluster, "sync-flag", None), timeout=1.0) < 1.0
    wait_for(cluster.converged, timeout=10)
    versions = {tuple(sorted(m.flags().items())) for m in cluster.members}
    assert len(versions) == 1


def test_outcomes_reported_to_three_sidecars_add_up_on_all_five(cluster: Cluster) -> None:
    # Every sidecar adopted the same phase clock (the earliest adoption wins), so they count the same buckets.
    wait_for(lambda: len({m.rollout().phase_started_at for m in cluster.members}) == 1, timeout=10)
    generation = cluster.members[0].rollout().generation
    before = cluster.members[0].rollout()
    time.sleep(1.1)  # outcomes land in whole buckets after the phase start
    reports = {0: 30, 1: 50, 2: 70}
    for index, count in reports.items():
        cluster.members[index].report(rpb.VERSION_V2, count, generation)
        cluster.members[index].report(rpb.VERSION_V1, count // 10, generation)
    v2 = before.v2.requests + sum(reports.values())
    v1 = before.v1.requests + sum(c // 10 for c in reports.values())

    def fleet_wide() -> bool:
        return all((m.rollout().v2.requests, m.rollout().v1.requests) == (v2, v1) for m in cluster.members)

    wait_for(fleet_wide, timeout=3)
    wait_for(cluster.converged, timeout=10)


def test_v2_failures_reported_to_two_sidecars_open_the_breaker_on_all_five(cluster: Cluster) -> None:
    generation = cluster.members[0].rollout("guarded").generation
    for member in cluster.members[:2]:  # 15 failures each: neither reaches the breaker's 20 calls alone
        member.report(rpb.VERSION_V2, 15, generation, key="guarded", success=False)
    wait_for(lambda: all(m.rollout("guarded").circuit == "OPEN" for m in cluster.members), timeout=5)
    quiet = cluster.members[4]  # saw no V2 call at all, opened on the group's numbers
    routes = [quiet.route(f"user-{i}", key="guarded") for i in range(50)]
    assert all(r.version == rpb.VERSION_V1 for r in routes)
    assert any(r.reason == rpb.ROUTE_REASON_FALLBACK_ACTIVE for r in routes)
    assert cluster.members[0].rollout("svc").circuit == "CLOSED"  # another rollout is untouched


def test_a_rollback_on_one_sidecar_routes_v1_everywhere_within_a_second(cluster: Cluster) -> None:
    units = [f"user-{i}" for i in range(200)]
    v2_units = [u for u in units if cluster.members[0].route(u).version == rpb.VERSION_V2][:5]
    assert v2_units, "the first phase sends some units to V2"
    cluster.members[4].act("Rollback")

    def everyone_on_v1() -> bool:
        return all(
            m.route(u).reason == rpb.ROUTE_REASON_ROLLED_BACK for m in cluster.members for u in v2_units[:2]
        )

    assert time_until(everyone_on_v1, timeout=1.0) < 1.0
    assert {m.route(u).version for m in cluster.members for u in v2_units} == {rpb.VERSION_V1}
    # A restart (a new generation) beats the rollback everywhere too.
    generation = cluster.members[4].rollout().generation
    cluster.members[1].act("Restart", from_generation=generation)
    wait_for(
        lambda: all(
            (m.rollout().generation, m.rollout().state) == (generation + 1, rpb.ROLLOUT_STATE_RUNNING)
            for m in cluster.members
        ),
        timeout=2,
    )
    wait_for(cluster.converged, timeout=10)


def test_a_sidecar_killed_with_sigkill_restarts_and_converges(cluster: Cluster) -> None:
    victim = cluster.members[2]
    victim.daemon.kill9()
    cluster.members[0].put_flag("while-down", flag("c"))
    cluster.members[1].act("Pause")
    victim.daemon.start()
    wait_for(lambda: victim.variant("while-down") == "c", timeout=5)
    wait_for(lambda: victim.rollout().state == rpb.ROLLOUT_STATE_PAUSED, timeout=5)
    wait_for(cluster.converged, timeout=15)
    cluster.members[3].act("Resume")
    wait_for(lambda: all(m.rollout().state == rpb.ROLLOUT_STATE_RUNNING for m in cluster.members), timeout=3)


def test_partitioned_halves_written_on_both_sides_heal_to_identical_state(cluster: Cluster) -> None:
    left, right = cluster.members[:2], cluster.members[2:]
    cluster.partition(left, right)

    def split() -> bool:
        return all(m.connected_nodes() <= {p.node_id for p in half} for half in (left, right) for m in half)

    wait_for(split, timeout=10)
    generation = left[0].rollout().generation
    left[0].put_flag("contested", flag("a"))
    left[1].put_flag("left-only", flag("a"))
    left[0].act("Pause")
    left[1].report(rpb.VERSION_V2, 40, generation)
    time.sleep(0.05)
    right[0].put_flag("contested", flag("b"))  # the later write
    right[1].put_flag("right-only", flag("b"))
    right[2].delete_flag("while-down")
    right[2].act("Rollback")
    right[0].report(rpb.VERSION_V2, 60, generation)
    wait_for(lambda: all(m.variant("contested") == "a" for m in left), timeout=3)
    wait_for(lambda: all(m.variant("contested") == "b" for m in right), timeout=3)
    assert left[0].rollout().state == rpb.ROLLOUT_STATE_PAUSED

    cluster.connect_all()
    wait_for(cluster.converged, timeout=20)
    for member in cluster.members:
        assert member.variant("contested") == "b"
        assert member.variant("left-only") == "a"
        assert member.variant("right-only") == "b"
        assert member.variant("while-down") is None
        status = member.rollout()
        assert status.state == rpb.ROLLOUT_STATE_ROLLED_BACK  # a rollback beats a pause of its generation
    assert len({tuple(sorted(m.flags().items())) for m in cluster.members}) == 1
    counts = {(m.rollout().v2.requests, m.rollout().phase_started_at) for m in cluster.members}
    assert len(counts) == 1


ALWAYS_FIRING = {
    "alerts": {
        "memory-in-use": {"metric": "memory_rss_mb", "thresholds": {"warning": 1}, "interval": "200ms"}
    }
}


def test_an_alert_acknowledged_on_one_sidecar_is_acknowledged_on_every_sidecar(cluster: Cluster) -> None:
    *early, late = cluster.members
    for member in early:
        (member.daemon.config_dir / "alerts.yaml").write_text(yaml.safe_dump(ALWAYS_FIRING))
    wait_for(lambda: all(m.alerts() for m in early), timeout=10)
    ids = {m.node_id: m.alerts()[0].id for m in early}
    assert len(set(ids.values())) == len(early)  # one alert per sidecar, each with its own id
    taken = early[0].acknowledge(ids["node-0"], "alice", "on it")

    def acknowledged_by_alice(member: Member) -> bool:
        alerts = member.alerts()
        return bool(alerts) and (alerts[0].ack_by, alerts[0].ack_at, alerts[0].ack_note) == (
            "alice",
            taken.ack_at,
            "on it",
        )

    assert time_until(lambda: all(acknowledged_by_alice(m) for m in early), timeout=1.0) < 1.0
    # A sidecar whose alert fires shortly after the acknowledgement was made takes it on as well.
    (late.daemon.config_dir / "alerts.yaml").write_text(yaml.safe_dump(ALWAYS_FIRING))
    wait_for(lambda: acknowledged_by_alice(late), timeout=10)
    # A later acknowledgement of the same incident elsewhere does not change who took it on, anywhere.
    assert early[2].acknowledge(ids["node-2"], "bob", "me too").ack_by == "alice"
    wait_for(cluster.converged, timeout=10)
    assert all(acknowledged_by_alice(m) for m in cluster.members)
    for member in cluster.members:
        (member.daemon.config_dir / "alerts.yaml").unlink()
    wait_for(lambda: not any(m.alerts()[0].status == apb.ALERT_STATUS_FIRING for m in cluster.members), 10)


def test_a_peer_with_the_wrong_secret_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    target = cluster.members[0]
    wrong_secret = tmp_path / "wrong.secret"
    wrong_secret.write_text("not-the-group-secret-at-all\n")
    config = tmp_path / "config"
    config.mkdir()
    intruder = Daemon(
        config,
        tmp_path / "state",
        "--group-secret-file",
        str(wrong_secret),
        "--peer",
        target.sync_address,
        "--sync-anti-entropy-seconds",
        "0.5",
        env={"SIDECAR_NODE_ID": "intruder"},
        sync_listen=True,
    )
    try:
        intruder.start()
        intruder_view = Member.__new__(Member)
        intruder_view.daemon = intruder

        def refused() -> bool:
            peers = intruder_view.status().peers
            return bool(peers) and all("UNAUTHENTICATED" in p.last_error and not p.connected for p in peers)

        wait_for(refused, timeout=10)
        assert intruder_view.variant("contested") is None  # nothing of the group's state reached it
        # Alone for six anti-entropy rounds: a problem the operator sees, but it keeps serving.
        problem = wait_for(lambda: intruder_view.status().health_problems.get("peer-sync"), timeout=10)
        assert "no peer connected" in problem
        assert "UNAUTHENTICATED" in problem
        assert intruder_view.status().serving
        assert "intruder" not in target.connected_nodes()
    finally:
        intruder.stop()
    # A call without any credential is refused as well.
    with grpc.insecure_channel(target.sync_address) as channel:
        exchange = channel.stream_stream(
            f"/{SERVICE_NAME}/Exchange",
            request_serializer=sync_pb2.ExchangeRequest.SerializeToString,
            response_deserializer=sync_pb2.ExchangeResponse.FromString,
        )
        hello = sync_pb2.ExchangeRequest(frame=sync_pb2.SyncFrame(hello=sync_pb2.SyncHello(node_id="x")))
        with pytest.raises(grpc.RpcError) as refused_call:
            list(exchange(iter([hello]), metadata=[(AUTH_HEADER, "0" * 64)], timeout=5))
        assert refused_call.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def one_component(group: Cluster) -> bool:
    """Whether the group's open sessions connect every sidecar with every other (directly or by relays)."""
    links = {m.node_id: m.connected_nodes() for m in group.members}
    reached, frontier = set(), [group.members[0].node_id]
    while frontier:
        node = frontier.pop()
        if node not in reached:
            reached.add(node)
            frontier.extend(links.get(node, ()))
    return len(reached) == len(group.members)


def test_with_fanout_one_each_sidecar_dials_one_peer_and_relays_reach_everyone(tmp_path: Path) -> None:
    group = Cluster(tmp_path, 4, extra=(*FAST, "--sync-fanout", "1")).start()
    try:
        wait_for(lambda: one_component(group), timeout=15)
        for member in group.members:
            assert sum(p.connected and p.outgoing for p in member.status().peers) <= 1
        group.members[3].put_flag("relayed", flag("c"))
        assert time_until(lambda: all(m.variant("relayed") == "c" for m in group.members), timeout=1.0) < 1.0
    finally:
        group.stop()


def test_sidecar_peers_shows_the_links(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    from sidecar.cli.main import main

    member = cluster.members[0]
    token = member.daemon.state_dir / "admin.token"
    assert main(["peers", "--address", member.daemon.tcp_target, "--token-file", str(token)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"node node-0  digest {member.status().sync_digest}")
    assert "connected" in out
    assert any(f"node-{i}" in out for i in range(1, SIZE))
    status = member.status()
    assert all(p.bytes_received > 0 for p in status.peers if p.connected)
