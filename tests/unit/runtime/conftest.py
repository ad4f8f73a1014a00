"""A rollout runtime on a real SQLite file in tmp_path, driven by a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sidecar.hlc import HybridLogicalClock
from sidecar.runtime.rollouts import RolloutRuntime
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.rollout_store import RolloutStore

START = 1_800_000_000.0
ROLLOUTS = """\
rollouts:
  checkout:
    breaker: {enabled: false}
    minLatencySamples: 10
    phases:
      - {name: CANARY, percent: 10, minDuration: 30s, minSamples: 20}
      - {name: FULL, percent: 100, minSamples: 20}
  search:
    phases: [{name: HALF, percent: 50, minSamples: 20}, {name: ALL, percent: 100}]
"""


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = START) -> None:
        self._now = now

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now - START

    def advance(self, seconds: float) -> None:
        self._now += seconds


class Harness:
    """Builds runtimes on one database and config directory; use it inside :func:`scenario`."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = ManualClock()
        self._config_dir = tmp_path / "config"
        self._config_dir.mkdir()
        (self._config_dir / "rollouts.yaml").write_text(ROLLOUTS)
        self.database = StateDatabase(tmp_path / "sidecar.db")
        self._hlc = HybridLogicalClock("node-a", self.clock)
        self._config: ConfigStore | None = None
        self._runtimes: list[RolloutRuntime] = []

    async def make(self) -> RolloutRuntime:
        """A started runtime; another call is a restart on the same database."""
        if self._config is None:
            self._config = ConfigStore(self._config_dir, self.database, self._hlc, self.clock, {})
            await self._config.reload()
        # Ticks are driven by the test: the loop's own tick is an hour away.
        store = RolloutStore(self.database, "node-a", self._hlc)
        runtime = RolloutRuntime(self._config, store, self.clock, tick_seconds=3_600)
        self._runtimes.append(runtime)
        await runtime.start()
        return runtime

    async def close(self) -> None:
        for runtime in self._runtimes:
            await runtime.stop()
        self.database.close()


def scenario(test: Callable[[Harness], Awaitable[None]]) -> Callable[[Harness], None]:
    """Run an async test on a fresh event loop (the suite has no asyncio plugin), then close its harness."""

    @functools.wraps(test)
    def run(harness: Harness) -> None:
        async def main() -> None:
            try:
                await test(harness)
            finally:
                await harness.close()

        asyncio.run(main())

    return run


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)
