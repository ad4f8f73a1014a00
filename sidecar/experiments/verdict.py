"""The one-word decision of a report and the sentence that explains it.

In order: a sample-ratio mismatch makes the report untrustworthy; too few units keep it running; a winning
variant (primary improved, no primary or guardrail degraded) ships, unless a fixed-horizon design has not
reached its planned size; a degraded guardrail, or a primary degraded in every variant, does not ship;
otherwise keep running until the planned size is reached, then inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sidecar.experiments.model import (
    AnalysisMode,
    Direction,
    ExperimentDefinition,
    MetricResult,
    MetricRole,
    Outcome,
    Verdict,
)
from sidecar.experiments.planning import effective_n
from sidecar.stats.srm import SrmResult


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str
    winner: str | None = None


def describe_change(r: MetricResult) -> str:
    change = f"{r.relative.estimate * 100:+.2f}%" if r.relative is not None else f"{r.absolute.estimate:+.4g}"
    return f"{change} (adjusted p = {r.p_value_adjusted:.4g})"


def _named_change(r: MetricResult) -> str:
    return f"{r.metric} ({r.variant}): {describe_change(r)}"


def guardrail_violations(results: Sequence[MetricResult]) -> tuple[str, ...]:
    return tuple(
        _named_change(r) for r in results if r.role is MetricRole.GUARDRAIL and r.outcome is Outcome.DEGRADED
    )


def decide(
    definition: ExperimentDefinition,
    srm: SrmResult,
    exposures: Mapping[str, int],
    results: Sequence[MetricResult],
    planned: int | None,
    violations: tuple[str, ...],
) -> Decision:
    """The verdict of a report whose results are already adjusted for multiple testing."""
    if srm.mismatch:
        return _mismatch(definition, srm)
    small = [a for a in definition.arms if exposures[a] < definition.min_units_per_arm]
    if small:
        return Decision(
            Verdict.KEEP_RUNNING,
            f"Not enough data: {', '.join(f'{a} has {exposures[a]}' for a in small)} units "
            f"(minimum {definition.min_units_per_arm} per arm).",
        )
    primaries = [r for r in results if r.role is MetricRole.PRIMARY]
    if not primaries:
        if violations:
            return _guardrails_degraded(violations)
        return Decision(Verdict.INCONCLUSIVE, "The experiment defines no primary metric to decide on.")
    reached = planned is None or all(
        effective_n(exposures[definition.control], exposures[t]) >= planned for t in definition.treatments
    )
    decided = _winner(definition, results, primaries, planned, reached, violations)
    if decided is not None:
        return decided
    return _no_winner(definition, primaries, planned, reached)


def _mismatch(definition: ExperimentDefinition, srm: SrmResult) -> Decision:
    observed = ", ".join(f"{a}={o}" for a, o in zip(definition.arms, srm.observed, strict=True))
    expected = ", ".join(f"{a}={e:.0f}" for a, e in zip(definition.arms, srm.expected, strict=True))
    return Decision(
        Verdict.UNTRUSTWORTHY,
        f"Sample ratio mismatch (chi-square p = {srm.p_value:.3g} < {definition.srm_threshold:g}): "
        f"observed {observed}, expected {expected}. Assignment or exposure logging is broken; no result "
        "can be trusted.",
    )


def _winner(
    definition: ExperimentDefinition,
    results: Sequence[MetricResult],
    primaries: Sequence[MetricResult],
    planned: int | None,
    reached: bool,
    violations: tuple[str, ...],
) -> Decision | None:
    blocked = {
        r.variant
        for r in results
        if r.role in (MetricRole.PRIMARY, MetricRole.GUARDRAIL) and r.outcome is Outcome.DEGRADED
    }
    winners = [r for r in primaries if r.outcome is Outcome.IMPROVED and r.variant not in blocked]
    if winners:
        first_primary = primaries[0].metric

        def score(r: MetricResult) -> tuple[int, float]:
            lift = r.relative.estimate if r.relative is not None else r.absolute.estimate
            return (
                1 if r.metric == first_primary else 0,
                lift if r.direction is Direction.INCREASE else -lift,
            )

        best = max(winners, key=score)
        if definition.mode is AnalysisMode.FIXED and not reached:
            return Decision(
                Verdict.KEEP_RUNNING,
                f"{best.variant} looks better on {best.metric} ({describe_change(best)}), but the "
                f"fixed-horizon sample of {planned} units per arm is not reached; reading a fixed-horizon "
                "test early inflates false positives (use sequential mode to stop early).",
            )
        extra = f" Other arms' guardrails: {'; '.join(violations)}." if violations else ""
        return Decision(
            Verdict.SHIP,
            f"{best.variant} improves primary metric {best.metric}: {describe_change(best)}, with no "
            f"primary or guardrail metric degraded.{extra}",
            best.variant,
        )
    if violations:
        return _guardrails_degraded(violations)
    primary_bad = {r.variant for r in primaries if r.outcome is Outcome.DEGRADED}
    if primary_bad and primary_bad >= set(definition.treatments):
        return Decision(Verdict.DO_NOT_SHIP, f"Primary metric significantly worse: {_worse(primaries)}.")
    return None


def _guardrails_degraded(violations: tuple[str, ...]) -> Decision:
    return Decision(Verdict.DO_NOT_SHIP, "Guardrail degraded: " + "; ".join(violations) + ".")


def _worse(primaries: Sequence[MetricResult]) -> str:
    return "; ".join(_named_change(r) for r in primaries if r.outcome is Outcome.DEGRADED)


def _no_winner(
    definition: ExperimentDefinition, primaries: Sequence[MetricResult], planned: int | None, reached: bool
) -> Decision:
    worse = _worse(primaries)
    note = f" Significantly worse: {worse}." if worse else ""
    if planned is not None and not reached:
        reason = (
            f"No significant improvement on the primary metric yet; {planned} units per arm are needed to "
            f"detect the MDE with {definition.power:.0%} power.{note}"
        )
        return Decision(Verdict.KEEP_RUNNING, reason)
    if planned is not None:
        reason = (
            f"No significant improvement on the primary metric at the planned {planned} units per arm: any "
            f"effect is probably smaller than the MDE.{note}"
        )
        return Decision(Verdict.INCONCLUSIVE, reason)
    if definition.mode is AnalysisMode.SEQUENTIAL:
        reason = (
            "No significant improvement on the primary metric yet; sequential results stay valid as data "
            f"accrue (configure an MDE to know when to stop for futility).{note}"
        )
        return Decision(Verdict.KEEP_RUNNING, reason)
    reason = (
        "No significant improvement on the primary metric; without an MDE the report cannot tell whether "
        f"more data would help.{note}"
    )
    return Decision(Verdict.INCONCLUSIVE, reason)
