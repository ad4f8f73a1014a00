"""Writes a real SQLite file refuses: the error a caller gets, nothing stored, the problem and its end."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import grpc
import pytest

from sidecar.errors import StorageError, StorageFullError, StorageUnavailableError
from sidecar.hlc import HybridLogicalClock
from sidecar.server.status import GRPC_STATUS
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import AuditDraft, StateDatabase
from sidecar.store.storage import storage_error
from tests.support.refusing import refuse_writes
from tests.unit.runtime.conftest import ManualClock

CAP = 64 * 1024
DRAFT = AuditDraft(0.0, "tester", "flag.put", "k", "test")


def flag(padding: int) -> dict[str, object]:
    return {
        "state": "ENABLED",
        "variants": {"on": True},
        "defaultVariant": "on",
        "metadata": {"pad": "x" * padding},
    }


def put(database: StateDatabase, key: str, padding: int = 0) -> None:
    database.put_record("flag", key, flag(padding), HybridLogicalClock("n", ManualClock()), DRAFT)


def fill(database: StateDatabase) -> StorageError:
    for i in range(1000):
        try:
            put(database, f"ballast-{i}", padding=2000)
        except StorageError as exc:
            return exc
    raise AssertionError("the database never filled up")


def test_a_full_database_refuses_the_write_whole_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sidecar.db"
    database = StateDatabase(path, max_size=CAP)
    with caplog.at_level(logging.ERROR):
        full = fill(database)
        with pytest.raises(StorageFullError):
            put(database, "refused", padding=6000)
    assert isinstance(full, StorageFullError)
    assert GRPC_STATUS[full.code] is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert str(path) in full.message
    assert f"--state-max-size of {CAP} bytes" in full.message
    assert "refused" not in database.live_records("flag")
    assert database.storage.problem == full.message
    assert caplog.text.count("is full") == 1
    put(database, "small")  # what still fits is stored; the problem stands until there is room again
    assert "small" in database.live_records("flag")
    database.probe_storage()
    assert database.storage.problem is not None

    with closing(sqlite3.connect(path)) as other:  # an operator deleting data frees its pages
        other.execute("DELETE FROM audit")
        other.execute("DELETE FROM records WHERE key LIKE 'ballast-%'")
        other.commit()
    database.probe_storage()
    assert database.storage.problem is None
    assert database.live_records("flag").keys() == {"small"}
    database.close()


def test_a_read_only_database_answers_unavailable(tmp_path: Path) -> None:
    database = StateDatabase(tmp_path / "sidecar.db")
    refuse_writes(database)
    with pytest.raises(StorageUnavailableError) as refused:
        put(database, "k")
    assert GRPC_STATUS[refused.value.code] is grpc.StatusCode.UNAVAILABLE
    assert "is read-only" in refused.value.message
    refuse_writes(database, refuse=False)
    database.probe_storage()
    assert database.storage.problem is None
    put(database, "k")
    assert "k" in database.live_records("flag")
    database.close()


def test_an_unwritable_file_is_an_io_error(tmp_path: Path) -> None:
    path = tmp_path / "sidecar.db"
    database = StateDatabase(path)
    put(database, "first")
    files = [str(path), f"{path}-wal"]
    if subprocess.run(["chattr", "+i", *files], capture_output=True, check=False).returncode != 0:
        database.close()
        pytest.skip("this file system or user cannot set the immutable attribute")
    try:
        with pytest.raises(StorageUnavailableError) as refused:
            put(database, "second")
    finally:
        subprocess.run(["chattr", "-i", *files], check=False)
    assert "could not be written (SQLITE_IOERR" in refused.value.message
    assert database.live_records("flag").keys() == {"first"}
    database.close()


def test_other_failures_keep_their_own_error_and_the_connection_works(tmp_path: Path) -> None:
    database = StateDatabase(tmp_path / "sidecar.db")
    with pytest.raises(sqlite3.IntegrityError) as failed, database.transaction() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('k', NULL)")
    assert storage_error(failed.value, tmp_path) is None
    assert database.storage.problem is None
    put(database, "k")
    assert "k" in database.live_records("flag")
    database.close()


def test_a_refused_admin_write_changes_nothing_served_and_files_still_load(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    database = StateDatabase(tmp_path / "sidecar.db")
    clock = ManualClock()
    store = ConfigStore(config_dir, database, HybridLogicalClock("n", clock), clock, {})

    async def main() -> None:
        await store.reload(force=True)
        before = store.require_snapshot()
        refuse_writes(database)
        with pytest.raises(StorageUnavailableError):
            await store.put_record("flag", "refused", flag(0), "tester", "test")
        assert store.require_snapshot() is before
        (config_dir / "flags.json").write_text(json.dumps({"flags": {"from-file": flag(0)}}))
        assert await store.reload()  # the revision is not remembered, the file serves all the same
        assert "from-file" in store.require_snapshot().flags

    asyncio.run(main())
    database.close()
