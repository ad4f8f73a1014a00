"""The replica of one sidecar at work: local changes in, peers' entries merged, the winners stored.

Incoming entries are merged into the index first (on the event loop, so two sessions delivering the same
entry apply it once; :mod:`sidecar.sync.replica` decides what changes). What changed is then written through
the sync store, handed to the config store, the rollout runtime or the alert runtime, and published to the
sessions: gossip, so a change reaches sidecars this one has no session with.

Local changes arrive four ways: the config store's change events (the records table is re-read and compared),
the rollout runtime's flush listener (state transitions, outcome buckets), the alert runtime's acknowledgement
listener, and a scan of new audit rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from sidecar.alerts.acks import Acknowledgement
from sidecar.clock import Clock
from sidecar.hlc import HybridLogicalClock, Timestamp
from sidecar.rollout.replication import is_genesis, shared_state, state_rank
from sidecar.sync import replica, wire
from sidecar.sync.index import ReplicaIndex
from sidecar.sync.ports import Alerts, ConfigSource, LocalBucket, Rollouts
from sidecar.sync.replica import GENESIS_VERSION, BucketEntry, Entry, RolloutStateEntry
from sidecar.sync.settings import SyncSettings
from sidecar.sync.store import SyncStore
from sidecar.v1 import sync_pb2 as pb

Publish = Callable[[Sequence[Entry]], None]


class Replicator:
    def __init__(
        self,
        settings: SyncSettings,
        store: SyncStore,
        hlc: HybridLogicalClock,
        clock: Clock,
        config: ConfigSource,
        runtime: Rollouts,
        alerts: Alerts | None,
        publish: Publish,
    ) -> None:
        self.settings = settings
        self.node_id = hlc.node_id
        self.index = ReplicaIndex()
        self.store = store
        self._hlc = hlc
        self._clock = clock
        self._config = config
        self._runtime = runtime
        self._alerts = alerts
        self._publish = publish
        self._audit_rowid = 0
        self._dirty_states: set[str] = set()
        self.persist_wake = asyncio.Event()

    def audit_horizon(self) -> float:
        """Audit entries and alert acknowledgements older than this are no longer compared or sent."""
        return self._clock.now() - self.settings.audit_horizon_seconds

    async def load(self) -> None:
        records = await asyncio.to_thread(self.store.load_records)
        self.index.records = {r.record_id: r for r in records}
        if records:
            self._hlc.observe(Timestamp.decode(max(r.version for r in records)))
        self.index.states = await asyncio.to_thread(self.store.load_states)
        for version in {e.version for e in self.index.states.values()} - {GENESIS_VERSION}:
            self._hlc.observe(Timestamp.decode(version))  # later local changes must order after these
        for key, entry in list(self.index.states.items()):
            local = self._runtime.state(key)
            if local is None or state_rank(entry.state) >= state_rank(local):
                self._runtime.merge_remote_state(entry.state)
        since = int(self._clock.now()) - self.settings.bucket_horizon_seconds
        for bucket in await asyncio.to_thread(self.store.load_buckets, since):
            self.index.add_bucket(bucket)
            self._hand_bucket(bucket)
        ids, self._audit_rowid = await asyncio.to_thread(self.store.audit_ids_since, self.audit_horizon())
        for ident, ts in ids:
            self.index.add_audit(ident, ts, float("-inf"))
        if self._alerts is not None:
            for ack in await self._alerts.acks_since(self.audit_horizon()):
                self.index.alert_acks[ack.alert_id] = ack.at
        # Rollouts the runtime knows that sync has no entry for yet (first start with sync enabled).
        snapshot = self._config.snapshot
        for key in sorted(snapshot.rollouts if snapshot is not None else ()):
            self.local_state_changed(key)

    # -- local changes ---------------------------------------------------------------------------------

    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[LocalBucket]) -> None:
        for key in state_keys:
            self.local_state_changed(key)
        entries = [
            BucketEntry(
                row.rollout_key, row.generation, self.node_id, row.bucket_start, row.version, row.counts
            )
            for row in buckets
        ]
        self._publish([entry for entry in entries if self.index.add_bucket(entry)])

    def on_alert_acks(self, acks: Sequence[Acknowledgement]) -> None:
        horizon = self.audit_horizon()
        self._publish([ack for ack in acks if self.index.add_alert_ack(ack, horizon)])

    def local_state_changed(self, key: str) -> None:
        state = self._runtime.state(key)
        if state is None:
            return
        candidate = shared_state(state)
        existing = self.index.states.get(key)
        if existing is not None and existing.state == candidate:
            return
        version = GENESIS_VERSION if existing is None and is_genesis(candidate) else self._hlc.now().encode()
        entry = RolloutStateEntry(key, candidate, version)
        if replica.changed_states(self.index.states, [entry]) == [entry]:
            self._keep_states([entry])
            self._publish([entry])
        elif existing is not None:  # the group is ahead: the runtime takes the group's state back
            self._runtime.merge_remote_state(existing.state)

    async def reconcile_records(self) -> None:
        """Compare the records table with the index: publish local writes, repair rows left behind."""
        stored = await asyncio.to_thread(self.store.load_records)
        publish, repair = replica.reconcile_records(self.index.records, stored)
        for row in publish:
            self.index.records[row.record_id] = row
        if repair:
            await asyncio.to_thread(self.store.apply_records, repair)
            await self._config.reload_database()
        self._publish(publish)

    async def scan_audit(self) -> None:
        rows, self._audit_rowid = await asyncio.to_thread(self.store.audit_after, self._audit_rowid)
        horizon = self.audit_horizon()
        new = [i for i, ts in rows if self.index.add_audit(i, ts, horizon)]
        if new:
            self._publish(await asyncio.to_thread(self.store.read_audit, new))

    # -- peers' entries --------------------------------------------------------------------------------

    async def apply(self, message: pb.SyncEntries) -> list[Entry]:
        """Merge a peer's entries; returns those that changed this replica (to relay to the others)."""
        changed: list[Entry] = []
        changed.extend(await self._apply_records([wire.record_entry(m) for m in message.records]))
        changed.extend(self.apply_states([wire.state_entry(m) for m in message.states]))
        changed.extend(await self._apply_buckets([wire.bucket_entry(m) for m in message.buckets]))
        changed.extend(await self._apply_audit([wire.audit_entry(m) for m in message.audit]))
        changed.extend(await self._apply_alert_acks([wire.alert_ack(m) for m in message.alert_acks]))
        return changed

    async def _apply_records(self, entries: Sequence[replica.RecordEntry]) -> list[replica.RecordEntry]:
        for entry in entries:
            self._hlc.observe(Timestamp.decode(entry.version))
        changed = replica.changed_records(self.index.records, entries)
        if changed:
            self.index.records.update((e.record_id, e) for e in changed)
            await asyncio.to_thread(self.store.apply_records, changed)
            await self._config.reload_database()
        return changed

    def apply_states(self, entries: Sequence[RolloutStateEntry]) -> list[RolloutStateEntry]:
        for entry in entries:
            if entry.version != GENESIS_VERSION:
                self._hlc.observe(Timestamp.decode(entry.version))
        changed = replica.changed_states(self.index.states, entries)
        self._keep_states(changed)
        for entry in changed:
            self._runtime.merge_remote_state(entry.state)
        return changed

    def _keep_states(self, entries: Sequence[RolloutStateEntry]) -> None:
        for entry in entries:
            self.index.states[entry.key] = entry
            self._dirty_states.add(entry.key)
        if entries:
            self.persist_wake.set()

    async def _apply_buckets(self, entries: Sequence[BucketEntry]) -> list[BucketEntry]:
        ambiguous = [e for e in entries if self.index.same_requests_other_counts(e)]
        if ambiguous:  # equal request counts, different contents: only the full rows can decide
            ids = [e.bucket_id for e in ambiguous]
            stored = {b.bucket_id: b for b in await asyncio.to_thread(self.store.read_buckets, ids)}
            entries = [
                e
                for e in entries
                if e not in ambiguous or replica.merge_bucket(stored.get(e.bucket_id, e), e) is e
            ]
        changed = [e for e in entries if e.node_id != self.node_id and self.index.add_bucket(e)]
        if changed:
            await asyncio.to_thread(self.store.apply_buckets, changed)
            for entry in changed:
                self._hand_bucket(entry)
        return changed

    def _hand_bucket(self, entry: BucketEntry) -> None:
        self._runtime.merge_remote_buckets(
            entry.node_id,
            entry.rollout_key,
            entry.generation,
            {(entry.bucket_start, entry.version): entry.counts},
        )

    async def _apply_alert_acks(self, entries: Sequence[Acknowledgement]) -> list[Acknowledgement]:
        if self._alerts is None:
            return []
        for entry in entries:
            self._hlc.observe(Timestamp.decode(entry.version))
        horizon = self.audit_horizon()
        changed = [e for e in entries if self.index.add_alert_ack(e, horizon)]
        if changed:
            await self._alerts.merge_remote_acks(changed)
        return changed

    async def _apply_audit(self, entries: Sequence[replica.AuditEntry]) -> list[replica.AuditEntry]:
        horizon = self.audit_horizon()
        changed = [e for e in entries if self.index.add_audit(e.id, e.ts, horizon)]
        if changed:
            await asyncio.to_thread(self.store.apply_audit, changed)
        return changed

    async def answer_detail(self, node_id: str, detail: pb.SyncDetail) -> tuple[list[Entry], list[Entry]]:
        """A peer's detail: ``(changed, lacking)``: what of its states changed ours (to relay to the others)
        and what it lacks (to send it)."""
        changed: list[Entry] = []
        out: list[Entry] = []
        if detail.records_included:
            out.extend(self.index.records_lacking(node_id, detail.records))
        if detail.states_included:
            received = [wire.state_entry(m) for m in detail.states]
            changed.extend(self.apply_states(received))
            out.extend(replica.states_to_resend(self.index.states, received))
        wanted = self.index.buckets_lacking(detail.bucket_groups)
        if wanted:
            out.extend(await asyncio.to_thread(self.store.read_buckets, wanted))
        missing_audit = self.index.audit_lacking(detail.audit_hours)
        if missing_audit:
            out.extend(await asyncio.to_thread(self.store.read_audit, missing_audit))
        missing_acks = sorted(self.index.alert_acks.keys() - set(detail.alert_ack_ids))
        if detail.alert_acks_included and missing_acks and self._alerts is not None:
            out.extend(await self._alerts.read_acks(missing_acks))
        return changed, out

    # -- housekeeping ----------------------------------------------------------------------------------

    async def expire(self, members: dict[str, float], forgotten: Sequence[str], now: float) -> int:
        """Forget acknowledged tombstones and what fell behind the horizons; returns how many tombstones."""
        for node in forgotten:
            self.index.acks.pop(node, None)
        await asyncio.to_thread(self.store.save_members, dict(members), forgotten)
        expired = replica.expired_tombstones(
            self.index.records.values(),
            self.index.acks,
            list(members),
            int(now * 1000),
            int(self.settings.tombstone_min_age_seconds * 1000),
        )
        deleted = 0
        if expired:
            for entry in expired:
                self.index.records.pop(entry.record_id, None)
            deleted = await asyncio.to_thread(self.store.delete_tombstones, expired)
        self.index.prune(int(self._clock.now()) - self.settings.bucket_horizon_seconds, self.audit_horizon())
        return deleted

    async def persist(self) -> None:
        keys, self._dirty_states = self._dirty_states, set()
        entries = [self.index.states[k] for k in keys if k in self.index.states]
        if entries:
            await asyncio.to_thread(self.store.save_states, entries)
