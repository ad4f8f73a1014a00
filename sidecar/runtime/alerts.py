"""The alert runtime: evaluates the ``alerts`` rules on their intervals and acts on what the engine decides.

Every decision is made by the pure :func:`sidecar.alerts.engine.evaluate`; this class gathers the metric
values from the daemon's components, holds the engine's state, makes alert changes durable through one group
commit, and tells the others: the rollout policy (a firing critical alert naming a rollout rolls it back),
webhooks, WatchAlerts streams, observers (e.g. OpenTelemetry) and the ``sidecar.alerts`` log. Everything runs
on the event loop, so no locks are needed, and nothing here waits on a webhook.

Acknowledgements are shared with the group (:mod:`sidecar.alerts.acks`): each one made here is handed to the
ack listeners (peer sync) once durable, and one made elsewhere (:meth:`AlertRuntime.merge_remote_acks`)
acknowledges the local episode it covers, or waits for that episode to fire for up to ``ACK_SKEW_S``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import cast

from sidecar.alerts import engine
from sidecar.alerts.acks import (
    ACK_SKEW_S,
    Acknowledgement,
    acknowledged,
    acknowledgement_of,
    covered_episode,
)
from sidecar.alerts.engine import AlertState
from sidecar.alerts.model import (
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertKey,
    AlertRule,
)
from sidecar.clock import Clock
from sidecar.errors import NotFoundError, StorageError
from sidecar.hlc import HybridLogicalClock
from sidecar.runtime.alert_metrics import AlertMetrics, rss_mb
from sidecar.runtime.alert_publish import WATCH_QUEUE, AlertObserver, AlertPublisher
from sidecar.runtime.group_commit import GroupCommit
from sidecar.runtime.rollouts import RolloutRuntime
from sidecar.runtime.webhooks import WebhookSender, WebhookStats
from sidecar.store.alert_store import AlertStore
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import AuditDraft
from sidecar.store.sections import ALERT
from sidecar.tasks import cancel_and_wait

log = logging.getLogger("sidecar.alerts")

__all__ = ["WATCH_QUEUE", "AckListener", "AlertObserver", "AlertRuntime"]

MAX_SLEEP_S = 1.0  # rules added or changed by a reload are evaluated within this


AckListener = Callable[[Sequence[Acknowledgement]], None]
"""Told of acknowledgements once they are durable (made here or merged from a peer); must not block."""


class AlertRuntime:
    def __init__(
        self,
        config: ConfigStore,
        rollouts: RolloutRuntime,
        store: AlertStore,
        clock: Clock,
        hlc: HybridLogicalClock,
        node_id: str,
        *,
        webhooks: WebhookSender | None = None,
        observers: Iterable[AlertObserver] = (),
        memory_mb: Callable[[], float | None] = rss_mb,
    ) -> None:
        self._config = config
        self._rollouts = rollouts
        self._store = store
        self._clock = clock
        self._hlc = hlc
        self._publisher = AlertPublisher(node_id, webhooks, observers)
        self._metrics = AlertMetrics(config, rollouts, clock.now(), memory_mb)
        self.evaluation_errors = (
            self._metrics.evaluation_errors
        )  # give to the EvaluationServicer as an observer
        self._rules: dict[str, AlertRule] = {}
        self._next_due: dict[str, float] = {}
        self._states: dict[AlertKey, AlertState] = {}
        self._critical: dict[str, str] = {}
        self._dirty: dict[str, Alert] = {}
        self._audits: list[AuditDraft] = []
        self._new_acks: dict[str, tuple[Acknowledgement, str | None]] = {}  # to store, with what each covers
        self._pending_acks: dict[AlertKey, list[Acknowledgement]] = {}  # from peers, no local episode yet
        self._ack_listeners: list[AckListener] = []
        self._commit = GroupCommit(self._flush)
        self._ack_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        # Alerts firing at shutdown keep firing (and keep their rollouts' critical flags) until re-evaluated.
        for alert in await asyncio.to_thread(self._store.load_firing):
            self._states[alert.key] = AlertState(alert=alert)
        since = self._clock.now() - ACK_SKEW_S
        for ack in await asyncio.to_thread(self._store.acks_since, since, uncovered_only=True):
            self._pending_acks.setdefault(ack.key, []).append(ack)
        self._sync_critical()
        self._commit.start()
        self._task = asyncio.create_task(self._loop(), name="alert-evaluation")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self._commit.stop()
        await self._publisher.stop()

    # -- evaluation ------------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            try:
                self.evaluate()
            except Exception:
                log.exception("alert evaluation failed")
            await asyncio.sleep(self._sleep_s())

    def _sleep_s(self) -> float:
        until_due = min(self._next_due.values(), default=float("inf")) - self._clock.now()
        return max(0.0, min(MAX_SLEEP_S, until_due))

    def evaluate(self) -> None:
        """Evaluate the rules that are due (new or changed rules at once) and act on the events."""
        now = self._clock.now()
        snapshot = self._config.snapshot
        rules = dict(cast("Mapping[str, AlertRule]", snapshot.section(ALERT) if snapshot else {}))
        due = {name for name, rule in rules.items() if self._is_due(name, rule, now)}
        self._next_due = {name: self._next_due.get(name, now) for name in rules}
        for name in due:
            self._next_due[name] = now + rules[name].interval_s
        values = self._metrics.collect(rules, due, now)
        step = engine.evaluate(rules, due, values, self._states, now, _new_id)
        self._states = step.states
        for event in step.events:
            self._publish(
                self._stamp(event), rules.get(event.alert.rule) or self._rules.get(event.alert.rule)
            )
        if self._pending_acks:
            self._cover_pending([e.alert.key for e in step.events if e.kind is AlertEventKind.FIRED], now)
        self._rules = rules
        self._sync_critical()
        if step.events:
            self._commit.request()

    def _is_due(self, name: str, rule: AlertRule, now: float) -> bool:
        if rule != self._rules.get(name):
            return True  # new or changed: evaluate at once
        next_due = self._next_due.get(name, now)
        # A wall clock set back must not postpone a rule by more than its interval.
        return next_due <= now or next_due > now + rule.interval_s

    # -- telling the others ----------------------------------------------------------------------------

    def _stamp(self, event: AlertEvent) -> AlertEvent:
        """Give the changed alert its version, in the event and (while firing) in the engine state."""
        alert = replace(event.alert, version=self._hlc.now().encode())
        state = self._states.get(alert.key)
        if state is not None and state.alert is not None and state.alert.id == alert.id:
            self._states[alert.key] = replace(state, alert=alert)
        return replace(event, alert=alert)

    def _publish(self, event: AlertEvent, rule: AlertRule | None) -> None:
        self._dirty[event.alert.id] = event.alert
        self._publisher.publish(event, rule)

    def _sync_critical(self) -> None:
        critical = engine.critical_rollouts(self._states)
        for key in self._critical.keys() - critical.keys():
            self._rollouts.set_critical_alert(key, None)
        for key, name in critical.items():
            if self._critical.get(key) != name:
                self._rollouts.set_critical_alert(key, name)
        self._critical = critical

    async def _flush(self) -> None:
        dirty, audits, new_acks = self._dirty, self._audits, self._new_acks
        self._dirty, self._audits, self._new_acks = {}, [], {}
        alerts, acks = list(dirty.values()), list(new_acks.values())
        if alerts or audits or acks:
            try:
                await asyncio.to_thread(self._store.save, alerts, audits, acks)
            except StorageError:
                # Firing and resolving happened (the engine saw the metric); they are held and written
                # with the next write. Changes made meanwhile are newer and win.
                self._dirty = dirty | self._dirty
                self._audits = audits + self._audits
                self._new_acks = new_acks | self._new_acks
                raise
        if acks:
            for listener in self._ack_listeners:
                listener([ack for ack, _ in acks])

    # -- acknowledgements shared with the group --------------------------------------------------------

    def add_ack_listener(self, listener: AckListener) -> None:
        self._ack_listeners.append(listener)

    async def merge_remote_acks(self, acks: Sequence[Acknowledgement]) -> None:
        """Store acknowledgements made on other sidecars and apply each to the local episode it covers."""
        async with self._ack_lock:
            now = self._clock.now()
            for ack in acks:
                stored = await asyncio.to_thread(self._store.episodes, ack.key, ack.at)
                episode = covered_episode(ack, self._with_held(stored))
                if episode is not None:
                    self._apply_ack(episode, ack, now)
                elif ack.at >= now - ACK_SKEW_S:  # its episode may not have fired here yet
                    self._pending_acks.setdefault(ack.key, []).append(ack)
                self._new_acks[ack.alert_id] = (ack, episode.id if episode is not None else None)
            await self._commit.durable()

    async def acks_since(self, since: float) -> list[Acknowledgement]:
        await self._commit.durable()
        return await asyncio.to_thread(self._store.acks_since, since)

    async def read_acks(self, alert_ids: Sequence[str]) -> list[Acknowledgement]:
        await self._commit.durable()
        return await asyncio.to_thread(self._store.read_acks, alert_ids)

    def _with_held(self, stored: Iterable[Alert]) -> list[Alert]:
        """Stored episodes plus those held in memory (firing, or changed but not yet written; newer)."""
        episodes = {alert.id: alert for alert in stored}
        episodes.update(self._dirty)
        episodes.update((s.alert.id, s.alert) for s in self._states.values() if s.alert is not None)
        return list(episodes.values())

    def _cover_pending(self, fired: Iterable[AlertKey], now: float) -> None:
        """Apply acknowledgements that arrived before the episode they cover fired here; forget those too old
        to cover any episode that fires from now on."""
        for key in fired:
            for ack in sorted(self._pending_acks.pop(key, []), key=lambda a: (a.at, a.alert_id)):
                alert = self._states[key].alert
                if alert is not None and covered_episode(ack, [alert]) is not None:
                    self._apply_ack(alert, ack, now)
                    self._new_acks[ack.alert_id] = (ack, alert.id)
                    self._commit.request()
        for key, acks in list(self._pending_acks.items()):
            if recent := [a for a in acks if a.at >= now - ACK_SKEW_S]:
                self._pending_acks[key] = recent
            else:
                del self._pending_acks[key]

    def _apply_ack(self, alert: Alert, ack: Acknowledgement, now: float) -> None:
        updated = acknowledged(alert, ack)
        if updated is not None:
            self._publish(self._stamp(AlertEvent(AlertEventKind.ACKNOWLEDGED, updated, now)), None)

    # -- operator API ----------------------------------------------------------------------------------

    def firing(self, rollout: str | None = None) -> list[Alert]:
        """Alerts firing now, most severe first."""
        return [a for a in engine.firing(self._states) if rollout is None or a.rollout == rollout]

    async def list_alerts(self, *, firing_only: bool, rollout: str | None, limit: int) -> list[Alert]:
        """Firing alerts (most severe first) or every stored alert (newest first)."""
        if firing_only:
            return self.firing(rollout)[:limit]
        await self._commit.durable()
        return await asyncio.to_thread(self._store.find, firing_only=False, rollout=rollout, limit=limit)

    async def acknowledge(self, alert_id: str, actor: str, note: str) -> Alert:
        """Record who took the alert on; idempotent: the first acknowledgement stands and is returned."""
        async with self._ack_lock:
            alert = self._find(alert_id) or await asyncio.to_thread(self._store.get, alert_id)
            if alert is None:
                raise NotFoundError(f"alert {alert_id!r} does not exist")
            if alert.ack_by is None:
                return await self._take(alert, actor, note)
            await self._commit.durable()
            return alert

    async def _take(self, alert: Alert, actor: str, note: str) -> Alert:
        """Acknowledge, then tell watchers once it is stored; a refused write is undone in memory."""
        now = self._clock.now()
        taken = replace(alert, ack_by=actor, ack_at=now, ack_note=note)
        event = self._stamp(AlertEvent(AlertEventKind.ACKNOWLEDGED, taken, now))
        audit = AuditDraft(now, actor, "alert.acknowledged", f"alert/{alert.id}", note)
        ack = (acknowledgement_of(event.alert, event.alert.version), alert.id)
        self._dirty[alert.id], self._new_acks[alert.id] = event.alert, ack
        self._audits.append(audit)
        try:
            await self._commit.durable()
        except StorageError:
            state = self._states.get(alert.key)
            if state is not None and state.alert is event.alert:
                self._states[alert.key] = replace(state, alert=alert)
            if self._dirty.get(alert.id) is event.alert:
                del self._dirty[alert.id]
            if self._new_acks.get(alert.id) is ack:
                del self._new_acks[alert.id]
            self._audits = [a for a in self._audits if a is not audit]
            raise
        self._publisher.publish(event, None)
        return event.alert

    def _find(self, alert_id: str) -> Alert | None:
        """An alert held in memory: firing, or changed but not yet written."""
        for state in self._states.values():
            if state.alert is not None and state.alert.id == alert_id:
                return state.alert
        return self._dirty.get(alert_id)

    def watch(self) -> tuple[list[Alert], asyncio.Queue[AlertEvent | None]]:
        """The firing alerts and a queue of every later event (None: fell behind, watch again)."""
        return self.firing(), self._publisher.watch()

    def unwatch(self, queue: asyncio.Queue[AlertEvent | None]) -> None:
        self._publisher.unwatch(queue)

    def webhook_stats(self) -> list[WebhookStats]:
        return self._publisher.webhook_stats()


def _new_id() -> str:
    return uuid.uuid4().hex
