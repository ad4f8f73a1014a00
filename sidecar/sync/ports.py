"""What peer sync needs from the rest of the daemon, as small protocols that sync owns.

The composition root hands in the real config store, rollout runtime, alert runtime and state database; unit
tests hand in fakes. Sync imports none of those modules, so the arrows point from the daemon down to sync.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sidecar.alerts.acks import Acknowledgement
from sidecar.rollout.model import Version
from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts, WindowKey


class Database(Protocol):
    """The state database: one SQLite connection, used one transaction at a time."""

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def ensure_schema(self, script: str) -> None: ...


class ConfigSnapshot(Protocol):
    @property
    def rollouts(self) -> Collection[str]: ...


class ConfigSource(Protocol):
    """The config store: its current snapshot, change events, and a rebuild after sync wrote records."""

    @property
    def snapshot(self) -> ConfigSnapshot | None: ...

    def subscribe(self) -> asyncio.Queue[Any]: ...

    def unsubscribe(self, queue: asyncio.Queue[Any]) -> None: ...

    async def reload_database(self) -> None: ...


class LocalBucket(Protocol):
    """One of this node's outcome buckets, as the rollout runtime flushed it."""

    @property
    def rollout_key(self) -> str: ...
    @property
    def generation(self) -> int: ...
    @property
    def bucket_start(self) -> int: ...
    @property
    def version(self) -> Version: ...
    @property
    def counts(self) -> BucketCounts: ...


class FlushListener(Protocol):
    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[LocalBucket]) -> None: ...


class Rollouts(Protocol):
    """The rollout runtime: this host's rollout states, and where the group's states and counts go."""

    def add_change_listener(self, listener: FlushListener) -> None: ...

    def state(self, rollout_key: str) -> RolloutState | None: ...

    def merge_remote_state(self, shared: RolloutState) -> bool: ...

    def merge_remote_buckets(
        self, node_id: str, rollout_key: str, generation: int, buckets: Mapping[WindowKey, BucketCounts]
    ) -> None: ...


class Alerts(Protocol):
    """The alert runtime: operators' acknowledgements, made here or elsewhere."""

    def add_ack_listener(self, listener: Callable[[Sequence[Acknowledgement]], None]) -> None: ...

    async def acks_since(self, since: float) -> list[Acknowledgement]: ...

    async def read_acks(self, alert_ids: Sequence[str]) -> list[Acknowledgement]: ...

    async def merge_remote_acks(self, acks: Sequence[Acknowledgement]) -> None: ...
