"""The config store on a real directory and SQLite file: reloads, the last good version, admin writes, and
edits by another process picked up without a restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sidecar.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError
from sidecar.hlc import HybridLogicalClock, Timestamp
from sidecar.store import config_store
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import AuditDraft, StateDatabase
from sidecar.store.sections import FLAG, ROLLOUT
from tests.support.flagfiles import boolean_flag, write_flags
from tests.unit.server.harness import ManualClock

# Generous: the machine running the tests may be busy.
WAIT_S = 30.0


async def eventually(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Wait for a condition the store's background tasks bring about; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


def run(
    tmp_path: Path,
    scenario: Callable[[ConfigStore, Path, StateDatabase], Awaitable[None]],
    start: bool = True,
) -> None:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    database = StateDatabase(tmp_path / "sidecar.db")
    clock = ManualClock()

    async def main() -> None:
        store = ConfigStore(
            config, database, HybridLogicalClock("node-a", clock), clock, {"environment": "test"}
        )
        if start:
            await store.start()
        try:
            await scenario(store, config, database)
        finally:
            await store.stop()

    try:
        asyncio.run(main())
    finally:
        database.close()


def flag_keys(store: ConfigStore) -> set[str]:
    return set(store.require_snapshot().flags)


def test_nothing_is_served_before_the_first_load(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        assert store.snapshot is None
        with pytest.raises(UnavailableError, match="no configuration has loaded yet"):
            store.require_snapshot()
        assert store.config_dir == config

    run(tmp_path, scenario, start=False)


def test_a_forced_reload_without_changes_keeps_the_snapshot(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        write_flags(config, "a.json", {"one": boolean_flag()})
        assert await store.reload()
        snapshot = store.require_snapshot()
        assert flag_keys(store) == {"one"}
        assert snapshot.complete
        assert database.last_revision() == snapshot.revision
        assert not await store.reload()
        await store.reload(force=True)
        assert store.snapshot is snapshot

    run(tmp_path, scenario)


def test_a_broken_edit_is_reported_while_the_last_good_version_serves(tmp_path: Path) -> None:
    outcomes: list[bool] = []

    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        store.add_reload_listener(outcomes.append)
        path = write_flags(config, "a.json", {"one": boolean_flag()})
        await store.reload()
        path.write_text("{")
        await store.reload()
        snapshot = store.require_snapshot()
        assert flag_keys(store) == {"one"}
        assert snapshot.complete
        (status, _database) = snapshot.sources
        assert not status.ok
        assert status.problems

    run(tmp_path, scenario)
    assert outcomes == [True, False]


def test_a_daemon_started_on_a_broken_file_is_incomplete_until_it_is_fixed(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.json").write_text("")

    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        assert not store.require_snapshot().complete
        write_flags(config, "a.json", {"one": boolean_flag()})
        await store.reload()
        assert store.require_snapshot().complete

    run(tmp_path, scenario)


def test_admin_writes_are_validated_stored_audited_and_served(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        events = store.subscribe()
        stored, revision = await store.put_record(FLAG, "db-flag", boolean_flag("on"), "alice", "try it")
        assert stored.key == "db-flag"
        assert store.require_snapshot().revision == revision
        assert store.require_snapshot().db_versions[f"{FLAG}/db-flag"] == stored.version
        event = events.get_nowait()
        assert event.changed_keys == ("db-flag",)
        assert revision == event.revision
        (audit,) = database.list_audit(10)
        assert (audit.actor, audit.action, audit.reason) == ("alice", "flag.put", "try it")
        deleted = await store.delete_record(FLAG, "db-flag", "bob", "done")
        assert deleted > revision
        assert "db-flag" not in flag_keys(store)
        store.unsubscribe(events)

    run(tmp_path, scenario)


def test_bad_admin_writes_are_refused_with_a_reason(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        write_flags(config, "a.json", {"one": boolean_flag()})
        await store.reload()
        with pytest.raises(InvalidArgumentError, match="flag key 'no spaces' is invalid"):
            await store.put_record(FLAG, "no spaces", boolean_flag(), "a", "r")
        with pytest.raises(InvalidArgumentError):
            await store.put_record(FLAG, "fine", {"state": "SOMETIMES"}, "a", "r")
        with pytest.raises(FailedPreconditionError, match=r"defined in .*a\.json; edit that file instead"):
            await store.put_record(FLAG, "one", boolean_flag(), "a", "r")
        with pytest.raises(FailedPreconditionError):
            await store.delete_record(FLAG, "one", "a", "r")
        with pytest.raises(NotFoundError, match="no rollout 'ghost' is stored"):
            await store.delete_record(ROLLOUT, "ghost", "a", "r")

    run(tmp_path, scenario)


def test_a_slow_watcher_gets_one_coalesced_event_not_unbounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config_store, "SUBSCRIBER_QUEUE", 2)

    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        events = store.subscribe()
        for key in ("a", "b", "c"):
            await store.put_record(FLAG, key, boolean_flag(), "a", "r")
        # The third event found the queue full: everything queued merged into one event.
        assert events.qsize() == 1
        merged = events.get_nowait()
        assert merged.changed_keys == ("a", "b", "c")
        assert merged.revision == store.require_snapshot().revision

    run(tmp_path, scenario)


def test_another_processs_database_write_is_picked_up_by_polling(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        other = StateDatabase(tmp_path / "sidecar.db")
        hlc = HybridLogicalClock("node-b", ManualClock())
        other.put_record(FLAG, "from-cli", boolean_flag(), hlc, AuditDraft(1.0, "cli", "flag.put", "x", "r"))
        other.close()
        await eventually(lambda: "from-cli" in flag_keys(store))

    run(tmp_path, scenario)


def test_an_invalid_record_written_by_another_process_is_skipped_and_reported(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        hlc = HybridLogicalClock("node-b", ManualClock())
        draft = AuditDraft(1.0, "cli", "flag.put", "x", "r")
        database.put_record(FLAG, "good", boolean_flag(), hlc, draft)
        database.put_record(FLAG, "bad", {"state": "SOMETIMES"}, hlc, draft)
        await store.reload_database()
        assert flag_keys(store) == {"good"}
        (status,) = store.require_snapshot().sources
        assert status.path == "database"
        assert not status.ok
        assert "flag 'bad'" in str(status.problems[0])

    run(tmp_path, scenario)


def test_a_new_file_is_picked_up_without_a_reload_call(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        write_flags(config, "new.json", {"watched": boolean_flag()})
        await eventually(lambda: "watched" in flag_keys(store))

    run(tmp_path, scenario)


def test_writes_after_start_order_after_every_stored_version(tmp_path: Path) -> None:
    database = StateDatabase(tmp_path / "sidecar.db")
    future = HybridLogicalClock("node-z", ManualClock(start=2.5e9))
    database.put_record(FLAG, "old", boolean_flag(), future, AuditDraft(1.0, "a", "flag.put", "old", "r"))
    latest = database.max_record_version()
    database.close()
    assert latest is not None

    async def scenario(store: ConfigStore, config: Path, database: StateDatabase) -> None:
        stored, _ = await store.put_record(FLAG, "new", boolean_flag(), "a", "r")
        assert Timestamp.decode(stored.version) > Timestamp.decode(latest)
        assert json.loads(json.dumps(sorted(flag_keys(store)))) == ["new", "old"]

    run(tmp_path, scenario)
