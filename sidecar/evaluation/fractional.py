"""flagd's ``fractional`` operator: deterministic weighted bucketing of a unit into variants.

``{"fractional": [bucketBy?, [variant, weight?], ...]}``. The unit is the UTF-8 string ``bucketBy``
evaluates to; without one (or when it yields null) it is ``flagKey + targetingKey``, and with no string
``targetingKey`` the operator yields null, so the flag falls back to its default. The unit hashes with
MurmurHash3 x86_32 (seed 0) to ``bucket = hash * totalWeight >> 32`` and the first variant whose
cumulative weight exceeds the bucket wins. Growing the weight of the first-listed variant therefore only
moves units into it: every unit it held keeps its variant.

Weights are whole numbers (omitted or null means 1) checked at load time; a weight written as a rule is
computed per evaluation, and an invalid one makes the operator yield null, as in flagd. A chosen string
variant comes back as :class:`SplitVariant` so the evaluator can report reason SPLIT.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from sidecar.config.located import PathKey
from sidecar.evaluation.coercion import is_number
from sidecar.evaluation.model import FlagResolver, Rule
from sidecar.evaluation.murmur3 import murmur3_32
from sidecar.evaluation.rules import Compiled, SubCompiler

MAX_TOTAL_WEIGHT = 2**31 - 1
TARGETING_KEY = "targetingKey"


class SplitVariant(str):
    """A variant name chosen by ``fractional``; ``if``, ``and`` and ``or`` pass it through untouched."""

    __slots__ = ()


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates from JSON escapes; hash them rather than fail
        return text.encode("utf-8", "surrogatepass")


def _whole_weight(value: Any) -> int | None:
    """``value`` as a valid weight, or None."""
    if not is_number(value):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    return value if 0 <= value <= MAX_TOTAL_WEIGHT else None


def compile_fractional(compiler: SubCompiler, args: Sequence[Any], path: PathKey) -> Compiled:
    """Compile the arguments of ``fractional``; ``path`` names the operator."""
    first = args[0] if args else None
    starts_with_bucket = isinstance(first, list)
    unit = _unit(compiler, first, (*path, 0))
    buckets = _buckets(compiler, args[0 if starts_with_bucket else 1 :], 0 if starts_with_bucket else 1, path)
    if buckets is None:
        return Compiled(_null_rule)
    choices, weights = buckets
    if not choices:
        compiler.report(path, "fractional needs at least one [variant, weight] bucket")
    elif all(isinstance(weight, int) for weight in weights):
        total = sum(weight for weight in weights if isinstance(weight, int))
        if total == 0:
            compiler.report(path, "fractional weights add up to 0")
        elif total > MAX_TOTAL_WEIGHT:
            compiler.report(path, f"fractional weights add up to more than {MAX_TOTAL_WEIGHT}")
    return Compiled(_fractional_rule(unit, choices, weights))


def _unit(compiler: SubCompiler, first: Any, path: PathKey) -> Rule:
    """The rule giving the bytes to hash, from ``fractional``'s first argument."""
    compiler.note_read(TARGETING_KEY)  # by the default unit; a bucketing rule may yield null and fall back
    if isinstance(first, dict):
        return _unit_from_rule(compiler.compile(first, path).rule, compiler.flag_key)
    if isinstance(first, str):
        return _fixed_unit(_utf8(first))
    if first is not None and not isinstance(first, list):
        compiler.report(path, "fractional starts with a bucketing rule, a string or a [variant, weight]")
    return _targeting_key_unit(compiler.flag_key)


def _buckets(
    compiler: SubCompiler, entries: Sequence[Any], first_index: int, path: PathKey
) -> tuple[tuple[Rule, ...], tuple[int | Rule, ...]] | None:
    """The variant and weight of each ``[variant, weight]``; None when any is invalid (each reported)."""
    choices: list[Rule] = []
    weights: list[int | Rule] = []
    valid = True
    for index, entry in enumerate(entries, start=first_index):
        entry_path = (*path, index)
        if not isinstance(entry, list) or not 1 <= len(entry) <= 2:
            compiler.report(entry_path, "a fractional bucket is [variant] or [variant, weight]")
            valid = False
            continue
        choices.append(_choice(compiler, entry[0], (*entry_path, 0)))
        weight = _weight(compiler, entry[1] if len(entry) == 2 else None, (*entry_path, 1))
        if weight is None:
            valid = False
        else:
            weights.append(weight)
    return (tuple(choices), tuple(weights)) if valid else None


def _null_rule(_data: Any, _resolver: FlagResolver | None) -> None:
    return None


def _fixed_unit(fixed: bytes) -> Rule:
    def unit(_data: Any, _resolver: FlagResolver | None) -> bytes:
        return fixed

    return unit


def _targeting_key_unit(flag_key: str) -> Rule:
    prefix = _utf8(flag_key)

    def unit(data: Any, _resolver: FlagResolver | None) -> bytes | None:
        targeting_key = data.get(TARGETING_KEY) if isinstance(data, dict) else None
        return prefix + _utf8(targeting_key) if isinstance(targeting_key, str) else None

    return unit


def _unit_from_rule(rule: Rule, flag_key: str) -> Rule:
    default = _targeting_key_unit(flag_key)

    def unit(data: Any, resolver: FlagResolver | None) -> bytes | None:
        value = rule(data, resolver)
        if isinstance(value, str):
            return _utf8(value)
        return default(data, resolver) if value is None else None

    return unit


def _choice(compiler: SubCompiler, node: Any, path: PathKey) -> Rule:
    variant = compiler.compile(node, path)
    if not variant.constant:
        rule = variant.rule

        def chosen(data: Any, resolver: FlagResolver | None) -> Any:
            value = rule(data, resolver)
            return SplitVariant(value) if isinstance(value, str) else value

        return chosen
    value = variant.value
    if isinstance(value, list | dict):
        compiler.report(path, "a fractional variant is a string, boolean, number, null or a rule")
    marked = SplitVariant(value) if isinstance(value, str) else value

    def fixed(_data: Any, _resolver: FlagResolver | None) -> Any:
        return marked

    return fixed


def _weight(compiler: SubCompiler, node: Any, path: PathKey) -> int | Rule | None:
    """A literal weight, or the rule computing it; None (reported) when invalid."""
    if node is None:
        return 1
    weight = compiler.compile(node, path)
    if not weight.constant:
        return weight.rule
    value = _whole_weight(weight.value)
    if value is None:
        compiler.report(path, f"a fractional weight is a whole number from 0 to {MAX_TOTAL_WEIGHT}")
    return value


def _fractional_rule(unit: Rule, choices: tuple[Rule, ...], weights: tuple[int | Rule, ...]) -> Rule:
    fixed_ends = tuple(accumulate(w for w in weights if isinstance(w, int)))
    fixed = len(fixed_ends) == len(weights)

    def fractional(data: Any, resolver: FlagResolver | None) -> Any:
        key = unit(data, resolver)
        if key is None:
            return None
        ends = fixed_ends if fixed else _computed_ends(weights, data, resolver)
        if ends is None:
            return None
        if not ends or ends[-1] == 0:
            return ""  # flagd's answer for an empty distribution: no such variant, an ERROR
        bucket = (murmur3_32(key) * ends[-1]) >> 32
        return choices[bisect_right(ends, bucket)](data, resolver)

    return fractional


def _computed_ends(
    weights: tuple[int | Rule, ...], data: Any, resolver: FlagResolver | None
) -> tuple[int, ...] | None:
    values: list[int] = []
    for weight in weights:
        if isinstance(weight, int):
            values.append(weight)
            continue
        computed = weight(data, resolver)
        value = 1 if computed is None else _whole_weight(computed)
        if value is None:
            return None
        values.append(value)
    ends = tuple(accumulate(values))
    return None if ends and ends[-1] > MAX_TOTAL_WEIGHT else ends
