"""The statistics reproduce published reference outputs to at least 4 significant figures.

Every expected number below is copied from a published source named next to it (R help-page examples and their
printed output, statsmodels' documentation/test suite, Mendel's data as analysed with R). Nothing here is
"expected = whatever our code printed".
"""

from __future__ import annotations

import math

import pytest

from sidecar.stats.effect import cohens_h
from sidecar.stats.fixed import two_proportion_z_test, welch_t_test
from sidecar.stats.power import (
    required_sample_size,
    sample_size_per_arm,
    two_proportion_power,
    two_sample_t_power,
)
from sidecar.stats.srm import sample_ratio_mismatch
from sidecar.stats.summary import SummaryStats


def _stats(values: list[float]) -> SummaryStats:
    return SummaryStats.from_sums(len(values), sum(values), sum(v * v for v in values))


# R's built-in `sleep` data (Cushny & Peebles 1905, analysed by Student 1908): extra hours of sleep, 2 drugs.
SLEEP_GROUP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_GROUP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_welch_matches_r_t_test_on_sleep_data() -> None:
    # R, ?t.test example: t.test(extra ~ group, data = sleep)   (Welch is R's default, var.equal = FALSE)
    #   Welch Two Sample t-test
    #   t = -1.8608, df = 17.776, p-value = 0.07939
    #   95 percent confidence interval: -3.3654832  0.2054832
    #   mean in group 1 0.75, mean in group 2 2.33
    # R reports group1 - group2; we report treatment - control, so group 1 is our control and signs flip.
    result = welch_t_test(_stats(SLEEP_GROUP_1), _stats(SLEEP_GROUP_2))
    assert result.estimate == pytest.approx(2.33 - 0.75, rel=1e-12)
    assert result.statistic == pytest.approx(1.8608, abs=5e-5)
    assert result.df == pytest.approx(17.776, abs=5e-4)
    assert result.p_value == pytest.approx(0.07939, abs=5e-6)
    assert result.ci_low == pytest.approx(-0.2054832, abs=5e-8)
    assert result.ci_high == pytest.approx(3.3654832, abs=5e-8)


def test_two_proportion_z_matches_r_prop_test_without_correction() -> None:
    # R prop.test(correct = FALSE) on 94/214 vs 39/128, printed at
    # https://influentialpoints.com/notes/n9rmf3.htm
    # ("Two-sample test for independent proportions - using R"):
    #   2-sample test for equality of proportions without continuity correction
    #   X-squared = 6.1026, df = 1, p-value = 0.01350
    #   95 percent confidence interval: 0.03074072 0.23838896
    #   sample estimates: prop 1 0.4392523, prop 2 0.3046875
    # prop.test's X-squared is z² of the pooled z test; its interval is the unpooled Wald interval.
    # R reports prop 1 - prop 2, so prop 2 (39/128) is our control.
    result = two_proportion_z_test(39, 128, 94, 214)
    assert result.estimate == pytest.approx(0.4392523 - 0.3046875, abs=1e-7)
    assert result.statistic**2 == pytest.approx(6.1026, abs=5e-5)
    assert result.p_value == pytest.approx(0.01350, abs=5e-6)
    assert result.ci_low == pytest.approx(0.03074072, abs=5e-9)
    assert result.ci_high == pytest.approx(0.23838896, abs=5e-9)


def test_two_proportion_z_matches_statsmodels_proportions_ztest() -> None:
    # statsmodels.stats.proportion.proportions_ztest docstring example (count=[5, 12], nobs=[83, 99]) prints
    # p = 0.159; statsmodels' own test suite (test_proportion.py, GH 2969) pins
    #   stat = -1.4078304151258787, pval = 0.15918129181156992
    # statsmodels tests prop[0] - prop[1]; 12/99 is our treatment, so z flips sign.
    result = two_proportion_z_test(5, 83, 12, 99)
    assert result.statistic == pytest.approx(1.4078304151258787, rel=1e-9)
    assert result.p_value == pytest.approx(0.15918129181156992, rel=1e-9)


def test_srm_chi_square_matches_r_on_mendel_peas() -> None:
    # Mendel's dihybrid pea cross against the 9:3:3:1 ratio, R:
    #   chisq.test(c(315, 101, 108, 32), p = c(9, 3, 3, 1) / 16)
    #   Chi-squared test for given probabilities: X-squared = 0.47002, df = 3, p-value = 0.9254
    result = sample_ratio_mismatch([315, 101, 108, 32], [9, 3, 3, 1])
    assert result.statistic == pytest.approx(0.47002, abs=5e-6)
    assert result.p_value == pytest.approx(0.9254, abs=5e-5)
    assert not result.mismatch
    assert result.expected == pytest.approx((312.75, 104.25, 104.25, 34.75))


def test_srm_chi_square_matches_r_chisq_test_help_example() -> None:
    # R ?chisq.test example: x <- c(89, 37, 30, 28, 2); p <- c(40, 20, 20, 15, 5)
    #   chisq.test(x, p = p, rescale.p = TRUE)  ->  X-squared = 9.9901, df = 4, p-value = 0.04059
    #   chisq.test(x, p = c(0.40, 0.20, 0.20, 0.19, 0.01))  ->  X-squared = 5.7947, df = 4, p-value = 0.215
    # (unnormalised weights are what rescale.p = TRUE means, which is how experiment weights are given)
    x = [89, 37, 30, 28, 2]
    rescaled = sample_ratio_mismatch(x, [40, 20, 20, 15, 5])
    assert rescaled.statistic == pytest.approx(9.9901, abs=5e-5)
    assert rescaled.p_value == pytest.approx(0.04059, abs=5e-6)
    given = sample_ratio_mismatch(x, [0.40, 0.20, 0.20, 0.19, 0.01])
    assert given.statistic == pytest.approx(5.7947, abs=5e-5)
    assert given.p_value == pytest.approx(0.2150, abs=5e-5)


def test_continuous_sample_size_matches_r_power_t_test() -> None:
    # R ?power.t.test examples:
    #   power.t.test(n = 20, delta = 1)          ->  power = 0.8689528
    #   power.t.test(power = .90, delta = 1)     ->  n = 22.02110  (per group)
    assert two_sample_t_power(20, 1.0, 1.0) == pytest.approx(0.8689528, abs=5e-8)
    n = required_sample_size(baseline=0.0, mde=1.0, std_dev=1.0, power=0.90, kind="continuous")
    assert n == pytest.approx(22.02110, abs=5e-5)
    assert sample_size_per_arm(baseline=0.0, mde=1.0, std_dev=1.0, power=0.90, kind="continuous") == 23


def test_binomial_sample_size_matches_r_power_prop_test() -> None:
    # R ?power.prop.test examples:
    #   power.prop.test(n = 50, p1 = .50, p2 = .75)       ->  power = 0.7401659
    #   power.prop.test(p1 = .50, p2 = .75, power = .90)  ->  n = 76.7 per group
    # R finds n with uniroot on the power equation above; its closed-form solution is
    #   ((1.959964·sqrt(1.25·0.375) + 1.281552·sqrt(0.4375)) / 0.25)² = 76.7069, i.e. 77 units per arm.
    assert two_proportion_power(50, 0.50, 0.75) == pytest.approx(0.7401659, abs=5e-8)
    n = required_sample_size(baseline=0.50, mde=0.25, power=0.90, kind="binomial")
    assert n == pytest.approx(76.7069, abs=5e-4)
    assert sample_size_per_arm(baseline=0.50, mde=0.25, power=0.90, kind="binomial") == 77
    # the same design given as a relative MDE (+50 % of 0.5)
    assert sample_size_per_arm(baseline=0.50, mde=0.5, relative=True, power=0.90, kind="binomial") == 77


def test_cohens_h_matches_pwr_es_h() -> None:
    # R package pwr: ES.h(0.2, 0.1) = 2*asin(sqrt(0.2)) - 2*asin(sqrt(0.1)) printed as h = 0.2837941
    # (pwr.p.test(h = ES.h(0.2, 0.1), power = 0.8, alternative = "greater") output).
    assert cohens_h(0.1, 0.2) == pytest.approx(0.2837941, abs=5e-8)
    assert cohens_h(0.2, 0.1) == pytest.approx(-0.2837941, abs=5e-8)
    assert math.isclose(cohens_h(0.3, 0.3), 0.0)
