"""Power and sample size: consistency between the calculators and a simulated rejection rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sidecar.stats.fixed import two_proportion_z_test
from sidecar.stats.power import (
    achieved_power,
    power_from_standard_error,
    required_sample_size,
    sample_size_per_arm,
    two_proportion_power,
    two_sample_t_power,
)
from sidecar.stats.summary import SummaryStats


def test_power_from_standard_error_limits() -> None:
    assert power_from_standard_error(0.0, 1.0) == pytest.approx(0.05)
    assert power_from_standard_error(1.0, math.inf) == pytest.approx(0.05)
    assert power_from_standard_error(1.0, 0.0) == 1.0
    # |δ|/se = z_{.975} + z_{.8}  ->  80 % power (plus a negligible opposite tail)
    z = 1.959963984540054 + 0.8416212335729143
    assert power_from_standard_error(z, 1.0) == pytest.approx(0.8, abs=1e-6)
    assert power_from_standard_error(-z, 1.0) == power_from_standard_error(z, 1.0)


def test_achieved_power_uses_both_arms() -> None:
    control, treatment = SummaryStats(500, 1.0, 4.0), SummaryStats(300, 1.2, 9.0)
    se = math.sqrt(4.0 / 500 + 9.0 / 300)
    assert achieved_power(control, treatment, effect=0.3) == power_from_standard_error(0.3, se)
    assert achieved_power(SummaryStats(1, 0.0, 0.0), treatment, effect=0.3) == 0.05


def test_sample_size_hits_target_power() -> None:
    for baseline, mde in ((0.1, 0.01), (0.02, 0.004), (0.5, -0.05)):
        n = sample_size_per_arm(baseline=baseline, mde=mde, kind="binomial")
        assert two_proportion_power(n, baseline, baseline + mde) >= 0.8
        assert two_proportion_power(n - 1, baseline, baseline + mde) < 0.8
    for sd, delta in ((1.0, 0.2), (30.0, 2.5)):
        n = sample_size_per_arm(baseline=100.0, mde=delta, std_dev=sd, kind="continuous")
        assert two_sample_t_power(n, delta, sd) >= 0.8 > two_sample_t_power(n - 1, delta, sd)


def test_relative_mde_and_validation() -> None:
    absolute = required_sample_size(baseline=0.1, mde=0.005, kind="binomial")
    relative = required_sample_size(baseline=0.1, mde=0.05, relative=True, kind="binomial")
    assert relative == pytest.approx(absolute)
    with pytest.raises(ValueError, match="std_dev"):
        required_sample_size(baseline=1.0, mde=0.1, kind="continuous")
    with pytest.raises(ValueError, match="proportions"):
        required_sample_size(baseline=0.99, mde=0.02, kind="binomial")
    with pytest.raises(ValueError, match="non-zero"):
        required_sample_size(baseline=0.5, mde=0.0, kind="binomial")
    with pytest.raises(ValueError, match="power"):
        required_sample_size(baseline=0.5, mde=0.1, power=1.0, kind="binomial")
    # huge effects need the minimum of 2 units
    assert sample_size_per_arm(baseline=0.0, mde=100.0, std_dev=1.0, kind="continuous") == 2


def test_planned_sample_gives_planned_power_in_simulation() -> None:
    """Simulate 1,000 seeded experiments at the computed n (baseline 10 %, +2 points): the z test rejects in
    80 % ± 4 points (3 binomial standard errors) of them."""
    n = sample_size_per_arm(baseline=0.10, mde=0.02, kind="binomial")
    rng = np.random.default_rng(42)
    control = rng.binomial(n, 0.10, 1000)
    treatment = rng.binomial(n, 0.12, 1000)
    rejections = sum(
        two_proportion_z_test(int(c), n, int(t), n).p_value < 0.05
        for c, t in zip(control, treatment, strict=True)
    )
    assert abs(rejections / 1000 - 0.8) <= 0.04
