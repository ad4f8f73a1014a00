r"""Always-valid inference: the normal-mixture mSPRT of Johari, Pekelis & Walsh (2017), "Always Valid
Inference: Bringing Sequential Analysis to A/B Testing" (arXiv:1512.04922; Operations Research 70(3), 2022).

Let ``θ̂`` be the current estimate of the treatment-minus-control difference and ``V`` its variance
(``s_c²/n_c + s_t²/n_t``). Mixing the likelihood ratio of ``θ = θ₀ + δ`` against ``θ = θ₀`` over a normal
prior ``δ ~ N(0, τ²)`` gives the mixture likelihood ratio

.. math::  Λ(θ₀) = \sqrt{\frac{V}{V + τ²}}\; \exp\!\Big(\frac{τ² (θ̂ − θ₀)²}{2 V (V + τ²)}\Big),

a nonnegative martingale under ``θ = θ₀`` that starts at 1, so by Ville's inequality
``P(sup_n Λ_n ≥ 1/α) ≤ α``. Hence

* the **always-valid p-value** is ``p = min(1, 1/Λ(0))``; stopping the first time ``p ≤ α`` — after any number
  of looks, at any times — has type-I error at most ``α``;
* the **confidence sequence** is ``{θ₀ : Λ(θ₀) < 1/α}``, i.e. ``θ̂ ± h`` with
  ``h = sqrt( V (V + τ²)/τ² · (2 ln(1/α) + ln((V + τ²)/V)) )``; it covers the truth at all times
  simultaneously with probability ``≥ 1 − α``.

The p-value and the sequence are dual: ``p ≤ α`` exactly when 0 is outside the sequence.

Guarantees and caveats:

* **τ must be fixed before the data are seen and kept for the life of the experiment / rollout**: choosing or
  re-tuning it from the data voids the guarantee. It only trades power between small and large effects (the
  test is most sensitive to effects of size ≈ τ); a sensible choice is the minimum detectable effect, in the
  units of the difference.
* These functions are stateless: each call gives ``1/Λ_n`` for the *current* data. The formal always-valid
  p-value is the running minimum over looks, and the formal confidence sequence the running intersection.
  Stopping at the first look where the current p-value is ``≤ α`` is the same rule either way, so nothing
  here keeps state across looks.
* ``V`` uses plug-in variance estimates, so validity is asymptotic (as in the paper's treatment of unknown
  variance / Bernoulli data); it is reliable once each arm has a few dozen units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sidecar.stats.summary import SummaryStats, check_alpha


@dataclass(frozen=True, slots=True)
class SequentialResult:
    """Always-valid estimate, confidence-sequence bounds and p-value for ``treatment − control``."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float


def _uninformative(estimate: float) -> SequentialResult:
    return SequentialResult(estimate, -math.inf, math.inf, 1.0)


def mixture_sprt(estimate: float, variance: float, *, alpha: float = 0.05, tau: float) -> SequentialResult:
    """The normal-mixture mSPRT for an estimate with (approximately) normal sampling distribution.

    ``variance`` is the variance of ``estimate`` (squared standard error); ``tau`` the prior standard
    deviation of the effect, in the same units as ``estimate``. See the module docstring for the formulas.
    """
    check_alpha(alpha)
    if not tau > 0.0 or not math.isfinite(tau):
        raise ValueError(f"tau must be a positive finite number, got {tau}")
    if not variance > 0.0 or not math.isfinite(variance) or not math.isfinite(estimate):
        return _uninformative(estimate if math.isfinite(estimate) else 0.0)
    tau2 = tau * tau
    total = variance + tau2
    log_lambda = 0.5 * math.log(variance / total) + tau2 * estimate * estimate / (2.0 * variance * total)
    p_value = 1.0 if log_lambda <= 0.0 else math.exp(-log_lambda)
    half = math.sqrt(variance * total / tau2 * (2.0 * math.log(1.0 / alpha) + math.log(total / variance)))
    return SequentialResult(estimate, estimate - half, estimate + half, p_value)


def sequential_mean_difference(
    control: SummaryStats, treatment: SummaryStats, *, alpha: float = 0.05, tau: float
) -> SequentialResult:
    """Always-valid inference on ``treatment.mean − control.mean`` with ``V = s_c²/n_c + s_t²/n_t``.

    Arms with fewer than 2 units (no variance estimate) or zero total variance give an uninformative result.
    """
    if control.n < 2 or treatment.n < 2:
        estimate = treatment.mean - control.mean if control.n and treatment.n else 0.0
        check_alpha(alpha)
        return _uninformative(estimate)
    variance = control.variance / control.n + treatment.variance / treatment.n
    return mixture_sprt(treatment.mean - control.mean, variance, alpha=alpha, tau=tau)


def sequential_proportion_difference(
    control_successes: int,
    control_n: int,
    treatment_successes: int,
    treatment_n: int,
    *,
    alpha: float = 0.05,
    tau: float,
) -> SequentialResult:
    """Always-valid inference on ``p_treatment − p_control``.

    Uses the unpooled variance ``V = p̂_c(1−p̂_c)/n_c + p̂_t(1−p̂_t)/n_t`` for both the p-value and the
    confidence sequence so the two stay dual. While both arms are all-0 (or all-1) ``V = 0`` and the result is
    uninformative.
    """
    for successes, n, arm in (
        (control_successes, control_n, "control"),
        (treatment_successes, treatment_n, "treatment"),
    ):
        if n < 0 or not 0 <= successes <= n:
            raise ValueError(f"{arm}: need 0 <= successes <= n, got {successes} of {n}")
    if control_n == 0 or treatment_n == 0:
        check_alpha(alpha)
        return _uninformative(0.0)
    p_c = control_successes / control_n
    p_t = treatment_successes / treatment_n
    variance = p_c * (1.0 - p_c) / control_n + p_t * (1.0 - p_t) / treatment_n
    return mixture_sprt(p_t - p_c, variance, alpha=alpha, tau=tau)
