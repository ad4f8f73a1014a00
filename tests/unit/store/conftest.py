from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.hlc import HybridLogicalClock
from sidecar.store.database import StateDatabase
from tests.unit.server.harness import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[StateDatabase]:
    db = StateDatabase(tmp_path / "state" / "sidecar.db")
    yield db
    db.close()


@pytest.fixture
def hlc(clock: ManualClock) -> HybridLogicalClock:
    return HybridLogicalClock("node-a", clock)
