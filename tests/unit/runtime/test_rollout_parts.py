"""The rollout runtime's parts: peers' windows and the pending writes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from sidecar.hlc import HybridLogicalClock
from sidecar.rollout.model import OutcomeKind, Version
from sidecar.rollout.state import RolloutState, initial_state
from sidecar.rollout.windows import EMPTY_COUNTS, BucketCounts, WindowKey, add_outcome
from sidecar.runtime.rollout_remote import RemoteWindows
from sidecar.runtime.rollout_writes import PendingWrites
from sidecar.store.database import StateDatabase
from sidecar.store.rollout_store import BucketRow, RolloutStore
from tests.unit.runtime.conftest import START, ManualClock

ONE = add_outcome(EMPTY_COUNTS, OutcomeKind.SUCCESS, 10.0)


def test_remote_windows_keep_other_nodes_of_the_current_generation() -> None:
    remote = RemoteWindows("me")
    state = initial_state("r", START, generation=2)
    key: WindowKey = (int(START), Version.V2)
    remote.merge("me", "r", 2, {key: ONE}, state)  # our own rows echoed back
    remote.merge("old", "r", 1, {key: ONE}, state)  # an older generation
    remote.merge("peer", "r", 2, {key: ONE}, state)
    remote.merge("next", "r", 3, {key: ONE}, state)  # a generation we have not reached yet
    assert remote.current("r", state) == {"peer": {key: ONE}}
    newer = initial_state("r", START + 10, generation=3)
    remote.prune("r", newer)
    assert remote.current("r", newer) == {"next": {}}  # its bucket began before the new phase


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[BucketRow]]] = []

    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[BucketRow]) -> None:
        self.calls.append((list(state_keys), list(buckets)))


class Broken:
    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[BucketRow]) -> None:
        raise RuntimeError("listener bug")


def test_pending_writes_store_the_current_values_once_and_tell_listeners(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = StateDatabase(tmp_path / "sidecar.db")
    store = RolloutStore(database, "node-a", HybridLogicalClock("node-a", ManualClock()))
    states: dict[str, RolloutState] = {}
    key: WindowKey = (int(START), Version.V2)
    windows: dict[str, dict[WindowKey, BucketCounts]] = {}
    writes = PendingWrites(store, states, windows)
    listener = Listener()
    writes.add_listener(Broken())
    writes.add_listener(listener)
    writes.set_state(initial_state("r", START))
    writes.set_bucket("r", key, ONE)
    writes.set_bucket("r", key, add_outcome(ONE, OutcomeKind.ERROR))  # counted again before the write
    with caplog.at_level(logging.ERROR):
        asyncio.run(writes.flush())
    asyncio.run(writes.flush())  # nothing left: no write, no call
    assert listener.calls == [(["r"], [BucketRow("r", 1, int(START), Version.V2, windows["r"][key])])]
    assert "rollout change listener failed" in caplog.text
    assert store.load_states() == states
    assert store.load_window("r", 1, 0)[key].requests == 2
    database.close()
