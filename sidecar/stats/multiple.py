"""Multiple-comparison adjustments returning adjusted p-values in input order (same results as R's
``p.adjust(p, method = "holm")`` and ``p.adjust(p, method = "BH")``)."""

from __future__ import annotations

from collections.abc import Sequence


def _validate(p_values: Sequence[float]) -> None:
    for p in p_values:
        if not 0.0 <= p <= 1.0:  # also rejects NaN
            raise ValueError(f"p-values must be in [0, 1], got {p}")


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (controls the family-wise error rate under any dependence).

    With ascending ``p_(1) ≤ … ≤ p_(m)``: ``p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j))``.
    """
    _validate(p_values)
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjustment (controls the false discovery rate under independence or
    positive dependence).

    With ascending ``p_(1) ≤ … ≤ p_(m)``: ``p̃_(i) = min_{j ≥ i} min(1, m·p_(j)/j)``.
    """
    _validate(p_values)
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        index = order[rank]
        running = min(running, m * p_values[index] / (rank + 1))
        adjusted[index] = running
    return adjusted
