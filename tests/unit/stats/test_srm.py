"""Sample-ratio mismatch: the edge cases around the chi-square test."""

from __future__ import annotations

import math

import pytest

from sidecar.stats.srm import sample_ratio_mismatch


@pytest.mark.parametrize(
    ("observed", "weights", "message"),
    [
        pytest.param([1, 2], [1.0], "2 observed counts but 1 weights", id="length-mismatch"),
        pytest.param([], [], "at least one arm", id="no-arms"),
        pytest.param([-1, 2], [1.0, 1.0], "observed counts must be >= 0", id="negative-count"),
        pytest.param([1, 2], [1.0, math.inf], "finite and >= 0", id="infinite-weight"),
        pytest.param([1, 2], [0.0, 0.0], "must not all be 0", id="zero-weights"),
    ],
)
def test_bad_input_is_refused(observed: list[int], weights: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sample_ratio_mismatch(observed, weights)


def test_units_in_an_arm_of_weight_zero_are_a_mismatch() -> None:
    result = sample_ratio_mismatch([10, 1], [1.0, 0.0])
    assert (result.statistic, result.p_value, result.mismatch) == (math.inf, 0.0, True)


@pytest.mark.parametrize(
    ("observed", "weights"),
    [pytest.param([0, 0], [1.0, 1.0], id="no-units"), pytest.param([5, 0], [1.0, 0.0], id="one-active-arm")],
)
def test_nothing_to_test_is_no_mismatch(observed: list[int], weights: list[float]) -> None:
    result = sample_ratio_mismatch(observed, weights)
    assert (result.statistic, result.p_value, result.mismatch) == (0.0, 1.0, False)
