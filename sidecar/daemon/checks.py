"""What the daemon's health components answer: each a problem sentence, or None when healthy."""

from __future__ import annotations

from sidecar.clock import Clock
from sidecar.runtime.evaluation_errors import EvaluationErrors
from sidecar.runtime.rollouts import RolloutRuntime
from sidecar.server.health import HealthReporter
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase

# The policy loop counts as hung when it has not ticked for this many periods.
STALLED_TICKS = 5


class Checks:
    def __init__(
        self,
        store: ConfigStore,
        database: StateDatabase,
        rollouts: RolloutRuntime,
        clock: Clock,
        tick_seconds: float,
        evaluation_errors: EvaluationErrors,
    ) -> None:
        self._store = store
        self._database = database
        self._rollouts = rollouts
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._evaluation_errors = evaluation_errors

    def config_problem(self) -> str | None:
        snapshot = self._store.snapshot
        if snapshot is None:
            return "no configuration loaded"
        if not snapshot.complete:
            broken = [str(p) for s in snapshot.sources for p in s.problems if s.path != "database"]
            return "configuration never loaded cleanly: " + "; ".join(broken)
        return None

    def reload_problem(self) -> str | None:
        # After a clean start a broken edit degrades but does not stop serving: the last good version serves.
        snapshot = self._store.snapshot
        if snapshot is None or not snapshot.complete:
            return None
        failing = [str(problem) for source in snapshot.sources for problem in source.problems]
        return "last edit rejected, last good version serving: " + "; ".join(failing) if failing else None

    def flag_errors_problem(self) -> str | None:
        snapshot = self._store.snapshot
        return (
            None if snapshot is None else self._evaluation_errors.problem(snapshot.flags, self._clock.now())
        )

    def database_problem(self) -> str | None:
        return None if self._database.healthy() else "state database is not answering"

    def storage_problem(self) -> str | None:
        return self._database.storage.problem

    def policy_problem(self) -> str | None:
        last = self._rollouts.last_tick_at
        if last is None or self._clock.now() - last <= STALLED_TICKS * self._tick_seconds:
            return None
        return f"rollout policy loop has not run for {self._clock.now() - last:.0f}s"

    def revision(self) -> int | None:
        snapshot = self._store.snapshot
        return snapshot.revision if snapshot is not None else None

    def status_line(self, health: HealthReporter) -> str:
        snapshot = self._store.snapshot
        if snapshot is None:
            return "loading configuration"
        problems = "; ".join(health.problems.values())
        state = "serving" if health.serving else f"NOT serving: {problems}"
        counts = f"{len(snapshot.flags)} flags, {len(snapshot.rollouts)} rollouts"
        return f"{state}; revision {snapshot.revision}, {counts}"
