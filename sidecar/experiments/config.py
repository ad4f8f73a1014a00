"""Experiment definitions from configuration files: validation with every problem located, and the
cross-check against the flag that assigns the arms.

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

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sidecar.config.located import LocatedDocument, PathKey
from sidecar.config.reader import KEY_NAME, KEY_NAME_RULE, ProblemCollector, key_name, text
from sidecar.evaluation.coercion import truthy
from sidecar.evaluation.jsonlogic import RuleCompiler
from sidecar.evaluation.model import CompiledFlag, FlagResolver, Targeting
from sidecar.experiments.analysis import (
    AnalysisMode,
    Correction,
    Direction,
    ExperimentDefinition,
    MetricDefinition,
    MetricKind,
    MetricRole,
)
from sidecar.experiments.feedback import satisfaction_metric

SATISFACTION = "satisfaction"
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


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """One validated experiment. ``arms`` and ``weights`` are in the order written; times are unix seconds."""

    key: str
    flag: str
    control: str
    arms: tuple[str, ...]
    weights: tuple[float, ...]
    hypothesis: str
    start: float
    stop: float | None
    alpha: float
    power: float
    mode: AnalysisMode
    correction: Correction
    tracked: tuple[MetricDefinition, ...]
    """Metrics fed by TrackEvents."""
    satisfaction: MetricDefinition | None
    """Feedback ratings as a metric, when configured."""
    source: str
    targeting: Any = None
    """The eligibility rule as written; compared instead of its compiled closure."""
    eligibility: Targeting | None = field(default=None, compare=False)

    @property
    def metrics(self) -> tuple[MetricDefinition, ...]:
        return self.tracked if self.satisfaction is None else (*self.tracked, self.satisfaction)

    def in_window(self, ts: float) -> bool:
        return self.start <= ts and (self.stop is None or ts < self.stop)

    def status(self, now: float) -> str:
        if now < self.start:
            return "scheduled"
        return "running" if self.stop is None or now < self.stop else "ended"

    def eligible(self, data: Mapping[str, Any], resolver: FlagResolver | None) -> bool:
        """Whether a unit with evaluation data ``data`` may enter; a rule that fails admits no one."""
        if self.eligibility is None:
            return True
        try:
            return truthy(self.eligibility.rule(data, resolver))
        except Exception:
            return False

    def definition(self, correction: Correction | None = None) -> ExperimentDefinition:
        return ExperimentDefinition(
            key=self.key,
            arms=self.arms,
            control=self.control,
            weights=self.weights,
            metrics=self.metrics,
            alpha=self.alpha,
            power=self.power,
            mode=self.mode,
            correction=correction or self.correction,
        )


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


def cross_check(experiment: ExperimentConfig, flags: Mapping[str, CompiledFlag]) -> list[str]:
    """What is wrong between an experiment and its flag: the flag exists and is enabled, every arm is one of
    its variants, and its fractional split (when written literally) has the experiment's arms and shares."""
    flag = flags.get(experiment.flag)
    if flag is None:
        return [f"flag {experiment.flag!r} does not exist, so no unit is exposed"]
    problems: list[str] = []
    if not flag.enabled:
        problems.append(f"flag {experiment.flag!r} is DISABLED, so no unit is exposed")
    unknown = [arm for arm in experiment.arms if arm not in flag.variants]
    if unknown:
        problems.append(
            f"arms {', '.join(map(repr, unknown))} are not variants of flag {experiment.flag!r} "
            f"(variants: {', '.join(flag.variants)})"
        )
    split = _literal_split(flag.definition.get("targeting"))
    if split is None:
        return problems
    if not split:
        problems.append(
            f"flag {experiment.flag!r} has no fractional split: exposures are recorded only for units the "
            "split randomises into an arm"
        )
        return problems
    configured = _shares(dict(zip(experiment.arms, experiment.weights, strict=True)))
    actual = _shares(split)
    if configured.keys() != actual.keys() or any(
        not math.isclose(configured[a], actual[a], abs_tol=1e-9) for a in configured
    ):
        problems.append(
            f"weights {_describe(experiment.arms, experiment.weights)} do not match the fractional split of "
            f"flag {experiment.flag!r} ({_describe(tuple(split), tuple(split.values()))}); the sample-ratio "
            "check would flag a healthy assignment"
        )
    return problems


def parse_time(raw: object) -> float:
    """Unix seconds from an ISO 8601 date or date-time; without a zone it is UTC."""
    if not isinstance(raw, str):
        raise ValueError(f'must be an ISO 8601 date or time such as "2026-01-31" (quoted), got {raw!r}')
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_mde(raw: object) -> tuple[float, bool]:
    """``(mde, relative)``: a number is absolute, a percentage string such as ``"5%"`` relative."""
    if isinstance(raw, str) and raw.strip().endswith("%"):
        value, relative = _finite(raw.strip()[:-1]) / 100.0, True
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value, relative = _finite(raw), False
    else:
        raise ValueError(f'must be a number (absolute) or a percentage such as "5%" (relative), got {raw!r}')
    if value == 0.0:
        raise ValueError("must not be zero")
    return value, relative


def _finite(raw: object) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]  # checked: numbers and numeric strings only
    except (TypeError, ValueError):
        raise ValueError(f"must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be finite, got {raw!r}")
    return value


def _literal_split(targeting: Any) -> dict[str, float] | None:
    """The variant shares of the only ``fractional`` in a rule, ``{}`` when there is none, None when they
    cannot be read without evaluating (several splits, ``$ref``, computed variants or weights)."""
    found: list[list[Any]] = []
    opaque = False

    def walk(node: Any) -> None:
        nonlocal opaque
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "fractional" and isinstance(value, list):
                    found.append(value)
                opaque |= name == "$ref"
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(targeting)
    if opaque or len(found) > 1:
        return None
    if not found:
        return {}
    split: dict[str, float] = {}
    for entry in found[0]:
        if not isinstance(entry, list):
            continue  # the bucket-by expression
        weight = entry[1] if len(entry) == 2 else 1
        if not isinstance(entry[0], str) or isinstance(weight, bool) or not isinstance(weight, int | float):
            return None
        split[entry[0]] = split.get(entry[0], 0.0) + float(weight)
    return split


def _shares(weights: Mapping[str, float]) -> dict[str, float]:
    total = math.fsum(weights.values())
    return {arm: w / total for arm, w in weights.items() if w > 0} if total > 0 else {}


def _describe(arms: Sequence[str], weights: Sequence[float]) -> str:
    return " / ".join(f"{arm} {weight:g}" for arm, weight in zip(arms, weights, strict=True))


class _Reader(ProblemCollector):
    """Walks one document's ``experiments`` section, collecting problems instead of stopping at the first."""

    def experiment(self, key: str, raw: object, evaluators: Mapping[str, Any]) -> ExperimentConfig | None:
        path: PathKey = ("experiments", key)
        before = len(self.problems)
        if not KEY_NAME.fullmatch(key):
            self.report(path, f"key must be {KEY_NAME_RULE}")
        data = self.mapping(path, raw, _FIELDS)
        if data is None:
            return None
        for name in _REQUIRED:
            if name not in data:
                self.report(path, f"{name} is required")
        flag = self.value(path, data, "flag", text, "")
        weights = self.value(path, data, "weights", _weights, {})
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
            alpha=self.value(path, data, "alpha", _probability, 0.05),
            power=self.value(path, data, "power", _probability, 0.8),
            mode=self.value(path, data, "mode", _choice(AnalysisMode), AnalysisMode.FIXED),
            correction=self.value(path, data, "correction", _choice(Correction), Correction.HOLM),
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
        kind = self.value(path, data, "kind", _choice(MetricKind), None)
        mde, relative = self.value(path, data, "mde", parse_mde, (None, False))
        metric = MetricDefinition(
            name=name or "?",
            kind=kind or MetricKind.BINOMIAL,
            role=self.value(path, data, "role", _choice(MetricRole), MetricRole.PRIMARY),
            direction=self.value(path, data, "direction", _choice(Direction), Direction.INCREASE),
            mde=mde,
            mde_relative=relative,
            tau=self.value(path, data, "tau", _positive, None),
        )
        return metric if len(self.problems) == before else None

    def satisfaction(self, path: PathKey, raw: object) -> MetricDefinition | None:
        data = self.mapping(path, raw if raw is not None else {}, _SATISFACTION_FIELDS)
        if data is None:
            return None
        before = len(self.problems)
        role = self.value(path, data, "role", _choice(MetricRole), MetricRole.SECONDARY)
        mde = self.value(path, data, "mde", _positive, None)
        return satisfaction_metric(SATISFACTION, role=role, mde=mde) if len(self.problems) == before else None


def _number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"must be a number, got {raw!r}")
    return _finite(raw)


def _positive(raw: object) -> float:
    value = _number(raw)
    if value <= 0.0:
        raise ValueError(f"must be > 0, got {raw!r}")
    return value


def _probability(raw: object) -> float:
    value = _number(raw)
    if not 0.0 < value < 1.0:
        raise ValueError(f"must be between 0 and 1 (exclusive), got {raw!r}")
    return value


def _weights(raw: object) -> dict[str, float]:
    if not isinstance(raw, Mapping) or len(raw) < 2:
        raise ValueError(
            "must map at least two arms (variants of the flag) to their share, e.g. {a: 50, b: 50}"
        )
    weights: dict[str, float] = {}
    for arm, weight in raw.items():
        if not isinstance(arm, str) or not arm:
            raise ValueError(f"arm names must be non-empty strings, got {arm!r}")
        try:
            weights[arm] = _positive(weight)
        except ValueError as exc:
            raise ValueError(f"weight of {arm!r} {exc}") from None
    return weights


def _choice(enum: type[Any]) -> Callable[[object], Any]:
    def check(raw: object) -> Any:
        try:
            return enum(raw)
        except ValueError:
            raise ValueError(f"must be one of {', '.join(e.value for e in enum)}, got {raw!r}") from None

    return check
