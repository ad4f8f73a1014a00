"""The cross-check between an experiment and the flag that assigns its arms: what would make its exposures
or its sample-ratio check wrong."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sidecar.evaluation.model import CompiledFlag
from sidecar.experiments.config import ExperimentConfig


def cross_check(experiment: ExperimentConfig, flags: Mapping[str, CompiledFlag]) -> list[str]:
    """What is wrong between an experiment and its flag: the flag exists and is enabled, every arm is one of
    its variants, and its fractional split (when written literally) has the experiment's arms and shares."""
    flag = flags.get(experiment.flag)
    if flag is None:
        return [f"flag {experiment.flag!r} does not exist, so no unit is exposed"]
    problems: list[str] = []
    if not flag.enabled:
        problems.append(f"flag {experiment.flag!r} is DISABLED, so no unit is exposed")
    unknown = [arm for arm in experiment.arms if arm not in flag.variants]
    if unknown:
        problems.append(
            f"arms {', '.join(map(repr, unknown))} are not variants of flag {experiment.flag!r} "
            f"(variants: {', '.join(flag.variants)})"
        )
    split = _literal_split(flag.definition.get("targeting"))
    if split is None:
        return problems
    if not split:
        problems.append(
            f"flag {experiment.flag!r} has no fractional split: exposures are recorded only for units the "
            "split randomises into an arm"
        )
        return problems
    configured = _shares(dict(zip(experiment.arms, experiment.weights, strict=True)))
    actual = _shares(split)
    if configured.keys() != actual.keys() or any(
        not math.isclose(configured[a], actual[a], abs_tol=1e-9) for a in configured
    ):
        problems.append(
            f"weights {_describe(experiment.arms, experiment.weights)} do not match the fractional split of "
            f"flag {experiment.flag!r} ({_describe(tuple(split), tuple(split.values()))}); the sample-ratio "
            "check would flag a healthy assignment"
        )
    return problems


def _literal_split(targeting: Any) -> dict[str, float] | None:
    """The variant shares of the only ``fractional`` in a rule, ``{}`` when there is none, None when they
    cannot be read without evaluating (several splits, ``$ref``, computed variants or weights)."""
    found: list[list[Any]] = []
    opaque = False

    def walk(node: Any) -> None:
        nonlocal opaque
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "fractional" and isinstance(value, list):
                    found.append(value)
                opaque |= name == "$ref"
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(targeting)
    if opaque or len(found) > 1:
        return None
    if not found:
        return {}
    split: dict[str, float] = {}
    for entry in found[0]:
        if not isinstance(entry, list):
            continue  # the bucket-by expression
        weight = entry[1] if len(entry) == 2 else 1
        if not isinstance(entry[0], str) or isinstance(weight, bool) or not isinstance(weight, int | float):
            return None
        split[entry[0]] = split.get(entry[0], 0.0) + float(weight)
    return split


def _shares(weights: Mapping[str, float]) -> dict[str, float]:
    total = math.fsum(weights.values())
    return {arm: w / total for arm, w in weights.items() if w > 0} if total > 0 else {}


def _describe(arms: Sequence[str], weights: Sequence[float]) -> str:
    return " / ".join(f"{arm} {weight:g}" for arm, weight in zip(arms, weights, strict=True))
