"""What sidecars of one group share, and the pure functions that merge it.

Every kind of shared entry has an identity and a merge that is a *join*: the maximum under a total order on
the whole entry. A join is commutative, associative and idempotent, so peers that receive the same entries in
any order, any number of times, through any relay path, end with bit-identical state. Nothing here does I/O.

* **Records** (admin-written flags and rollouts): last writer wins by hybrid-logical-clock version; the node
  id inside the encoded version breaks ties. A deletion is a tombstone (``definition is None``) that wins like
  a write and is dropped only after every known peer acknowledged it (:func:`expired_tombstones`).
* **Rollout state**: the *shared* part of a :class:`RolloutState` (:func:`shared_state`; the circuit breaker
  and the last decision stay per host). Ordered by ``(generation, status rank, phase, version, ...)``: a newer
  generation beats everything older; within a generation ROLLED_BACK beats COMPLETED beats RUNNING/PAUSED, and
  an active rollout only moves forward through its phases; between equals, the later version (pause, resume)
  wins. A stale peer can therefore never undo a rollback. The adoption of a new rollout carries the
  :data:`GENESIS_VERSION`, so a sidecar that joins later adopts the group's phase clock instead of resetting
  it.
* **Outcome buckets**: per node, per bucket, per version, as grow-only rows: a node only ever adds to its own
  counts, so the row with more requests is the newer one. The fleet total is the sum over nodes
  (:func:`fleet_window`), which never counts the local node twice.
* **Audit entries**: append-only, de-duplicated by id.
* **Alert acknowledgements** (:class:`~sidecar.alerts.acks.Acknowledgement`): immutable, de-duplicated by the
  id of the alert acknowledged where they were made. Which local alert one covers, and which of several wins,
  is decided on each sidecar from the set of acknowledgements (:mod:`sidecar.alerts.acks`), so equal sets
  give equal results.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

from sidecar.alerts.acks import Acknowledgement
from sidecar.hlc import Timestamp
from sidecar.rollout.breaker import CLOSED
from sidecar.rollout.model import Version
from sidecar.rollout.state import RolloutState, RolloutStatus, initial_state
from sidecar.rollout.windows import BucketCounts, WindowKey, merge_windows
from sidecar.store.codec import encode

# Lower than every version a clock issues: the version of a rollout's automatic adoption.
GENESIS_VERSION = Timestamp(0, 0, "").encode()

RecordId: TypeAlias = tuple[str, str]  # (kind, key)
BucketId: TypeAlias = tuple[str, int, str, int, str]  # (rollout, generation, node, bucket_start, version)
BucketGroup: TypeAlias = tuple[str, int, str]  # (rollout, generation, node)
EntryId: TypeAlias = tuple[str, ...]


def canonical_json(value: Any) -> str:
    """The one JSON text of a value (sorted keys, no spaces): equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# -- records -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordEntry:
    """One admin-written record, or its tombstone (``definition is None``)."""

    kind: str
    key: str
    definition: str | None  # canonical JSON
    version: str  # encoded HLC timestamp

    @property
    def deleted(self) -> bool:
        return self.definition is None

    @property
    def record_id(self) -> RecordId:
        return (self.kind, self.key)


def _record_order(entry: RecordEntry) -> tuple[str, bool, str]:
    return (entry.version, entry.definition is None, entry.definition or "")


def merge_record(a: RecordEntry, b: RecordEntry) -> RecordEntry:
    """Last writer wins; at an equal version (never issued twice) the tombstone, then the text."""
    _require_same(a.record_id, b.record_id)
    return a if _record_order(a) >= _record_order(b) else b


def acknowledged(tombstone: RecordEntry, peer_version: str | None) -> bool:
    """Whether a peer that holds ``peer_version`` of the record has seen the deletion (or something newer)."""
    return peer_version is not None and peer_version >= tombstone.version


def expired_tombstones(
    records: Iterable[RecordEntry],
    acks: Mapping[str, Mapping[RecordId, str]],
    members: Collection[str],
    now_ms: int,
    min_age_ms: int,
) -> list[RecordEntry]:
    """Tombstones every known member acknowledged and that are at least ``min_age_ms`` old.

    ``acks`` maps a member's node id to the versions it reported holding. Without any known member nothing
    expires: a peer that joins later could otherwise bring a deleted record back.
    """
    if not members:
        return []
    expired: list[RecordEntry] = []
    for entry in records:
        if not entry.deleted or now_ms - Timestamp.decode(entry.version).wall_ms < min_age_ms:
            continue
        if all(acknowledged(entry, acks.get(member, {}).get(entry.record_id)) for member in members):
            expired.append(entry)
    return expired


# -- rollout state -------------------------------------------------------------------------------------

_STATUS_RANK = {
    RolloutStatus.RUNNING: 0,
    RolloutStatus.PAUSED: 0,
    RolloutStatus.COMPLETED: 1,
    RolloutStatus.ROLLED_BACK: 2,
}


def shared_state(state: RolloutState) -> RolloutState:
    """The part of a rollout's state the group agrees on: host-local fields reset to their defaults.

    The circuit breaker protects one host's callers and the last decision is each host's own evaluation, so
    neither is shared (and changes to them do not create new versions).
    """
    return replace(state, last_decision=None, last_decided_at=None, consecutive_v2_failures=0, breaker=CLOSED)


def adopt_shared(local: RolloutState | None, shared: RolloutState) -> RolloutState:
    """A host's state after adopting the group's ``shared`` state: its own breaker and last decision are kept
    within a generation; a new generation starts them afresh."""
    if local is None or local.generation != shared.generation:
        return shared_state(shared)
    return replace(
        shared,
        last_decision=local.last_decision,
        last_decided_at=local.last_decided_at,
        consecutive_v2_failures=local.consecutive_v2_failures,
        breaker=local.breaker,
    )


def is_genesis(state: RolloutState) -> bool:
    """The state a sidecar creates by itself when it first sees a rollout (generation 1, first phase)."""
    return shared_state(state) == initial_state(state.key, state.phase_started_at)


def state_rank(state: RolloutState) -> tuple[int, int, int]:
    """``(generation, status rank, phase)``: what a merge may never move backwards."""
    return (state.generation, _STATUS_RANK[state.status], state.phase_index)


@dataclass(frozen=True, slots=True)
class RolloutStateEntry:
    key: str
    state: RolloutState  # shared part only (see shared_state)
    version: str  # encoded HLC timestamp of the change, or GENESIS_VERSION

    def canonical(self) -> str:
        return canonical_json(encode(self.state))


def _state_order(entry: RolloutStateEntry) -> tuple[int, int, int, str, float, str]:
    # At equal rank and version (two sidecars adopted the rollout by themselves) the earlier phase clock wins.
    return (*state_rank(entry.state), entry.version, -entry.state.phase_started_at, entry.canonical())


def merge_rollout_state(a: RolloutStateEntry, b: RolloutStateEntry) -> RolloutStateEntry:
    _require_same(a.key, b.key)
    return a if _state_order(a) >= _state_order(b) else b


# -- outcome buckets -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BucketEntry:
    """One node's counts of one version in one time bucket of one rollout generation."""

    rollout_key: str
    generation: int
    node_id: str
    bucket_start: int
    version: Version
    counts: BucketCounts

    @property
    def bucket_id(self) -> BucketId:
        return (self.rollout_key, self.generation, self.node_id, self.bucket_start, self.version.value)

    @property
    def group(self) -> BucketGroup:
        return (self.rollout_key, self.generation, self.node_id)


def counts_order(counts: BucketCounts) -> tuple[Any, ...]:
    """Requests first (counts only grow), then every field, for a total order."""
    return (
        counts.requests,
        counts.successes,
        counts.errors,
        counts.fallbacks,
        counts.latency_n,
        counts.latency_sum_us,
        counts.latency_sum_sq_us2,
        counts.histogram,
        counts.error_types,
    )


def merge_bucket(a: BucketEntry, b: BucketEntry) -> BucketEntry:
    """The row with more requests: a grow-only counter per (node, bucket, version)."""
    _require_same(a.bucket_id, b.bucket_id)
    return a if counts_order(a.counts) >= counts_order(b.counts) else b


def fleet_window(
    local: Mapping[WindowKey, BucketCounts],
    remote: Mapping[str, Mapping[WindowKey, BucketCounts]],
    self_node: str,
) -> dict[WindowKey, BucketCounts]:
    """This host's window plus every other node's: the fleet-wide counts the policy gates read.

    ``remote`` maps node ids to their windows; an entry for ``self_node`` (our own rows echoed back by a peer)
    is ignored, so nothing is counted twice. Integer sums: the result does not depend on the order.
    """
    merged = dict(local)
    for node, window in remote.items():
        if node != self_node:
            merged = merge_windows(merged, window)
    return merged


# -- audit ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    ts: float
    actor: str
    action: str
    target: str
    before: str | None  # canonical JSON
    after: str | None
    reason: str
    version: str


def _audit_order(entry: AuditEntry) -> tuple[Any, ...]:
    return (
        entry.version,
        entry.ts,
        entry.actor,
        entry.action,
        entry.target,
        entry.before is None,
        entry.before or "",
        entry.after is None,
        entry.after or "",
        entry.reason,
    )


def merge_audit(a: AuditEntry, b: AuditEntry) -> AuditEntry:
    """Copies of one id are equal; the order only makes a corrupt copy deterministic."""
    _require_same(a.id, b.id)
    return a if _audit_order(a) >= _audit_order(b) else b


# -- alert acknowledgements ---------------------------------------------------------------------------


def _alert_ack_order(entry: Acknowledgement) -> tuple[Any, ...]:
    return (entry.version, entry.at, entry.rule, entry.rollout, entry.by, entry.note)


def merge_alert_ack(a: Acknowledgement, b: Acknowledgement) -> Acknowledgement:
    """Copies of one acknowledgement are equal; the order only makes a corrupt copy deterministic."""
    _require_same(a.alert_id, b.alert_id)
    return a if _alert_ack_order(a) >= _alert_ack_order(b) else b


# -- any entry -----------------------------------------------------------------------------------------

Entry: TypeAlias = RecordEntry | RolloutStateEntry | BucketEntry | AuditEntry | Acknowledgement


def entry_id(entry: Entry) -> EntryId:
    """The identity under which copies of an entry are merged."""
    if isinstance(entry, RecordEntry):
        return ("record", entry.kind, entry.key)
    if isinstance(entry, RolloutStateEntry):
        return ("state", entry.key)
    if isinstance(entry, BucketEntry):
        rollout, generation, node, start, version = entry.bucket_id
        return ("bucket", rollout, str(generation), node, str(start), version)
    if isinstance(entry, Acknowledgement):
        return ("alert_ack", entry.alert_id)
    return ("audit", entry.id)


def merge_entry(a: Entry, b: Entry) -> Entry:
    """Join of two copies of one entry (same :func:`entry_id`)."""
    if isinstance(a, RecordEntry) and isinstance(b, RecordEntry):
        return merge_record(a, b)
    if isinstance(a, RolloutStateEntry) and isinstance(b, RolloutStateEntry):
        return merge_rollout_state(a, b)
    if isinstance(a, BucketEntry) and isinstance(b, BucketEntry):
        return merge_bucket(a, b)
    if isinstance(a, AuditEntry) and isinstance(b, AuditEntry):
        return merge_audit(a, b)
    if isinstance(a, Acknowledgement) and isinstance(b, Acknowledgement):
        return merge_alert_ack(a, b)
    raise ValueError(f"cannot merge {type(a).__name__} with {type(b).__name__}")


SyncState: TypeAlias = Mapping[EntryId, Entry]


def absorb(state: SyncState, entry: Entry) -> tuple[dict[EntryId, Entry], bool]:
    """``state`` with ``entry`` merged in, and whether that changed anything (whether to relay it)."""
    ident = entry_id(entry)
    existing = state.get(ident)
    merged = entry if existing is None else merge_entry(existing, entry)
    if merged == existing:
        return dict(state), False
    result = dict(state)
    result[ident] = merged
    return result, True


def merge_states(a: SyncState, b: SyncState) -> dict[EntryId, Entry]:
    """Entry-wise join of two replicas."""
    merged = dict(a)
    for ident, entry in b.items():
        existing = merged.get(ident)
        merged[ident] = entry if existing is None else merge_entry(existing, entry)
    return merged


def _require_same(a: object, b: object) -> None:
    if a != b:
        raise ValueError(f"cannot merge different entries {a!r} and {b!r}")
