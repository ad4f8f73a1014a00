"""Damaged or missing state is refused before serving, with one line that says what to do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sidecar.store.database import StateDatabase
from sidecar.store.integrity import MARKER, DamagedStateError, check_state, mark_in_use


def stored(state_dir: Path) -> Path:
    database = state_dir / "sidecar.db"
    db = StateDatabase(database)
    db.node_id(None)
    db.close()
    mark_in_use(state_dir)
    return database


def refused(state_dir: Path, database: Path) -> str:
    with pytest.raises(DamagedStateError) as caught:
        check_state(state_dir, database)
    message = str(caught.value)
    assert "\n" not in message
    assert "sidecar restore" in message
    return message


def test_a_first_start_is_fine(tmp_path: Path) -> None:
    check_state(tmp_path, tmp_path / "sidecar.db")
    (tmp_path / "sidecar.db").touch()
    check_state(tmp_path, tmp_path / "sidecar.db")  # empty without a marker: never held data


def test_a_sound_database_passes(tmp_path: Path) -> None:
    check_state(tmp_path, stored(tmp_path))


def test_the_marker_is_private(tmp_path: Path) -> None:
    stored(tmp_path)
    assert (tmp_path / MARKER).stat().st_mode & 0o777 == 0o600


def test_missing_database_after_data_is_refused(tmp_path: Path) -> None:
    database = stored(tmp_path)
    database.unlink()
    assert "is missing but" in refused(tmp_path, database)


def test_empty_database_after_data_is_refused(tmp_path: Path) -> None:
    database = stored(tmp_path)
    database.write_bytes(b"")
    assert "is empty but" in refused(tmp_path, database)


def test_garbage_is_refused(tmp_path: Path) -> None:
    database = stored(tmp_path)
    database.write_bytes(b"this is not a database at all" * 200)
    assert "is damaged" in refused(tmp_path, database)


def test_damaged_pages_are_refused(tmp_path: Path) -> None:
    database = stored(tmp_path)
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("CREATE TABLE filler (x TEXT)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,) for _ in range(200)])
    conn.commit()
    conn.close()
    raw = bytearray(database.read_bytes())
    page = 4096
    raw[page * 3 : page * 3 + 200] = b"\xff" * 200  # scribble over a b-tree page
    database.write_bytes(bytes(raw))
    assert "damaged" in refused(tmp_path, database)


def test_a_truncated_write_ahead_log_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "sidecar.db"
    db = StateDatabase(database)
    db.node_id(None)
    mark_in_use(tmp_path)
    wal = tmp_path / "sidecar.db-wal"
    # Copy the log while the writer still holds it open, then cut it mid-frame, as a failing disk would.
    content = wal.read_bytes()
    db.close()
    assert len(content) > 32
    wal.write_bytes(content[: len(content) - 100])
    assert "cut short" in refused(tmp_path, database)
