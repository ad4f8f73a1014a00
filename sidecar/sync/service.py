"""The peer-sync layer of one sidecar: its sync listener, its sessions with peers and its replica index.

The index (in memory) mirrors what the database holds of every replicated kind; it is what summaries and
details are computed from, and where incoming entries are merged first (on the event loop, so two sessions
delivering the same entry apply it once). What changed is then written through the state database, handed to
the config store or the rollout runtime, and relayed to every other session: gossip, so a change reaches
sidecars this one has no session with.

Local changes arrive four ways: the config store's change events (admin writes, edits by other processes;
the records table is re-read and compared), the rollout runtime's flush listener (state transitions, outcome
buckets), the alert runtime's acknowledgement listener, and a scan of new audit rows.
Anti-entropy every few seconds repairs whatever a session missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from sidecar.alerts.acks import Acknowledgement
from sidecar.clock import Clock
from sidecar.errors import UnauthenticatedError
from sidecar.hlc import HybridLogicalClock, Timestamp
from sidecar.rollout.windows import WindowKey
from sidecar.runtime.alerts import AlertRuntime
from sidecar.runtime.rollouts import RolloutRuntime
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.rollout_store import BucketRow
from sidecar.sync import wire
from sidecar.sync.auth import GroupAuth, load_secret
from sidecar.sync.link import Link, PeerRecord
from sidecar.sync.merge import (
    GENESIS_VERSION,
    AuditEntry,
    BucketEntry,
    BucketGroup,
    BucketId,
    Entry,
    RecordEntry,
    RecordId,
    RolloutStateEntry,
    expired_tombstones,
    is_genesis,
    merge_bucket,
    merge_record,
    merge_rollout_state,
    shared_state,
    state_rank,
)
from sidecar.sync.metrics import SyncMetrics
from sidecar.sync.settings import SyncSettings, read_peers_file
from sidecar.sync.store import SyncStore
from sidecar.v1 import admin_pb2
from sidecar.v1 import sync_pb2 as pb

log = logging.getLogger(__name__)
_EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]  # missing from grpc-stubs

PROTOCOL_VERSION = 1
SERVICE_NAME = "sidecar.v1.PeerSyncService"
HANDSHAKE_TIMEOUT = 5.0
MANAGER_PERIOD = 0.2
BACKOFF_INITIAL = 0.1
BACKOFF_MAX = 5.0
STABLE_SESSION_SECONDS = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# Health: a sidecar without any peer, or with a peer's queue waiting, for this many anti-entropy rounds (30 s
# by default) is out of step with its group.
STALE_ROUNDS = 6
# Keepalive, the same on both sides: clients ping every 10 s (also without calls), servers accept pings
# every 5 s, so neither side ever answers a ping with GOAWAY "too many pings".
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]
SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
]


@dataclass
class _Backoff:
    failures: int = 0
    not_before: float = 0.0


class SyncService:
    def __init__(
        self,
        settings: SyncSettings,
        *,
        database: StateDatabase,
        hlc: HybridLogicalClock,
        clock: Clock,
        config: ConfigStore,
        runtime: RolloutRuntime,
        alerts: AlertRuntime | None = None,
        metrics: SyncMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.node_id = hlc.node_id
        self.metrics = metrics or SyncMetrics()
        self._store = SyncStore(database)
        self._hlc = hlc
        self._clock = clock
        self._config = config
        self._runtime = runtime
        self._alerts = alerts
        self._auth = GroupAuth(load_secret(settings.group_secret_file))
        self._server = grpc.aio.server(options=SERVER_OPTIONS)
        self.port = 0
        # Replica index.
        self._records: dict[RecordId, RecordEntry] = {}
        self._states: dict[str, RolloutStateEntry] = {}
        self._buckets: dict[BucketGroup, dict[tuple[int, str], tuple[int, str]]] = {}
        self._audit: dict[int, set[str]] = {}
        self._audit_rowid = 0
        self._alert_acks: dict[str, float] = {}  # id -> when it was made
        self._acks: dict[str, dict[RecordId, str]] = {}
        self._members: dict[str, float] = {}
        # Sessions.
        self._peers: dict[tuple[bool, str], PeerRecord] = {}
        self._links: set[Link] = set()
        self._dialers: dict[str, asyncio.Task[None]] = {}
        self._backoff: dict[str, _Backoff] = {}
        self._self_addresses: set[str] = set()
        self._address_nodes: dict[str, str] = {}
        self._dns_addresses: tuple[str, ...] = ()
        self._file_peers: tuple[str, ...] = ()
        self._file_mtime: float | None = None
        self._cursor = 0
        self._last_rotation = time.monotonic()
        self._alone_since: float | None = time.monotonic()
        # Background work.
        self._dirty_states: set[str] = set()
        self._persist_wake = asyncio.Event()
        self._scan_wake = asyncio.Event()
        self._config_events: asyncio.Queue[Any] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sessions: set[asyncio.Task[None]] = set()
        self._applying: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._load()
        self._runtime.add_change_listener(self)
        if self._alerts is not None:
            self._alerts.add_ack_listener(self.on_alert_acks)
        self._config_events = self._config.subscribe()
        handler = grpc.stream_stream_rpc_method_handler(
            self._serve,
            request_deserializer=pb.ExchangeRequest.FromString,
            response_serializer=pb.ExchangeResponse.SerializeToString,
        )
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE_NAME, {"Exchange": handler}),)
        )
        if self.settings.tls is not None:
            tls = self.settings.tls
            credentials = grpc.ssl_server_credentials(
                [(tls.key.read_bytes(), tls.cert.read_bytes())],
                root_certificates=tls.ca.read_bytes() if tls.ca else None,
                require_client_auth=tls.ca is not None,
            )
            self.port = self._server.add_secure_port(self.settings.listen, credentials)
        else:
            self.port = self._server.add_insecure_port(self.settings.listen)
        if self.port == 0:
            raise OSError(f"cannot listen for peer sync on {self.settings.listen}")
        host = self.settings.listen.rpartition(":")[0].strip("[]")
        if self.settings.tls is None and host not in ("127.0.0.1", "::1", "localhost"):
            log.warning(
                "peer sync listens on %s without TLS: sessions are readable on the network; use --sync-tls-*",
                self.settings.listen,
            )
        await self._server.start()
        self._refresh_peers_file()
        self._tasks = [
            asyncio.create_task(self._manage_sessions(), name="sync-sessions"),
            asyncio.create_task(self._anti_entropy(), name="sync-anti-entropy"),
            asyncio.create_task(self._watch_config(), name="sync-config-events"),
            asyncio.create_task(self._scan_loop(), name="sync-local-scan"),
            asyncio.create_task(self._persist_loop(), name="sync-persist"),
        ]
        if self.settings.peer_dns:
            self._tasks.append(asyncio.create_task(self._resolve_dns(), name="sync-dns"))
        log.info(
            "peer sync listening on %s (%s), %d configured peers, fanout %d",
            self.settings.listen,
            "mutual TLS"
            if self.settings.tls and self.settings.tls.ca
            else "TLS"
            if self.settings.tls
            else "plaintext",
            len(self._candidates()),
            self.settings.fanout,
        )

    async def stop(self) -> None:
        for task in [*self._tasks, *self._dialers.values(), *self._sessions]:
            task.cancel()
        for task in [*self._tasks, *self._dialers.values(), *self._sessions]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.gather(*self._applying, return_exceptions=True)
        await self._server.stop(0.5)
        if self._config_events is not None:
            self._config.unsubscribe(self._config_events)
        await self._persist_now()

    async def _load(self) -> None:
        records = await asyncio.to_thread(self._store.load_records)
        self._records = {r.record_id: r for r in records}
        if records:
            self._hlc.observe(Timestamp.decode(max(r.version for r in records)))
        self._states = await asyncio.to_thread(self._store.load_states)
        for version in {e.version for e in self._states.values()} - {GENESIS_VERSION}:
            self._hlc.observe(Timestamp.decode(version))  # later local changes must order after these
        for key, entry in list(self._states.items()):
            local = self._runtime.state(key)
            if local is None or state_rank(entry.state) >= state_rank(local):
                self._runtime.merge_remote_state(entry.state)
        since = int(self._clock.now()) - self.settings.bucket_horizon_seconds
        for bucket in await asyncio.to_thread(self._store.load_buckets, since):
            self._index_bucket(bucket)
            self._runtime.merge_remote_buckets(
                bucket.node_id,
                bucket.rollout_key,
                bucket.generation,
                {(bucket.bucket_start, bucket.version): bucket.counts},
            )
        ids, self._audit_rowid = await asyncio.to_thread(self._store.audit_ids_since, self._audit_horizon())
        for ident, ts in ids:
            self._audit.setdefault(int(ts // 3600), set()).add(ident)
        if self._alerts is not None:
            for ack in await self._alerts.acks_since(self._audit_horizon()):
                self._alert_acks[ack.alert_id] = ack.at
        self._members = await asyncio.to_thread(self._store.load_members)
        self._members.pop(self.node_id, None)
        # Rollouts the runtime knows that sync has no entry for yet (first start with sync enabled).
        for key in self._runtime_keys():
            self._local_state_changed(key)

    def _runtime_keys(self) -> list[str]:
        snapshot = self._config.snapshot
        keys = set(snapshot.rollouts) if snapshot is not None else set()
        return sorted(k for k in keys if self._runtime.state(k) is not None)

    # -- status ----------------------------------------------------------------------------------------

    def peer_messages(self) -> list[admin_pb2.PeerStatus]:
        result: list[admin_pb2.PeerStatus] = []
        for (outgoing, _), peer in sorted(self._peers.items(), key=lambda item: (not item[0][0], item[0][1])):
            link = peer.link
            lag = link.lag_seconds() if link is not None else 0.0
            if peer.node_id:
                self.metrics.lag_seconds[peer.node_id] = lag
            result.append(
                admin_pb2.PeerStatus(
                    node_id=peer.node_id,
                    address=peer.address,
                    connected=peer.connected,
                    outgoing=outgoing,
                    last_contact=peer.last_contact,
                    lag_seconds=lag,
                    entries_behind=link.pending if link is not None else 0,
                    bytes_sent=peer.bytes_sent,
                    bytes_received=peer.bytes_received,
                    entries_sent=peer.entries_sent,
                    entries_received=peer.entries_received,
                    last_error=peer.last_error,
                )
            )
        return result

    def health_problem(self) -> str | None:
        """Why this sidecar is out of step with its group, or None: no peer connected for a while although
        some are configured, or a peer that has not taken this sidecar's changes for a while."""
        now = time.monotonic()
        limit = STALE_ROUNDS * self.settings.anti_entropy_seconds
        if self._links:
            self._alone_since = None
            slowest = max(self._links, key=lambda link: link.lag_seconds())
            lag = slowest.lag_seconds()
            if lag > limit:
                return f"peer {slowest.node_id} is {lag:.0f}s behind ({slowest.pending} entries queued)"
            return None
        candidates = self._candidates()
        if not candidates:
            return None  # a group of one
        if self._alone_since is None:
            self._alone_since = now
        alone = now - self._alone_since
        if alone < limit:
            return None
        errors = sorted({p.last_error for p in self._peers.values() if p.last_error})
        return f"no peer connected for {alone:.0f}s of {len(candidates)} configured" + (
            f"; last error: {errors[0]}" if errors else ""
        )

    def digest(self) -> str:
        """Hash of the whole replica: equal on every member of a converged group."""
        parts = [wire.records_hash(self._records.values()), wire.states_hash(self._states.values())]
        parts.extend(f"{g}={wire.group_hash(b)}" for g, b in sorted(self._buckets.items()))
        parts.extend(f"{h}={wire.ids_hash(ids)}" for h, ids in sorted(self._audit.items()))
        parts.append(wire.ids_hash(self._alert_acks))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    # -- local changes ---------------------------------------------------------------------------------

    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[BucketRow]) -> None:
        """Rollout runtime listener: publish state transitions and this node's outcome buckets."""
        for key in state_keys:
            self._local_state_changed(key)
        entries: list[Entry] = []
        for row in buckets:
            entry = BucketEntry(
                row.rollout_key, row.generation, self.node_id, row.bucket_start, row.version, row.counts
            )
            if self._index_bucket(entry):
                entries.append(entry)
        self._publish(entries)
        self._scan_wake.set()  # the same transaction may have written audit entries

    def on_alert_acks(self, acks: Sequence[Acknowledgement]) -> None:
        """Alert runtime listener: publish acknowledgements made here once they are durable."""
        self._publish([ack for ack in acks if self._index_alert_ack(ack)])
        self._scan_wake.set()  # with the acknowledgement came its audit entry

    def _local_state_changed(self, key: str) -> None:
        state = self._runtime.state(key)
        if state is None:
            return
        candidate = shared_state(state)
        existing = self._states.get(key)
        if existing is not None and existing.state == candidate:
            return
        version = GENESIS_VERSION if existing is None and is_genesis(candidate) else self._hlc.now().encode()
        entry = RolloutStateEntry(key, candidate, version)
        winner = entry if existing is None else merge_rollout_state(existing, entry)
        if winner is entry:
            self._states[key] = entry
            self._dirty_states.add(key)
            self._persist_wake.set()
            self._publish([entry])
        elif existing is not None:
            self._runtime.merge_remote_state(existing.state)

    async def _reconcile_records(self) -> None:
        """Compare the records table with the index: publish local writes, repair rows left behind."""
        stored = await asyncio.to_thread(self._store.load_records)
        seen: set[RecordId] = set()
        published: list[Entry] = []
        repair: list[RecordEntry] = []
        for row in stored:
            seen.add(row.record_id)
            known = self._records.get(row.record_id)
            if known == row:
                continue
            winner = row if known is None else merge_record(known, row)
            if winner == row:
                self._records[row.record_id] = row
                published.append(row)
            elif known is not None:
                repair.append(known)
        repair.extend(e for rid, e in self._records.items() if rid not in seen)
        if repair:
            await asyncio.to_thread(self._store.apply_records, repair)
            await self._config.reload_database()
        self._publish(published)

    async def _scan_audit(self) -> None:
        rows, self._audit_rowid = await asyncio.to_thread(self._store.audit_after, self._audit_rowid)
        horizon = self._audit_horizon()
        new = [i for i, ts in rows if ts >= horizon and self._index_audit(i, ts)]
        if new:
            self._publish(await asyncio.to_thread(self._store.read_audit, new))

    def _publish(self, entries: Sequence[Entry], *, exclude: Link | None = None) -> None:
        if not entries:
            return
        for link in self._links:
            if link is not exclude:
                link.enqueue(entries)

    # -- index -----------------------------------------------------------------------------------------

    def _index_bucket(self, entry: BucketEntry) -> bool:
        """Record a bucket's (requests, fingerprint); whether it is newer than what the index held."""
        group = self._buckets.setdefault(entry.group, {})
        slot = (entry.bucket_start, entry.version.value)
        new = (entry.counts.requests, wire.fingerprint(entry))
        old = group.get(slot)
        if old is not None and (old[0] > new[0] or old == new):
            return False
        group[slot] = new
        return True

    def _audit_horizon(self) -> float:
        """Audit entries and alert acknowledgements older than this are no longer compared or sent."""
        return self._clock.now() - self.settings.audit_horizon_seconds

    def _index_alert_ack(self, ack: Acknowledgement) -> bool:
        if ack.alert_id in self._alert_acks or ack.at < self._audit_horizon():
            return False
        self._alert_acks[ack.alert_id] = ack.at
        return True

    def _index_audit(self, ident: str, ts: float) -> bool:
        hour = self._audit.setdefault(int(ts // 3600), set())
        if ident in hour:
            return False
        hour.add(ident)
        return True

    # -- incoming entries ------------------------------------------------------------------------------

    async def _apply_entries(self, link: Link, message: pb.SyncEntries) -> None:
        count = (
            len(message.records)
            + len(message.states)
            + len(message.buckets)
            + len(message.audit)
            + len(message.alert_acks)
        )
        link.peer.entries_received += count
        self.metrics.entries_received += count
        changed: list[Entry] = []
        changed.extend(await self._apply_records([wire.record_entry(m) for m in message.records]))
        changed.extend(self._apply_states([wire.state_entry(m) for m in message.states]))
        changed.extend(await self._apply_buckets([wire.bucket_entry(m) for m in message.buckets]))
        changed.extend(await self._apply_audit([wire.audit_entry(m) for m in message.audit]))
        changed.extend(await self._apply_alert_acks([wire.alert_ack(m) for m in message.alert_acks]))
        self.metrics.entries_applied += len(changed)
        self._publish(changed, exclude=link)

    async def _apply_records(self, entries: Iterable[RecordEntry]) -> list[RecordEntry]:
        changed: list[RecordEntry] = []
        for entry in entries:
            self._hlc.observe(Timestamp.decode(entry.version))
            known = self._records.get(entry.record_id)
            winner = entry if known is None else merge_record(known, entry)
            if winner != known:
                self._records[entry.record_id] = winner
                changed.append(winner)
        if changed:
            await asyncio.to_thread(self._store.apply_records, changed)
            await self._config.reload_database()
        return changed

    def _apply_states(self, entries: Iterable[RolloutStateEntry]) -> list[RolloutStateEntry]:
        changed: list[RolloutStateEntry] = []
        for entry in entries:
            if entry.version != GENESIS_VERSION:
                self._hlc.observe(Timestamp.decode(entry.version))
            known = self._states.get(entry.key)
            winner = entry if known is None else merge_rollout_state(known, entry)
            if winner == known:
                continue
            self._states[entry.key] = winner
            self._dirty_states.add(entry.key)
            changed.append(winner)
            self._runtime.merge_remote_state(winner.state)
        if changed:
            self._persist_wake.set()
        return changed

    async def _apply_buckets(self, entries: Sequence[BucketEntry]) -> list[BucketEntry]:
        ambiguous = [e for e in entries if self._same_requests_other_counts(e)]
        if ambiguous:  # equal request counts, different contents: only the full rows can decide
            stored = {
                b.bucket_id: b
                for b in await asyncio.to_thread(self._store.read_buckets, [e.bucket_id for e in ambiguous])
            }
            entries = [
                e for e in entries if e not in ambiguous or merge_bucket(stored.get(e.bucket_id, e), e) is e
            ]
        changed = [e for e in entries if e.node_id != self.node_id and self._index_bucket(e)]
        if not changed:
            return []
        await asyncio.to_thread(self._store.apply_buckets, changed)
        for entry in changed:
            self._runtime.merge_remote_buckets(
                entry.node_id, entry.rollout_key, entry.generation, {_window_key(entry): entry.counts}
            )
        return changed

    def _same_requests_other_counts(self, entry: BucketEntry) -> bool:
        old = self._buckets.get(entry.group, {}).get((entry.bucket_start, entry.version.value))
        return old is not None and old[0] == entry.counts.requests and old[1] != wire.fingerprint(entry)

    async def _apply_alert_acks(self, entries: Sequence[Acknowledgement]) -> list[Acknowledgement]:
        if self._alerts is None:
            return []
        for entry in entries:
            self._hlc.observe(Timestamp.decode(entry.version))
        changed = [e for e in entries if self._index_alert_ack(e)]
        if changed:
            await self._alerts.merge_remote_acks(changed)
        return changed

    async def _apply_audit(self, entries: Sequence[AuditEntry]) -> list[AuditEntry]:
        horizon = self._audit_horizon()
        changed = [e for e in entries if e.ts >= horizon and self._index_audit(e.id, e.ts)]
        if changed:
            await asyncio.to_thread(self._store.apply_audit, changed)
        return changed

    # -- summaries and details -------------------------------------------------------------------------

    def _summary(self) -> pb.SyncFrame:
        summary = pb.SyncSummary(
            records_hash=wire.records_hash(self._records.values()),
            states_hash=wire.states_hash(self._states.values()),
            alert_acks_hash=wire.ids_hash(self._alert_acks),
        )
        for group, buckets in self._buckets.items():
            summary.bucket_groups.append(
                pb.BucketGroupHash(group=wire.group_message(group), hash=wire.group_hash(buckets))
            )
        for hour, ids in self._audit.items():
            summary.audit_hours.append(pb.AuditHourHash(hour=hour, hash=wire.ids_hash(ids)))
        return pb.SyncFrame(summary=summary)

    def _on_summary(self, link: Link, summary: pb.SyncSummary) -> None:
        detail = pb.SyncDetail()
        if summary.records_hash != wire.records_hash(self._records.values()):
            detail.records_included = True
            detail.records.extend(
                pb.RecordVersion(kind=r.kind, key=r.key, version=r.version, deleted=r.deleted)
                for r in self._records.values()
            )
        else:  # the peer holds exactly our records: every tombstone is acknowledged
            self._acks[link.node_id] = {rid: r.version for rid, r in self._records.items() if r.deleted}
        if summary.states_hash != wire.states_hash(self._states.values()):
            detail.states_included = True
            detail.states.extend(wire.state_message(e) for e in self._states.values())
        theirs = {wire.group_of(g.group): g.hash for g in summary.bucket_groups}
        for group in sorted(theirs.keys() | self._buckets.keys()):
            ours = self._buckets.get(group, {})
            if theirs.get(group) != (wire.group_hash(ours) if group in self._buckets else None):
                detail.bucket_groups.append(
                    pb.BucketGroupDetail(
                        group=wire.group_message(group),
                        buckets=[
                            pb.BucketVersion(bucket_start=s, version=v, requests=r, fingerprint=f)
                            for (s, v), (r, f) in ours.items()
                        ],
                    )
                )
        their_hours = {h.hour: h.hash for h in summary.audit_hours}
        for hour in sorted(their_hours.keys() | self._audit.keys()):
            ids = self._audit.get(hour)
            if their_hours.get(hour) != (wire.ids_hash(ids) if ids is not None else None):
                detail.audit_hours.append(pb.AuditHourDetail(hour=hour, ids=sorted(ids or ())))
        if summary.alert_acks_hash != wire.ids_hash(self._alert_acks):
            detail.alert_acks_included = True
            detail.alert_ack_ids.extend(sorted(self._alert_acks))
        if (
            detail.records_included
            or detail.states_included
            or detail.bucket_groups
            or detail.audit_hours
            or detail.alert_acks_included
        ):
            link.send(pb.SyncFrame(detail=detail))

    async def _on_detail(self, link: Link, detail: pb.SyncDetail) -> None:
        out: list[Entry] = []
        if detail.records_included:
            out.extend(self._records_lacking(link.node_id, detail.records))
        if detail.states_included:
            received = [wire.state_entry(m) for m in detail.states]
            self._publish(self._apply_states(received), exclude=link)
            their_states = {e.key: e for e in received}
            for key, mine in self._states.items():
                other = their_states.get(key)
                if other is None or (mine != other and merge_rollout_state(mine, other) is mine):
                    out.append(mine)
        wanted = self._buckets_lacking(detail.bucket_groups)
        if wanted:
            out.extend(await asyncio.to_thread(self._store.read_buckets, wanted))
        missing_audit: list[str] = []
        for hour_detail in detail.audit_hours:
            missing_audit.extend(self._audit.get(hour_detail.hour, set()) - set(hour_detail.ids))
        if missing_audit:
            out.extend(await asyncio.to_thread(self._store.read_audit, missing_audit))
        missing_acks = sorted(self._alert_acks.keys() - set(detail.alert_ack_ids))
        if detail.alert_acks_included and missing_acks and self._alerts is not None:
            out.extend(await self._alerts.read_acks(missing_acks))
        link.enqueue(out)

    def _records_lacking(self, peer: str, versions: Iterable[pb.RecordVersion]) -> list[RecordEntry]:
        """Records the peer lacks or holds older; notes which tombstones it acknowledged."""
        theirs = {(r.kind, r.key): (r.version, r.deleted) for r in versions}
        acks = self._acks.setdefault(peer, {})
        lacking: list[RecordEntry] = []
        for rid, ours in self._records.items():
            held = theirs.get(rid)
            if held is None or held < (ours.version, ours.deleted):
                lacking.append(ours)
            if ours.deleted and held is not None:
                acks[rid] = held[0]
        return lacking

    def _buckets_lacking(self, groups: Iterable[pb.BucketGroupDetail]) -> list[BucketId]:
        wanted: list[BucketId] = []
        for group_detail in groups:
            group = wire.group_of(group_detail.group)
            theirs = {(b.bucket_start, b.version): (b.requests, b.fingerprint) for b in group_detail.buckets}
            for slot, (requests, fp) in self._buckets.get(group, {}).items():
                other = theirs.get(slot)
                if other is None or requests > other[0] or (requests == other[0] and fp != other[1]):
                    wanted.append((*group, *slot))
        return wanted

    # -- sessions --------------------------------------------------------------------------------------

    def _hello(self, proof: str = "") -> pb.SyncFrame:
        now = time.time()
        members = [pb.SyncMember(node_id=n, last_seen=s) for n, s in self._members.items()]
        members.append(pb.SyncMember(node_id=self.node_id, last_seen=now))
        return pb.SyncFrame(
            hello=pb.SyncHello(
                node_id=self.node_id,
                protocol_version=PROTOCOL_VERSION,
                proof=proof,
                listen_address=self.settings.listen,
                members=members,
            )
        )

    async def _serve(self, _requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        try:
            node, tag = self._auth.verify_client(context.invocation_metadata() or (), time.time())
        except UnauthenticatedError as exc:
            self.metrics.auth_failures += 1
            log.warning("refused peer-sync call from %s: %s", context.peer(), exc.message)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
            return
        if node == self.node_id:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "connected to itself")
            return
        first: Any = await context.read()
        if first is _EOF or first.frame.WhichOneof("body") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a session starts with a hello")
            return
        await context.write(
            pb.ExchangeResponse(frame=self._hello(self._auth.server_proof(self.node_id, tag)))
        )

        async def write(frame: pb.SyncFrame) -> None:
            await context.write(pb.ExchangeResponse(frame=frame))

        async def read() -> pb.SyncFrame | None:
            message: Any = await context.read()
            return None if message is _EOF else message.frame

        # Incoming sessions are kept per node id, so a peer's counters survive its reconnects.
        peer = self._peers.setdefault((False, node), PeerRecord(address=context.peer(), outgoing=False))
        peer.address = context.peer()
        await self._run_session(peer, first.frame.hello, write, read)

    def _channel(self, address: str) -> grpc.aio.Channel:
        tls = self.settings.tls
        if tls is None:
            return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=tls.ca.read_bytes() if tls.ca else None,
            private_key=tls.key.read_bytes(),
            certificate_chain=tls.cert.read_bytes(),
        )
        return grpc.aio.secure_channel(address, credentials, options=CHANNEL_OPTIONS)

    async def _dial(self, address: str) -> None:
        peer = self._peers.setdefault((True, address), PeerRecord(address=address, outgoing=True))
        backoff = self._backoff.setdefault(address, _Backoff())
        started = time.monotonic()
        channel = self._channel(address)
        try:
            stub: Any = channel.stream_stream(
                f"/{SERVICE_NAME}/Exchange",
                request_serializer=pb.ExchangeRequest.SerializeToString,
                response_deserializer=pb.ExchangeResponse.FromString,
            )
            metadata, tag = self._auth.client_metadata(self.node_id, time.time())
            call: Any = stub(metadata=metadata)
            await call.write(pb.ExchangeRequest(frame=self._hello()))
            response = await asyncio.wait_for(call.read(), HANDSHAKE_TIMEOUT)
            if response is _EOF or response.frame.WhichOneof("body") != "hello":
                raise ConnectionError("peer closed the session before its hello")
            hello = response.frame.hello
            if not self._auth.verify_server(hello.proof, hello.node_id, tag):
                self.metrics.auth_failures += 1
                peer.last_error = "UNAUTHENTICATED: peer could not prove it holds the group secret"
                log.warning("refused peer %s: it does not hold the group secret", address)
                call.cancel()
                return
            self._address_nodes[address] = hello.node_id

            async def write(frame: pb.SyncFrame) -> None:
                await call.write(pb.ExchangeRequest(frame=frame))

            async def read() -> pb.SyncFrame | None:
                message = await call.read()
                return None if message is _EOF else message.frame

            await self._run_session(peer, hello, write, read)
            call.cancel()
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "itself" in (exc.details() or ""):
                self._self_addresses.add(address)
                return
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                self.metrics.auth_failures += 1
                log.warning("peer %s refused this sidecar: %s", address, exc.details())
            self.metrics.connect_failures += 1
            peer.last_error = f"{exc.code().name}: {exc.details()}"
        except (TimeoutError, ConnectionError, OSError) as exc:
            self.metrics.connect_failures += 1
            peer.last_error = f"{type(exc).__name__}: {exc}"
        finally:
            peer.connected = False
            await channel.close(None)
            if time.monotonic() - started >= STABLE_SESSION_SECONDS:
                backoff.failures = 0
            delay = min(BACKOFF_MAX, BACKOFF_INITIAL * 2**backoff.failures) * random.uniform(0.5, 1.0)
            backoff.failures += 1
            backoff.not_before = time.monotonic() + delay
            self._dialers.pop(address, None)

    async def _run_session(
        self,
        peer: PeerRecord,
        hello: pb.SyncHello,
        write: Callable[[pb.SyncFrame], Awaitable[None]],
        read: Callable[[], Awaitable[pb.SyncFrame | None]],
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._sessions.add(task)
        peer.node_id = hello.node_id
        peer.connected = True
        peer.last_error = ""
        peer.last_contact = time.time()
        self._note_members(hello)
        link = Link(peer, write, read, self._summary, self.metrics, self.settings.max_pending_entries)
        peer.link = link
        self._links.add(link)
        self.metrics.sessions_opened += 1
        log.info("peer-sync session with %s (%s) open", peer.node_id, peer.address)
        link.request_summary()
        writer = asyncio.create_task(link.run_writer(), name=f"sync-writer-{peer.node_id}")
        reader = asyncio.create_task(self._read_loop(link), name=f"sync-reader-{peer.node_id}")
        try:
            done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                if not finished.cancelled() and (exc := finished.exception()) is not None:
                    if isinstance(exc, grpc.aio.AioRpcError):
                        peer.last_error = f"{exc.code().name}: {exc.details()}"
                    else:
                        peer.last_error = f"{type(exc).__name__}: {exc}"
                        if not isinstance(exc, ConnectionError | asyncio.InvalidStateError):
                            log.error("peer-sync session with %s failed", peer.node_id, exc_info=exc)
        finally:
            for t in (writer, reader):
                t.cancel()
            for t in (writer, reader):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            self._links.discard(link)
            peer.link = None
            peer.connected = False
            if task is not None:
                self._sessions.discard(task)
            log.info("peer-sync session with %s (%s) closed", peer.node_id, peer.address)

    async def _read_loop(self, link: Link) -> None:
        while True:
            frame = await link.read()
            if frame is None:
                return
            size = frame.ByteSize()
            link.peer.bytes_received += size
            link.peer.last_contact = time.time()
            self._members[link.node_id] = time.time()
            self.metrics.bytes_received += size
            self.metrics.frames_received += 1
            body = frame.WhichOneof("body")
            if body == "summary":
                self._on_summary(link, frame.summary)
            elif body == "detail":
                await self._uninterrupted(self._on_detail(link, frame.detail))
            elif body == "entries":
                await self._uninterrupted(self._apply_entries(link, frame.entries))

    async def _uninterrupted(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` to its end even if the session is closed meanwhile (a duplicate session is closed at
        any moment): an entry is marked as held before it is stored and served, so stopping halfway would
        leave it stored but never served, and never sent again."""
        task = asyncio.create_task(work)
        self._applying.add(task)
        task.add_done_callback(self._applied)
        await asyncio.shield(task)

    def _applied(self, task: asyncio.Task[None]) -> None:
        self._applying.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("applying entries from a peer failed", exc_info=exc)

    def _note_members(self, hello: pb.SyncHello) -> None:
        now = time.time()
        self._members[hello.node_id] = now
        for member in hello.members:
            if member.node_id != self.node_id:
                self._members[member.node_id] = max(self._members.get(member.node_id, 0.0), member.last_seen)

    # -- peer selection ----------------------------------------------------------------------------------

    def _candidates(self) -> list[str]:
        seen: dict[str, None] = {}
        for address in (*self.settings.peers, *self._file_peers, *self._dns_addresses):
            if address not in self._self_addresses:
                seen[address] = None
        return list(seen)

    def _refresh_peers_file(self) -> None:
        path = self.settings.peers_file
        if path is None:
            return
        try:
            mtime = path.stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            mtime = None
        if mtime == self._file_mtime:
            return
        self._file_mtime = mtime
        try:
            self._file_peers = read_peers_file(path)
        except Exception as exc:
            log.error("cannot read peers file %s: %s", path, exc)
            return
        log.info("peers file %s: %d peers", path, len(self._file_peers))

    async def _manage_sessions(self) -> None:
        while True:
            try:
                self._refresh_peers_file()
                self._pick_sessions()
            except Exception:
                log.exception("peer selection failed")
            await asyncio.sleep(MANAGER_PERIOD)

    def _pick_sessions(self) -> None:
        candidates = self._candidates()
        wanted = set(candidates)
        for address, task in list(self._dialers.items()):
            if address not in wanted:
                task.cancel()
        for key in [k for k in self._peers if k[0] and k[1] not in wanted and k[1] not in self._dialers]:
            del self._peers[key]
        fanout = max(1, self.settings.fanout)
        now = time.monotonic()
        if (
            len(candidates) > fanout
            and len(self._dialers) >= fanout
            and now - self._last_rotation >= self.settings.rotate_seconds
        ):
            # Rotate: close the oldest outgoing session so the next peer in line gets one.
            self._last_rotation = now
            outgoing = [link for link in self._links if link.peer.outgoing]
            oldest = min(outgoing, key=lambda link: link.opened_at, default=None)
            dialer = self._dialers.get(oldest.peer.address) if oldest is not None else None
            if dialer is not None:
                dialer.cancel()
        incoming = {link.node_id for link in self._links if not link.peer.outgoing}
        for link in [x for x in self._links if x.peer.outgoing and x.node_id in incoming]:
            # Both sides dialed each other: the sidecar with the smaller node id keeps its session.
            if self.node_id > link.node_id and (dialer := self._dialers.get(link.peer.address)) is not None:
                dialer.cancel()
        for _ in range(len(candidates)):
            if len(self._dialers) >= fanout:
                break
            address = candidates[self._cursor % len(candidates)]
            self._cursor += 1
            if address in self._dialers or self._address_nodes.get(address) in incoming:
                continue
            backoff = self._backoff.get(address)
            if backoff is not None and backoff.not_before > now:
                continue
            self._dialers[address] = asyncio.create_task(self._dial(address), name=f"sync-dial-{address}")

    async def _resolve_dns(self) -> None:
        while True:
            self._dns_addresses = await resolve_peers(self.settings.peer_dns)
            await asyncio.sleep(self.settings.dns_refresh_seconds)

    # -- background work -------------------------------------------------------------------------------

    async def _anti_entropy(self) -> None:
        while True:
            await asyncio.sleep(self.settings.anti_entropy_seconds)
            try:
                self.metrics.anti_entropy_rounds += 1
                await self._reconcile_records()
                await self._scan_audit()
                for link in self._links:  # each side's summary repairs what the *other* side lacks
                    link.request_summary()
                await self._expire()
            except Exception:
                log.exception("anti-entropy round failed")

    async def _expire(self) -> None:
        now = time.time()
        cutoff = now - self.settings.member_expiry_seconds
        forgotten = [n for n, seen in self._members.items() if seen < cutoff]
        for node in forgotten:
            del self._members[node]
            self._acks.pop(node, None)
        await asyncio.to_thread(self._store.save_members, dict(self._members), forgotten)
        expired = expired_tombstones(
            self._records.values(),
            self._acks,
            list(self._members),
            int(now * 1000),
            int(self.settings.tombstone_min_age_seconds * 1000),
        )
        if expired:
            for entry in expired:
                self._records.pop(entry.record_id, None)
            self.metrics.tombstones_expired += await asyncio.to_thread(self._store.delete_tombstones, expired)
        horizon = int(self._clock.now()) - self.settings.bucket_horizon_seconds
        for group in list(self._buckets):
            kept = {slot: v for slot, v in self._buckets[group].items() if slot[0] >= horizon}
            if kept:
                self._buckets[group] = kept
            else:
                del self._buckets[group]
        oldest_hour = int(self._audit_horizon() // 3600)
        for hour in [h for h in self._audit if h < oldest_hour]:
            del self._audit[hour]
        self._alert_acks = {i: at for i, at in self._alert_acks.items() if at >= self._audit_horizon()}

    async def _watch_config(self) -> None:
        assert self._config_events is not None
        while True:
            await self._config_events.get()
            self._scan_wake.set()

    async def _scan_loop(self) -> None:
        while True:
            await self._scan_wake.wait()
            self._scan_wake.clear()
            try:
                await self._reconcile_records()
                await self._scan_audit()
            except Exception:
                log.exception("scanning local changes failed")

    async def _persist_loop(self) -> None:
        while True:
            await self._persist_wake.wait()
            self._persist_wake.clear()
            try:
                await self._persist_now()
            except Exception:
                log.exception("saving sync state failed")

    async def _persist_now(self) -> None:
        keys, self._dirty_states = self._dirty_states, set()
        entries = [self._states[k] for k in keys if k in self._states]
        if entries:
            await asyncio.to_thread(self._store.save_states, entries)


def _window_key(entry: BucketEntry) -> WindowKey:
    return (entry.bucket_start, entry.version)


async def resolve_peers(names: Iterable[str]) -> tuple[str, ...]:
    """Every address the ``NAME:PORT`` entries resolve to (unresolvable names are logged and skipped)."""
    loop = asyncio.get_running_loop()
    addresses: list[str] = []
    for name_port in names:
        host, _, port = name_port.rpartition(":")
        try:
            infos = await loop.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except OSError as exc:
            log.warning("cannot resolve peer name %s: %s", host, exc)
            continue
        for info in infos:
            ip = str(info[4][0])
            addresses.append(f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")
    return tuple(dict.fromkeys(addresses))
