"""Simulation checks of interval coverage (seeded, in-process)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sidecar.stats.fixed import relative_lift, two_proportion_z_test, welch_t_test
from sidecar.stats.summary import SummaryStats

REPS = 2000
# 3 binomial standard errors of a 95 % coverage estimate over REPS replications: ±1.46 points
SLACK = 3 * math.sqrt(0.95 * 0.05 / REPS)


def _stats(sums: np.ndarray, sums_sq: np.ndarray, n: int, i: int) -> SummaryStats:
    return SummaryStats.from_sums(n, float(sums[i]), float(sums_sq[i]))


def test_delta_method_relative_interval_covers_at_nominal_rate_on_skewed_data() -> None:
    """Revenue-like lognormal values (sigma 1, skewed), 2,000 units per arm, true lift +5 %: the delta-method
    95 % interval for the relative lift covers the truth in 95 % ± 1.5 points of 2,000 replications."""
    rng = np.random.default_rng(7)
    n, sigma, lift = 2000, 1.0, 0.05
    mu_c = 2.0
    true_mean_c = math.exp(mu_c + sigma**2 / 2)
    c = rng.lognormal(mu_c, sigma, (REPS, n))
    t = rng.lognormal(mu_c + math.log1p(lift), sigma, (REPS, n))  # multiplies the mean by 1.05
    true_lift = math.exp(mu_c + math.log1p(lift) + sigma**2 / 2) / true_mean_c - 1
    cs, cs2, ts, ts2 = c.sum(1), (c * c).sum(1), t.sum(1), (t * t).sum(1)
    covered = 0
    for i in range(REPS):
        r = relative_lift(_stats(cs, cs2, n, i), _stats(ts, ts2, n, i))
        covered += r.ci_low <= true_lift <= r.ci_high
    assert abs(covered / REPS - 0.95) <= SLACK


def test_relative_interval_coverage_for_conversion_rates() -> None:
    rng = np.random.default_rng(8)
    n, p_c, p_t = 20_000, 0.05, 0.0525  # +5 % relative
    controls, treatments = rng.binomial(n, p_c, REPS), rng.binomial(n, p_t, REPS)
    covered = 0
    for x, y in zip(controls, treatments, strict=True):
        r = relative_lift(SummaryStats.from_proportion(int(x), n), SummaryStats.from_proportion(int(y), n))
        covered += r.ci_low <= p_t / p_c - 1 <= r.ci_high
    assert abs(covered / REPS - 0.95) <= SLACK


@pytest.mark.parametrize("kind", ["welch", "proportion"])
def test_absolute_interval_coverage(kind: str) -> None:
    rng = np.random.default_rng(9)
    covered = 0
    if kind == "welch":
        n_c, n_t = 300, 150  # unequal sizes and variances: where Welch matters
        c = rng.normal(10.0, 2.0, (REPS, n_c))
        t = rng.normal(10.5, 6.0, (REPS, n_t))
        for i in range(REPS):
            r = welch_t_test(
                SummaryStats.from_sums(n_c, float(c[i].sum()), float((c[i] ** 2).sum())),
                SummaryStats.from_sums(n_t, float(t[i].sum()), float((t[i] ** 2).sum())),
            )
            covered += r.ci_low <= 0.5 <= r.ci_high
    else:
        xs, ys = rng.binomial(5000, 0.2, REPS), rng.binomial(4000, 0.22, REPS)
        for x, y in zip(xs, ys, strict=True):
            r = two_proportion_z_test(int(x), 5000, int(y), 4000)
            covered += r.ci_low <= 0.02 <= r.ci_high
    assert abs(covered / REPS - 0.95) <= SLACK
