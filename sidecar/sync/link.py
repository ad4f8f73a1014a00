"""One replication session with one peer: a bounded, coalescing outbound queue and its writer.

Changes for a peer are queued by identity and merged on arrival, so a burst of updates to one flag or one
outcome bucket costs one entry on the wire. A peer that cannot keep up is not allowed to grow memory: past
``max_pending`` entries the queue is dropped and replaced by a summary, and anti-entropy sends whatever the
peer turns out to lack. Writes await gRPC flow control, which is the backpressure.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from sidecar.sync.metrics import SyncMetrics
from sidecar.sync.replica import (
    AuditEntry,
    BucketEntry,
    Entry,
    EntryId,
    RecordEntry,
    RolloutStateEntry,
    entry_id,
    merge_entry,
)
from sidecar.sync.wire import (
    alert_ack_message,
    audit_message,
    bucket_message,
    record_message,
    state_message,
)
from sidecar.v1 import sync_pb2 as pb

MAX_ENTRIES_PER_FRAME = 500


@dataclass
class PeerRecord:
    """What this sidecar knows about one peer, across sessions (shown by GetStatus and ``sidecar peers``)."""

    address: str
    outgoing: bool
    node_id: str = ""
    connected: bool = False
    last_contact: float = 0.0
    last_error: str = ""
    bytes_sent: int = 0
    bytes_received: int = 0
    entries_sent: int = 0
    entries_received: int = 0
    link: Link | None = None


class Link:
    def __init__(
        self,
        peer: PeerRecord,
        write: Callable[[pb.SyncFrame], Awaitable[None]],
        read: Callable[[], Awaitable[pb.SyncFrame | None]],
        summary: Callable[[], pb.SyncFrame],
        metrics: SyncMetrics,
        max_pending: int,
    ) -> None:
        self.peer = peer
        self.read = read
        self._write = write
        self._summary = summary
        self._metrics = metrics
        self._max_pending = max_pending
        self._pending: OrderedDict[EntryId, Entry] = OrderedDict()
        self._pending_since: float | None = None
        self._control: list[pb.SyncFrame] = []
        self._need_summary = False
        self._wake = asyncio.Event()
        self.opened_at = time.monotonic()

    @property
    def node_id(self) -> str:
        return self.peer.node_id

    @property
    def pending(self) -> int:
        return len(self._pending)

    def lag_seconds(self) -> float:
        return 0.0 if self._pending_since is None else time.monotonic() - self._pending_since

    def enqueue(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            ident = entry_id(entry)
            existing = self._pending.get(ident)
            self._pending[ident] = entry if existing is None else merge_entry(existing, entry)
        if self._pending and self._pending_since is None:
            self._pending_since = time.monotonic()
        if len(self._pending) > self._max_pending:
            self._metrics.queue_overflows += 1
            self._pending.clear()
            self._pending_since = None
            self._need_summary = True
        self._wake.set()

    def send(self, frame: pb.SyncFrame) -> None:
        self._control.append(frame)
        self._wake.set()

    def request_summary(self) -> None:
        self._need_summary = True
        self._wake.set()

    async def run_writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._need_summary or self._control or self._pending:
                if self._need_summary:
                    self._need_summary = False
                    await self._send(self._summary(), 0)
                elif self._control:
                    await self._send(self._control.pop(0), 0)
                else:
                    frame, count = self._take_batch()
                    await self._send(frame, count)

    def _take_batch(self) -> tuple[pb.SyncFrame, int]:
        entries = pb.SyncEntries()
        count = 0
        while self._pending and count < MAX_ENTRIES_PER_FRAME:
            _, entry = self._pending.popitem(last=False)
            count += 1
            if isinstance(entry, RecordEntry):
                entries.records.append(record_message(entry))
            elif isinstance(entry, RolloutStateEntry):
                entries.states.append(state_message(entry))
            elif isinstance(entry, BucketEntry):
                entries.buckets.append(bucket_message(entry))
            elif isinstance(entry, AuditEntry):
                entries.audit.append(audit_message(entry))
            else:
                entries.alert_acks.append(alert_ack_message(entry))
        self._pending_since = time.monotonic() if self._pending else None
        return pb.SyncFrame(entries=entries), count

    async def _send(self, frame: pb.SyncFrame, entries: int) -> None:
        size = frame.ByteSize()
        await self._write(frame)
        self.peer.bytes_sent += size
        self.peer.entries_sent += entries
        self._metrics.bytes_sent += size
        self._metrics.frames_sent += 1
        self._metrics.entries_sent += entries
