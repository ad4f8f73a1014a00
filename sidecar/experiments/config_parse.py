"""Experiment definitions from configuration files, validated with every problem located.

A document may hold a top-level ``experiments`` mapping (camelCase keys, like flags and rollouts)::

    experiments:
      checkout-button:                        # key: letters, digits, '.', '_' and '-'
        flag: checkout-button-color           # its fractional split assigns the arms
        control: control                      # the baseline arm
        weights: {control: 34, green: 33, orange: 33}   # the arms and their configured split (SRM check)
        hypothesis: A green or orange button raises checkout conversion.
        start: "2026-01-01"                   # ISO 8601; a date or time without a zone is UTC
        stop: "2026-03-01T00:00:00Z"          # optional; exposures and events stop counting here
        targeting: {"==": [{var: country}, NL]}   # optional JSON Logic: who is eligible
        alpha: 0.05                           # defaults shown
        power: 0.8
        mode: fixed                           # or sequential (always-valid, may be read at any time)
        correction: holm                      # or bh (Benjamini-Hochberg)
        metrics:                              # at least one primary
          - {name: checkout, kind: binomial, role: primary, direction: increase, mde: "5%"}
          - {name: order-value, kind: continuous, role: secondary, mde: 2.5}
          - {name: support-tickets, kind: count, role: guardrail, direction: decrease}
        satisfaction: {role: secondary, mde: 0.25}   # optional: feedback ratings (1-5) as a metric

``mde`` is absolute in metric units, or relative to the control mean when written as a percentage string;
``tau`` (sequential mixing standard deviation, absolute) may pin what ``mde`` would otherwise derive.
``targeting`` uses the flag rule language (``$ref`` names the same document's ``$evaluators``) and sees the
request context plus ``environment`` and ``$flagd``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidecar.config.keys import KEY_RULE, is_key
from sidecar.config.located import LocatedDocument, PathKey
from sidecar.config.reader import ProblemCollector, key_name, text
from sidecar.evaluation.jsonlogic import RuleCompiler
from sidecar.experiments.config import SATISFACTION, ExperimentConfig
from sidecar.experiments.config_values import (
    arm_weights,
    choice,
    parse_mde,
    parse_time,
    positive,
    probability,
)
from sidecar.experiments.feedback import satisfaction_metric
from sidecar.experiments.model import (
    AnalysisMode,
    Correction,
    Direction,
    MetricDefinition,
    MetricKind,
    MetricRole,
)

_FIELDS = (
    "flag",
    "control",
    "weights",
    "hypothesis",
    "start",
    "stop",
    "targeting",
    "alpha",
    "power",
    "mode",
    "correction",
    "metrics",
    "satisfaction",
)
_REQUIRED = ("flag", "control", "weights", "hypothesis", "start", "metrics")
_METRIC_FIELDS = ("name", "kind", "role", "direction", "mde", "tau")
_SATISFACTION_FIELDS = ("role", "mde")


def parse_experiments(doc: LocatedDocument) -> dict[str, ExperimentConfig]:
    """Every experiment under ``experiments``; :class:`ConfigError` lists all problems with their lines."""
    reader = _Reader(doc)
    experiments: dict[str, ExperimentConfig] = {}
    raw = doc.data.get("experiments") if isinstance(doc.data, Mapping) else None
    if raw is None:
        return experiments
    if not isinstance(raw, Mapping):
        reader.report(("experiments",), "must be a mapping of experiment key to definition")
    else:
        evaluators = doc.data.get("$evaluators")
        evaluators = evaluators if isinstance(evaluators, Mapping) else {}
        for key, definition in raw.items():
            experiment = reader.experiment(str(key), definition, evaluators)
            if experiment is not None:
                experiments[str(key)] = experiment
    reader.raise_problems()
    return experiments


class _Reader(ProblemCollector):
    """Walks one document's ``experiments`` section, collecting problems instead of stopping at the first."""

    def experiment(self, key: str, raw: object, evaluators: Mapping[str, Any]) -> ExperimentConfig | None:
        path: PathKey = ("experiments", key)
        before = len(self.problems)
        if not is_key(key):
            self.report(path, f"key must be {KEY_RULE}")
        data = self.mapping(path, raw, _FIELDS)
        if data is None:
            return None
        for name in _REQUIRED:
            if name not in data:
                self.report(path, f"{name} is required")
        flag = self.value(path, data, "flag", text, "")
        weights = self.value(path, data, "weights", arm_weights, {})
        control = self.value(path, data, "control", text, "")
        if weights and control and control not in weights:
            self.report(
                (*path, "control"), f"{control!r} is not one of the arms in weights ({', '.join(weights)})"
            )
        start = self.value(path, data, "start", parse_time, 0.0)
        stop = self.value(path, data, "stop", parse_time, None)
        if stop is not None and stop <= start:
            self.report((*path, "stop"), "must be later than start")
        metrics = self.metrics((*path, "metrics"), data.get("metrics"))
        satisfaction = None
        if "satisfaction" in data:
            satisfaction = self.satisfaction((*path, "satisfaction"), data["satisfaction"])
            if any(m.name == SATISFACTION for m in metrics):
                self.report((*path, "satisfaction"), f"a tracked metric is already named {SATISFACTION!r}")
        targeting = data.get("targeting")
        eligibility = RuleCompiler(key, evaluators, self.report).targeting(targeting, (*path, "targeting"))
        experiment = ExperimentConfig(
            key=key,
            flag=flag,
            control=control,
            arms=tuple(weights),
            weights=tuple(weights.values()),
            hypothesis=self.value(path, data, "hypothesis", text, ""),
            start=start,
            stop=stop,
            alpha=self.value(path, data, "alpha", probability, 0.05),
            power=self.value(path, data, "power", probability, 0.8),
            mode=self.value(path, data, "mode", choice(AnalysisMode), AnalysisMode.FIXED),
            correction=self.value(path, data, "correction", choice(Correction), Correction.HOLM),
            tracked=metrics,
            satisfaction=satisfaction,
            source=self.doc.source,
            targeting=targeting,
            eligibility=eligibility,
        )
        return experiment if len(self.problems) == before else None

    def metrics(self, path: PathKey, raw: object) -> tuple[MetricDefinition, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list) or not raw:
            self.report(path, "must be a non-empty list of metrics")
            return ()
        metrics: list[MetricDefinition] = []
        for index, item in enumerate(raw):
            metric = self.metric((*path, index), item)
            if metric is None:
                continue
            if any(m.name == metric.name for m in metrics):
                self.report((*path, index, "name"), f"duplicate metric name {metric.name!r}")
            metrics.append(metric)
        if len(metrics) == len(raw) and not any(m.role is MetricRole.PRIMARY for m in metrics):
            self.report(
                path, "at least one metric must have role primary (the pre-registered decision metric)"
            )
        return tuple(metrics)

    def metric(self, path: PathKey, raw: object) -> MetricDefinition | None:
        data = self.mapping(path, raw, _METRIC_FIELDS)
        if data is None:
            return None
        before = len(self.problems)
        for name in ("name", "kind"):
            if name not in data:
                self.report(path, f"{name} is required")
        name = self.value(path, data, "name", key_name, "")
        kind = self.value(path, data, "kind", choice(MetricKind), None)
        mde, relative = self.value(path, data, "mde", parse_mde, (None, False))
        metric = MetricDefinition(
            name=name or "?",
            kind=kind or MetricKind.BINOMIAL,
            role=self.value(path, data, "role", choice(MetricRole), MetricRole.PRIMARY),
            direction=self.value(path, data, "direction", choice(Direction), Direction.INCREASE),
            mde=mde,
            mde_relative=relative,
            tau=self.value(path, data, "tau", positive, None),
        )
        return metric if len(self.problems) == before else None

    def satisfaction(self, path: PathKey, raw: object) -> MetricDefinition | None:
        data = self.mapping(path, raw if raw is not None else {}, _SATISFACTION_FIELDS)
        if data is None:
            return None
        before = len(self.problems)
        role = self.value(path, data, "role", choice(MetricRole), MetricRole.SECONDARY)
        mde = self.value(path, data, "mde", positive, None)
        return satisfaction_metric(SATISFACTION, role=role, mde=mde) if len(self.problems) == before else None
