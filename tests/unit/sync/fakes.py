"""In-process stand-ins for what peer sync reaches through its ports, and a group of real SyncServices on
127.0.0.1:0 with real SQLite files, for tests that drive the whole service in one event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from sidecar.alerts.acks import Acknowledgement
from sidecar.clock import SystemClock
from sidecar.hlc import HybridLogicalClock
from sidecar.rollout.replication import adopt_shared, state_rank
from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts, WindowKey
from sidecar.store.database import StateDatabase
from sidecar.store.rollout_store import SCHEMA as ROLLOUT_SCHEMA
from sidecar.sync.ports import FlushListener
from sidecar.sync.service import SyncService
from sidecar.sync.settings import SyncSettings

T = TypeVar("T")
SECRET = "0123456789abcdef-group-secret\n"


@dataclass
class FakeSnapshot:
    rollouts: dict[str, object] = field(default_factory=dict)


class FakeConfig:
    def __init__(self) -> None:
        self.snapshot: FakeSnapshot | None = FakeSnapshot()
        self.queues: list[asyncio.Queue[Any]] = []
        self.reloads = 0

    def subscribe(self) -> asyncio.Queue[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Any]) -> None:
        self.queues.remove(queue)

    async def reload_database(self) -> None:
        self.reloads += 1

    def changed(self) -> None:
        for queue in self.queues:
            queue.put_nowait("changed")


class FakeRollouts:
    def __init__(self) -> None:
        self.states: dict[str, RolloutState] = {}
        self.listeners: list[FlushListener] = []
        self.remote: dict[tuple[str, str, int], dict[WindowKey, BucketCounts]] = {}

    def add_change_listener(self, listener: FlushListener) -> None:
        self.listeners.append(listener)

    def state(self, rollout_key: str) -> RolloutState | None:
        return self.states.get(rollout_key)

    def merge_remote_state(self, shared: RolloutState) -> bool:
        local = self.states.get(shared.key)
        if local is not None and state_rank(shared) < state_rank(local):
            return False
        self.states[shared.key] = adopt_shared(local, shared)
        return True

    def merge_remote_buckets(
        self, node_id: str, rollout_key: str, generation: int, buckets: Mapping[WindowKey, BucketCounts]
    ) -> None:
        self.remote.setdefault((node_id, rollout_key, generation), {}).update(buckets)


class FakeAlerts:
    def __init__(self) -> None:
        self.acks: dict[str, Acknowledgement] = {}
        self.listeners: list[Callable[[Sequence[Acknowledgement]], None]] = []

    def add_ack_listener(self, listener: Callable[[Sequence[Acknowledgement]], None]) -> None:
        self.listeners.append(listener)

    async def acks_since(self, since: float) -> list[Acknowledgement]:
        return [a for a in self.acks.values() if a.at >= since]

    async def read_acks(self, alert_ids: Sequence[str]) -> list[Acknowledgement]:
        return [self.acks[i] for i in alert_ids if i in self.acks]

    async def merge_remote_acks(self, acks: Sequence[Acknowledgement]) -> None:
        self.acks.update((a.alert_id, a) for a in acks)

    def acknowledge(self, ack: Acknowledgement) -> None:
        self.acks[ack.alert_id] = ack
        for listener in self.listeners:
            listener([ack])


@dataclass
class Member:
    service: SyncService
    database: StateDatabase
    config: FakeConfig
    rollouts: FakeRollouts
    alerts: FakeAlerts
    hlc: HybridLogicalClock

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.service.port}"

    def records(self) -> dict[tuple[str, str], tuple[str | None, int]]:
        with self.database.transaction() as conn:
            rows = conn.execute("SELECT kind, key, definition, deleted FROM records").fetchall()
        return {(k, key): (d, int(deleted)) for k, key, d, deleted in rows}

    def write_record(self, kind: str, key: str, definition: str | None) -> None:
        """An admin write (or deletion) as the config store makes it, then its change event."""
        version = self.hlc.now().encode()
        with self.database.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO records (kind, key, definition, version, deleted)"
                " VALUES (?, ?, ?, ?, ?)",
                (kind, key, definition, version, 1 if definition is None else 0),
            )
        self.config.changed()

    def audit_ids(self) -> set[str]:
        with self.database.transaction() as conn:
            return {str(row[0]) for row in conn.execute("SELECT id FROM audit")}


def settings_for(tmp: Path, secret: str = SECRET, **overrides: Any) -> SyncSettings:
    secret_file = tmp / "group.secret"
    secret_file.write_text(secret)
    base: dict[str, Any] = {
        "listen": "127.0.0.1:0",
        "anti_entropy_seconds": 0.2,
        "tombstone_min_age_seconds": 0,
    }
    base.update(overrides)
    return replace(SyncSettings(group_secret_file=secret_file), **base)


def make_member(tmp: Path, node_id: str, settings: SyncSettings) -> Member:
    database = StateDatabase(tmp / "sidecar.db")
    database.ensure_schema(ROLLOUT_SCHEMA)
    clock = SystemClock()
    hlc = HybridLogicalClock(node_id, clock)
    config, rollouts, alerts = FakeConfig(), FakeRollouts(), FakeAlerts()
    service = SyncService(
        settings, database=database, hlc=hlc, clock=clock, config=config, runtime=rollouts, alerts=alerts
    )
    return Member(service, database, config, rollouts, alerts, hlc)


@asynccontextmanager
async def running(
    tmp: Path, node_id: str, secret: str = SECRET, *, home: str | None = None, **overrides: Any
) -> AsyncIterator[Member]:
    directory = tmp / (home or node_id)
    directory.mkdir()
    member = make_member(directory, node_id, settings_for(directory, secret, **overrides))
    await member.service.start()
    try:
        yield member
    finally:
        await member.service.stop()


async def eventually(predicate: Callable[[], T | Awaitable[T]], timeout: float = 20.0) -> T:
    """Poll ``predicate`` on the loop until it is truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            assert value, f"condition not met within {timeout}s (last value: {value!r})"
            return value  # type: ignore[return-value]
        await asyncio.sleep(0.02)
