"""Rollout state, outcome buckets and alerts on a real SQLite file: what is written reads back, per node."""

from __future__ import annotations

from dataclasses import replace

from sidecar.alerts.acks import Acknowledgement
from sidecar.alerts.model import Alert, AlertStatus, Severity
from sidecar.hlc import HybridLogicalClock
from sidecar.rollout.model import Version
from sidecar.rollout.state import RolloutStatus, initial_state
from sidecar.rollout.windows import BucketCounts
from sidecar.store.alert_store import AlertStore
from sidecar.store.database import AuditDraft, StateDatabase
from sidecar.store.rollout_store import AuditRow, BucketRow, RolloutStore

T0 = 1.8e9


def counts(requests: int, errors: int = 0) -> BucketCounts:
    return BucketCounts(requests=requests, successes=requests - errors, errors=errors)


def test_states_buckets_and_audits_are_written_together_and_read_back(
    database: StateDatabase, hlc: HybridLogicalClock
) -> None:
    store = RolloutStore(database, "node-a", hlc)
    paused = replace(initial_state("r", T0), status=RolloutStatus.PAUSED, paused_reason="look", paused_at=T0)
    audit = AuditRow(AuditDraft(T0, "alice", "rollout.paused", "r", "look"), None, {"status": "PAUSED"})
    buckets = [
        BucketRow("r", 1, int(T0), Version.V1, counts(3)),
        BucketRow("r", 1, int(T0), Version.V2, counts(2, 1)),
    ]
    store.save([paused], buckets, [audit])
    assert store.load_states() == {"r": paused}
    window = store.load_window("r", 1, T0)
    assert window[(int(T0), Version.V2)] == counts(2, 1)
    assert store.load_window("r", 2, T0) == {}
    (entry,) = database.list_audit(5)
    assert (entry.actor, entry.after) == ("alice", {"status": "PAUSED"})


def test_a_bucket_is_replaced_not_added_and_nodes_are_summed(
    database: StateDatabase, hlc: HybridLogicalClock
) -> None:
    ours = RolloutStore(database, "node-a", hlc)
    theirs = RolloutStore(database, "node-b", hlc)
    assert ours.node_id == "node-a"
    ours.save([], [BucketRow("r", 1, 100, Version.V2, counts(1))], [])
    ours.save([], [BucketRow("r", 1, 100, Version.V2, counts(4))], [])  # the bucket's full counts again
    theirs.save([], [BucketRow("r", 1, 100, Version.V2, counts(5, 2))], [])
    assert ours.load_window("r", 1, 100) == {(100, Version.V2): counts(9, 2)}
    by_node = ours.load_windows_by_node("r", 1, 100)
    assert by_node == {"node-a": {(100, Version.V2): counts(4)}, "node-b": {(100, Version.V2): counts(5, 2)}}
    assert ours.load_window("r", 1, 200) == {}


def alert(alert_id: str = "a1", fired_at: float = T0, **changes: object) -> Alert:
    base = Alert(
        id=alert_id,
        rule="errors",
        rollout="r",
        metric="error_rate",
        description="too many errors",
        severity=Severity.WARNING,
        status=AlertStatus.FIRING,
        fired_at=fired_at,
        value=0.2,
        threshold=0.1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_alerts_get_a_version_and_are_found_newest_first(
    database: StateDatabase, hlc: HybridLogicalClock
) -> None:
    store = AlertStore(database, hlc)
    older = alert("a1", T0)
    resolved = alert("a2", T0 + 60, status=AlertStatus.RESOLVED, resolved_at=T0 + 90, rollout="other")
    saved = store.save([older, resolved], [AuditDraft(T0, "policy", "alert.fired", "alert/a1", "")])
    assert all(a.version for a in saved)
    assert store.get("a1") == saved[0]
    assert store.get("nope") is None
    assert [a.id for a in store.find(firing_only=False, rollout=None, limit=None)] == ["a2", "a1"]
    assert [a.id for a in store.find(firing_only=False, rollout="other", limit=1)] == ["a2"]
    assert [a.id for a in store.load_firing()] == ["a1"]


def test_episodes_an_acknowledgement_may_cover(database: StateDatabase, hlc: HybridLogicalClock) -> None:
    store = AlertStore(database, hlc)
    store.save(
        [alert("early", T0, status=AlertStatus.RESOLVED, resolved_at=T0 + 10), alert("late", T0 + 1000)], []
    )
    assert [a.id for a in store.episodes(("errors", "r"), T0 + 5)] == ["early"]
    assert [a.id for a in store.episodes(("errors", "r"), T0 + 2000)] == ["late"]
    assert store.episodes(("other", "r"), T0 + 5) == []


def test_acknowledgements_are_kept_once_and_what_they_cover_is_set_once(
    database: StateDatabase, hlc: HybridLogicalClock
) -> None:
    store = AlertStore(database, hlc)
    ack = Acknowledgement("remote-1", "errors", "r", T0, "bob", "mine", "v1")
    store.save([], [], [(ack, None)])
    assert store.acks_since(T0 - 1, uncovered_only=True) == [ack]
    store.save([], [], [(ack, "local-1")])
    store.save([], [], [(ack, "local-2")])  # the first cover stands
    assert store.acks_since(T0 - 1, uncovered_only=True) == []
    assert store.acks_since(T0 - 1) == [ack]
    assert store.acks_since(T0 + 1) == []
    with database.transaction() as conn:
        assert conn.execute("SELECT covers FROM alert_acks").fetchone()[0] == "local-1"
    assert store.read_acks(["remote-1", "missing"]) == [ack]
