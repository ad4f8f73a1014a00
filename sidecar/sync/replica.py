"""The replica: what sidecars of one group share, the pure functions that merge it, and the decisions the
running service makes with them (what of a peer's entries to apply, what to send back).

Every kind of shared entry has an identity and a merge that is a *join*: the maximum under a total order on
the whole entry. A join is commutative, associative and idempotent, so peers that receive the same entries in
any order, any number of times, through any relay path, end with bit-identical state. Nothing here does I/O.

* **Records** (admin-written flags and rollouts): last writer wins by hybrid-logical-clock version; the node
  id inside the encoded version breaks ties. A deletion is a tombstone (``definition is None``) that wins like
  a write and is dropped only after every known peer acknowledged it (:func:`expired_tombstones`).
* **Rollout state**: the *shared* part of a :class:`RolloutState`, merged by the rollout core's order
  (:mod:`sidecar.rollout.replication`), then by its canonical text. The adoption of a new rollout carries the
  :data:`GENESIS_VERSION`, so a sidecar that joins later adopts the group's phase clock instead of resetting
  it.
* **Outcome buckets**: per node, per bucket, per version, as grow-only rows: a node only ever adds to its own
  counts, so the row with more requests is the newer one. The fleet total is the sum over nodes
  (:func:`sidecar.rollout.replication.fleet_window`), which never counts the local node twice.
* **Audit entries**: append-only, de-duplicated by id.
* **Alert acknowledgements** (:class:`~sidecar.alerts.acks.Acknowledgement`): immutable, de-duplicated by the
  id of the alert acknowledged where they were made. Which local alert one covers, and which of several wins,
  is decided on each sidecar from the set of acknowledgements (:mod:`sidecar.alerts.acks`), so equal sets
  give equal results.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from sidecar.alerts.acks import Acknowledgement
from sidecar.hlc import Timestamp
from sidecar.rollout.model import Version
from sidecar.rollout.replication import state_order
from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts
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


@dataclass(frozen=True, slots=True)
class RolloutStateEntry:
    key: str
    state: RolloutState  # shared part only (see shared_state)
    version: str  # encoded HLC timestamp of the change, or GENESIS_VERSION

    def canonical(self) -> str:
        return canonical_json(encode(self.state))


def _state_order(entry: RolloutStateEntry) -> tuple[int, int, int, str, float, str]:
    # The rollout core's order, then the whole text, so that any two different copies are ordered.
    return (*state_order(entry.state, entry.version), entry.canonical())


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


# -- decisions of the running service --------------------------------------------------------------------

K = TypeVar("K")
E = TypeVar("E")
# What the replica index keeps of a bucket: (requests, fingerprint of the counts).
BucketDigest: TypeAlias = tuple[int, str]
BucketSlot: TypeAlias = tuple[int, str]  # (bucket_start, version)


def changed(
    held: Mapping[K, E], entries: Iterable[E], key: Callable[[E], K], merge: Callable[[E, E], E]
) -> dict[K, E]:
    """What ``entries`` change in ``held``: the merged winner of every id whose copy it replaces.

    This is :func:`absorb` over one kind, keyed as the index keys it; what it returns is what to store and
    what to relay to the other peers.
    """
    result: dict[K, E] = {}
    for entry in entries:
        ident = key(entry)
        known = result.get(ident, held.get(ident))
        winner = entry if known is None else merge(known, entry)
        if winner != known:
            result[ident] = winner
    return result


def changed_records(
    held: Mapping[RecordId, RecordEntry], entries: Iterable[RecordEntry]
) -> list[RecordEntry]:
    return list(changed(held, entries, lambda e: e.record_id, merge_record).values())


def changed_states(
    held: Mapping[str, RolloutStateEntry], entries: Iterable[RolloutStateEntry]
) -> list[RolloutStateEntry]:
    return list(changed(held, entries, lambda e: e.key, merge_rollout_state).values())


def reconcile_records(
    held: Mapping[RecordId, RecordEntry], stored: Iterable[RecordEntry]
) -> tuple[list[RecordEntry], list[RecordEntry]]:
    """Compare the stored records with the index: ``(publish, repair)``.

    A stored row that wins is a local write to publish; an indexed entry that beats the stored row, or whose
    row is gone, is written back (a local writer raced a merge, or a row was lost).
    """
    seen: set[RecordId] = set()
    publish: list[RecordEntry] = []
    repair: list[RecordEntry] = []
    for row in stored:
        seen.add(row.record_id)
        known = held.get(row.record_id)
        if known == row:
            continue
        if known is None or merge_record(known, row) == row:
            publish.append(row)
        else:
            repair.append(known)
    repair.extend(entry for rid, entry in held.items() if rid not in seen)
    return publish, repair


def records_lacking(
    held: Mapping[RecordId, RecordEntry], theirs: Mapping[RecordId, tuple[str, bool]]
) -> tuple[list[RecordEntry], dict[RecordId, str]]:
    """Records a peer holding ``theirs`` (version, deleted) lacks or holds older, and the versions it holds of
    our tombstones (its acknowledgements)."""
    lacking: list[RecordEntry] = []
    acks: dict[RecordId, str] = {}
    for rid, ours in held.items():
        other = theirs.get(rid)
        if other is None or other < (ours.version, ours.deleted):
            lacking.append(ours)
        if ours.deleted and other is not None:
            acks[rid] = other[0]
    return lacking, acks


def states_to_resend(
    held: Mapping[str, RolloutStateEntry], theirs: Iterable[RolloutStateEntry]
) -> list[RolloutStateEntry]:
    """Our states a peer holding ``theirs`` lacks, or holds a copy of that ours beats."""
    other = {entry.key: entry for entry in theirs}
    return [
        mine
        for key, mine in held.items()
        if (copy := other.get(key)) is None or (mine != copy and merge_rollout_state(mine, copy) is mine)
    ]


def bucket_is_newer(old: BucketDigest | None, new: BucketDigest) -> bool:
    """Whether a bucket with digest ``new`` may replace the indexed one (counts only grow; equal request
    counts with other contents are decided on the full rows, :func:`merge_bucket`)."""
    return old is None or (new[0] >= old[0] and new != old)


def buckets_lacking(
    held: Mapping[BucketSlot, BucketDigest], theirs: Mapping[BucketSlot, BucketDigest]
) -> list[BucketSlot]:
    """Slots of one bucket group where a peer holding ``theirs`` lacks our row or may hold an older one."""
    return [
        slot
        for slot, (requests, fp) in held.items()
        if (other := theirs.get(slot)) is None
        or requests > other[0]
        or (requests == other[0] and fp != other[1])
    ]
