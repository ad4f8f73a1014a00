"""Resolve flags for a request context: the hot path of the daemon."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any

from sidecar.evaluation import budget
from sidecar.evaluation.coercion import number_to_string, to_string
from sidecar.evaluation.fractional import SplitVariant
from sidecar.evaluation.model import CompiledFlag, EvalErrorCode, Reason, Resolution, Rule, Targeting

MAX_FLAG_DEPTH = 8
"""How deep ``flag_value`` references may nest before the evaluation fails (cycles end here)."""

_FLAGD = "$flagd"
_NO_METADATA: Mapping[str, Any] = MappingProxyType({})


class _TooDeepError(Exception):
    """Unwinds a whole evaluation when ``flag_value`` references nest past :data:`MAX_FLAG_DEPTH`."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """A targeted flag prepared for the hot path: its rule and every resolution it can produce."""

    flag: CompiledFlag
    rule: Rule
    reads_flags: bool
    # Iterates over arrays, or may through a dependent flag: starts each evaluation with a fresh budget.
    budgeted: bool
    copy_context: bool
    """Whether the rule reads a static-context key or ``$flagd``, so its data must be a merged copy."""
    flagd_properties: bool
    matches: Mapping[str, Resolution]
    splits: Mapping[str, Resolution]
    fallthrough: Resolution


class Evaluator:
    """Evaluates one immutable snapshot of compiled flags; safe to share across threads and tasks.

    ``static_context`` holds daemon-level values (such as ``{"environment": "production"}`` from
    ``--environment``). They are merged into every evaluation context and win over request values with the
    same key, like flagd's ``--context-value``. The evaluator then adds what flagd adds: ``$flagd.flagKey``
    and ``$flagd.timestamp`` (``now`` as whole seconds), replacing any ``$flagd`` the request sent.

    Resolutions follow flagd: DISABLED flags carry no value and no error (the caller serves its code
    default); no targeting (or ``{}``) gives STATIC; a rule yielding null gives DEFAULT; a variant picked by
    ``fractional`` gives SPLIT, any other variant TARGETING_MATCH (``true``/``false`` name the variants
    ``"true"``/``"false"``); a result naming no variant gives ERROR/GENERAL. A flag without a default variant
    that falls through gives DEFAULT with no variant and no value. Evaluation never raises.
    """

    __slots__ = ("_fixed", "_flags", "_plans", "_sorted_keys", "_static")

    def __init__(
        self, flags: Mapping[str, CompiledFlag], static_context: Mapping[str, Any] | None = None
    ) -> None:
        self._flags: Mapping[str, CompiledFlag] = MappingProxyType(dict(flags))
        self._static = dict(static_context or {})
        self._sorted_keys = sorted(self._flags)
        # Disabled and untargeted flags resolve alike for every context: they are answered from a table.
        self._fixed: dict[str, Resolution] = {}
        self._plans: dict[str, _Plan] = {}
        for key, flag in self._flags.items():
            if not flag.enabled:
                self._fixed[key] = Resolution(key, None, None, Reason.DISABLED, flag.metadata)
            elif flag.targeting is None:
                self._fixed[key] = _fallthrough(flag, Reason.STATIC)
            else:
                self._plans[key] = self._plan(flag, flag.targeting)

    @property
    def flags(self) -> Mapping[str, CompiledFlag]:
        return self._flags

    @property
    def keys(self) -> Sequence[str]:
        """Every flag key, sorted."""
        return self._sorted_keys

    def evaluate(self, flag_key: str, context: Mapping[str, Any], now: float) -> Resolution:
        fixed = self._fixed.get(flag_key)
        if fixed is not None:
            return fixed
        plan = self._plans.get(flag_key)
        if plan is None:
            return _not_found(flag_key)
        if plan.budgeted:
            budget.start()  # dependent flags evaluated through flag_value share this budget
        try:
            return self._run(plan, context, now, 0)
        except Exception as exc:  # the hot path answers whatever the context holds
            return _error(plan.flag, exc)

    def evaluate_all(self, context: Mapping[str, Any], now: float) -> list[Resolution]:
        """Every flag, sorted by key, disabled ones included (reason DISABLED)."""
        return [self.evaluate(key, context, now) for key in self._sorted_keys]

    def _plan(self, flag: CompiledFlag, targeting: Targeting) -> _Plan:
        reads = targeting.reads
        flagd_properties = reads is None or _FLAGD in reads
        reads_static = reads is None or not reads.isdisjoint(self._static)
        variants = flag.variants
        return _Plan(
            flag=flag,
            rule=targeting.rule,
            reads_flags=targeting.reads_flags,
            budgeted=targeting.iterates or targeting.reads_flags,
            copy_context=flagd_properties or reads_static,
            flagd_properties=flagd_properties,
            matches={name: _resolution(flag, name, Reason.TARGETING_MATCH) for name in variants},
            splits={name: _resolution(flag, name, Reason.SPLIT) for name in variants},
            fallthrough=_fallthrough(flag, Reason.DEFAULT),
        )

    def _run(self, plan: _Plan, context: Mapping[str, Any], now: float, depth: int) -> Resolution:
        if plan.copy_context:
            data = {**context, **self._static}
            if plan.flagd_properties:
                data[_FLAGD] = {"flagKey": plan.flag.key, "timestamp": math.floor(now)}
        else:
            data = context if type(context) is dict else dict(context)
        resolver = partial(self._dependency, data, now, depth + 1) if plan.reads_flags else None
        try:
            result = plan.rule(data, resolver)
        except _TooDeepError:
            raise
        except Exception as exc:
            return _error(plan.flag, exc)
        if result is None:
            return plan.fallthrough
        table = plan.splits if type(result) is SplitVariant else plan.matches
        outcome = table.get(result if isinstance(result, str) else _variant_name(result))
        return outcome if outcome is not None else _not_a_variant(plan.flag, result)

    def _dependency(self, context: dict[str, Any], now: float, depth: int, key: str) -> Any:
        """``flag_value``: the value of flag ``key`` for the same request, or None."""
        if depth > MAX_FLAG_DEPTH:
            raise _TooDeepError(f"flag_value references nest deeper than {MAX_FLAG_DEPTH} (a cycle?)")
        resolution = self._fixed.get(key)
        if resolution is None:
            plan = self._plans.get(key)
            if plan is None:
                return None
            resolution = self._run(plan, context, now, depth)
        return None if resolution.reason is Reason.ERROR else resolution.value


def _variant_name(result: Any) -> str:
    """The variant a non-string result names, as flagd reads it: booleans and numbers as JSON text.

    Arrays, objects and non-finite numbers name none: ``""``, which no variant is called.
    """
    if result is True or result is False:
        return "true" if result else "false"
    if isinstance(result, float):
        return number_to_string(result) if math.isfinite(result) else ""
    if isinstance(result, int):
        return to_string(result)
    return ""


def _resolution(flag: CompiledFlag, variant: str, reason: Reason) -> Resolution:
    return Resolution(flag.key, flag.variants[variant], variant, reason, flag.metadata)


def _fallthrough(flag: CompiledFlag, reason: Reason) -> Resolution:
    """The default variant; with none configured, DEFAULT without a value so the caller uses its own."""
    variant = flag.default_variant
    if variant is None:
        return Resolution(flag.key, None, None, Reason.DEFAULT, flag.metadata)
    return _resolution(flag, variant, reason)


def _not_found(flag_key: str) -> Resolution:
    message = f"flag {flag_key!r} not found"
    return Resolution(flag_key, None, None, Reason.ERROR, _NO_METADATA, EvalErrorCode.FLAG_NOT_FOUND, message)


def _not_a_variant(flag: CompiledFlag, result: Any) -> Resolution:
    shown = reprlib.repr(result) if isinstance(result, str | bool | int | float) else type(result).__name__
    message = f"targeting returned {shown}, which is not a variant of flag {flag.key!r}"
    return Resolution(flag.key, None, None, Reason.ERROR, flag.metadata, EvalErrorCode.GENERAL, message)


def _error(flag: CompiledFlag, exc: Exception) -> Resolution:
    readable = isinstance(exc, _TooDeepError | budget.BudgetExceededError)
    message = str(exc) if readable else f"evaluation failed: {type(exc).__name__}"
    return Resolution(flag.key, None, None, Reason.ERROR, flag.metadata, EvalErrorCode.GENERAL, message)
