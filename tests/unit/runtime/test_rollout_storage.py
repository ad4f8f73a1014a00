"""A write the database refuses leaves the rollout runtime as it was: nothing counted or acknowledged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sidecar.errors import StorageError, StorageUnavailableError
from sidecar.hlc import HybridLogicalClock
from sidecar.rollout.model import OutcomeKind, Version
from sidecar.rollout.state import initial_state
from sidecar.rollout.windows import EMPTY_COUNTS, BucketCounts, WindowKey, add_outcome
from sidecar.runtime.group_commit import GroupCommit
from sidecar.runtime.rollout_writes import PendingWrites
from sidecar.runtime.rollouts import OutcomeReport
from sidecar.store.database import StateDatabase
from sidecar.store.rollout_store import RolloutStore
from tests.support.refusing import refuse_writes
from tests.unit.runtime.conftest import START, Harness, ManualClock, scenario

ONE = add_outcome(EMPTY_COUNTS, OutcomeKind.SUCCESS, 10.0)
KEY: WindowKey = (int(START), Version.V2)


def outcomes(count: int, key: str = "checkout") -> list[OutcomeReport]:
    return [OutcomeReport(key, Version.V2, OutcomeKind.SUCCESS, 20.0, None, 0)] * count


@scenario
async def test_refused_outcomes_are_not_counted_and_later_ones_are(harness: Harness) -> None:
    runtime = await harness.make()
    await runtime.report(outcomes(3))
    refuse_writes(harness.database)
    with pytest.raises(StorageUnavailableError, match="is read-only"):
        await runtime.report(outcomes(5))
    assert runtime.view("checkout").v2.requests == 3
    refuse_writes(harness.database, refuse=False)
    await runtime.report(outcomes(2))
    assert runtime.view("checkout").v2.requests == 5
    await runtime.stop()
    assert (await harness.make()).view("checkout").v2.requests == 5


@scenario
async def test_a_rollout_first_seen_while_refused_is_adopted_again_later(harness: Harness) -> None:
    runtime = await harness.make()
    refuse_writes(harness.database)
    with pytest.raises(StorageError):
        await runtime.report(outcomes(1, "search"))
    assert runtime.state("search") is None
    runtime.tick()  # the policy adopts it again, and writes it once it can
    refuse_writes(harness.database, refuse=False)
    assert await runtime.report(outcomes(1, "search")) == (1, 0)
    await runtime.stop()
    assert (await harness.make()).view("search").v2.requests == 1


@pytest.fixture
def parts(tmp_path: Path) -> tuple[StateDatabase, RolloutStore]:
    database = StateDatabase(tmp_path / "sidecar.db")
    return database, RolloutStore(database, "node-a", HybridLogicalClock("node-a", ManualClock()))


def test_changes_made_while_a_refused_write_runs_are_undone_too(
    parts: tuple[StateDatabase, RolloutStore],
) -> None:
    database, store = parts
    windows: dict[str, dict[WindowKey, BucketCounts]] = {}
    writes = PendingWrites(store, {}, windows)
    writes.set_state(initial_state("r", START))
    writes.set_bucket("r", KEY, ONE)

    async def main() -> None:
        await writes.flush()
        refuse_writes(database)
        writes.set_bucket("r", KEY, add_outcome(ONE, OutcomeKind.SUCCESS, 10.0))
        running = asyncio.create_task(writes.flush())
        await asyncio.sleep(0)  # the write is under way in its thread
        writes.set_bucket("r", KEY, add_outcome(ONE, OutcomeKind.ERROR))
        with pytest.raises(StorageError):
            await running

    asyncio.run(main())
    assert windows["r"][KEY] == ONE  # back to what is stored
    refuse_writes(database, refuse=False)
    asyncio.run(writes.flush())  # nothing left to write
    assert store.load_window("r", 1, 0)[KEY] == ONE
    database.close()


def test_a_change_made_during_a_good_write_goes_back_only_to_what_it_wrote(
    parts: tuple[StateDatabase, RolloutStore],
) -> None:
    database, store = parts
    windows: dict[str, dict[WindowKey, BucketCounts]] = {}
    writes = PendingWrites(store, {}, windows)
    two = add_outcome(ONE, OutcomeKind.SUCCESS, 10.0)

    async def main() -> None:
        writes.set_state(initial_state("r", START))
        writes.set_bucket("r", KEY, ONE)
        running = asyncio.create_task(writes.flush())
        await asyncio.sleep(0)
        writes.set_bucket("r", KEY, two)  # after the write took its values
        await running
        refuse_writes(database)
        with pytest.raises(StorageError):
            await writes.flush()

    asyncio.run(main())
    assert windows["r"][KEY] == ONE
    database.close()


def test_a_failed_write_that_undoes_later_changes_fails_their_callers_too() -> None:
    async def main() -> None:
        started = asyncio.Event()

        async def flush() -> None:
            started.set()
            await asyncio.sleep(0)
            raise StorageUnavailableError("state database x is read-only")

        commit = GroupCommit(flush, failure_undoes_later=True)
        commit.start()
        first = asyncio.create_task(commit.durable())
        await started.wait()
        second = asyncio.create_task(commit.durable())  # registered while the failing write runs
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert all(isinstance(r, StorageUnavailableError) for r in results)
        await commit.stop()

    asyncio.run(main())
