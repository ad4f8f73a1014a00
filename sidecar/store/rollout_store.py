"""SQLite persistence of rollout state and outcome buckets.

Outcome buckets are stored per node (``node_id`` in the key) so that peers' counts can later be merged as
grow-only counters; each row holds the full counts of one bucket, written idempotently (replace, not add).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sidecar.hlc import HybridLogicalClock
from sidecar.rollout.model import Version
from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts, WindowKey, merge_counts
from sidecar.store.codec import decode, encode
from sidecar.store.database import AuditDraft, StateDatabase, insert_audit

SCHEMA = """
CREATE TABLE IF NOT EXISTS rollout_state (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,        -- JSON of RolloutState
    version TEXT NOT NULL       -- HLC timestamp of the last change
);
CREATE TABLE IF NOT EXISTS outcome_buckets (
    rollout_key TEXT NOT NULL,
    generation INTEGER NOT NULL,
    node_id TEXT NOT NULL,
    bucket_start INTEGER NOT NULL,
    version TEXT NOT NULL,      -- "V1" or "V2"
    counts TEXT NOT NULL,       -- JSON of BucketCounts (integers can exceed 64 bits)
    PRIMARY KEY (rollout_key, generation, node_id, bucket_start, version)
);
"""


@dataclass(frozen=True, slots=True)
class BucketRow:
    rollout_key: str
    generation: int
    bucket_start: int
    version: Version
    counts: BucketCounts


@dataclass(frozen=True, slots=True)
class AuditRow:
    draft: AuditDraft
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


class RolloutStore:
    def __init__(self, database: StateDatabase, node_id: str, hlc: HybridLogicalClock) -> None:
        self._db = database
        self._node_id = node_id
        self._hlc = hlc
        database.ensure_schema(SCHEMA)

    def load_states(self) -> dict[str, RolloutState]:
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT key, state FROM rollout_state").fetchall()
        return {key: decode(RolloutState, json.loads(state)) for key, state in rows}

    def load_window(self, rollout_key: str, generation: int, since: float) -> dict[WindowKey, BucketCounts]:
        """Buckets of one generation starting at or after ``since``, summed over every node."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT bucket_start, version, counts FROM outcome_buckets"
                " WHERE rollout_key = ? AND generation = ? AND bucket_start >= ?",
                (rollout_key, generation, int(since) - 1),
            ).fetchall()
        window: dict[WindowKey, BucketCounts] = {}
        for start, version, counts in rows:
            key = (int(start), Version(version))
            loaded = decode(BucketCounts, json.loads(counts))
            existing = window.get(key)
            window[key] = loaded if existing is None else merge_counts(existing, loaded)
        return window

    @property
    def node_id(self) -> str:
        return self._node_id

    def load_windows_by_node(
        self, rollout_key: str, generation: int, since: float
    ) -> dict[str, dict[WindowKey, BucketCounts]]:
        """Like :meth:`load_window`, but one window per node (this node's own rows under its id)."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT node_id, bucket_start, version, counts FROM outcome_buckets"
                " WHERE rollout_key = ? AND generation = ? AND bucket_start >= ?",
                (rollout_key, generation, int(since) - 1),
            ).fetchall()
        windows: dict[str, dict[WindowKey, BucketCounts]] = {}
        for node, start, version, counts in rows:
            windows.setdefault(str(node), {})[(int(start), Version(version))] = decode(
                BucketCounts, json.loads(counts)
            )
        return windows

    def save(
        self, states: Iterable[RolloutState], buckets: Iterable[BucketRow], audits: Iterable[AuditRow]
    ) -> None:
        """Write everything in one transaction: durable together or not at all."""
        with self._db.transaction() as conn:
            for state in states:
                conn.execute(
                    "INSERT OR REPLACE INTO rollout_state (key, state, version) VALUES (?, ?, ?)",
                    (state.key, json.dumps(encode(state)), self._hlc.now().encode()),
                )
            conn.executemany(
                "INSERT OR REPLACE INTO outcome_buckets"
                " (rollout_key, generation, node_id, bucket_start, version, counts)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        b.rollout_key,
                        b.generation,
                        self._node_id,
                        b.bucket_start,
                        b.version.value,
                        json.dumps(encode(b.counts)),
                    )
                    for b in buckets
                ],
            )
            for audit in audits:
                insert_audit(
                    conn,
                    audit.draft,
                    before=audit.before,
                    after=audit.after,
                    version=self._hlc.now().encode(),
                )
