"""The rollout runtime: routes requests, ingests outcomes and runs the policy every tick.

All decisions are made by the pure modules in :mod:`sidecar.rollout`: one call of
:func:`sidecar.rollout.steps.record` per batch of a rollout's outcomes and one of
:func:`~sidecar.rollout.steps.tick` per rollout and tick. This class holds their current values (state and
outcome windows per rollout), feeds them the clock, and makes every change durable through one group commit
before acknowledging it. Everything runs on the event loop, so no locks are needed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from sidecar.clock import Clock
from sidecar.errors import NotFoundError
from sidecar.rollout import steps
from sidecar.rollout.decision import Decision
from sidecar.rollout.model import RolloutDefinition, Version
from sidecar.rollout.replication import adopt_shared, fleet_window, state_rank
from sidecar.rollout.router import RouteDecision, route
from sidecar.rollout.state import RolloutState, initial_state
from sidecar.rollout.steps import OutcomeReport
from sidecar.rollout.transitions import AuditEvent, Transition
from sidecar.rollout.windows import BucketCounts, WindowKey, prune, totals
from sidecar.runtime.group_commit import GroupCommit
from sidecar.runtime.rollout_audit import event_row, redefined_row, started_row
from sidecar.runtime.rollout_remote import RemoteWindows
from sidecar.runtime.rollout_views import RolloutView, compare_generation
from sidecar.runtime.rollout_writes import PendingWrites, RolloutChangeListener
from sidecar.stats.compare import VersionComparison
from sidecar.store.config_store import ConfigStore
from sidecar.store.rollout_store import RolloutStore
from sidecar.store.snapshot import Snapshot
from sidecar.tasks import cancel_and_wait, in_slices

__all__ = ["OutcomeReport", "RolloutChangeListener", "RolloutObserver", "RolloutRuntime", "RolloutView"]

log = logging.getLogger(__name__)


class RolloutObserver(Protocol):
    """Telemetry and alerting hooks; must not block."""

    def on_decision(self, definition: RolloutDefinition, state: RolloutState, decision: Decision) -> None: ...

    def on_event(self, event: AuditEvent) -> None: ...


class RolloutRuntime:
    def __init__(
        self,
        config: ConfigStore,
        store: RolloutStore,
        clock: Clock,
        *,
        bucket_seconds: int = 5,
        tick_seconds: float = 1.0,
        draw: Callable[[], float] = random.random,
        observers: Iterable[RolloutObserver] = (),
    ) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        self._bucket_seconds = bucket_seconds
        self._tick_seconds = tick_seconds
        self._draw = draw
        self._observers = list(observers)
        self._states: dict[str, RolloutState] = {}
        self._windows: dict[str, dict[WindowKey, BucketCounts]] = {}
        self._remote = RemoteWindows(store.node_id)
        self._definitions: dict[str, RolloutDefinition] = {}
        self._critical_alerts: dict[str, str] = {}
        self._writes = PendingWrites(store, self._states, self._windows)
        # A failed write undoes every change not yet durable, so everyone waiting for the next one fails too.
        self._commit = GroupCommit(self._writes.flush, failure_undoes_later=True)
        self._task: asyncio.Task[None] | None = None
        self.last_tick_at: float | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._states.update(await asyncio.to_thread(self._store.load_states))
        now = self._clock.now()
        for key, state in self._states.items():
            by_node = await asyncio.to_thread(
                self._store.load_windows_by_node, key, state.generation, state.phase_started_at
            )
            self._windows[key] = by_node.pop(self._store.node_id, {})
            self._remote.load(key, state.generation, by_node)
        self._sync_definitions(now)
        self._commit.start()
        self._task = asyncio.create_task(self._loop(), name="rollout-policy")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self._commit.stop()

    def set_critical_alert(self, rollout_key: str, alert_name: str | None) -> None:
        """A firing critical alert naming the rollout (None when it resolved); the next tick acts on it."""
        if alert_name is None:
            self._critical_alerts.pop(rollout_key, None)
        else:
            self._critical_alerts[rollout_key] = alert_name

    # -- hot path --------------------------------------------------------------------------------------

    def route(
        self, rollout_key: str, unit_of: Callable[[str], str | None]
    ) -> tuple[RouteDecision, str | None, int, int]:
        """Version for one request: the decision, the unit (``unit_of`` reads the rollout's stickiness
        attribute from the request), the rollout's generation and the config revision."""
        snapshot, definition = self._definition(rollout_key)
        unit = unit_of(definition.stickiness)
        now = self._clock.now()
        state = self._states.get(rollout_key) or self._adopt(definition, now)
        decision = route(definition, state, state.breaker, unit, self._draw(), now)
        return decision, unit, state.generation, snapshot.revision

    def _definition(self, rollout_key: str) -> tuple[Snapshot, RolloutDefinition]:
        snapshot = self._config.require_snapshot()
        definition = snapshot.rollouts.get(rollout_key)
        if definition is None:
            raise NotFoundError(f"rollout {rollout_key!r} does not exist")
        return snapshot, definition

    async def report(self, outcomes: Sequence[OutcomeReport]) -> tuple[int, int]:
        """Record a batch (all or nothing); returns (accepted, stale) once it is on disk."""
        rollouts = self._config.require_snapshot().rollouts
        steps.check_batch(outcomes, rollouts)
        now = self._clock.now()
        accepted = stale = 0
        # Slice by slice, as if sent in smaller batches: state is read afresh for each run.
        async for part in in_slices(outcomes):
            for rollout_key, run in steps.runs(part):
                definition = rollouts[rollout_key]
                state = self._states.get(rollout_key) or self._adopt(definition, now)
                window = self._windows.get(rollout_key, {})
                recorded = steps.record(definition, state, window, run, now, self._bucket_seconds)
                for key, counts in recorded.buckets.items():
                    self._writes.set_bucket(rollout_key, key, counts)
                self._apply(recorded.state, *recorded.events)
                accepted, stale = accepted + recorded.accepted, stale + recorded.stale
        await self._commit.durable()
        return accepted, stale

    # -- policy loop -----------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            try:
                self.tick()
            except Exception:
                log.exception("policy tick failed")
            self._commit.request()

    def tick(self) -> None:
        """One policy round over every rollout: breaker time, decision, transition."""
        now = self._clock.now()
        self._sync_definitions(now)
        for key, definition in self._definitions.items():
            state = self._states[key]
            others = self._others_recent_v2(key, state, now - definition.breaker.window_s)
            window = self._fleet_window(key, state)
            ticked = steps.tick(definition, state, window, others, now, self._critical_alerts.get(key))
            self._apply(*ticked.checked)
            for observer in self._observers:
                observer.on_decision(definition, ticked.checked[0], ticked.decision)
            self._apply(*ticked.decided)
            self._windows[key] = prune(self._windows.get(key, {}), self._states[key].phase_started_at)
            self._remote.prune(key, self._states[key])
        self.last_tick_at = now

    def _sync_definitions(self, now: float) -> None:
        """Adopt new rollouts; restart the phase analysis of one whose definition changed."""
        current = dict(self._config.require_snapshot().rollouts)
        for key, definition in current.items():
            previous = self._definitions.get(key)
            state = self._states.get(key)
            if state is None:
                self._adopt(definition, now)
            elif (
                previous is not None and previous != definition and state.is_active
            ) or state.phase_index > definition.last_phase_index:
                self._restart_analysis(definition, state, now)
        self._definitions = current

    def _adopt(self, definition: RolloutDefinition, now: float) -> RolloutState:
        state = initial_state(definition.key, now)
        self._writes.reset_window(definition.key)
        self._writes.set_state(state)
        self._definitions[definition.key] = definition
        self._writes.audit(started_row(definition, state, now))
        return state

    def _restart_analysis(self, definition: RolloutDefinition, state: RolloutState, now: float) -> None:
        # Data gathered under the old definition says nothing about the new one: start the phase clock again.
        index = min(state.phase_index, definition.last_phase_index)
        after = replace(
            state,
            phase_index=index,
            phase_started_at=now,
            extension=None,
            paused_s=0.0,
            paused_at=now if state.paused_at is not None else None,
        )
        self._writes.set_state(after)
        self._writes.audit(redefined_row(definition, state, after, now))

    # -- operator actions ------------------------------------------------------------------------------

    async def act(
        self, rollout_key: str, action: Callable[[RolloutDefinition, RolloutState, float], Transition]
    ) -> RolloutState:
        """Apply a manual transition (pause, promote...) and return the state once it is durable."""
        _, definition = self._definition(rollout_key)
        now = self._clock.now()
        state = self._states.get(rollout_key) or self._adopt(definition, now)
        after, event = action(definition, state, now)
        self._apply(after, event)
        if after.generation != state.generation:
            self._writes.reset_window(rollout_key)
        await self._commit.durable()
        return self._states[rollout_key]

    # -- views -----------------------------------------------------------------------------------------

    def view(self, rollout_key: str) -> RolloutView:
        _, definition = self._definition(rollout_key)
        now = self._clock.now()
        state = self._states.get(rollout_key) or self._adopt(definition, now)
        return RolloutView.of(definition, state, self._fleet_window(rollout_key, state), now)

    def views(self) -> list[RolloutView]:
        return [self.view(key) for key in sorted(self._config.require_snapshot().rollouts)]

    async def comparison(self, rollout_key: str) -> VersionComparison:
        """V1 vs V2 over the whole current generation, from every node's stored buckets."""
        view = self.view(rollout_key)
        await self._commit.durable()  # include what was reported up to now
        window = await asyncio.to_thread(self._store.load_window, rollout_key, view.state.generation, 0)
        return compare_generation(window, self._bucket_seconds, view.now)

    # -- state changes ---------------------------------------------------------------------------------

    def _apply(self, after: RolloutState, *events: AuditEvent | None) -> None:
        """Hold ``after`` (marked for the next write when it is new) and record and publish ``events``."""
        if self._states.get(after.key) is not after:
            self._writes.set_state(after)
        for event in events:
            if event is None:
                continue
            self._writes.audit(event_row(event))
            for observer in self._observers:
                observer.on_event(event)

    # -- peer sync ---------------------------------------------------------------------------------------

    @property
    def node_id(self) -> str:
        return self._store.node_id

    def add_change_listener(self, listener: RolloutChangeListener) -> None:
        self._writes.add_listener(listener)

    def state(self, rollout_key: str) -> RolloutState | None:
        return self._states.get(rollout_key)

    def merge_remote_state(self, shared: RolloutState) -> bool:
        """Adopt the group's state of a rollout (what peer sync's merge chose).

        Keeps this host's breaker within a generation; refuses anything that would move the rollout backwards
        (an older generation, undoing a rollback or completion, an earlier phase). Returns whether it changed.
        """
        local = self._states.get(shared.key)
        if local is not None and state_rank(shared) < state_rank(local):
            return False
        adopted = adopt_shared(local, shared)
        if adopted == local:
            return False
        self._writes.set_state(adopted)
        if local is None or local.generation != adopted.generation:
            self._writes.reset_window(shared.key)
            self._remote.prune(shared.key, adopted)
        self._commit.request()
        return True

    def merge_remote_buckets(
        self, node_id: str, rollout_key: str, generation: int, buckets: Mapping[WindowKey, BucketCounts]
    ) -> None:
        """Newer counts of another node's buckets (whole rows: they replace, never add)."""
        self._remote.merge(node_id, rollout_key, generation, buckets, self._states.get(rollout_key))

    def _fleet_window(self, rollout_key: str, state: RolloutState) -> dict[WindowKey, BucketCounts]:
        remote = self._remote.current(rollout_key, state)
        return fleet_window(self._windows.get(rollout_key, {}), remote, self.node_id)

    def _others_recent_v2(self, rollout_key: str, state: RolloutState, since: float) -> tuple[int, int]:
        """(calls, failures) of V2 on the other sidecars of the group, in buckets started since ``since``."""
        remote = self._remote.current(rollout_key, state)
        if not remote:
            return 0, 0
        counts = totals(fleet_window({}, remote, self.node_id), Version.V2, since).counts
        return counts.requests, counts.requests - counts.successes
