"""What the rollout runtime changed in memory since its last durable write, and that write.

Changes are only marked here (a state key, a bucket, an audit row); :meth:`PendingWrites.flush` reads the
current values when the group commit runs, so a bucket counted twice between writes is written once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts, WindowKey
from sidecar.store.rollout_store import AuditRow, BucketRow, RolloutStore

log = logging.getLogger(__name__)


class RolloutChangeListener(Protocol):
    """Told after each durable write what changed locally (peer sync publishes it); must not block."""

    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[BucketRow]) -> None: ...


class PendingWrites:
    def __init__(
        self,
        store: RolloutStore,
        states: Mapping[str, RolloutState],
        windows: Mapping[str, Mapping[WindowKey, BucketCounts]],
    ) -> None:
        self._store = store
        self._states = states  # the runtime's own mappings, read at flush time
        self._windows = windows
        self._dirty_states: set[str] = set()
        self._dirty_buckets: set[tuple[str, WindowKey]] = set()
        self._audits: list[AuditRow] = []
        self._listeners: list[RolloutChangeListener] = []

    def state(self, rollout_key: str) -> None:
        self._dirty_states.add(rollout_key)

    def bucket(self, rollout_key: str, key: WindowKey) -> None:
        self._dirty_buckets.add((rollout_key, key))

    def audit(self, row: AuditRow) -> None:
        self._audits.append(row)

    def add_listener(self, listener: RolloutChangeListener) -> None:
        self._listeners.append(listener)

    async def flush(self) -> None:
        states = [self._states[key] for key in self._dirty_states if key in self._states]
        buckets = [
            BucketRow(key, self._states[key].generation, wk[0], wk[1], self._windows[key][wk])
            for key, wk in self._dirty_buckets
            if key in self._states and wk in self._windows.get(key, {})
        ]
        audits = self._audits
        self._dirty_states, self._dirty_buckets, self._audits = set(), set(), []
        if not (states or buckets or audits):
            return
        await asyncio.to_thread(self._store.save, states, buckets, audits)
        keys = [state.key for state in states]
        for listener in self._listeners:
            try:
                listener.on_flushed(keys, buckets)
            except Exception:
                log.exception("rollout change listener failed")
