"""The SQLite state database: admin-written records (flags, rollouts), audit log, node identity, revision.

One connection, guarded by a lock, in WAL mode with ``synchronous=FULL``: a write is on disk when its
transaction commits, so an acknowledged write survives ``kill -9``. A write the disk refuses (full,
read-only, I/O error) is rolled back whole and raised as a :class:`~sidecar.errors.StorageError`; it also
sets the ``storage`` problem (:mod:`sidecar.store.storage`) until a test write of a few pages commits.
Every record carries a hybrid logical clock version so sidecars can later merge their databases; deletions
are kept as tombstones for the same reason.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from sidecar.errors import FailedPreconditionError, StorageError
from sidecar.hlc import HybridLogicalClock
from sidecar.store.integrity import SCHEMA_VERSION
from sidecar.store.storage import StorageHealth, storage_error

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,         -- "flag" or "rollout"
    key TEXT NOT NULL,
    definition TEXT,            -- JSON; NULL for a tombstone
    version TEXT NOT NULL,      -- HLC timestamp, encoded so that text order is time order
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT,
    reason TEXT NOT NULL,
    version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (ts DESC);
CREATE INDEX IF NOT EXISTS audit_by_target ON audit (target, ts DESC);
"""
# A probe write of a few pages: one that fits in a page's leftover space proves nothing about the disk.
PROBE = "0" * 16384


@dataclass(frozen=True, slots=True)
class StoredRecord:
    key: str
    definition: Mapping[str, Any]
    version: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: str
    ts: float
    actor: str
    action: str
    target: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    reason: str
    version: str


class StateDatabase:
    """Thread-safe access to the state database; every public method is one transaction."""

    def __init__(self, path: Path, max_size: int | None = None) -> None:
        self.path = path
        self.max_size = max_size
        self.storage = StorageHealth()
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: calls come from a worker thread pool, serialised by self._lock.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db = sqlite_utils.Database(self._conn)
        self._lock = threading.Lock()
        with self._lock:
            self._db.enable_wal()
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=10000")
            if max_size is not None:
                # A per-connection cap; SQLite never applies one below the database's current size.
                page = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
                self._conn.execute(f"PRAGMA max_page_count={max(1, max_size // page)}")
            self._conn.executescript(SCHEMA)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically; committed (and fsynced) on exit, rolled back on error.

        Raises :class:`~sidecar.errors.StorageError` when the disk refused the write (nothing of it is
        stored), and sets the ``storage`` problem.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._rollback()
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()  # a failed COMMIT may leave the transaction open
                refused = storage_error(exc, self.path, self.max_size)
                if refused is None:
                    raise
                self.storage.refused(refused)
                raise refused from exc

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some failures (SQLITE_FULL among them); a second ROLLBACK would
        # raise and hide the first error.
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def probe_storage(self) -> None:
        """While writes are refused, try one that needs fresh pages (and undo it): the ``storage`` problem
        clears once it commits, even when nothing else is being written.

        Only this write clears it: on a nearly full disk small writes still fit where large ones do not, and
        each small one clearing the problem would make health flap.
        """
        if self.storage.problem is None:
            return
        try:
            with self.transaction() as conn:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('storage_probe', ?)", (PROBE,))
                conn.execute("DELETE FROM meta WHERE key = 'storage_probe'")
        except StorageError:
            return  # still refused; the problem stays as it is
        self.storage.committed()

    def ensure_schema(self, script: str) -> None:
        """Create another adapter's tables (idempotent DDL)."""
        with self._lock:
            self._conn.executescript(script)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def data_version(self) -> int:
        """Changes whenever another connection (another process) commits; our own commits leave it alone."""
        with self._lock:
            row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def healthy(self) -> bool:
        try:
            with self._lock:
                self._conn.execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    # -- node identity and revision -------------------------------------------------------------------

    def node_id(self, requested: str | None) -> str:
        """The stable node id: the requested one (remembered), else the remembered one, else a new one."""
        with self.transaction() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'node_id'").fetchone()
            if requested:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('node_id', ?)", (requested,))
                return requested
            if row is not None:
                return str(row[0])
            node = f"node-{uuid.uuid4().hex[:12]}"
            conn.execute("INSERT INTO meta (key, value) VALUES ('node_id', ?)", (node,))
            return node

    def last_revision(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def save_revision(self, revision: int) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('revision', ?)", (str(revision),))

    # -- admin-written records -------------------------------------------------------------------------

    def live_records(self, kind: str) -> dict[str, StoredRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, definition, version FROM records WHERE kind = ? AND deleted = 0", (kind,)
            ).fetchall()
        return {key: StoredRecord(key, json.loads(definition), version) for key, definition, version in rows}

    def max_record_version(self) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT MAX(version) FROM records").fetchone()
        return str(row[0]) if row and row[0] else None

    def put_record(
        self, kind: str, key: str, definition: Mapping[str, Any], hlc: HybridLogicalClock, audit: AuditDraft
    ) -> tuple[StoredRecord, StoredRecord | None]:
        """Store a record and its audit entry in one transaction; return the new and the previous record."""
        version = hlc.now().encode()
        with self.transaction() as conn:
            previous = _read_record(conn, kind, key)
            conn.execute(
                "INSERT OR REPLACE INTO records (kind, key, definition, version, deleted)"
                " VALUES (?, ?, ?, ?, 0)",
                (kind, key, json.dumps(definition, sort_keys=True), version),
            )
            insert_audit(
                conn,
                audit,
                before=previous.definition if previous else None,
                after=definition,
                version=version,
            )
        return StoredRecord(key, definition, version), previous

    def put_batch(self, writes: Sequence[BatchWrite], hlc: HybridLogicalClock) -> None:
        """Store every record with its audit entry in one transaction, or none: each record must still be
        at the version it was planned against (None: absent), else FAILED_PRECONDITION and nothing is kept."""
        with self.transaction() as conn:
            for write in writes:
                previous = _read_record(conn, write.kind, write.key)
                if (previous.version if previous else None) != write.expected_version:
                    raise FailedPreconditionError(
                        f"{write.kind} {write.key!r} changed on the daemon during the import; run it again"
                    )
                version = hlc.now().encode()
                conn.execute(
                    "INSERT OR REPLACE INTO records (kind, key, definition, version, deleted)"
                    " VALUES (?, ?, ?, ?, 0)",
                    (write.kind, write.key, json.dumps(write.definition, sort_keys=True), version),
                )
                before = previous.definition if previous else None
                insert_audit(conn, write.audit, before=before, after=write.definition, version=version)

    def delete_record(
        self, kind: str, key: str, hlc: HybridLogicalClock, audit: AuditDraft
    ) -> StoredRecord | None:
        """Replace a record with a tombstone (kept so peers learn of the delete); None when there was none."""
        version = hlc.now().encode()
        with self.transaction() as conn:
            previous = _read_record(conn, kind, key)
            if previous is None:
                return None
            conn.execute(
                "UPDATE records SET definition = NULL, version = ?, deleted = 1 WHERE kind = ? AND key = ?",
                (version, kind, key),
            )
            insert_audit(conn, audit, before=previous.definition, after=None, version=version)
        return previous

    # -- audit -----------------------------------------------------------------------------------------

    def list_audit(self, limit: int, target: str | None = None) -> list[AuditRecord]:
        query = "SELECT id, ts, actor, action, target, before, after, reason, version FROM audit"
        params: tuple[Any, ...] = ()
        if target:
            query += " WHERE target = ?"
            params = (target,)
        query += " ORDER BY ts DESC, version DESC LIMIT ?"
        with self._lock:
            rows = self._conn.execute(query, (*params, limit)).fetchall()
        return [
            AuditRecord(
                id=row[0],
                ts=row[1],
                actor=row[2],
                action=row[3],
                target=row[4],
                before=json.loads(row[5]) if row[5] else None,
                after=json.loads(row[6]) if row[6] else None,
                reason=row[7],
                version=row[8],
            )
            for row in rows
        ]


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """What an audit entry says before the database assigns its version."""

    ts: float
    actor: str
    action: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class BatchWrite:
    """One record of :meth:`StateDatabase.put_batch`, with the version it was planned against."""

    kind: str
    key: str
    definition: Mapping[str, Any]
    expected_version: str | None
    audit: AuditDraft


def _read_record(conn: sqlite3.Connection, kind: str, key: str) -> StoredRecord | None:
    row = conn.execute(
        "SELECT definition, version FROM records WHERE kind = ? AND key = ? AND deleted = 0", (kind, key)
    ).fetchone()
    return StoredRecord(key, json.loads(row[0]), row[1]) if row else None


def insert_audit(
    conn: sqlite3.Connection,
    audit: AuditDraft,
    *,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    version: str,
) -> None:
    conn.execute(
        "INSERT INTO audit (id, ts, actor, action, target, before, after, reason, version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            uuid.uuid4().hex,
            audit.ts,
            audit.actor,
            audit.action,
            audit.target,
            json.dumps(before, sort_keys=True) if before is not None else None,
            json.dumps(after, sort_keys=True) if after is not None else None,
            audit.reason,
            version,
        ),
    )
