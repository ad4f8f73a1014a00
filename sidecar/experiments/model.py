"""The vocabulary of an experiment analysis: what is configured (:class:`ExperimentDefinition`,
:class:`MetricDefinition`), what is measured (:class:`ExperimentData` of mergeable :class:`MetricAggregate`)
and what comes out (:class:`ExperimentReport` of :class:`MetricResult`).

Types only, so that parsing configuration or storing aggregates never loads the statistics code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sidecar.stats.srm import DEFAULT_SRM_THRESHOLD, SrmResult

DEFAULT_MIN_UNITS_PER_ARM = 100


class MetricKind(StrEnum):
    BINOMIAL = "binomial"
    CONTINUOUS = "continuous"
    COUNT = "count"


class MetricRole(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    GUARDRAIL = "guardrail"


class Direction(StrEnum):
    """Which way is good for the metric."""

    INCREASE = "increase"
    DECREASE = "decrease"


class AnalysisMode(StrEnum):
    FIXED = "fixed"
    SEQUENTIAL = "sequential"


class Correction(StrEnum):
    HOLM = "holm"
    BH = "bh"


class Verdict(StrEnum):
    SHIP = "SHIP"
    DO_NOT_SHIP = "DO_NOT_SHIP"
    KEEP_RUNNING = "KEEP_RUNNING"
    INCONCLUSIVE = "INCONCLUSIVE"
    UNTRUSTWORTHY = "UNTRUSTWORTHY"


class Outcome(StrEnum):
    IMPROVED = "improved"
    DEGRADED = "degraded"
    NO_SIGNIFICANT_CHANGE = "no_significant_change"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """One metric of an experiment.

    ``mde`` is the minimum detectable effect, absolute (metric units) unless ``mde_relative`` (then a fraction
    of the control mean, ``0.05`` = 5 %). ``tau`` is the sequential mixing standard deviation in absolute
    units; when unset it is taken from ``mde`` (see :func:`sidecar.experiments.comparison.resolve_tau`).
    ``zero_fill`` says whether exposed units without any value count as 0 (default: yes for binomial and
    count metrics — a unit that never converted has value 0 — and no for continuous ones, where a missing
    value is missing).
    """

    name: str
    kind: MetricKind
    role: MetricRole = MetricRole.PRIMARY
    direction: Direction = Direction.INCREASE
    mde: float | None = None
    mde_relative: bool = False
    tau: float | None = None
    zero_fill: bool | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("metric name must not be empty")
        if self.mde is not None and (self.mde == 0.0 or not math.isfinite(self.mde)):
            raise ValueError(f"metric {self.name}: mde must be non-zero and finite")
        if self.tau is not None and not (self.tau > 0.0 and math.isfinite(self.tau)):
            raise ValueError(f"metric {self.name}: tau must be positive and finite")

    @property
    def fills_zero(self) -> bool:
        if self.zero_fill is not None:
            return self.zero_fill
        return self.kind in (MetricKind.BINOMIAL, MetricKind.COUNT)


@dataclass(frozen=True, slots=True)
class ExperimentDefinition:
    """An experiment: ``arms`` are variant names (one of them ``control``) with assignment ``weights``."""

    key: str
    arms: tuple[str, ...]
    control: str
    weights: tuple[float, ...]
    metrics: tuple[MetricDefinition, ...]
    alpha: float = 0.05
    power: float = 0.8
    mode: AnalysisMode = AnalysisMode.FIXED
    correction: Correction = Correction.HOLM
    srm_threshold: float = DEFAULT_SRM_THRESHOLD
    min_units_per_arm: int = DEFAULT_MIN_UNITS_PER_ARM

    def __post_init__(self) -> None:
        if len(self.arms) < 2:
            raise ValueError(f"experiment {self.key}: need at least two arms")
        if len(set(self.arms)) != len(self.arms):
            raise ValueError(f"experiment {self.key}: arm names must be unique")
        if self.control not in self.arms:
            raise ValueError(f"experiment {self.key}: control {self.control!r} is not an arm")
        if len(self.weights) != len(self.arms):
            raise ValueError(f"experiment {self.key}: {len(self.arms)} arms but {len(self.weights)} weights")
        if any(not (w > 0.0 and math.isfinite(w)) for w in self.weights):
            raise ValueError(f"experiment {self.key}: weights must be positive and finite")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment {self.key}: metric names must be unique")
        if not 0.0 < self.alpha < 1.0 or not 0.0 < self.power < 1.0:
            raise ValueError(f"experiment {self.key}: alpha and power must be in (0, 1)")
        if not 0.0 < self.srm_threshold < 1.0:
            raise ValueError(f"experiment {self.key}: srm_threshold must be in (0, 1)")

    @property
    def treatments(self) -> tuple[str, ...]:
        return tuple(a for a in self.arms if a != self.control)

    def weight_of(self, arm: str) -> float:
        return self.weights[self.arms.index(arm)] / math.fsum(self.weights)


@dataclass(frozen=True, slots=True)
class MetricAggregate:
    """Mergeable per-unit aggregates of one metric in one arm: ``n`` units, ``total = Σx``,
    ``total_sq = Σx²``; for a binomial metric ``successes`` is the number of units whose value is 1 (it
    defaults to ``total``)."""

    n: int
    total: float
    total_sq: float
    successes: int | None = None

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must be >= 0")

    @classmethod
    def binomial(cls, successes: int, n: int) -> MetricAggregate:
        return cls(n, float(successes), float(successes), successes)

    @classmethod
    def empty(cls) -> MetricAggregate:
        return cls(0, 0.0, 0.0, 0)


@dataclass(frozen=True, slots=True)
class ExperimentData:
    """Exposed units per arm, ``metrics[metric][arm]`` aggregates, and the number of metric events that came
    from units with no recorded exposure (excluded from the analysis, reported)."""

    exposures: Mapping[str, int]
    metrics: Mapping[str, Mapping[str, MetricAggregate]]
    unexposed_events: int = 0


@dataclass(frozen=True, slots=True)
class ArmStats:
    variant: str
    units: int
    mean: float
    variance: float


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric for one treatment arm against control.

    ``inference`` is ``fixed`` or ``sequential``; in sequential mode ``p_value`` and the intervals are the
    always-valid ones and ``statistic``/``df`` are ``None``. ``achieved_power`` is the power, at this sample,
    to detect the MDE (``power_basis = "mde"``) or, without an MDE, the observed effect (``"observed"``,
    which is only a restatement of the p-value). ``relative`` is ``None`` when the control mean is 0.
    """

    metric: str
    variant: str
    kind: MetricKind
    role: MetricRole
    direction: Direction
    test: str
    inference: str
    control: ArmStats
    treatment: ArmStats
    absolute: Interval
    relative: Interval | None
    p_value: float
    p_value_adjusted: float
    statistic: float | None
    df: float | None
    effect_size: float
    effect_size_kind: str
    achieved_power: float
    power_basis: str
    tau: float | None
    significant: bool
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ArmExposure:
    variant: str
    units: int
    expected_share: float
    observed_share: float


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    key: str
    mode: AnalysisMode
    alpha: float
    power: float
    correction: Correction
    control: str
    arms: tuple[ArmExposure, ...]
    srm: SrmResult
    unexposed_events: int
    results: tuple[MetricResult, ...]
    guardrail_violations: tuple[str, ...]
    verdict: Verdict
    reason: str
    winner: str | None = None
    planned_units_per_arm: int | None = None
    warnings: tuple[str, ...] = field(default=())

    def result(self, metric: str, variant: str) -> MetricResult:
        for r in self.results:
            if r.metric == metric and r.variant == variant:
                return r
        raise KeyError((metric, variant))
