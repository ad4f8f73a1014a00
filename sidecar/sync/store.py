"""SQLite side of peer sync: reads and conditional writes of the replicated tables, through the state
database (the :class:`~sidecar.sync.ports.Database` port).

Remote writes are merges, decided again inside the transaction (the SQL mirrors :mod:`sidecar.sync.replica`),
so a concurrent local write can never be overwritten by an older remote one. Every method is one transaction
and blocking: call it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sidecar.rollout.model import Version
from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts
from sidecar.store.codec import decode, encode
from sidecar.sync.ports import Database
from sidecar.sync.replica import (
    AuditEntry,
    BucketEntry,
    BucketId,
    RecordEntry,
    RolloutStateEntry,
    canonical_json,
    merge_bucket,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_rollout_state (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,        -- JSON of the shared part of RolloutState
    version TEXT NOT NULL       -- HLC version of the change, or the genesis version
);
CREATE TABLE IF NOT EXISTS sync_members (
    node_id TEXT PRIMARY KEY,
    last_seen REAL NOT NULL
);
"""


def _canonical_text(text: str | None) -> str | None:
    return None if text is None else canonical_json(json.loads(text))


def counts_from_json(text: str) -> BucketCounts:
    return decode(BucketCounts, json.loads(text))


def state_from_json(text: str) -> RolloutState:
    return decode(RolloutState, json.loads(text))


def state_to_json(state: RolloutState) -> str:
    return canonical_json(encode(state))


class SyncStore:
    def __init__(self, database: Database) -> None:
        # The records, audit and outcome_buckets tables belong to the stores that write them locally, which
        # the composition root creates first; sync adds its own two.
        self._db = database
        database.ensure_schema(SCHEMA)

    # -- records ---------------------------------------------------------------------------------------

    def load_records(self) -> list[RecordEntry]:
        """Every record, tombstones included (definitions re-encoded canonically)."""
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT kind, key, definition, version, deleted FROM records").fetchall()
        return [
            RecordEntry(kind, key, None if deleted else _canonical_text(definition), version)
            for kind, key, definition, version, deleted in rows
        ]

    def apply_records(self, entries: Sequence[RecordEntry]) -> None:
        """Write remote records where they are newer than the stored copy (last writer wins)."""
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO records (kind, key, definition, version, deleted) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (kind, key) DO UPDATE SET definition = excluded.definition,"
                " version = excluded.version, deleted = excluded.deleted"
                " WHERE excluded.version > records.version"
                " OR (excluded.version = records.version AND excluded.deleted > records.deleted)",
                [(e.kind, e.key, e.definition, e.version, 1 if e.deleted else 0) for e in entries],
            )

    def delete_tombstones(self, entries: Iterable[RecordEntry]) -> int:
        """Forget acknowledged tombstones (only if still the same tombstone)."""
        with self._db.transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "DELETE FROM records WHERE kind = ? AND key = ? AND version = ? AND deleted = 1",
                [(e.kind, e.key, e.version) for e in entries],
            )
            return conn.total_changes - before

    # -- rollout state ---------------------------------------------------------------------------------

    def load_states(self) -> dict[str, RolloutStateEntry]:
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT key, state, version FROM sync_rollout_state").fetchall()
        return {key: RolloutStateEntry(key, state_from_json(state), version) for key, state, version in rows}

    def save_states(self, entries: Iterable[RolloutStateEntry]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO sync_rollout_state (key, state, version) VALUES (?, ?, ?)",
                [(e.key, state_to_json(e.state), e.version) for e in entries],
            )

    # -- outcome buckets -------------------------------------------------------------------------------

    def load_buckets(self, since: int) -> list[BucketEntry]:
        """Every node's buckets starting at or after ``since`` (unix seconds)."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT rollout_key, generation, node_id, bucket_start, version, counts FROM outcome_buckets"
                " WHERE bucket_start >= ?",
                (since,),
            ).fetchall()
        return [_bucket(row) for row in rows]

    def read_buckets(self, ids: Iterable[BucketId]) -> list[BucketEntry]:
        result: list[BucketEntry] = []
        with self._db.transaction() as conn:
            for rollout, generation, node, start, version in ids:
                row = conn.execute(
                    "SELECT rollout_key, generation, node_id, bucket_start, version, counts"
                    " FROM outcome_buckets WHERE rollout_key = ? AND generation = ? AND node_id = ?"
                    " AND bucket_start = ? AND version = ?",
                    (rollout, generation, node, start, version),
                ).fetchone()
                if row is not None:
                    result.append(_bucket(row))
        return result

    def apply_buckets(self, entries: Sequence[BucketEntry]) -> None:
        """Store remote buckets where they hold more than the stored copy (grow-only rows)."""
        with self._db.transaction() as conn:
            for entry in entries:
                key = (entry.rollout_key, entry.generation, entry.node_id, entry.bucket_start)
                row = conn.execute(
                    "SELECT counts FROM outcome_buckets WHERE rollout_key = ? AND generation = ?"
                    " AND node_id = ? AND bucket_start = ? AND version = ?",
                    (*key, entry.version.value),
                ).fetchone()
                if row is not None:
                    stored = BucketEntry(*key, entry.version, counts_from_json(row[0]))
                    if merge_bucket(stored, entry) is stored:
                        continue
                conn.execute(
                    "INSERT OR REPLACE INTO outcome_buckets"
                    " (rollout_key, generation, node_id, bucket_start, version, counts)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (*key, entry.version.value, json.dumps(encode(entry.counts))),
                )

    # -- audit -----------------------------------------------------------------------------------------

    def audit_ids_since(self, since_ts: float) -> tuple[list[tuple[str, float]], int]:
        """``(id, ts)`` of entries at or after ``since_ts``, and the highest rowid."""
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT id, ts FROM audit WHERE ts >= ?", (since_ts,)).fetchall()
            top = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM audit").fetchone()
        return [(str(i), float(t)) for i, t in rows], int(top[0])

    def audit_after(self, rowid: int) -> tuple[list[tuple[str, float]], int]:
        """``(id, ts)`` of entries inserted after ``rowid``, and the new highest rowid."""
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT rowid, id, ts FROM audit WHERE rowid > ?", (rowid,)).fetchall()
        top = max((int(r[0]) for r in rows), default=rowid)
        return [(str(i), float(t)) for _, i, t in rows], top

    def read_audit(self, ids: Iterable[str]) -> list[AuditEntry]:
        result: list[AuditEntry] = []
        with self._db.transaction() as conn:
            for ident in ids:
                row = conn.execute(
                    "SELECT id, ts, actor, action, target, before, after, reason, version FROM audit"
                    " WHERE id = ?",
                    (ident,),
                ).fetchone()
                if row is not None:
                    result.append(
                        AuditEntry(
                            row[0],
                            float(row[1]),
                            row[2],
                            row[3],
                            row[4],
                            _canonical_text(row[5]),
                            _canonical_text(row[6]),
                            row[7],
                            row[8],
                        )
                    )
        return result

    def apply_audit(self, entries: Sequence[AuditEntry]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO audit (id, ts, actor, action, target, before, after, reason, version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.id, e.ts, e.actor, e.action, e.target, e.before, e.after, e.reason, e.version)
                    for e in entries
                ],
            )

    # -- members ---------------------------------------------------------------------------------------

    def load_members(self) -> dict[str, float]:
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT node_id, last_seen FROM sync_members").fetchall()
        return {str(node): float(seen) for node, seen in rows}

    def save_members(self, members: dict[str, float], forget: Iterable[str] = ()) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO sync_members (node_id, last_seen) VALUES (?, ?) ON CONFLICT (node_id)"
                " DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)",
                list(members.items()),
            )
            conn.executemany("DELETE FROM sync_members WHERE node_id = ?", [(n,) for n in forget])


def _bucket(row: Any) -> BucketEntry:
    rollout, generation, node, start, version, counts = row
    return BucketEntry(rollout, int(generation), node, int(start), Version(version), counts_from_json(counts))
