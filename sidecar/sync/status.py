"""What an operator sees of peer sync: one status message per peer, the replica's digest, and the
``peer-sync`` health problem."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping

from sidecar.sync.index import ReplicaIndex
from sidecar.sync.link import Link, PeerRecord
from sidecar.sync.metrics import SyncMetrics
from sidecar.sync.transport import WRONG_SECRET
from sidecar.v1 import admin_pb2

# Health: a sidecar without any peer, or with a peer's queue waiting, for this many anti-entropy rounds (30 s
# by default) is out of step with its group.
STALE_ROUNDS = 6

PeerKey = tuple[bool, str]  # (outgoing, address or node id)


def peer_messages(peers: Mapping[PeerKey, PeerRecord], metrics: SyncMetrics) -> list[admin_pb2.PeerStatus]:
    """Every link, outgoing first; refreshes the per-peer lag the metrics exporter reads."""
    result: list[admin_pb2.PeerStatus] = []
    for (outgoing, _), peer in sorted(peers.items(), key=lambda item: (not item[0][0], item[0][1])):
        link = peer.link
        lag = link.lag_seconds() if link is not None else 0.0
        if peer.node_id:
            metrics.lag_seconds[peer.node_id] = lag
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


def digest(index: ReplicaIndex) -> str:
    """Hash of the whole replica: equal on every member of a converged group."""
    return hashlib.sha256("\n".join(index.digest()).encode()).hexdigest()[:32]


class HealthWatch:
    """Why this sidecar is out of step with its group: no peer connected for a while although some are
    configured, or a peer that has not taken this sidecar's changes for a while."""

    def __init__(self, anti_entropy_seconds: float, now: float) -> None:
        self._limit = STALE_ROUNDS * anti_entropy_seconds
        self._alone_since: float | None = now

    def problem(
        self, links: Collection[Link], candidates: int, errors: Iterable[str], now: float
    ) -> str | None:
        if links:
            self._alone_since = None
            slowest = max(links, key=lambda link: link.lag_seconds())
            lag = slowest.lag_seconds()
            if lag > self._limit:
                return f"peer {slowest.node_id} is {lag:.0f}s behind ({slowest.pending} entries queued)"
            return None
        if not candidates:
            return None  # a group of one
        if self._alone_since is None:
            self._alone_since = now
        alone = now - self._alone_since
        if alone < self._limit:
            return None
        return f"no peer connected for {alone:.0f}s of {candidates} configured" + _cause(sorted(set(errors)))


def _cause(errors: list[str]) -> str:
    """The most actionable of the peers' last errors: a refused credential before anything else."""
    refused = [e for e in errors if e.startswith("UNAUTHENTICATED")]
    if refused:
        hint = "check that --group-secret-file holds the group's secret"
        return f"; {WRONG_SECRET}: {hint}; last error: {refused[0]}"
    return f"; last error: {errors[0]}" if errors else ""
