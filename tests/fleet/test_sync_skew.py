"""Three real sidecars whose wall clocks disagree by 16 seconds still agree on which change came last."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sidecar.hlc import Timestamp
from sidecar.v1 import routing_pb2 as rpb
from tests.support.daemon import wait_for
from tests.support.sync_cluster import FAST, Cluster, flag, holding_rollout, time_until

pytestmark = pytest.mark.slow

AHEAD, BEHIND = 8.0, -8.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    group = Cluster(
        tmp_path_factory.mktemp("skew"),
        3,
        extra=FAST,
        rollouts={"svc": holding_rollout()},
        clock_offsets=(AHEAD, BEHIND, 0.0),
    ).start()
    try:
        wait_for(lambda: all(len(m.connected_nodes()) >= 2 for m in group.members), timeout=15)
        yield group
    finally:
        group.stop()


def test_a_write_made_after_seeing_another_wins_although_its_clock_is_behind(cluster: Cluster) -> None:
    ahead, behind, _ = cluster.members
    ahead.put_flag("skewed", flag("a"))
    wait_for(lambda: all(m.variant("skewed") == "a" for m in cluster.members), timeout=5)
    written_ahead = Timestamp.decode(ahead.flags()["skewed"][1])
    behind.put_flag("skewed", flag("b"))  # 16 s earlier by its own wall clock, but later in fact
    assert time_until(lambda: all(m.variant("skewed") == "b" for m in cluster.members), timeout=1.0) < 1.0
    written_behind = Timestamp.decode(behind.flags()["skewed"][1])
    assert written_behind > written_ahead
    assert written_behind.node_id == "node-1"
    wait_for(cluster.converged, timeout=10)


def test_pause_resume_and_rollback_across_skewed_clocks(cluster: Cluster) -> None:
    ahead, behind, _ = cluster.members
    ahead.act("Pause")
    wait_for(lambda: all(m.rollout().state == rpb.ROLLOUT_STATE_PAUSED for m in cluster.members), timeout=5)
    behind.act("Resume")  # same rank as the pause: the later version wins, though its clock is 16 s behind
    wait_for(lambda: all(m.rollout().state == rpb.ROLLOUT_STATE_RUNNING for m in cluster.members), timeout=5)
    generation = behind.rollout().generation
    behind.act("Rollback")
    wait_for(lambda: all(m.rollout().state == rpb.ROLLOUT_STATE_ROLLED_BACK for m in cluster.members), 5)
    assert all(m.rollout().generation == generation for m in cluster.members)
    assert all(m.route(f"user-{i}").version == rpb.VERSION_V1 for m in cluster.members for i in range(20))
    wait_for(cluster.converged, timeout=10)
