"""Sample-ratio-mismatch check: one omnibus Pearson chi-square goodness-of-fit test against the configured
split."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_SRM_THRESHOLD = 0.001


@dataclass(frozen=True, slots=True)
class SrmResult:
    """``statistic`` is Pearson's X², ``expected`` the expected counts under the configured weights."""

    statistic: float
    p_value: float
    mismatch: bool
    expected: tuple[float, ...]
    observed: tuple[int, ...]


def sample_ratio_mismatch(
    observed: Sequence[int], weights: Sequence[float], threshold: float = DEFAULT_SRM_THRESHOLD
) -> SrmResult:
    """Test whether unit counts per arm match the configured weights.

    ``X² = Σ (O_i − E_i)² / E_i`` with ``E_i = N·w_i/Σw`` (weights need not sum to 1), referred to a
    chi-square distribution with ``k − 1`` degrees of freedom, where ``k`` counts the arms with a positive
    weight. One omnibus test is used rather than one test per arm, so the false-alarm rate is ``threshold``
    whatever the number of arms. The conventional threshold is strict (0.001): an SRM means the assignment or
    logging is broken, and every other number in the report is then suspect.

    Any unit observed in an arm with weight 0 is a mismatch by definition (``X² = ∞``, ``p = 0``). With no
    units at all there is nothing to test (``p = 1``).
    """
    if len(observed) != len(weights):
        raise ValueError(f"{len(observed)} observed counts but {len(weights)} weights")
    if len(observed) == 0:
        raise ValueError("need at least one arm")
    if any(o < 0 for o in observed):
        raise ValueError("observed counts must be >= 0")
    if any(not (w >= 0.0 and math.isfinite(w)) for w in weights):
        raise ValueError("weights must be finite and >= 0")
    weight_sum = math.fsum(weights)
    if weight_sum <= 0.0:
        raise ValueError("weights must not all be 0")
    total = sum(observed)
    expected = tuple(total * w / weight_sum for w in weights)
    observed_t = tuple(int(o) for o in observed)
    if any(o > 0 and w == 0.0 for o, w in zip(observed, weights, strict=True)):
        return SrmResult(math.inf, 0.0, True, expected, observed_t)
    active = sum(1 for w in weights if w > 0.0)
    if total == 0 or active < 2:
        return SrmResult(0.0, 1.0, False, expected, observed_t)
    statistic = math.fsum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0.0)
    # Imported here: the report types name SrmResult, and loading them must not load scipy.
    from sidecar.stats._dist import chi2_sf

    p_value = chi2_sf(statistic, active - 1)
    return SrmResult(statistic, p_value, p_value < threshold, expected, observed_t)
