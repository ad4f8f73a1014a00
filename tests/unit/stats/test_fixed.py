"""Fixed-horizon tests: cross-checks against scipy on raw data, algebraic identities and degenerate inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from sidecar.stats.effect import cohens_d
from sidecar.stats.fixed import relative_lift, relative_lift_variance, two_proportion_z_test, welch_t_test
from sidecar.stats.summary import SummaryStats


def _from_array(x: np.ndarray) -> SummaryStats:
    return SummaryStats.from_sums(len(x), float(x.sum()), float((x * x).sum()))


def test_from_sums_matches_numpy() -> None:
    x = np.random.default_rng(7).normal(3.0, 2.0, 1000)
    s = _from_array(x)
    assert s.n == 1000
    assert s.mean == pytest.approx(float(x.mean()), rel=1e-12)
    assert s.variance == pytest.approx(float(x.var(ddof=1)), rel=1e-9)


def test_from_sums_small_and_degenerate() -> None:
    assert SummaryStats.from_sums(0, 0.0, 0.0) == SummaryStats(0, 0.0, 0.0)
    assert SummaryStats.from_sums(1, 5.0, 25.0) == SummaryStats(1, 5.0, 0.0)
    # cancellation can make Σx² − (Σx)²/n slightly negative for constant data: clamped to 0
    constant = SummaryStats.from_sums(3, 0.3, 0.03)
    assert constant.variance >= 0.0
    assert constant.variance == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="n must be"):
        SummaryStats.from_sums(-1, 0.0, 0.0)
    with pytest.raises(ValueError, match="successes"):
        SummaryStats.from_proportion(5, 4)


def test_from_sums_is_mergeable() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.exponential(2.0, 300), rng.exponential(2.0, 500)
    merged = SummaryStats.from_sums(800, float(a.sum() + b.sum()), float((a * a).sum() + (b * b).sum()))
    whole = _from_array(np.concatenate([a, b]))
    assert merged.mean == pytest.approx(whole.mean, rel=1e-12)
    assert merged.variance == pytest.approx(whole.variance, rel=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_welch_matches_scipy_ttest_ind(seed: int) -> None:
    rng = np.random.default_rng(seed)
    control = rng.normal(10.0, 3.0, 40 + 10 * seed)
    treatment = rng.normal(10.8, 5.0, 25 + 7 * seed)
    ours = welch_t_test(_from_array(control), _from_array(treatment))
    ref = sps.ttest_ind(treatment, control, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-9)
    assert ours.p_value == pytest.approx(float(ref.pvalue), rel=1e-8)
    assert ours.df == pytest.approx(float(ref.df), rel=1e-9)
    assert ours.ci_low == pytest.approx(float(ci.low), rel=1e-8)
    assert ours.ci_high == pytest.approx(float(ci.high), rel=1e-8)


def test_welch_alpha_changes_interval_not_p_value() -> None:
    a, b = SummaryStats(50, 1.0, 4.0), SummaryStats(60, 1.5, 9.0)
    wide, narrow = welch_t_test(a, b, alpha=0.01), welch_t_test(a, b, alpha=0.2)
    assert wide.p_value == narrow.p_value
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_welch_degenerate_inputs() -> None:
    empty = welch_t_test(SummaryStats(0, 0.0, 0.0), SummaryStats(10, 1.0, 1.0))
    assert empty.p_value == 1.0
    assert math.isinf(empty.ci_low)
    assert math.isinf(empty.ci_high)
    single = welch_t_test(SummaryStats(1, 3.0, 0.0), SummaryStats(10, 1.0, 1.0))
    assert single.p_value == 1.0
    assert single.estimate == pytest.approx(-2.0)
    same = welch_t_test(SummaryStats(10, 2.0, 0.0), SummaryStats(10, 2.0, 0.0))
    assert (same.estimate, same.p_value, same.ci_low, same.ci_high) == (0.0, 1.0, 0.0, 0.0)
    shifted = welch_t_test(SummaryStats(10, 2.0, 0.0), SummaryStats(10, 3.0, 0.0))
    assert shifted.p_value == 0.0
    assert shifted.ci_low == shifted.ci_high == 1.0
    # one arm constant: df collapses to the other arm's n - 1
    one_constant = welch_t_test(SummaryStats(10, 2.0, 0.0), SummaryStats(8, 3.0, 2.0))
    assert one_constant.df == pytest.approx(7.0)
    with pytest.raises(ValueError, match="alpha"):
        welch_t_test(SummaryStats(10, 2.0, 1.0), SummaryStats(10, 3.0, 1.0), alpha=1.5)


def test_two_proportion_pooled_test_unpooled_interval() -> None:
    result = two_proportion_z_test(100, 1000, 130, 1000)
    p_c, p_t = 0.1, 0.13
    pooled = 230 / 2000
    z = (p_t - p_c) / math.sqrt(pooled * (1 - pooled) * 2 / 1000)
    se_wald = math.sqrt(p_c * (1 - p_c) / 1000 + p_t * (1 - p_t) / 1000)
    assert result.statistic == pytest.approx(z, rel=1e-12)
    assert result.p_value == pytest.approx(2 * float(sps.norm.sf(z)), rel=1e-9)
    half = float(sps.norm.ppf(0.975)) * se_wald
    assert (result.ci_low, result.ci_high) == pytest.approx((0.03 - half, 0.03 + half), rel=1e-12)


def test_two_proportion_degenerate_inputs() -> None:
    zeros = two_proportion_z_test(0, 100, 0, 100)
    assert (zeros.p_value, zeros.ci_low, zeros.ci_high) == (1.0, 0.0, 0.0)
    ones = two_proportion_z_test(50, 50, 80, 80)
    assert ones.p_value == 1.0
    assert two_proportion_z_test(0, 0, 3, 10).p_value == 1.0
    with pytest.raises(ValueError, match="successes"):
        two_proportion_z_test(11, 10, 3, 10)


def test_relative_lift_delta_method_formula() -> None:
    control, treatment = SummaryStats(400, 20.0, 100.0), SummaryStats(500, 22.0, 144.0)
    r, var_r = relative_lift_variance(control, treatment)
    assert r == pytest.approx(0.1)
    expected_var = (144.0 / 500) / 20.0**2 + 22.0**2 * (100.0 / 400) / 20.0**4
    assert var_r == pytest.approx(expected_var, rel=1e-12)
    result = relative_lift(control, treatment)
    z = float(sps.norm.ppf(0.975))
    assert result.ci_low == pytest.approx(0.1 - z * math.sqrt(expected_var), rel=1e-12)
    assert result.p_value == pytest.approx(2 * float(sps.norm.sf(0.1 / math.sqrt(expected_var))), rel=1e-9)


def test_relative_lift_uses_absolute_control_mean() -> None:
    # a loss that shrinks from -10 to -8 is a +20 % lift "upwards"
    result = relative_lift(SummaryStats(100, -10.0, 4.0), SummaryStats(100, -8.0, 4.0))
    assert result.estimate == pytest.approx(0.2)
    with pytest.raises(ValueError, match="undefined"):
        relative_lift(SummaryStats(100, 0.0, 4.0), SummaryStats(100, 1.0, 4.0))


def test_cohens_d_by_hand() -> None:
    # pooled variance ((9·4) + (19·9)) / 28 = 7.392857…
    d = cohens_d(SummaryStats(10, 5.0, 4.0), SummaryStats(20, 6.0, 9.0))
    assert d == pytest.approx(1.0 / math.sqrt((9 * 4 + 19 * 9) / 28), rel=1e-12)
    assert cohens_d(SummaryStats(1, 5.0, 0.0), SummaryStats(1, 6.0, 0.0)) == 0.0
    assert cohens_d(SummaryStats(5, 5.0, 0.0), SummaryStats(5, 6.0, 0.0)) == 0.0


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 10_000),
    finite,
    positive,
    st.integers(2, 10_000),
    finite,
    positive,
    st.floats(0.001, 0.5),
)
def test_welch_invariants(n1: int, m1: float, v1: float, n2: int, m2: float, v2: float, alpha: float) -> None:
    a, b = SummaryStats(n1, m1, v1), SummaryStats(n2, m2, v2)
    ab, ba = welch_t_test(a, b, alpha), welch_t_test(b, a, alpha)
    assert 0.0 <= ab.p_value <= 1.0
    assert ab.ci_low <= ab.estimate <= ab.ci_high
    assert ab.p_value == pytest.approx(ba.p_value, rel=1e-9, abs=1e-300)
    assert ab.estimate == pytest.approx(-ba.estimate)
    assert ab.df is not None
    assert min(n1, n2) - 1 - 1e-9 <= ab.df <= n1 + n2 - 2 + 1e-6
    # duality of test and interval: 0 outside the interval exactly when p < alpha (away from the boundary)
    if abs(ab.p_value - alpha) > 1e-9:
        assert (ab.p_value < alpha) == (ab.ci_low > 0.0 or ab.ci_high < 0.0)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 5000), st.data())
def test_two_proportion_invariants(n1: int, n2: int, data: st.DataObject) -> None:
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    result = two_proportion_z_test(x1, n1, x2, n2)
    assert 0.0 <= result.p_value <= 1.0
    assert result.ci_low <= result.estimate <= result.ci_high
    swapped = two_proportion_z_test(x2, n2, x1, n1)
    assert swapped.p_value == pytest.approx(result.p_value, rel=1e-9, abs=1e-300)
