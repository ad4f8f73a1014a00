"""The state database on a real SQLite file: durability settings, node identity, records, audit, and
noticing another process's writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sidecar.hlc import HybridLogicalClock
from sidecar.store.database import AuditDraft, StateDatabase


def draft(target: str, actor: str = "tester", ts: float = 1.0) -> AuditDraft:
    return AuditDraft(ts, actor, "flag.put", target, "because")


def test_the_database_is_in_wal_mode_with_full_sync(database: StateDatabase) -> None:
    with database.transaction() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert database.healthy()


def test_a_closed_database_is_not_healthy(tmp_path: Path) -> None:
    db = StateDatabase(tmp_path / "sidecar.db")
    db.close()
    assert not db.healthy()


def test_node_id_is_generated_once_remembered_and_replaced_on_request(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.db"
    first = StateDatabase(path)
    generated = first.node_id(None)
    assert generated.startswith("node-")
    assert first.node_id(None) == generated
    first.close()
    reopened = StateDatabase(path)
    assert reopened.node_id(None) == generated
    assert reopened.node_id("chosen") == "chosen"
    assert reopened.node_id(None) == "chosen"
    reopened.close()


def test_revision_starts_at_zero_and_is_kept(database: StateDatabase) -> None:
    assert database.last_revision() == 0
    database.save_revision(7)
    assert database.last_revision() == 7


def test_put_returns_the_previous_record_and_delete_leaves_a_tombstone(
    database: StateDatabase, hlc: HybridLogicalClock
) -> None:
    first, previous = database.put_record("flag", "f", {"v": 1}, hlc, draft("f"))
    assert previous is None
    second, previous = database.put_record("flag", "f", {"v": 2}, hlc, draft("f"))
    assert previous == first
    assert second.version > first.version
    assert database.live_records("flag") == {"f": second}
    assert database.delete_record("flag", "f", hlc, draft("f")) == second
    assert database.live_records("flag") == {}
    assert database.delete_record("flag", "f", hlc, draft("f")) is None
    with database.transaction() as conn:
        (deleted,) = conn.execute("SELECT deleted FROM records WHERE key = 'f'").fetchone()
    assert deleted == 1
    assert database.max_record_version() is not None


def test_an_empty_database_has_no_record_version(database: StateDatabase) -> None:
    assert database.max_record_version() is None


def test_audit_lists_newest_first_by_target_with_before_and_after(
    database: StateDatabase, hlc: HybridLogicalClock
) -> None:
    database.put_record("flag", "a", {"v": 1}, hlc, draft("a", "alice", ts=1.0))
    database.put_record("flag", "a", {"v": 2}, hlc, draft("a", "bob", ts=2.0))
    database.put_record("flag", "b", {"v": 1}, hlc, draft("b", "carol", ts=3.0))
    assert [r.actor for r in database.list_audit(10)] == ["carol", "bob", "alice"]
    newest_of_a, oldest_of_a = database.list_audit(10, "a")
    assert (newest_of_a.before, newest_of_a.after) == ({"v": 1}, {"v": 2})
    assert (oldest_of_a.before, oldest_of_a.after) == (None, {"v": 1})
    assert len(database.list_audit(1)) == 1


def test_a_failed_transaction_is_rolled_back(database: StateDatabase) -> None:
    def insert_then_fail() -> None:
        with database.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
            conn.execute("SELECT * FROM no_such_table")

    with pytest.raises(sqlite3.OperationalError):
        insert_then_fail()
    with database.transaction() as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'x'").fetchone() is None


def test_data_version_changes_on_another_connections_commit_only(
    tmp_path: Path, hlc: HybridLogicalClock
) -> None:
    path = tmp_path / "sidecar.db"
    ours, theirs = StateDatabase(path), StateDatabase(path)
    try:
        before = ours.data_version()
        ours.put_record("flag", "mine", {"v": 1}, hlc, draft("mine"))
        assert ours.data_version() == before  # our own commit
        theirs.put_record("flag", "other", {"v": 1}, hlc, draft("other"))
        assert ours.data_version() != before
        assert set(ours.live_records("flag")) == {"mine", "other"}
    finally:
        ours.close()
        theirs.close()


def test_schema_of_another_adapter_is_created_idempotently(database: StateDatabase) -> None:
    script = "CREATE TABLE IF NOT EXISTS extra (k TEXT PRIMARY KEY);"
    database.ensure_schema(script)
    database.ensure_schema(script)
    with database.transaction() as conn:
        assert conn.execute("SELECT COUNT(*) FROM extra").fetchone()[0] == 0
