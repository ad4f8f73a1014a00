"""Holm and Benjamini–Hochberg adjusted p-values against hand-computed tables (same definitions as R's
``p.adjust(method = "holm")`` / ``p.adjust(method = "BH")``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.stats.multiple import benjamini_hochberg, holm

# Table 1 (m = 4), by hand. Sorted: 0.005 (#4), 0.01 (#1), 0.03 (#3), 0.04 (#2).
#   Holm:  4·0.005 = 0.02; 3·0.01 = 0.03; 2·0.03 = 0.06; 1·0.04 = 0.04 -> running max 0.06
#   BH:    4/1·0.005 = 0.02; 4/2·0.01 = 0.02; 4/3·0.03 = 0.04; 4/4·0.04 = 0.04 -> running min from the top
TABLE_1 = [0.01, 0.04, 0.03, 0.005]
HOLM_1 = [0.03, 0.06, 0.06, 0.02]
BH_1 = [0.02, 0.04, 0.04, 0.02]

# Table 2 (m = 3), capping at 1. Sorted 0.2, 0.5, 0.9.
#   Holm: 3·0.2 = 0.6; 2·0.5 = 1.0; 0.9 -> max(1.0, 0.9) = 1.0
#   BH:   3·0.2 = 0.6; 3/2·0.5 = 0.75; 3/3·0.9 = 0.9
TABLE_2 = [0.5, 0.9, 0.2]
HOLM_2 = [1.0, 1.0, 0.6]
BH_2 = [0.75, 0.9, 0.6]

# Table 3 (m = 5) with a tie. Sorted 0.001, 0.012, 0.012, 0.03, 0.2.
#   Holm: 0.005, 4·0.012 = 0.048, 3·0.012 = 0.036 -> 0.048, 2·0.03 = 0.06, 0.2
#   BH:   5·0.001 = 0.005; 5/2·0.012 = 0.03; 5/3·0.012 = 0.02; 5/4·0.03 = 0.0375; 0.2
#         running min from the top: 0.2, 0.0375, 0.02, 0.02, 0.005
TABLE_3 = [0.03, 0.012, 0.2, 0.001, 0.012]
HOLM_3 = [0.06, 0.048, 0.2, 0.005, 0.048]
BH_3 = [0.0375, 0.02, 0.2, 0.005, 0.02]


@pytest.mark.parametrize(("p", "expected"), [(TABLE_1, HOLM_1), (TABLE_2, HOLM_2), (TABLE_3, HOLM_3)])
def test_holm_table(p: list[float], expected: list[float]) -> None:
    assert holm(p) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("p", "expected"), [(TABLE_1, BH_1), (TABLE_2, BH_2), (TABLE_3, BH_3)])
def test_bh_table(p: list[float], expected: list[float]) -> None:
    assert benjamini_hochberg(p) == pytest.approx(expected, abs=1e-12)


def test_edge_cases() -> None:
    assert holm([]) == []
    assert benjamini_hochberg([]) == []
    assert holm([0.03]) == [0.03]
    assert benjamini_hochberg([0.03]) == [0.03]
    with pytest.raises(ValueError, match="p-values"):
        holm([0.1, 1.2])
    with pytest.raises(ValueError, match="p-values"):
        benjamini_hochberg([float("nan")])


@given(st.lists(st.floats(0.0, 1.0), max_size=40))
def test_adjustment_invariants(p: list[float]) -> None:
    h, b = holm(p), benjamini_hochberg(p)
    for raw, hh, bb in zip(p, h, b, strict=True):
        assert raw <= bb + 1e-15 <= hh + 2e-15 <= 1.0 + 2e-15
        assert min(1.0, raw * len(p)) + 1e-15 >= hh  # Holm never exceeds Bonferroni
    # adjusted values keep the order of the raw ones
    order = sorted(range(len(p)), key=lambda i: p[i])
    assert [h[i] for i in order] == sorted(h)
    assert [b[i] for i in order] == sorted(b)
