"""The values alert rules compare: gathered from the rollout runtime, the evaluation path and the process.

Outcome metrics are windowed differences of the rollouts' growing phase totals (see
:mod:`sidecar.alerts.metrics`); ``evaluation_errors`` counts REASON_ERROR resolutions the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from sidecar.alerts.metrics import CumulativeHistory, OutcomeWindows, gate_value, outcome_value
from sidecar.alerts.model import DAEMON_WIDE, OUTCOME_METRICS, AlertKey, AlertRule, Metric
from sidecar.rollout.model import Version
from sidecar.runtime.evaluation_errors import EvaluationErrors
from sidecar.runtime.rollouts import RolloutRuntime, RolloutView
from sidecar.store.config_store import ConfigStore


def rss_mb() -> float | None:
    """This process's resident set size in MiB, from Linux's /proc; None where that is unavailable."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


class AlertMetrics:
    """Samples what the due rules need and answers each (rule, rollout) pair's value."""

    def __init__(
        self,
        config: ConfigStore,
        rollouts: RolloutRuntime,
        started_at: float,
        memory_mb: Callable[[], float | None] = rss_mb,
    ) -> None:
        self._config = config
        self._rollouts = rollouts
        self._memory_mb = memory_mb
        self._outcomes = OutcomeWindows()
        self.evaluation_errors = EvaluationErrors()
        self._error_history: CumulativeHistory[int] = CumulativeHistory(started_at)

    def collect(
        self, rules: Mapping[str, AlertRule], due: set[str], now: float
    ) -> dict[AlertKey, float | None]:
        """The value of every due rule, per rollout it covers (or daemon-wide); None without data."""
        due_rules = [rules[name] for name in sorted(due)]
        views: dict[str, RolloutView] = {}
        if any(rule.metric.per_rollout for rule in due_rules):
            views = {view.definition.key: view for view in self._rollouts.views()}
            keep_s = _longest_window(rules.values(), OUTCOME_METRICS)
            for key, view in views.items():
                series = (view.state.generation, view.state.phase_started_at)
                totals = {Version.V1: view.v1.counts, Version.V2: view.v2.counts}
                self._outcomes.record(key, series, totals, now, keep_s)
            self._outcomes.retain(views)
        if any(rule.metric.metric is Metric.EVALUATION_ERRORS for rule in due_rules):
            keep_s = _longest_window(rules.values(), {Metric.EVALUATION_ERRORS})
            self._error_history.add(now, self.evaluation_errors.total, keep_s)
        values: dict[AlertKey, float | None] = {}
        for rule in due_rules:
            if not rule.metric.per_rollout:
                values[(rule.name, DAEMON_WIDE)] = self._daemon_value(rule, now)
                continue
            for key, view in views.items():
                if rule.covers(key):
                    values[(rule.name, key)] = self._rollout_value(rule, view, now)
        return values

    def _rollout_value(self, rule: AlertRule, view: RolloutView, now: float) -> float | None:
        ref = rule.metric
        if ref.metric is Metric.GATE:
            return gate_value(view.state.last_decision, ref.gate)
        totals = self._outcomes.totals(view.definition.key, ref.version, now, rule.window_s)
        return outcome_value(ref.metric, totals, min_requests=rule.min_requests)

    def _daemon_value(self, rule: AlertRule, now: float) -> float | None:
        metric = rule.metric.metric
        if metric is Metric.EVALUATION_ERRORS:
            baseline = self._error_history.baseline(now, rule.window_s) or 0
            return float(self.evaluation_errors.total - baseline)
        if metric is Metric.RELOAD_FAILURES:
            snapshot = self._config.snapshot
            return float(sum(not s.ok for s in snapshot.sources)) if snapshot else None
        return self._memory_mb()


def _longest_window(rules: Iterable[AlertRule], metrics: Iterable[Metric]) -> float:
    wanted = set(metrics)
    return max((rule.window_s for rule in rules if rule.metric.metric in wanted), default=0.0)
