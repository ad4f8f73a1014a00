"""The peer-sync health problem and peer status messages."""

from __future__ import annotations

from sidecar.sync.link import Link, PeerRecord
from sidecar.sync.metrics import SyncMetrics
from sidecar.sync.status import STALE_ROUNDS, HealthWatch, peer_messages
from sidecar.v1 import sync_pb2 as pb

LIMIT = STALE_ROUNDS * 1.0


def make_link(node: str) -> Link:
    async def write(frame: pb.SyncFrame) -> None:
        return None

    async def read() -> pb.SyncFrame | None:
        return None

    return Link(PeerRecord("peer:1", True, node), write, read, pb.SyncFrame, SyncMetrics(), 10)


def test_a_group_of_one_is_healthy() -> None:
    assert HealthWatch(1.0, 0.0).problem([], 0, [], 1e6) is None


def test_alone_for_six_rounds_is_a_problem_that_names_the_cause() -> None:
    watch = HealthWatch(1.0, 0.0)
    assert watch.problem([], 2, [], LIMIT - 1) is None
    assert watch.problem([], 2, ["UNAVAILABLE: refused"], LIMIT + 1) == (
        "no peer connected for 7s of 2 configured; last error: UNAVAILABLE: refused"
    )
    refused = watch.problem(
        [], 2, ["UNAVAILABLE: x", "UNAUTHENTICATED: the peer refused our credential"], LIMIT
    )
    assert refused is not None
    assert "wrong group secret" in refused
    assert "--group-secret-file" in refused
    assert refused.endswith("last error: UNAUTHENTICATED: the peer refused our credential")
    assert watch.problem([], 2, [], LIMIT).endswith("configured")


def test_a_connected_peer_resets_the_clock_and_a_lagging_one_is_named() -> None:
    watch = HealthWatch(1.0, 0.0)
    link = make_link("node-b")
    assert watch.problem([link], 1, [], 100.0) is None
    assert watch.problem([], 1, [], 100.0 + LIMIT - 1) is None  # alone only since the session closed
    link.enqueue([])
    link._pending_since = -LIMIT - 100.0  # its oldest change waits since long before
    problem = watch.problem([link], 1, [], 0.0)
    assert problem is not None
    assert problem.startswith("peer node-b is ")


def test_peer_messages_list_outgoing_first_and_refresh_lag() -> None:
    metrics = SyncMetrics()
    incoming = PeerRecord("ipv4:10.0.0.9:5555", False, "node-c", connected=True, last_error="")
    outgoing = PeerRecord("10.0.0.2:8017", True, "node-b", link=None, last_error="UNAVAILABLE: down")
    incoming.link = make_link("node-c")
    messages = peer_messages({(False, "node-c"): incoming, (True, "10.0.0.2:8017"): outgoing}, metrics)
    assert [m.node_id for m in messages] == ["node-b", "node-c"]
    assert messages[0].last_error == "UNAVAILABLE: down"
    assert messages[1].connected
    assert metrics.lag_seconds == {"node-b": 0.0, "node-c": 0.0}
