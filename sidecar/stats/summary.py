"""Mergeable summary statistics and the result type shared by every fixed-horizon test."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SummaryStats:
    """Size, mean and *sample* variance (``ddof=1``) of one arm's per-unit values.

    Build it from mergeable sums with :meth:`from_sums`: hosts add up ``n``, ``sum`` and ``sum of squares``
    and the statistics are derived once, so nothing downstream ever touches individual events.
    """

    n: int
    mean: float
    variance: float

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"n must be >= 0, got {self.n}")
        if not self.variance >= 0.0:  # also rejects NaN
            raise ValueError(f"variance must be >= 0, got {self.variance}")

    @classmethod
    def from_sums(cls, n: int, total: float, total_sq: float) -> SummaryStats:
        """Stats from ``n``, ``Σx`` and ``Σx²``.

        ``variance = (Σx² − (Σx)²/n) / (n − 1)``; it is clamped at 0 because floating-point cancellation can
        make it a tiny negative number when all values are (nearly) equal. ``n = 0`` gives mean 0 and
        ``n < 2`` gives variance 0: callers check :attr:`n` before drawing conclusions.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return cls(0, 0.0, 0.0)
        mean = total / n
        if n == 1:
            return cls(1, mean, 0.0)
        variance = (total_sq - total * mean) / (n - 1)
        return cls(n, mean, max(variance, 0.0))

    @classmethod
    def from_proportion(cls, successes: int, n: int) -> SummaryStats:
        """Stats of ``n`` 0/1 values of which ``successes`` are 1 (Σx = Σx² = successes)."""
        if not 0 <= successes <= n:
            raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
        return cls.from_sums(n, float(successes), float(successes))

    @property
    def std_dev(self) -> float:
        return math.sqrt(self.variance)

    @property
    def std_error(self) -> float:
        """Standard error of the mean, ``sqrt(variance / n)``; infinite when ``n = 0``."""
        return math.sqrt(self.variance / self.n) if self.n > 0 else math.inf


@dataclass(frozen=True, slots=True)
class TestResult:
    """Outcome of a two-sided test of ``treatment − control = 0``.

    ``estimate`` is the treatment-minus-control quantity (difference, or relative lift for
    :func:`~sidecar.stats.fixed.relative_lift`), ``[ci_low, ci_high]`` its ``1 − alpha`` confidence interval,
    ``statistic`` the t or z value and ``df`` the (Welch) degrees of freedom where a t distribution is used.
    A test without enough data to say anything returns ``p_value = 1`` and an infinite interval.
    """

    __test__ = False  # not a pytest test class despite the name

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    statistic: float
    df: float | None = None


def uninformative(estimate: float, df: float | None = None) -> TestResult:
    """The result of a test that has no information: ``p = 1`` and the whole real line as interval."""
    return TestResult(estimate, -math.inf, math.inf, 1.0, 0.0, df)


def check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
