"""Standardised effect sizes (Cohen 1988, *Statistical Power Analysis for the Behavioral Sciences*)."""

from __future__ import annotations

import math

from sidecar.stats.summary import SummaryStats


def pooled_std_dev(a: SummaryStats, b: SummaryStats) -> float:
    """``s_pooled = √(((n_a−1)s_a² + (n_b−1)s_b²) / (n_a + n_b − 2))``; 0 with fewer than 3 units in total."""
    dof = a.n + b.n - 2
    if dof <= 0:
        return 0.0
    return math.sqrt(max(0.0, ((a.n - 1) * a.variance + (b.n - 1) * b.variance) / dof))


def cohens_d(control: SummaryStats, treatment: SummaryStats) -> float:
    """``(μ_t − μ_c) / s_pooled`` (see :func:`pooled_std_dev`).

    Returns 0 when the pooled standard deviation is 0 or undefined (fewer than 3 units in total), so reports
    never carry NaN or infinities.
    """
    if control.n == 0 or treatment.n == 0:
        return 0.0
    pooled = pooled_std_dev(control, treatment)
    if pooled <= 0.0:
        return 0.0
    return (treatment.mean - control.mean) / pooled


def cohens_h(p_control: float, p_treatment: float) -> float:
    """Arcsine-transformed difference of proportions ``2·asin(√p_t) − 2·asin(√p_c)``
    (``pwr::ES.h(p_treatment, p_control)`` in R)."""
    for p in (p_control, p_treatment):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"proportions must be in [0, 1], got {p}")
    return 2.0 * math.asin(math.sqrt(p_treatment)) - 2.0 * math.asin(math.sqrt(p_control))
