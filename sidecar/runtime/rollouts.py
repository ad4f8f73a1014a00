"""The rollout runtime: routes requests, ingests outcomes and runs the policy every tick.

All decisions are made by the pure modules in :mod:`sidecar.rollout`; this class only holds their current
values (state and outcome windows per rollout), feeds them the clock, and makes every change durable through
one group commit before acknowledging it. Everything runs on the event loop, so no locks are needed.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sidecar.clock import Clock
from sidecar.errors import InvalidArgumentError, NotFoundError
from sidecar.rollout import transitions
from sidecar.rollout.decision import Decision
from sidecar.rollout.model import OutcomeKind, RolloutDefinition, Version
from sidecar.rollout.policy import decide
from sidecar.rollout.replication import adopt_shared, fleet_window, state_rank
from sidecar.rollout.router import RouteDecision, route
from sidecar.rollout.state import RolloutState, initial_state
from sidecar.rollout.transitions import AuditEvent, Transition
from sidecar.rollout.windows import (
    EMPTY_COUNTS,
    BucketCounts,
    VersionTotals,
    WindowKey,
    add_outcome,
    phase_window_key,
    prune,
    sum_counts,
    totals,
)
from sidecar.runtime.group_commit import GroupCommit
from sidecar.stats.compare import VersionComparison, VersionSample, compare_versions
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import AuditDraft
from sidecar.store.rollout_store import AuditRow, BucketRow, RolloutStore
from sidecar.store.snapshot import Snapshot
from sidecar.tasks import cancel_and_wait

log = logging.getLogger(__name__)

MAX_OUTCOMES_PER_BATCH = 10_000
MAX_LATENCY_MS = 3_600_000.0


@dataclass(frozen=True, slots=True)
class OutcomeReport:
    rollout_key: str
    version: Version
    kind: OutcomeKind
    latency_ms: float
    error_type: str | None
    generation: int  # 0: the current generation


@dataclass(frozen=True, slots=True)
class RolloutView:
    """Everything GetRollout shows about one rollout at one instant."""

    definition: RolloutDefinition
    state: RolloutState
    v1: VersionTotals
    v2: VersionTotals
    now: float


class RolloutObserver(Protocol):
    """Telemetry and alerting hooks; must not block."""

    def on_decision(self, definition: RolloutDefinition, state: RolloutState, decision: Decision) -> None: ...

    def on_event(self, event: AuditEvent) -> None: ...


class RolloutChangeListener(Protocol):
    """Told after each durable write what changed locally (peer sync publishes it); must not block."""

    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[BucketRow]) -> None: ...


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
        # Other nodes' outcome windows (peer sync), by rollout and (node id, generation).
        self._remote: dict[str, dict[tuple[str, int], dict[WindowKey, BucketCounts]]] = {}
        self._listeners: list[RolloutChangeListener] = []
        self._definitions: dict[str, RolloutDefinition] = {}
        self._critical_alerts: dict[str, str] = {}
        self._dirty_states: set[str] = set()
        self._dirty_buckets: set[tuple[str, WindowKey]] = set()
        self._pending_audits: list[AuditRow] = []
        self._commit = GroupCommit(self._flush)
        self._task: asyncio.Task[None] | None = None
        self.last_tick_at: float | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._states = await asyncio.to_thread(self._store.load_states)
        now = self._clock.now()
        for key, state in self._states.items():
            by_node = await asyncio.to_thread(
                self._store.load_windows_by_node, key, state.generation, state.phase_started_at
            )
            self._windows[key] = by_node.pop(self._store.node_id, {})
            self._remote[key] = {(node, state.generation): window for node, window in by_node.items()}
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
        if len(outcomes) > MAX_OUTCOMES_PER_BATCH:
            raise InvalidArgumentError(
                f"at most {MAX_OUTCOMES_PER_BATCH} outcomes per call, got {len(outcomes)}"
            )
        rollouts = self._config.require_snapshot().rollouts
        for index, outcome in enumerate(outcomes):
            if outcome.rollout_key not in rollouts:
                raise InvalidArgumentError(
                    f"outcomes[{index}]: rollout {outcome.rollout_key!r} does not exist"
                )
            if not 0.0 <= outcome.latency_ms <= MAX_LATENCY_MS:
                raise InvalidArgumentError(
                    f"outcomes[{index}]: latency_ms must be between 0 and {MAX_LATENCY_MS:.0f}"
                )
        now = self._clock.now()
        accepted = stale = 0
        for outcome in outcomes:
            definition = rollouts[outcome.rollout_key]
            state = self._states.get(outcome.rollout_key) or self._adopt(definition, now)
            if outcome.generation and outcome.generation != state.generation:
                stale += 1
                continue
            self._count(outcome, state.phase_started_at, now)
            self._apply(transitions.record_outcome(definition, state, outcome.version, outcome.kind, now))
            accepted += 1
        await self._commit.durable()
        return accepted, stale

    def _count(self, outcome: OutcomeReport, phase_started_at: float, now: float) -> None:
        window = self._windows.setdefault(outcome.rollout_key, {})
        key = phase_window_key(outcome.version, now, phase_started_at, self._bucket_seconds)
        window[key] = add_outcome(
            window.get(key, EMPTY_COUNTS), outcome.kind, outcome.latency_ms, outcome.error_type
        )
        self._dirty_buckets.add((outcome.rollout_key, key))

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
            others = self._others_recent_v2(key, self._states[key], now - definition.breaker.window_s)
            self._apply(transitions.tick_breaker(definition, self._states[key], now, others))
            state = self._states[key]
            window = self._windows.setdefault(key, {})
            fleet = self._fleet_window(key, state)
            v1 = totals(fleet, Version.V1, state.phase_started_at)
            v2 = totals(fleet, Version.V2, state.phase_started_at)
            decision = decide(definition, state, v1, v2, now, self._critical_alerts.get(key))
            for observer in self._observers:
                observer.on_decision(definition, state, decision)
            self._apply(transitions.apply_decision(definition, state, decision, now))
            self._windows[key] = prune(window, self._states[key].phase_started_at)
            self._prune_remote(key)
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
        self._states[definition.key] = state
        self._windows[definition.key] = {}
        self._dirty_states.add(definition.key)
        self._definitions[definition.key] = definition
        self._pending_audits.append(
            AuditRow(
                AuditDraft(
                    now,
                    transitions.POLICY_ACTOR,
                    "rollout.started",
                    definition.key,
                    f"rollout defined in {definition.source}; starting at {definition.phases[0].name}",
                ),
                None,
                _summary(definition, state),
            )
        )
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
        self._states[state.key] = after
        self._dirty_states.add(state.key)
        self._pending_audits.append(
            AuditRow(
                AuditDraft(
                    now,
                    transitions.POLICY_ACTOR,
                    "rollout.redefined",
                    state.key,
                    "definition changed: phase analysis restarted",
                ),
                _summary(definition, state),
                _summary(definition, after),
            )
        )

    # -- operator actions ------------------------------------------------------------------------------

    async def act(
        self, rollout_key: str, action: Callable[[RolloutDefinition, RolloutState, float], Transition]
    ) -> RolloutState:
        """Apply a manual transition (pause, promote...) and return the state once it is durable."""
        _, definition = self._definition(rollout_key)
        now = self._clock.now()
        state = self._states.get(rollout_key) or self._adopt(definition, now)
        after, event = action(definition, state, now)
        self._apply((after, event))
        if after.generation != state.generation:
            self._windows[rollout_key] = {}
        await self._commit.durable()
        return self._states[rollout_key]

    # -- views -----------------------------------------------------------------------------------------

    def view(self, rollout_key: str) -> RolloutView:
        _, definition = self._definition(rollout_key)
        now = self._clock.now()
        state = self._states.get(rollout_key) or self._adopt(definition, now)
        window = self._fleet_window(rollout_key, state)
        return RolloutView(
            definition,
            state,
            totals(window, Version.V1, state.phase_started_at),
            totals(window, Version.V2, state.phase_started_at),
            now,
        )

    def views(self) -> list[RolloutView]:
        return [self.view(key) for key in sorted(self._config.require_snapshot().rollouts)]

    async def comparison(self, rollout_key: str) -> VersionComparison:
        """V1 vs V2 over the whole current generation, from every node's stored buckets."""
        view = self.view(rollout_key)
        await self._commit.durable()  # include what was reported up to now
        window = await asyncio.to_thread(self._store.load_window, rollout_key, view.state.generation, 0)
        starts = [start for start, _ in window] or [int(view.now)]
        duration = max(starts) - min(starts) + self._bucket_seconds
        samples = {
            version: _sample(sum_counts(c for (_, v), c in window.items() if v is version), duration)
            for version in (Version.V1, Version.V2)
        }
        return compare_versions(samples[Version.V1], samples[Version.V2])

    # -- state changes and durability ------------------------------------------------------------------

    def _apply(self, transition: Transition) -> None:
        after, event = transition
        if self._states.get(after.key) is not after:
            self._states[after.key] = after
            self._dirty_states.add(after.key)
        if event is not None:
            self._pending_audits.append(_audit_row(event))
            for observer in self._observers:
                observer.on_event(event)

    async def _flush(self) -> None:
        states = [self._states[key] for key in self._dirty_states if key in self._states]
        buckets = [
            BucketRow(key, self._states[key].generation, wk[0], wk[1], self._windows[key][wk])
            for key, wk in self._dirty_buckets
            if key in self._states and wk in self._windows.get(key, {})
        ]
        audits = self._pending_audits
        self._dirty_states, self._dirty_buckets, self._pending_audits = set(), set(), []
        if states or buckets or audits:
            await asyncio.to_thread(self._store.save, states, buckets, audits)
            keys = [state.key for state in states]
            for listener in self._listeners:
                try:
                    listener.on_flushed(keys, buckets)
                except Exception:
                    log.exception("rollout change listener failed")

    # -- peer sync ---------------------------------------------------------------------------------------

    @property
    def node_id(self) -> str:
        return self._store.node_id

    def add_change_listener(self, listener: RolloutChangeListener) -> None:
        self._listeners.append(listener)

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
        self._states[shared.key] = adopted
        self._dirty_states.add(shared.key)
        if local is None or local.generation != adopted.generation:
            self._windows[shared.key] = {}
            self._prune_remote(shared.key)
        self._commit.request()
        return True

    def merge_remote_buckets(
        self, node_id: str, rollout_key: str, generation: int, buckets: Mapping[WindowKey, BucketCounts]
    ) -> None:
        """Newer counts of another node's buckets (whole rows: they replace, never add)."""
        if node_id == self.node_id:
            return
        state = self._states.get(rollout_key)
        if state is not None and generation < state.generation:
            return
        self._remote.setdefault(rollout_key, {}).setdefault((node_id, generation), {}).update(buckets)

    def _remote_windows(
        self, rollout_key: str, state: RolloutState
    ) -> dict[str, dict[WindowKey, BucketCounts]]:
        """Other nodes' windows of the rollout's current generation, by node."""
        return {
            node: window
            for (node, generation), window in self._remote.get(rollout_key, {}).items()
            if generation == state.generation
        }

    def _fleet_window(self, rollout_key: str, state: RolloutState) -> dict[WindowKey, BucketCounts]:
        remote = self._remote_windows(rollout_key, state)
        return fleet_window(self._windows.get(rollout_key, {}), remote, self.node_id)

    def _others_recent_v2(self, rollout_key: str, state: RolloutState, since: float) -> tuple[int, int]:
        """(calls, failures) of V2 on the other sidecars of the group, in buckets started since ``since``."""
        remote = self._remote_windows(rollout_key, state)
        if not remote:
            return 0, 0
        counts = totals(fleet_window({}, remote, self.node_id), Version.V2, since).counts
        return counts.requests, counts.requests - counts.successes

    def _prune_remote(self, rollout_key: str) -> None:
        state = self._states.get(rollout_key)
        remote = self._remote.get(rollout_key)
        if state is None or not remote:
            return
        self._remote[rollout_key] = {
            (node, generation): prune(window, state.phase_started_at)
            for (node, generation), window in remote.items()
            if generation >= state.generation
        }


def _summary(definition: RolloutDefinition, state: RolloutState) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "phase": definition.phases[state.phase_index].name,
        "phaseIndex": state.phase_index,
        "generation": state.generation,
    }


def _audit_row(event: AuditEvent) -> AuditRow:
    before = {"status": event.from_status.value, "phase": event.from_phase, "generation": event.generation}
    after: dict[str, Any] = {
        "status": event.to_status.value,
        "phase": event.to_phase,
        "generation": event.generation,
    }
    if event.code is not None:
        after["code"] = event.code.value
    if event.numbers:
        after["numbers"] = dict(event.numbers)
    draft = AuditDraft(
        event.at, event.actor, f"rollout.{event.kind.value.lower()}", event.rollout_key, event.reason
    )
    return AuditRow(draft, before, after)


def _sample(counts: BucketCounts, duration_s: float) -> VersionSample:
    return VersionSample(
        requests=counts.requests,
        errors=counts.errors + counts.fallbacks,
        latency_sum_ms=counts.latency_sum_us / 1e3,
        latency_sum_sq_ms=counts.latency_sum_sq_us2 / 1e6,
        latency_buckets=counts.histogram,
        duration_s=float(duration_s),
    )


def outcome_kind(success: bool, fallback: bool) -> OutcomeKind:
    """A fallback to V1 is its own kind (degraded, not user-visible); otherwise success or error."""
    if fallback:
        return OutcomeKind.FALLBACK
    return OutcomeKind.SUCCESS if success else OutcomeKind.ERROR
