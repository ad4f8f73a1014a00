"""The in-memory index of the replica: what this sidecar holds of every replicated kind, compactly.

Summaries (hashes per section) and details (versions per entry) are computed from it, and incoming entries are
merged into it first, on the event loop, so two sessions delivering the same entry apply it once. Records and
rollout states are held whole; buckets as (requests, fingerprint), audit entries and acknowledgements as ids.
"""

from __future__ import annotations

from collections.abc import Iterable

from sidecar.alerts.acks import Acknowledgement
from sidecar.sync import wire
from sidecar.sync.replica import (
    BucketDigest,
    BucketEntry,
    BucketGroup,
    BucketId,
    BucketSlot,
    RecordEntry,
    RecordId,
    RolloutStateEntry,
    bucket_is_newer,
    buckets_lacking,
    records_lacking,
)
from sidecar.v1 import sync_pb2 as pb


class ReplicaIndex:
    def __init__(self) -> None:
        self.records: dict[RecordId, RecordEntry] = {}
        self.states: dict[str, RolloutStateEntry] = {}
        self.buckets: dict[BucketGroup, dict[BucketSlot, BucketDigest]] = {}
        self.audit: dict[int, set[str]] = {}  # hour -> ids
        self.alert_acks: dict[str, float] = {}  # id -> when it was made
        # Per peer node id: the versions it reported holding of our tombstones.
        self.acks: dict[str, dict[RecordId, str]] = {}

    # -- entries held as digests -----------------------------------------------------------------------

    def bucket_digest(self, entry: BucketEntry) -> BucketDigest | None:
        return self.buckets.get(entry.group, {}).get((entry.bucket_start, entry.version.value))

    def add_bucket(self, entry: BucketEntry) -> bool:
        """Hold a bucket's digest; whether it is newer than what the index held."""
        new = (entry.counts.requests, wire.fingerprint(entry))
        if not bucket_is_newer(self.bucket_digest(entry), new):
            return False
        self.buckets.setdefault(entry.group, {})[(entry.bucket_start, entry.version.value)] = new
        return True

    def same_requests_other_counts(self, entry: BucketEntry) -> bool:
        """Equal request counts, other contents: only the full rows can decide which copy wins."""
        old = self.bucket_digest(entry)
        return old is not None and old[0] == entry.counts.requests and old[1] != wire.fingerprint(entry)

    def add_audit(self, ident: str, ts: float, horizon: float) -> bool:
        if ts < horizon:
            return False
        hour = self.audit.setdefault(int(ts // 3600), set())
        if ident in hour:
            return False
        hour.add(ident)
        return True

    def add_alert_ack(self, ack: Acknowledgement, horizon: float) -> bool:
        if ack.alert_id in self.alert_acks or ack.at < horizon:
            return False
        self.alert_acks[ack.alert_id] = ack.at
        return True

    def prune(self, bucket_horizon: int, audit_horizon: float) -> None:
        """Forget what is older than the horizons: it is no longer compared or sent."""
        for group in list(self.buckets):
            kept = {slot: d for slot, d in self.buckets[group].items() if slot[0] >= bucket_horizon}
            if kept:
                self.buckets[group] = kept
            else:
                del self.buckets[group]
        oldest_hour = int(audit_horizon // 3600)
        for hour in [h for h in self.audit if h < oldest_hour]:
            del self.audit[hour]
        self.alert_acks = {i: at for i, at in self.alert_acks.items() if at >= audit_horizon}

    # -- summaries and details -------------------------------------------------------------------------

    def summary(self) -> pb.SyncFrame:
        summary = pb.SyncSummary(
            records_hash=wire.records_hash(self.records.values()),
            states_hash=wire.states_hash(self.states.values()),
            alert_acks_hash=wire.ids_hash(self.alert_acks),
        )
        for group, buckets in self.buckets.items():
            summary.bucket_groups.append(
                pb.BucketGroupHash(group=wire.group_message(group), hash=wire.group_hash(buckets))
            )
        for hour, ids in self.audit.items():
            summary.audit_hours.append(pb.AuditHourHash(hour=hour, hash=wire.ids_hash(ids)))
        return pb.SyncFrame(summary=summary)

    def detail(self, node_id: str, summary: pb.SyncSummary) -> pb.SyncDetail | None:
        """What to tell a peer whose summary differs from ours, section by section (None: nothing differs)."""
        detail = pb.SyncDetail()
        if summary.records_hash != wire.records_hash(self.records.values()):
            detail.records_included = True
            detail.records.extend(
                pb.RecordVersion(kind=r.kind, key=r.key, version=r.version, deleted=r.deleted)
                for r in self.records.values()
            )
        else:  # the peer holds exactly our records: every tombstone is acknowledged
            self.acks[node_id] = {rid: r.version for rid, r in self.records.items() if r.deleted}
        if summary.states_hash != wire.states_hash(self.states.values()):
            detail.states_included = True
            detail.states.extend(wire.state_message(e) for e in self.states.values())
        theirs = {wire.group_of(g.group): g.hash for g in summary.bucket_groups}
        for group in sorted(theirs.keys() | self.buckets.keys()):
            ours = self.buckets.get(group)
            if theirs.get(group) != (wire.group_hash(ours) if ours is not None else None):
                versions = [
                    pb.BucketVersion(bucket_start=s, version=v, requests=r, fingerprint=f)
                    for (s, v), (r, f) in (ours or {}).items()
                ]
                detail.bucket_groups.append(
                    pb.BucketGroupDetail(group=wire.group_message(group), buckets=versions)
                )
        their_hours = {h.hour: h.hash for h in summary.audit_hours}
        for hour in sorted(their_hours.keys() | self.audit.keys()):
            ids = self.audit.get(hour)
            if their_hours.get(hour) != (wire.ids_hash(ids) if ids is not None else None):
                detail.audit_hours.append(pb.AuditHourDetail(hour=hour, ids=sorted(ids or ())))
        if summary.alert_acks_hash != wire.ids_hash(self.alert_acks):
            detail.alert_acks_included = True
            detail.alert_ack_ids.extend(sorted(self.alert_acks))
        differs = detail.records_included or detail.states_included or detail.alert_acks_included
        return detail if differs or detail.bucket_groups or detail.audit_hours else None

    def records_lacking(self, node_id: str, versions: Iterable[pb.RecordVersion]) -> list[RecordEntry]:
        """Records the peer lacks or holds older; notes which tombstones it acknowledged."""
        theirs = {(r.kind, r.key): (r.version, r.deleted) for r in versions}
        lacking, acks = records_lacking(self.records, theirs)
        self.acks.setdefault(node_id, {}).update(acks)
        return lacking

    def buckets_lacking(self, groups: Iterable[pb.BucketGroupDetail]) -> list[BucketId]:
        wanted: list[BucketId] = []
        for group_detail in groups:
            group = wire.group_of(group_detail.group)
            theirs = {(b.bucket_start, b.version): (b.requests, b.fingerprint) for b in group_detail.buckets}
            wanted.extend((*group, *slot) for slot in buckets_lacking(self.buckets.get(group, {}), theirs))
        return wanted

    def audit_lacking(self, hours: Iterable[pb.AuditHourDetail]) -> list[str]:
        missing: list[str] = []
        for hour_detail in hours:
            missing.extend(self.audit.get(hour_detail.hour, set()) - set(hour_detail.ids))
        return missing

    def digest(self) -> list[str]:
        """The lines the replica's digest hashes (see :func:`sidecar.sync.status.digest`)."""
        parts = [wire.records_hash(self.records.values()), wire.states_hash(self.states.values())]
        parts.extend(f"{g}={wire.group_hash(b)}" for g, b in sorted(self.buckets.items()))
        parts.extend(f"{h}={wire.ids_hash(ids)}" for h, ids in sorted(self.audit.items()))
        parts.append(wire.ids_hash(self.alert_acks))
        return parts
