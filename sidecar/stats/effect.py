"""Standardised effect sizes (Cohen 1988, *Statistical Power Analysis for the Behavioral Sciences*)."""

from __future__ import annotations

import math

from sidecar.stats.summary import SummaryStats


def cohens_d(control: SummaryStats, treatment: SummaryStats) -> float:
    """``(μ_t − μ_c) / s_pooled`` with ``s_pooled² = ((n_c−1)s_c² + (n_t−1)s_t²) / (n_c + n_t − 2)``.

    Returns 0 when the pooled standard deviation is 0 or undefined (fewer than 3 units in total), so reports
    never carry NaN or infinities.
    """
    dof = control.n + treatment.n - 2
    if control.n == 0 or treatment.n == 0 or dof <= 0:
        return 0.0
    pooled = ((control.n - 1) * control.variance + (treatment.n - 1) * treatment.variance) / dof
    if pooled <= 0.0:
        return 0.0
    return (treatment.mean - control.mean) / math.sqrt(pooled)


def cohens_h(p_control: float, p_treatment: float) -> float:
    """Arcsine-transformed difference of proportions ``2·asin(√p_t) − 2·asin(√p_c)``
    (``pwr::ES.h(p_treatment, p_control)`` in R)."""
    for p in (p_control, p_treatment):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"proportions must be in [0, 1], got {p}")
    return 2.0 * math.asin(math.sqrt(p_treatment)) - 2.0 * math.asin(math.sqrt(p_control))
