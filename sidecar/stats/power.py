"""Statistical power and sample size for two-arm comparisons.

``required_sample_size`` reproduces R's ``power.prop.test`` (binomial) and ``power.t.test`` (continuous,
two-sample, two-sided, ``strict = FALSE``) to solver precision; ``sample_size_per_arm`` is its ceiling.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import optimize

from sidecar.stats._dist import nct_sf, norm_cdf, norm_ppf, t_ppf
from sidecar.stats.summary import SummaryStats, check_alpha

SampleKind = Literal["binomial", "continuous"]


def power_from_standard_error(effect: float, std_error: float, alpha: float = 0.05) -> float:
    """Power of a two-sided z test at level ``alpha`` to detect a true difference ``effect`` when the estimate
    has standard error ``std_error``: ``Φ(|δ|/se − z_{1−α/2}) + Φ(−|δ|/se − z_{1−α/2})``.

    An infinite standard error gives ``alpha`` (no information); a zero one gives 1 for a non-zero effect.
    """
    check_alpha(alpha)
    if not std_error >= 0.0:
        raise ValueError(f"std_error must be >= 0, got {std_error}")
    if math.isinf(std_error):
        return alpha
    if std_error == 0.0:
        return 1.0 if effect != 0.0 else alpha
    z = norm_ppf(1.0 - alpha / 2.0)
    d = abs(effect) / std_error
    return norm_cdf(d - z) + norm_cdf(-d - z)


def achieved_power(
    control: SummaryStats, treatment: SummaryStats, *, effect: float, alpha: float = 0.05
) -> float:
    """Power that the observed sample (sizes and variances of both arms) has to detect a true difference of
    ``effect`` at level ``alpha`` (normal approximation, two-sided).

    Pass the minimum detectable effect to answer "was this experiment big enough?". Passing the *observed*
    effect gives the so-called observed power, a deterministic function of the p-value (p = alpha ↔ ≈ 50 %)
    that adds no information beyond it; reports label which one they show.
    """
    if control.n < 2 or treatment.n < 2:
        check_alpha(alpha)
        return alpha
    se = math.sqrt(control.variance / control.n + treatment.variance / treatment.n)
    return power_from_standard_error(effect, se, alpha)


def two_proportion_power(n: float, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-proportion test with ``n`` units per arm (R's ``power.prop.test``,
    ``strict = FALSE``): ``Φ((√n·|p₁−p₂| − z_{1−α/2}·√((p₁+p₂)(1 − (p₁+p₂)/2))) / √(p₁q₁ + p₂q₂))``."""
    check_alpha(alpha)
    if not (0.0 < p1 < 1.0 and 0.0 < p2 < 1.0):
        raise ValueError(f"proportions must be in (0, 1), got {p1} and {p2}")
    z_a = norm_ppf(1.0 - alpha / 2.0)
    pbar2 = (p1 + p2) * (1.0 - (p1 + p2) / 2.0)
    spread = math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
    return norm_cdf((math.sqrt(n) * abs(p1 - p2) - z_a * math.sqrt(pbar2)) / spread)


def two_sample_t_power(n: float, delta: float, std_dev: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t test with ``n`` units per arm (R's ``power.t.test``,
    ``strict = FALSE``): ``P(T'_{2n−2, ncp} > t_{1−α/2, 2n−2})`` with ``ncp = √(n/2)·|δ|/σ``."""
    check_alpha(alpha)
    if n < 2 or not std_dev > 0.0:
        raise ValueError("need n >= 2 and std_dev > 0")
    df = 2.0 * (n - 1.0)
    return nct_sf(t_ppf(1.0 - alpha / 2.0, df), df, math.sqrt(n / 2.0) * abs(delta) / std_dev)


def _absolute_delta(baseline: float, mde: float, relative: bool) -> float:
    delta = baseline * mde if relative else mde
    if delta == 0.0 or not math.isfinite(delta):
        raise ValueError("the minimum detectable effect must be non-zero and finite")
    return delta


def required_sample_size(
    *,
    baseline: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    kind: SampleKind,
    std_dev: float | None = None,
    relative: bool = False,
) -> float:
    """Unrounded units per arm (equal allocation, two-sided test) needed to detect ``mde`` with ``power``.

    ``mde`` is absolute (same units as ``baseline``) or, with ``relative=True``, a fraction of ``baseline``
    (``0.05`` = a 5 % lift).

    * ``binomial``: with ``p₁ = baseline``, ``p₂ = p₁ + δ``, the equation of R's ``power.prop.test``
      (``strict = FALSE``) solved in closed form:
      ``n = (z_{1−α/2}·√((p₁+p₂)(1 − (p₁+p₂)/2)) + z_{power}·√(p₁q₁ + p₂q₂))² / δ²``.
    * ``continuous``: R's ``power.t.test`` (two-sample): the smallest ``n`` with
      ``P(T'_{2n−2, ncp} > t_{1−α/2, 2n−2}) = power`` where ``T'`` is noncentral t with
      ``ncp = √(n/2)·|δ|/σ``; ``std_dev`` (σ, the per-unit standard deviation) is required.
    """
    check_alpha(alpha)
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    signed_delta = _absolute_delta(baseline, mde, relative)
    delta = abs(signed_delta)
    if kind == "binomial":
        p1 = baseline
        p2 = baseline + signed_delta
        if not (0.0 < p1 < 1.0 and 0.0 < p2 < 1.0):
            raise ValueError(f"binomial proportions must be in (0, 1), got {p1} and {p2}")
        z_a = norm_ppf(1.0 - alpha / 2.0)
        z_b = norm_ppf(power)
        pbar2 = (p1 + p2) * (1.0 - (p1 + p2) / 2.0)
        spread = math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
        # two_proportion_power(n) = power solved for n.
        return ((z_a * math.sqrt(pbar2) + z_b * spread) / delta) ** 2
    if kind == "continuous":
        if std_dev is None or not std_dev > 0.0 or not math.isfinite(std_dev):
            raise ValueError("continuous sample sizes need a positive std_dev")
        sigma = std_dev
        effect = delta / sigma

        def shortfall(n: float) -> float:
            return two_sample_t_power(n, delta, sigma, alpha) - power

        if shortfall(2.0) >= 0.0:
            return 2.0
        z_guess = (norm_ppf(1.0 - alpha / 2.0) + norm_ppf(power)) / effect
        upper = max(4.0, 2.0 * z_guess * z_guess + 10.0)
        while shortfall(upper) < 0.0:
            upper *= 2.0
        return float(optimize.brentq(shortfall, 2.0, upper, xtol=1e-10, rtol=1e-12))
    raise ValueError(f"unknown kind {kind!r}")


def sample_size_per_arm(
    *,
    baseline: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    kind: SampleKind,
    std_dev: float | None = None,
    relative: bool = False,
) -> int:
    """:func:`required_sample_size` rounded up to whole units."""
    n = required_sample_size(
        baseline=baseline, mde=mde, alpha=alpha, power=power, kind=kind, std_dev=std_dev, relative=relative
    )
    return whole_units(n)


def whole_units(n: float) -> int:
    """A sample size rounded up to whole units (at least 2, so a variance exists); the tolerance keeps an
    exact solution such as ``100.0000000001`` from costing one more unit."""
    return max(2, math.ceil(n - 1e-9))
