"""Refuse damaged state before serving: an empty, missing or corrupt database is never a fresh start.

A state directory that once held data carries a marker file. When the marker is there, a missing or empty
``sidecar.db`` means the data is gone (a bad restore, a wiped volume), not a first start; a database that
SQLite cannot read, that fails ``PRAGMA quick_check``, whose write-ahead log is cut short, or that a newer
version wrote, is damaged. Each stops the daemon with one line saying which file, what is wrong and what to
do, unless the operator asked to start empty.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

MARKER = "state.marker"
# Databases written by this version carry this in meta.schema_version; a larger one is from a newer version.
SCHEMA_VERSION = 1
# quick_check reads every page: bounded so a huge file cannot hold start-up for long.
CHECK_SECONDS = 10.0
_WAL_HEADER = 32
_WAL_FRAME_HEADER = 24
_WAL_MAGIC = (0x377F0682, 0x377F0683)
RECOVER = "restore a backup with `sidecar restore FILE`, or start empty with `sidecar state reset --yes`"


class DamagedStateError(Exception):
    """The state directory holds damaged or missing state; the message is one line for the operator."""


def check_state(state_dir: Path, database: Path) -> None:
    """Raise :class:`DamagedStateError` unless ``database`` is new on a first start, or readable and sound."""
    held_data = (state_dir / MARKER).exists()
    if not database.exists():
        if held_data:
            raise DamagedStateError(f"{database} is missing but {state_dir} held state before; {RECOVER}")
        return
    if database.stat().st_size == 0:
        if held_data:
            raise DamagedStateError(f"{database} is empty but {state_dir} held state before; {RECOVER}")
        return
    _check_wal(database)
    check_database(database)


def mark_in_use(state_dir: Path) -> None:
    """Record that this directory holds state, so that losing the database later is noticed."""
    marker = state_dir / MARKER
    if not marker.exists():
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("This directory holds Rollout Sidecar state; see sidecar.db.\n")


def check_database(database: Path) -> None:
    """Raise :class:`DamagedStateError` unless SQLite reads ``database`` as a sound state database."""
    started = time.monotonic()
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10.0)
    except sqlite3.Error as exc:
        raise DamagedStateError(f"{database} cannot be opened ({exc}); {RECOVER}") from exc
    # Returning non-zero from the progress handler interrupts the statement: the check's time budget.
    conn.set_progress_handler(lambda: int(time.monotonic() - started > CHECK_SECONDS), 10_000)
    try:
        rows = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            return  # too large to check in time: SQLite still verifies each page it reads
        if "no such table" in str(exc):
            return  # written before schema versions were recorded
        raise DamagedStateError(f"{database} is damaged ({exc}); {RECOVER}") from exc
    except sqlite3.DatabaseError as exc:
        raise DamagedStateError(f"{database} is damaged ({exc}); {RECOVER}") from exc
    finally:
        conn.close()
    if rows != ["ok"]:
        raise DamagedStateError(f"{database} is damaged ({'; '.join(map(str, rows))}); {RECOVER}")
    if version is not None and int(version[0]) > SCHEMA_VERSION:
        raise DamagedStateError(
            f"{database} was written by a newer version (schema {version[0]}, this one reads up to "
            f"{SCHEMA_VERSION}); run that version, or {RECOVER}"
        )


def _check_wal(database: Path) -> None:
    """A write-ahead log cut short would silently lose the transactions in its tail: refuse it."""
    wal = database.with_name(database.name + "-wal")
    try:
        size = wal.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with wal.open("rb") as handle:
        header = handle.read(_WAL_HEADER)
    if len(header) < _WAL_HEADER or int.from_bytes(header[:4], "big") not in _WAL_MAGIC:
        raise DamagedStateError(f"{wal} is not a write-ahead log (damaged header); {RECOVER}")
    page_size = int.from_bytes(header[8:12], "big")
    frame = _WAL_FRAME_HEADER + page_size
    if (size - _WAL_HEADER) % frame:
        raise DamagedStateError(
            f"{wal} is cut short ({size} bytes is not a whole number of {frame}-byte frames): "
            f"committed writes would be lost; {RECOVER}"
        )
