"""Fixed-horizon two-sample tests: Welch's t, the two-proportion z test and the delta-method relative lift.

All tests are two-sided and report ``treatment − control``. They are valid when analysed once, at a sample
size fixed in advance; for continuous monitoring use :mod:`sidecar.stats.sequential`.
"""

from __future__ import annotations

import math

from sidecar.stats._dist import norm_ppf, norm_sf, t_ppf, t_sf
from sidecar.stats.summary import SummaryStats, TestResult, check_alpha, uninformative


def _two_sided_normal_p(z: float) -> float:
    return min(1.0, 2.0 * norm_sf(abs(z)))


def welch_t_test(control: SummaryStats, treatment: SummaryStats, alpha: float = 0.05) -> TestResult:
    """Welch's unequal-variance t test of ``treatment.mean − control.mean``.

    ``se² = s_c²/n_c + s_t²/n_t`` and the Welch–Satterthwaite degrees of freedom
    ``df = se⁴ / ((s_c²/n_c)²/(n_c−1) + (s_t²/n_t)²/(n_t−1))``; ``t = estimate / se``, the p-value is
    ``2·P(T_df > |t|)`` and the interval ``estimate ± t_{1−alpha/2, df}·se``.

    Degenerate inputs never produce NaN or warnings: an arm with ``n < 2`` has no variance estimate, so the
    result is uninformative (``p = 1``, infinite interval); when both variances are 0 the difference is known
    exactly (``p = 1`` if it is 0, else ``p = 0``, and a zero-width interval).
    """
    check_alpha(alpha)
    if control.n == 0 or treatment.n == 0:
        return uninformative(0.0)
    estimate = treatment.mean - control.mean
    if control.n < 2 or treatment.n < 2:
        return uninformative(estimate)
    a = control.variance / control.n
    b = treatment.variance / treatment.n
    se2 = a + b
    if se2 <= 0.0:
        if estimate == 0.0:
            return TestResult(0.0, 0.0, 0.0, 1.0, 0.0, float(control.n + treatment.n - 2))
        return TestResult(estimate, estimate, estimate, 0.0, math.copysign(math.inf, estimate), None)
    se = math.sqrt(se2)
    df = se2 * se2 / (a * a / (control.n - 1) + b * b / (treatment.n - 1))
    t = estimate / se
    p = min(1.0, 2.0 * t_sf(abs(t), df))
    half = t_ppf(1.0 - alpha / 2.0, df) * se
    return TestResult(estimate, estimate - half, estimate + half, p, t, df)


def two_proportion_z_test(
    control_successes: int,
    control_n: int,
    treatment_successes: int,
    treatment_n: int,
    alpha: float = 0.05,
) -> TestResult:
    """Two-sample z test for ``p_treatment − p_control``.

    The **test** uses the pooled standard error (the null hypothesis says both arms share one proportion
    ``p̂ = (x_c + x_t)/(n_c + n_t)``): ``z = (p̂_t − p̂_c) / sqrt(p̂(1−p̂)(1/n_c + 1/n_t))``. This is the
    test of R's ``prop.test(correct = FALSE)`` (whose ``X-squared`` is ``z²``) and statsmodels'
    ``proportions_ztest``.

    The **confidence interval** uses the unpooled (Wald) standard error
    ``sqrt(p̂_c(1−p̂_c)/n_c + p̂_t(1−p̂_t)/n_t)``, because away from the null the arms do not share a
    proportion; this is also what ``prop.test(correct = FALSE)`` reports. The two can therefore disagree at
    the margin (p slightly below alpha with an interval touching 0, or vice versa).
    """
    check_alpha(alpha)
    for successes, n, arm in (
        (control_successes, control_n, "control"),
        (treatment_successes, treatment_n, "treatment"),
    ):
        if n < 0 or not 0 <= successes <= n:
            raise ValueError(f"{arm}: need 0 <= successes <= n, got {successes} of {n}")
    if control_n == 0 or treatment_n == 0:
        return uninformative(0.0)
    p_c = control_successes / control_n
    p_t = treatment_successes / treatment_n
    estimate = p_t - p_c
    pooled = (control_successes + treatment_successes) / (control_n + treatment_n)
    se_pooled = math.sqrt(pooled * (1.0 - pooled) * (1.0 / control_n + 1.0 / treatment_n))
    se_wald = math.sqrt(p_c * (1.0 - p_c) / control_n + p_t * (1.0 - p_t) / treatment_n)
    half = norm_ppf(1.0 - alpha / 2.0) * se_wald
    if se_pooled == 0.0:  # both arms all-0 or all-1: identical, nothing to test
        return TestResult(estimate, estimate - half, estimate + half, 1.0, 0.0, None)
    z = estimate / se_pooled
    return TestResult(estimate, estimate - half, estimate + half, _two_sided_normal_p(z), z, None)


def relative_lift_variance(control: SummaryStats, treatment: SummaryStats) -> tuple[float, float]:
    """``(r, Var(r))`` for the relative lift ``r = (μ_t − μ_c)/|μ_c|`` by the first-order delta method.

    ``Var(r) ≈ Var(μ̂_t)/μ_c² + μ_t²·Var(μ̂_c)/μ_c⁴`` with ``Var(μ̂) = s²/n`` for independent arms. Raises
    ``ValueError`` when the control mean is 0 (the lift is undefined) or an arm is empty.
    """
    if control.n == 0 or treatment.n == 0:
        raise ValueError("relative lift needs units in both arms")
    if control.mean == 0.0:
        raise ValueError("relative lift is undefined when the control mean is 0")
    mu_c = control.mean
    mu_t = treatment.mean
    var_c = control.variance / control.n
    var_t = treatment.variance / treatment.n
    return (mu_t - mu_c) / abs(mu_c), var_t / (mu_c * mu_c) + (mu_t * mu_t) * var_c / (mu_c**4)


def relative_lift(control: SummaryStats, treatment: SummaryStats, alpha: float = 0.05) -> TestResult:
    """Relative lift ``(μ_t − μ_c) / |μ_c|`` with a delta-method normal interval and z test.

    ``r = μ̂_t/μ̂_c − 1`` (times ``sign(μ_c)``, so a positive lift always means "treatment is larger"); its
    variance is given by :func:`relative_lift_variance`, the interval is ``r ± z_{1−α/2}·√Var(r)`` and the
    p-value that of ``z = r/√Var(r)``. The approximation needs the control mean to be well away from 0
    relative to its standard error (coefficient of variation of the control mean below ~0.1). Raises
    ``ValueError`` when the control mean is exactly 0 because the lift is undefined.
    """
    check_alpha(alpha)
    if control.n == 0 or treatment.n == 0:
        return uninformative(0.0)
    estimate, var_r = relative_lift_variance(control, treatment)
    if control.n < 2 or treatment.n < 2:
        return uninformative(estimate)
    if var_r <= 0.0:
        if estimate == 0.0:
            return TestResult(0.0, 0.0, 0.0, 1.0, 0.0, None)
        return TestResult(estimate, estimate, estimate, 0.0, math.copysign(math.inf, estimate), None)
    se = math.sqrt(var_r)
    z = estimate / se
    half = norm_ppf(1.0 - alpha / 2.0) * se
    return TestResult(estimate, estimate - half, estimate + half, _two_sided_normal_p(z), z, None)
