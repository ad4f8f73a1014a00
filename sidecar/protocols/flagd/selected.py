"""Evaluating the flags a ``flagd-selector`` lets a call see: the one path every flagd-shaped wire format
(flagd's Resolve* RPCs, OFREP over HTTP) takes to the evaluation core.

A key the selector does not admit is as unknown as a key that does not exist: FLAG_NOT_FOUND, naming the
selection. Every resolution served goes to the observers (telemetry, alert error counts, exposures); a miss
does not. What each wire format makes of a resolution (a typed gRPC answer, an OFREP JSON body) is its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.clock import Clock
from sidecar.evaluation.model import CompiledFlag, EvalErrorCode, Reason, Resolution
from sidecar.protocols.flagd.selection import Selector
from sidecar.server.evaluation import EvaluationObserver
from sidecar.store.config_store import ConfigStore
from sidecar.store.snapshot import Snapshot
from sidecar.tasks import in_slices


@dataclass(frozen=True, slots=True)
class Selected:
    """One flag of a selection with its resolution."""

    flag: CompiledFlag
    resolution: Resolution


class SelectedEvaluator:
    def __init__(
        self, store: ConfigStore, clock: Clock, observers: Sequence[EvaluationObserver] = ()
    ) -> None:
        self._store = store
        self._clock = clock
        self._observers = tuple(observers)

    def snapshot(self) -> Snapshot:
        """The snapshot to answer from; UNAVAILABLE until the first configuration has loaded."""
        return self._store.require_snapshot()

    def one(
        self, snapshot: Snapshot, selector: Selector, key: str, context: Mapping[str, Any], started: float
    ) -> Resolution:
        """``key`` evaluated, or a FLAG_NOT_FOUND resolution when it does not exist or is not selected."""
        flag = snapshot.flags.get(key)
        if flag is None or not selector.admits(flag, self._store.config_dir):
            scope = f" in {selector.key}={selector.value!r}" if selector.key else ""
            return Resolution(
                key,
                None,
                None,
                Reason.ERROR,
                {},
                EvalErrorCode.FLAG_NOT_FOUND,
                f"flag {key!r} does not exist{scope}",
            )
        now = self._clock.now()
        resolution = snapshot.evaluator.evaluate(key, context, now)
        self._observe(snapshot, resolution, context, now, started)
        return resolution

    async def every(
        self,
        snapshot: Snapshot,
        selector: Selector,
        context: Mapping[str, Any],
        admit: Callable[[CompiledFlag], bool] = lambda _flag: True,
    ) -> list[Selected]:
        """Every selected flag that ``admit`` keeps, by key, evaluated at one instant; the event loop is
        given back between slices of a large selection."""
        started = time.perf_counter()
        now = self._clock.now()
        flags = [flag for flag in selector.select(snapshot.flags, self._store.config_dir) if admit(flag)]
        evaluate = snapshot.evaluator.evaluate
        answers: list[Selected] = []
        async for part in in_slices(flags):
            for flag in part:
                resolution = evaluate(flag.key, context, now)
                self._observe(snapshot, resolution, context, now, started)
                answers.append(Selected(flag, resolution))
        return answers

    def _observe(
        self,
        snapshot: Snapshot,
        resolution: Resolution,
        context: Mapping[str, Any],
        now: float,
        started: float,
    ) -> None:
        for observer in self._observers:
            observer.evaluation(snapshot, resolution, context, now, started)
