"""Backups while serving, restores and resets only while no daemon holds the directory, nothing deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.clock import SystemClock
from sidecar.hlc import HybridLogicalClock
from sidecar.store.database import AuditDraft, StateDatabase
from sidecar.store.integrity import MARKER, DamagedStateError, check_state, mark_in_use
from sidecar.store.state_files import StateInUseError, StateLock, backup, reset, restore


def live(state_dir: Path) -> StateDatabase:
    db = StateDatabase(state_dir / "sidecar.db")
    mark_in_use(state_dir)
    return db


def put(db: StateDatabase, key: str) -> None:
    hlc = HybridLogicalClock(db.node_id(None), SystemClock())
    draft = AuditDraft(0.0, "tester", "flag.put", key, "test")
    db.put_record("flag", key, {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a"}, hlc, draft)


def test_one_daemon_per_state_directory(tmp_path: Path) -> None:
    lock = StateLock(tmp_path)
    with pytest.raises(StateInUseError, match="in use by a running sidecar"):
        StateLock(tmp_path)
    lock.release()
    StateLock(tmp_path).release()


def test_backup_while_serving_holds_every_committed_write(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    db = live(state)
    for i in range(50):
        put(db, f"flag-{i}")
    target = tmp_path / "backup.db"
    assert backup(state, target) > 0  # the daemon's connection stays open and writing
    put(db, "after-backup")
    db.close()
    assert target.stat().st_mode & 0o777 == 0o600
    copy = StateDatabase(target)
    assert set(copy.live_records("flag")) == {f"flag-{i}" for i in range(50)}
    copy.close()


def test_restore_is_refused_while_a_daemon_holds_the_directory(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    live(state).close()
    backup(state, tmp_path / "b.db")
    lock = StateLock(state)
    with pytest.raises(StateInUseError):
        restore(tmp_path / "b.db", state)
    lock.release()


def test_restore_checks_the_file_first(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    with pytest.raises(DamagedStateError):
        restore(tmp_path / "junk.db", tmp_path / "state")


def test_restore_brings_the_state_back_and_keeps_the_old_files(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    db = live(state)
    put(db, "wanted")
    db.close()
    backup(state, tmp_path / "b.db")
    (state / "sidecar.db").write_bytes(b"")  # lost
    with pytest.raises(DamagedStateError):
        check_state(state, state / "sidecar.db")
    kept = restore(tmp_path / "b.db", state)
    assert kept is not None
    assert kept.exists()
    check_state(state, state / "sidecar.db")
    db = StateDatabase(state / "sidecar.db")
    assert list(db.live_records("flag")) == ["wanted"]
    db.close()


def test_reset_starts_empty_and_keeps_the_old_database_aside(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    live(state).close()
    kept = reset(state)
    assert kept is not None
    assert kept.exists()
    assert not (state / MARKER).exists()
    check_state(state, state / "sidecar.db")  # a fresh start now
