"""Sample sizes: how many units a fixed-horizon experiment needs, for the report (is the planned size
reached?) and for the CLI (how long must we run?)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sidecar.experiments.model import ExperimentDefinition, MetricKind, MetricRole
from sidecar.stats.power import required_sample_size, whole_units
from sidecar.stats.summary import SummaryStats


def effective_n(a: int, b: int) -> float:
    """Equal-allocation-equivalent units per arm: ``2 / (1/a + 1/b)`` (harmonic mean)."""
    if a <= 0 or b <= 0:
        return 0.0
    return 2.0 / (1.0 / a + 1.0 / b)


def _required_units(
    kind: MetricKind,
    *,
    baseline: float,
    mde: float,
    relative: bool,
    alpha: float,
    power: float,
    std_dev: float | None,
) -> float:
    # Count metrics are planned as continuous ones; a binomial plan ignores std_dev.
    return required_sample_size(
        baseline=baseline,
        mde=mde,
        relative=relative,
        alpha=alpha,
        power=power,
        kind="binomial" if kind is MetricKind.BINOMIAL else "continuous",
        std_dev=std_dev,
    )


def planned_units(
    definition: ExperimentDefinition, controls: Mapping[str, SummaryStats], family_size: int
) -> int | None:
    """Units per arm (equal-allocation equivalent) the fixed-horizon design needs: the largest requirement
    over primary metrics with an MDE, at the Bonferroni level ``alpha / family_size`` (what Holm's first
    step, and BH with a single true effect, use — conservative), with baseline and standard deviation read
    from the control arm. ``None`` when no primary metric has a usable MDE or the control arm has no data
    yet."""
    needed: list[float] = []
    level = definition.alpha / max(1, family_size)
    for metric in definition.metrics:
        if metric.role is not MetricRole.PRIMARY or metric.mde is None:
            continue
        control = controls[metric.name]
        if control.n < 2:
            continue
        try:
            n = _required_units(
                metric.kind,
                baseline=control.mean,
                mde=metric.mde,
                relative=metric.mde_relative,
                alpha=level,
                power=definition.power,
                std_dev=control.std_dev if control.std_dev > 0 else None,
            )
        except ValueError:  # degenerate baseline (p of 0 or 1, zero variance, zero control mean)
            continue
        needed.append(n)
    return math.ceil(max(needed)) if needed else None


@dataclass(frozen=True, slots=True)
class SampleSizePlan:
    """Sample-size plan for the CLI. ``per_arm_equal`` is the equal-allocation requirement; ``arm_units``
    splits ``total`` by the weights so that every treatment-vs-control comparison reaches the same
    precision."""

    kind: MetricKind
    baseline: float
    mde: float
    relative: bool
    alpha: float
    alpha_per_comparison: float
    power: float
    comparisons: int
    per_arm_equal: int
    total: int
    arm_units: tuple[int, ...]
    weights: tuple[float, ...]


def plan_sample_size(
    *,
    kind: MetricKind | str,
    baseline: float,
    mde: float,
    relative: bool = False,
    std_dev: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    weights: Sequence[float] = (1.0, 1.0),
    comparisons: int = 1,
) -> SampleSizePlan:
    """Units needed for a fixed-horizon experiment; ``weights[0]`` is the control arm.

    ``comparisons`` (tests in the multiple-testing family) splits alpha Bonferroni-style. For unequal weights
    the total ``N`` is the smallest with ``1/(N·w_c) + 1/(N·w_t) ≤ 2/n`` for every treatment ``t``, where
    ``n`` is the equal-allocation requirement per arm. Count metrics are planned as continuous (``std_dev``
    required).
    """
    kind = MetricKind(kind)
    if len(weights) < 2 or any(not (w > 0.0 and math.isfinite(w)) for w in weights):
        raise ValueError("need at least two positive weights (control first)")
    if comparisons < 1:
        raise ValueError("comparisons must be >= 1")
    level = alpha / comparisons
    n_equal = _required_units(
        kind, baseline=baseline, mde=mde, relative=relative, alpha=level, power=power, std_dev=std_dev
    )
    total_weight = math.fsum(weights)
    shares = [w / total_weight for w in weights]
    total = max(n_equal * (1.0 / shares[0] + 1.0 / s) / 2.0 for s in shares[1:])
    arm_units = tuple(math.ceil(total * s - 1e-9) for s in shares)
    return SampleSizePlan(
        kind=kind,
        baseline=baseline,
        mde=mde,
        relative=relative,
        alpha=alpha,
        alpha_per_comparison=level,
        power=power,
        comparisons=comparisons,
        per_arm_equal=whole_units(n_equal),
        total=sum(arm_units),
        arm_units=arm_units,
        weights=tuple(float(w) for w in weights),
    )
