"""Typed wrappers around the few scipy distribution functions the statistics code needs.

``scipy.special`` ufuncs are used instead of ``scipy.stats`` distribution objects: they are ~50x cheaper per
call (the analysis and the rollout gate call them on every evaluation) and never emit warnings. Every wrapper
takes and returns plain Python floats.
"""

from __future__ import annotations

from scipy import special


def norm_cdf(x: float) -> float:
    return float(special.ndtr(x))


def norm_sf(x: float) -> float:
    """Upper tail ``P(Z > x)`` of the standard normal, accurate far into the tail."""
    return float(special.ndtr(-x))


def norm_ppf(p: float) -> float:
    return float(special.ndtri(p))


def t_sf(x: float, df: float) -> float:
    """Upper tail ``P(T > x)`` of Student's t with ``df`` degrees of freedom (``df`` may be fractional)."""
    return float(special.stdtr(df, -x))


def t_ppf(p: float, df: float) -> float:
    return float(special.stdtrit(df, p))


def chi2_sf(x: float, df: float) -> float:
    """Upper tail ``P(X > x)`` of the chi-square distribution."""
    return float(special.chdtrc(df, x))


def nct_sf(x: float, df: float, noncentrality: float) -> float:
    """Upper tail ``P(T > x)`` of the noncentral t distribution."""
    return 1.0 - float(special.nctdtr(df, noncentrality, x))
