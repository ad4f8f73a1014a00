"""The state directory's files as an operator handles them: one daemon at a time, backups, restores, resets.

A running daemon holds an exclusive lock on ``STATE_DIR/lock``, so a second daemon on the same directory,
a restore or a reset is refused instead of pulling the database from under it. Backups use SQLite's online
backup API, which copies a consistent snapshot while the daemon keeps serving and writing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from pathlib import Path

from sidecar.store.integrity import MARKER, DamagedStateError, check_database, check_state, mark_in_use

log = logging.getLogger(__name__)

DATABASE = "sidecar.db"
LOCK = "lock"
_COMPANIONS = ("", "-wal", "-shm")


class StateInUseError(Exception):
    """Another process holds the state directory; the message names it."""


class StateLock:
    """Held by the daemon for as long as it runs; released by the kernel even after kill -9."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(self._fd)
            raise StateInUseError(f"{state_dir} is in use by a running sidecar (pid {holder})") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        os.close(self._fd)


def private_state_dir(state_dir: Path) -> bool:
    """Create the state directory 0700, or narrow an existing one to 0700 (True when it had to). What the
    daemon creates inside it is 0600, since it runs with umask 077."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if state_dir.stat().st_mode & 0o077:
        state_dir.chmod(0o700)
        return True
    return False


def open_state(state_dir: Path, *, start_empty: bool) -> tuple[StateLock, Path | None]:
    """Take the state directory for a daemon: private, locked, and checked before anything opens it.

    Returns the lock (held while the daemon runs) and, when ``start_empty`` set damaged state aside,
    where it went. Raises :class:`DamagedStateError` or :class:`StateInUseError` with one line to show.
    """
    if private_state_dir(state_dir):
        log.warning("state directory %s was open to other users; narrowed to 0700", state_dir)
    lock = StateLock(state_dir)
    try:
        check_state(state_dir, state_dir / DATABASE)
    except DamagedStateError:
        if not start_empty:
            lock.release()
            raise
        kept = _set_aside(state_dir, "damaged")
        (state_dir / MARKER).unlink(missing_ok=True)
        return lock, kept
    return lock, None


def backup(state_dir: Path, target: Path) -> int:
    """Copy the live database to ``target`` (checked, then renamed into place); returns its size in bytes."""
    database = state_dir / DATABASE
    if not database.exists():
        raise DamagedStateError(f"no state database at {database}")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10.0)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    try:
        check_database(partial)
    except DamagedStateError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    return target.stat().st_size


def restore(source: Path, state_dir: Path) -> Path | None:
    """Replace the state with ``source`` while no daemon runs; the old files are kept aside, never deleted.
    Returns where the old database went (None when there was none)."""
    check_database(source)
    private_state_dir(state_dir)
    lock = StateLock(state_dir)
    try:
        kept = _set_aside(state_dir, "before-restore")
        target = state_dir / DATABASE
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            origin.backup(copy)
            copy.execute("PRAGMA journal_mode=WAL")
        finally:
            copy.close()
            origin.close()
        mark_in_use(state_dir)
        return kept
    finally:
        lock.release()


def reset(state_dir: Path) -> Path | None:
    """Start empty at the next start: the database is set aside (kept, renamed), the marker removed."""
    lock = StateLock(state_dir)
    try:
        kept = _set_aside(state_dir, "reset")
        (state_dir / MARKER).unlink(missing_ok=True)
        return kept
    finally:
        lock.release()


def _set_aside(state_dir: Path, why: str) -> Path | None:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    kept = None
    for suffix in _COMPANIONS:
        path = state_dir / f"{DATABASE}{suffix}"
        if path.exists():
            moved = state_dir / f"{DATABASE}.{why}-{stamp}{suffix}"
            os.replace(path, moved)
            kept = kept or moved
    return kept
