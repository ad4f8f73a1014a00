"""Peer-sync merges are joins: commutative, associative, idempotent; any delivery order gives one state."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import reduce
from typing import Any, TypeVar

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sidecar.alerts.acks import Acknowledgement
from sidecar.hlc import Timestamp
from sidecar.rollout.breaker import BreakerState, BreakerStatus
from sidecar.rollout.decision import ReasonCode
from sidecar.rollout.model import Version
from sidecar.rollout.replication import adopt_shared, fleet_window, is_genesis, shared_state, state_rank
from sidecar.rollout.state import PhaseExtension, RolloutState, RolloutStatus, initial_state
from sidecar.rollout.windows import BucketCounts, sum_counts
from sidecar.sync.replica import (
    GENESIS_VERSION,
    AuditEntry,
    BucketEntry,
    Entry,
    RecordEntry,
    RolloutStateEntry,
    absorb,
    acknowledged,
    bucket_is_newer,
    buckets_lacking,
    changed_records,
    changed_states,
    entry_id,
    expired_tombstones,
    merge_alert_ack,
    merge_audit,
    merge_bucket,
    merge_entry,
    merge_record,
    merge_rollout_state,
    merge_states,
    reconcile_records,
    records_lacking,
    states_to_resend,
)

T = TypeVar("T")

NODES = ["node-a", "node-b", "node-c"]
versions = st.builds(
    lambda wall, counter, node: Timestamp(wall, counter, node).encode(),
    st.integers(0, 4),
    st.integers(0, 2),
    st.sampled_from(NODES),
)
json_texts = st.sampled_from(['{"state":"ENABLED"}', '{"state":"DISABLED"}', '{"a":1}'])

records = st.builds(
    RecordEntry,
    kind=st.just("flag"),
    key=st.just("f"),
    definition=st.one_of(st.none(), json_texts),
    version=versions,
)

rollout_states = st.builds(
    lambda gen, phase, status, started, paused, ext: RolloutState(
        key="r",
        generation=gen,
        phase_index=phase,
        phase_started_at=float(started),
        status=status,
        paused_at=float(started) if paused else None,
        paused_reason="ops" if paused else None,
        extension=PhaseExtension(float(started), ReasonCode.INSUFFICIENT_DATA) if ext else None,
    ),
    st.integers(1, 3),
    st.integers(0, 3),
    st.sampled_from(RolloutStatus),
    st.integers(0, 5),
    st.booleans(),
    st.booleans(),
)
state_entries = st.builds(
    RolloutStateEntry,
    key=st.just("r"),
    state=rollout_states,
    version=st.one_of(st.just(GENESIS_VERSION), versions),
)

counts = st.builds(
    lambda s, e, f, lat: BucketCounts(
        requests=s + e + f,
        successes=s,
        errors=e,
        fallbacks=f,
        latency_n=s,
        latency_sum_us=lat * s,
        latency_sum_sq_us2=lat * lat * s,
        error_types=(("timeout", e + f),) if e + f else (),
    ),
    st.integers(0, 5),
    st.integers(0, 3),
    st.integers(0, 2),
    st.integers(0, 3),
)
buckets = st.builds(
    BucketEntry,
    rollout_key=st.just("r"),
    generation=st.just(1),
    node_id=st.just("node-a"),
    bucket_start=st.just(10),
    version=st.just(Version.V2),
    counts=counts,
)
audits = st.builds(
    AuditEntry,
    id=st.just("id-1"),
    ts=st.sampled_from([1.0, 2.0]),
    actor=st.sampled_from(["admin", "policy"]),
    action=st.just("flag.put"),
    target=st.just("f"),
    before=st.one_of(st.none(), json_texts),
    after=st.one_of(st.none(), json_texts),
    reason=st.sampled_from(["", "why"]),
    version=versions,
)

alert_acks = st.builds(
    Acknowledgement,
    alert_id=st.just("alert-1"),
    rule=st.sampled_from(["v2-errors", "memory"]),
    rollout=st.sampled_from(["", "r"]),
    at=st.sampled_from([1.0, 2.0]),
    by=st.sampled_from(["alice", "bob"]),
    note=st.sampled_from(["", "on it"]),
    version=versions,
)

KINDS: list[tuple[str, st.SearchStrategy[Any], Callable[[Any, Any], Any]]] = [
    ("record", records, merge_record),
    ("rollout-state", state_entries, merge_rollout_state),
    ("bucket", buckets, merge_bucket),
    ("audit", audits, merge_audit),
    ("alert-ack", alert_acks, merge_alert_ack),
]


@pytest.mark.parametrize(("name", "strategy", "merge"), KINDS, ids=[k[0] for k in KINDS])
def test_merge_is_commutative_associative_idempotent(name: str, strategy: Any, merge: Any) -> None:
    @settings(max_examples=300)
    @given(strategy, strategy, strategy)
    def check(a: Any, b: Any, c: Any) -> None:
        assert merge(a, b) == merge(b, a)
        assert merge(merge(a, b), c) == merge(a, merge(b, c))
        assert merge(a, a) == a
        assert merge(a, b) in (a, b)  # a join picks one of the copies, never a blend

    check()


# -- whole replicas ------------------------------------------------------------------------------------

any_entry: st.SearchStrategy[Entry] = st.one_of(
    records,
    records.map(lambda r: RecordEntry(r.kind, "g", r.definition, r.version)),
    state_entries,
    buckets,
    buckets.map(lambda b: BucketEntry(b.rollout_key, 1, "node-b", 15, Version.V1, b.counts)),
    audits,
    audits.map(lambda a: dataclasses.replace(a, id="id-2")),
    alert_acks,
    alert_acks.map(lambda a: dataclasses.replace(a, alert_id="alert-2")),
)
entry_lists = st.lists(any_entry, max_size=12)


def replica(entries: list[Entry]) -> dict[Any, Entry]:
    state: dict[Any, Entry] = {}
    for entry in entries:
        state, _ = absorb(state, entry)
    return state


@settings(max_examples=200)
@given(entry_lists, entry_lists, entry_lists)
def test_replica_merge_is_a_join(a: list[Entry], b: list[Entry], c: list[Entry]) -> None:
    ra, rb, rc = replica(a), replica(b), replica(c)
    assert merge_states(ra, rb) == merge_states(rb, ra)
    assert merge_states(merge_states(ra, rb), rc) == merge_states(ra, merge_states(rb, rc))
    assert merge_states(ra, ra) == ra


@settings(max_examples=200)
@given(st.data(), entry_lists)
def test_any_delivery_order_with_duplicates_gives_the_same_state(
    data: st.DataObject, entries: list[Entry]
) -> None:
    reference = replica(entries)
    shuffled = data.draw(st.permutations(entries))
    duplicated = shuffled + data.draw(st.lists(st.sampled_from(entries), max_size=6)) if entries else shuffled
    assert replica(duplicated) == reference
    # Relayed through two partial replicas that are merged later: still the same.
    split = data.draw(st.integers(0, len(shuffled)))
    assert merge_states(replica(shuffled[:split]), replica(shuffled[split:])) == reference


@given(entry_lists, any_entry)
def test_absorb_reports_change_only_for_new_information(entries: list[Entry], entry: Entry) -> None:
    state = replica(entries)
    after, changed = absorb(state, entry)
    assert changed == (after != state)
    again, changed_again = absorb(after, entry)
    assert not changed_again
    assert again == after


def test_entries_of_different_identity_do_not_merge() -> None:
    a = RecordEntry("flag", "a", None, GENESIS_VERSION)
    with pytest.raises(ValueError, match="different"):
        merge_record(a, RecordEntry("flag", "b", None, GENESIS_VERSION))
    with pytest.raises(ValueError, match="cannot merge"):
        merge_entry(a, AuditEntry("x", 0, "", "", "", None, None, "", ""))
    assert entry_id(a) == ("record", "flag", "a")


# -- rollout state rules -------------------------------------------------------------------------------


@given(state_entries, state_entries)
def test_rollback_of_a_generation_beats_any_advance_of_it(a: RolloutStateEntry, b: RolloutStateEntry) -> None:
    winner = merge_rollout_state(a, b)
    if a.state.generation == b.state.generation:
        statuses = {a.state.status, b.state.status}
        if RolloutStatus.ROLLED_BACK in statuses:
            assert winner.state.status is RolloutStatus.ROLLED_BACK
        elif RolloutStatus.COMPLETED in statuses:
            assert winner.state.status is RolloutStatus.COMPLETED
        elif a.state.is_active and b.state.is_active:
            assert winner.state.phase_index == max(a.state.phase_index, b.state.phase_index)
    else:
        assert winner.state.generation == max(a.state.generation, b.state.generation)
    assert state_rank(winner.state) == max(state_rank(a.state), state_rank(b.state))


@given(st.lists(state_entries, min_size=1, max_size=8), st.data())
def test_a_stale_peer_never_undoes_a_rollback(history: list[RolloutStateEntry], data: st.DataObject) -> None:
    rolled_back = RolloutStateEntry(
        "r", replace_status(history[0].state, RolloutStatus.ROLLED_BACK), Timestamp(1, 0, "node-a").encode()
    )
    stale = [e for e in history if e.state.generation <= rolled_back.state.generation]
    order = data.draw(st.permutations([rolled_back, *stale]))
    winner = reduce(merge_rollout_state, order)
    assert winner.state.status is RolloutStatus.ROLLED_BACK
    assert winner.state.generation == rolled_back.state.generation


def replace_status(state: RolloutState, status: RolloutStatus) -> RolloutState:
    from dataclasses import replace

    return replace(state, status=status)


def test_pause_and_resume_in_one_phase_are_last_writer_wins() -> None:
    running = initial_state("r", 100.0)
    paused = replace_status(running, RolloutStatus.PAUSED)
    early = RolloutStateEntry("r", paused, Timestamp(5, 0, "node-a").encode())
    late = RolloutStateEntry("r", running, Timestamp(6, 0, "node-b").encode())
    assert merge_rollout_state(early, late) is late
    assert merge_rollout_state(late, early) is late


def test_a_joining_sidecar_adopts_the_group_phase_clock() -> None:
    group = RolloutStateEntry("r", initial_state("r", 100.0), GENESIS_VERSION)
    newcomer = RolloutStateEntry("r", initial_state("r", 500.0), GENESIS_VERSION)
    assert merge_rollout_state(group, newcomer) is group
    assert merge_rollout_state(newcomer, group) is group
    assert is_genesis(group.state)
    assert not is_genesis(replace_status(group.state, RolloutStatus.PAUSED))


def test_host_local_fields_are_not_shared_and_survive_adoption() -> None:
    opened = BreakerState(status=BreakerStatus.OPEN, opened_at=3.0)
    local = RolloutState("r", 1, 0, 10.0, consecutive_v2_failures=4, breaker=opened)
    assert shared_state(local).breaker.status is BreakerStatus.CLOSED
    remote = replace_status(RolloutState("r", 1, 1, 20.0), RolloutStatus.RUNNING)
    adopted = adopt_shared(local, remote)
    assert adopted.phase_index == 1
    assert adopted.breaker is opened
    assert adopted.consecutive_v2_failures == 4
    fresh = adopt_shared(local, RolloutState("r", 2, 0, 30.0))
    assert fresh.breaker.status is BreakerStatus.CLOSED
    assert fresh.consecutive_v2_failures == 0


# -- buckets and fleet windows ---------------------------------------------------------------------------


@given(buckets, buckets)
def test_bucket_merge_keeps_the_larger_count(a: BucketEntry, b: BucketEntry) -> None:
    assert merge_bucket(a, b).counts.requests == max(a.counts.requests, b.counts.requests)


@given(
    st.dictionaries(
        st.sampled_from(NODES), st.dictionaries(st.sampled_from([(0, Version.V1), (5, Version.V2)]), counts)
    ),
    st.dictionaries(st.sampled_from([(0, Version.V1), (5, Version.V2)]), counts),
    st.sampled_from(NODES),
)
def test_fleet_window_sums_other_nodes_once(
    remote: dict[str, dict[Any, BucketCounts]], local: dict[Any, BucketCounts], me: str
) -> None:
    window = fleet_window(local, remote, me)
    reversed_remote = dict(reversed(list(remote.items())))
    assert window == fleet_window(local, reversed_remote, me)
    expected = sum_counts([*local.values(), *(c for n, w in remote.items() if n != me for c in w.values())])
    assert sum_counts(window.values()) == expected


# -- tombstones ------------------------------------------------------------------------------------------


def test_tombstones_expire_only_after_every_member_acknowledged_and_aged() -> None:
    version = Timestamp(1_000, 0, "node-a").encode()
    tombstone = RecordEntry("flag", "f", None, version)
    live = RecordEntry("flag", "g", "{}", version)
    members = ["node-b", "node-c"]
    acks = {"node-b": {("flag", "f"): version}}
    assert expired_tombstones([tombstone, live], acks, members, 10_000, 1_000) == []
    acks["node-c"] = {("flag", "f"): Timestamp(2_000, 0, "node-c").encode()}  # something newer also counts
    assert expired_tombstones([tombstone, live], acks, members, 10_000, 1_000) == [tombstone]
    assert expired_tombstones([tombstone], acks, members, 1_500, 1_000) == []  # too young
    assert expired_tombstones([tombstone], acks, [], 10_000, 1_000) == []  # no known member: keep
    assert not acknowledged(tombstone, None)
    assert not acknowledged(tombstone, Timestamp(999, 0, "node-b").encode())


@given(
    st.lists(records, max_size=6),
    st.dictionaries(st.sampled_from(NODES), st.dictionaries(st.just(("flag", "f")), versions)),
)
def test_expired_tombstones_were_acknowledged_by_everyone(
    rs: list[RecordEntry], acks: dict[str, Any]
) -> None:
    for entry in expired_tombstones(rs, acks, NODES, 10**12, 0):
        assert entry.deleted
        assert all(acknowledged(entry, acks.get(n, {}).get(entry.record_id)) for n in NODES)


# -- the decisions the running service makes with the merge ---------------------------------------------

keyed_records = st.builds(
    RecordEntry,
    kind=st.sampled_from(["flag", "rollout"]),
    key=st.sampled_from(["f", "g"]),
    definition=st.one_of(st.none(), json_texts),
    version=versions,
)
record_lists = st.lists(keyed_records, max_size=8)


def by_id(entries: list[RecordEntry]) -> dict[tuple[str, str], RecordEntry]:
    held: dict[tuple[str, str], RecordEntry] = {}
    for entry in entries:
        known = held.get(entry.record_id)
        held[entry.record_id] = entry if known is None else merge_record(known, entry)
    return held


def joined(*replicas: list[RecordEntry]) -> dict[tuple[str, str], RecordEntry]:
    return by_id([e for r in replicas for e in r])


@given(record_lists, record_lists)
def test_applying_what_changed_gives_the_join(held: list[RecordEntry], incoming: list[RecordEntry]) -> None:
    index = by_id(held)
    changed = changed_records(index, incoming)
    assert all(index.get(e.record_id) != e for e in changed)  # only what is new is stored and relayed
    assert len({e.record_id for e in changed}) == len(changed)
    index.update((e.record_id, e) for e in changed)
    assert index == joined(held, incoming)


@given(st.lists(state_entries, max_size=6), st.lists(state_entries, max_size=6))
def test_states_changed_and_resent_make_both_sides_the_join(
    ours: list[RolloutStateEntry], theirs: list[RolloutStateEntry]
) -> None:
    mine = {e.key: e for e in changed_states({}, ours)}
    other = {e.key: e for e in changed_states({}, theirs)}
    join = reduce(merge_rollout_state, [*ours, *theirs]) if ours or theirs else None
    # They send us theirs; we send back what beats their copy.
    mine.update((e.key, e) for e in changed_states(mine, other.values()))
    other.update((e.key, e) for e in changed_states(other, states_to_resend(mine, other.values())))
    assert mine == other == ({join.key: join} if join is not None else {})


@given(record_lists, record_lists)
def test_reconciling_the_table_with_the_index_converges_both(
    indexed: list[RecordEntry], stored: list[RecordEntry]
) -> None:
    index, table = by_id(indexed), by_id(stored)
    publish, repair = reconcile_records(index, table.values())
    index.update((e.record_id, e) for e in publish)
    table.update((e.record_id, e) for e in changed_records(table, repair))
    assert index == table == joined(indexed, stored)


@given(record_lists, record_lists)
def test_what_a_peer_lacks_brings_it_to_the_join(ours: list[RecordEntry], theirs: list[RecordEntry]) -> None:
    # A version is issued once: two copies with one version are the same write.
    assume(len({e.version for e in {*ours, *theirs}}) == len({*ours, *theirs}))
    mine, other = by_id(ours), by_id(theirs)
    versions_held = {rid: (e.version, e.deleted) for rid, e in other.items()}
    lacking, acks = records_lacking(mine, versions_held)
    other.update((e.record_id, e) for e in changed_records(other, lacking))
    assert all(merge_record(other[rid], e) == other[rid] for rid, e in mine.items())
    assert set(acks) == {rid for rid, e in mine.items() if e.deleted and rid in versions_held}


def test_bucket_digests_decide_what_is_newer_and_what_a_peer_lacks() -> None:
    assert bucket_is_newer(None, (1, "a"))
    assert bucket_is_newer((1, "a"), (2, "b"))
    assert bucket_is_newer((1, "a"), (1, "b"))  # decided on the full rows
    assert not bucket_is_newer((1, "a"), (1, "a"))
    assert not bucket_is_newer((2, "a"), (1, "b"))
    held = {(10, "V1"): (3, "x"), (10, "V2"): (2, "y"), (20, "V1"): (1, "z"), (30, "V1"): (1, "w")}
    theirs = {(10, "V1"): (3, "x"), (10, "V2"): (1, "y"), (20, "V1"): (1, "other")}
    assert buckets_lacking(held, theirs) == [(10, "V2"), (20, "V1"), (30, "V1")]
