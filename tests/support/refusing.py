"""Make a real state database refuse writes, as a read-only file would: SQLite's own ``query_only`` setting
on the database's connection, which SQLite answers with SQLITE_READONLY."""

from __future__ import annotations

from sidecar.store.database import StateDatabase


def refuse_writes(database: StateDatabase, refuse: bool = True) -> None:
    with database._lock:  # the one connection is the one the daemon writes through
        database._conn.execute(f"PRAGMA query_only={'ON' if refuse else 'OFF'}")
