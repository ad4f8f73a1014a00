"""What the rollout runtime changed in memory since its last durable write, and that write.

Every change goes through here (a state, a bucket, a window reset, an audit row); :meth:`PendingWrites.flush`
reads the current values when the group commit runs, so a bucket counted twice between writes is written
once. Before a rollout's first change since its last durable write, its state and window are kept as they
were: when a write fails, every rollout changed since goes back to that, so memory (what routing, the
policy and GetRollout see) never counts what the database refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping, Sequence
from typing import Protocol

from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts, WindowKey
from sidecar.store.rollout_store import AuditRow, BucketRow, RolloutStore

log = logging.getLogger(__name__)

Window = dict[WindowKey, BucketCounts]


class RolloutChangeListener(Protocol):
    """Told after each durable write what changed locally (peer sync publishes it); must not block."""

    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[BucketRow]) -> None: ...


class PendingWrites:
    def __init__(
        self,
        store: RolloutStore,
        states: MutableMapping[str, RolloutState],
        windows: MutableMapping[str, Window],
    ) -> None:
        self._store = store
        self._states = states  # the runtime's own mappings, changed only through this class
        self._windows = windows
        self._dirty_states: set[str] = set()
        self._dirty_buckets: set[tuple[str, WindowKey]] = set()
        self._audits: list[AuditRow] = []
        # Per rollout changed since its last durable write: its state and a copy of its window back then.
        self._durable: dict[str, tuple[RolloutState | None, Window]] = {}
        self._touched: set[str] = set()  # rollouts changed since the running write took its values
        self._listeners: list[RolloutChangeListener] = []

    # -- changes -----------------------------------------------------------------------------------------

    def set_state(self, state: RolloutState) -> None:
        self._keep(state.key)
        self._states[state.key] = state
        self._dirty_states.add(state.key)

    def set_bucket(self, rollout_key: str, key: WindowKey, counts: BucketCounts) -> None:
        self._keep(rollout_key)
        self._windows.setdefault(rollout_key, {})[key] = counts
        self._dirty_buckets.add((rollout_key, key))

    def reset_window(self, rollout_key: str) -> None:
        """A new generation starts with no outcomes (the old generation's rows stay stored)."""
        self._keep(rollout_key)
        self._windows[rollout_key] = {}

    def audit(self, row: AuditRow) -> None:
        self._audits.append(row)

    def _keep(self, rollout_key: str) -> None:
        self._touched.add(rollout_key)
        if rollout_key not in self._durable:
            window = dict(self._windows.get(rollout_key, {}))
            self._durable[rollout_key] = (self._states.get(rollout_key), window)

    def add_listener(self, listener: RolloutChangeListener) -> None:
        self._listeners.append(listener)

    # -- the durable write -------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write every change so far in one transaction. When it fails, undo every change not yet durable
        (those made while it ran too) and raise: the group commit fails everyone waiting."""
        states = [self._states[key] for key in self._dirty_states if key in self._states]
        buckets = [
            BucketRow(key, self._states[key].generation, wk[0], wk[1], self._windows[key][wk])
            for key, wk in self._dirty_buckets
            if key in self._states and wk in self._windows.get(key, {})
        ]
        audits = self._audits
        # What this write makes durable, should a later change need to go back to it.
        written = {key: (self._states.get(key), dict(self._windows.get(key, {}))) for key in self._durable}
        self._dirty_states, self._dirty_buckets, self._audits = set(), set(), []
        self._touched = set()
        if not (states or buckets or audits):
            self._durable.clear()
            return
        try:
            await asyncio.to_thread(self._store.save, states, buckets, audits)
        except BaseException:
            self._undo()
            raise
        self._advance(written)
        keys = [state.key for state in states]
        for listener in self._listeners:
            try:
                listener.on_flushed(keys, buckets)
            except Exception:
                log.exception("rollout change listener failed")

    def _advance(self, written: dict[str, tuple[RolloutState | None, Window]]) -> None:
        # A rollout changed again while the write ran now goes back only as far as what it wrote.
        for key, durable in written.items():
            if key in self._touched:
                self._durable[key] = durable
            else:
                del self._durable[key]

    def _undo(self) -> None:
        for key, (state, window) in self._durable.items():
            if state is None:
                self._states.pop(key, None)
                self._windows.pop(key, None)
            else:
                self._states[key] = state
                self._windows[key] = window
        self._durable.clear()
        self._touched = set()
        self._dirty_states, self._dirty_buckets, self._audits = set(), set(), []
