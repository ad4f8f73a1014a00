"""The standard JSON Logic operators, with json-logic-js semantics, as closure builders.

Each builder receives its compiled arguments once, at load time, and returns the closure that runs per
request. Lazy operators (``if``, ``and``, ``or``, the array operators) call argument closures only when
json-logic-js would evaluate them. ``log`` is accepted and returns its argument without printing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

from sidecar.evaluation.coercion import (
    NAN,
    is_number,
    less,
    less_or_equal,
    loose_equals,
    parse_float,
    strict_equals,
    to_integer,
    to_number,
    to_string,
    truthy,
)
from sidecar.evaluation.model import FlagResolver, Rule
from sidecar.evaluation.rules import Compiled, Operator

_MISSING: Any = object()

Segment: TypeAlias = tuple[str, int | None]
"""One ``var`` path segment: the key, and its array index when the key is a canonical one."""


def _null(_data: Any, _resolver: FlagResolver | None) -> Any:
    return None


def _whole_data(data: Any, _resolver: FlagResolver | None) -> Any:
    return data


def split_path(path: Any) -> tuple[Segment, ...] | None:
    """``var``'s dotted path, pre-split; None for ``""`` and null, which name the whole data."""
    if path is None or path == "":
        return None
    return tuple(
        (key, int(key) if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") else None)
        for key in to_string(path).split(".")
    )


def lookup(data: Any, segments: tuple[Segment, ...] | None) -> Any:
    """The value at ``segments`` as JavaScript property access finds it, or ``_MISSING``."""
    if segments is None:
        return data
    for key, index in segments:
        if isinstance(data, dict):
            data = data.get(key, _MISSING)
            if data is _MISSING:
                return _MISSING
        elif isinstance(data, (list, str)):
            if index is not None and index < len(data):
                data = data[index]
            elif key == "length":
                data = len(data)
            else:
                return _MISSING
        else:
            return _MISSING
    return data


def _var(args: Sequence[Compiled]) -> Rule:
    if not args:
        return _whole_data
    path = args[0]
    fallback = args[1].rule if len(args) > 1 else _null
    if not path.constant:
        path_rule = path.rule

        def var_dynamic(data: Any, resolver: FlagResolver | None) -> Any:
            value = lookup(data, split_path(path_rule(data, resolver)))
            return fallback(data, resolver) if value is _MISSING else value

        return var_dynamic
    segments = split_path(path.value)
    if segments is None:
        return _whole_data
    if len(segments) == 1 and segments[0][1] is None:
        key = segments[0][0]

        def var_key(data: Any, resolver: FlagResolver | None) -> Any:
            value = data.get(key, _MISSING) if type(data) is dict else lookup(data, segments)
            return fallback(data, resolver) if value is _MISSING else value

        return var_key

    def var_path(data: Any, resolver: FlagResolver | None) -> Any:
        value = lookup(data, segments)
        return fallback(data, resolver) if value is _MISSING else value

    return var_path


def _is_missing(data: Any, segments: tuple[Segment, ...] | None) -> bool:
    value = lookup(data, segments)
    return value is _MISSING or value is None or value == ""


def _missing_keys(data: Any, keys: Any) -> list[Any]:
    return [key for key in keys if _is_missing(data, split_path(key))]


def _missing(args: Sequence[Compiled]) -> Rule:
    rules = [arg.rule for arg in args]

    def missing(data: Any, resolver: FlagResolver | None) -> Any:
        values = [rule(data, resolver) for rule in rules]
        keys = values[0] if values and isinstance(values[0], list) else values
        return _missing_keys(data, keys)

    return missing


def _missing_some(args: Sequence[Compiled]) -> Rule:
    need_rule, options_rule = args[0].rule, args[1].rule

    def missing_some(data: Any, resolver: FlagResolver | None) -> Any:
        need, options = need_rule(data, resolver), options_rule(data, resolver)
        if not isinstance(options, list):
            return _missing_keys(data, [options])
        absent = _missing_keys(data, options)
        return [] if less_or_equal(need, len(options) - len(absent)) else absent

    return missing_some


def _if(args: Sequence[Compiled]) -> Rule:
    if len(args) == 3:
        condition, then, otherwise = (arg.rule for arg in args)

        def if_else(data: Any, resolver: FlagResolver | None) -> Any:
            if truthy(condition(data, resolver)):
                return then(data, resolver)
            return otherwise(data, resolver)

        return if_else
    pairs = tuple((args[i].rule, args[i + 1].rule) for i in range(0, len(args) - 1, 2))
    last = args[-1].rule if len(args) % 2 else _null

    def if_chain(data: Any, resolver: FlagResolver | None) -> Any:
        for condition, then in pairs:
            if truthy(condition(data, resolver)):
                return then(data, resolver)
        return last(data, resolver)

    return if_chain


def _and(args: Sequence[Compiled]) -> Rule:
    rules = tuple(arg.rule for arg in args)

    def and_(data: Any, resolver: FlagResolver | None) -> Any:
        value = None
        for rule in rules:
            value = rule(data, resolver)
            if not truthy(value):
                return value
        return value

    return and_


def _or(args: Sequence[Compiled]) -> Rule:
    rules = tuple(arg.rule for arg in args)

    def or_(data: Any, resolver: FlagResolver | None) -> Any:
        value = None
        for rule in rules:
            value = rule(data, resolver)
            if truthy(value):
                return value
        return value

    return or_


def _unary(function: Callable[[Any], Any]) -> Callable[[Sequence[Compiled]], Rule]:
    def build(args: Sequence[Compiled]) -> Rule:
        operand = args[0].rule

        def unary(data: Any, resolver: FlagResolver | None) -> Any:
            return function(operand(data, resolver))

        return unary

    return build


def _binary(function: Callable[[Any, Any], Any]) -> Callable[[Sequence[Compiled]], Rule]:
    def build(args: Sequence[Compiled]) -> Rule:
        left, right = args[0].rule, args[1].rule

        def binary(data: Any, resolver: FlagResolver | None) -> Any:
            return function(left(data, resolver), right(data, resolver))

        return binary

    return build


def _variadic(function: Callable[[list[Any]], Any]) -> Callable[[Sequence[Compiled]], Rule]:
    def build(args: Sequence[Compiled]) -> Rule:
        rules = tuple(arg.rule for arg in args)

        def variadic(data: Any, resolver: FlagResolver | None) -> Any:
            return function([rule(data, resolver) for rule in rules])

        return variadic

    return build


def _between(test: Callable[[Any, Any], bool]) -> Callable[[Sequence[Compiled]], Rule]:
    """``<`` and ``<=`` with two arguments, or three meaning ``a < b < c``."""

    def build(args: Sequence[Compiled]) -> Rule:
        if len(args) == 2:
            return _binary(test)(args)
        low, middle, high = (arg.rule for arg in args)

        def between(data: Any, resolver: FlagResolver | None) -> Any:
            value = middle(data, resolver)
            return test(low(data, resolver), value) and test(value, high(data, resolver))

        return between

    return build


def _contains(needle: Any, haystack: Any) -> bool:
    """json-logic-js ``in``: substring of a non-empty string, or ``===`` member of an array."""
    if isinstance(haystack, str):
        return haystack != "" and to_string(needle) in haystack
    if isinstance(haystack, list):
        return any(strict_equals(needle, item) for item in haystack)
    return False


def _in(args: Sequence[Compiled]) -> Rule:
    needle, haystack = args
    literal = haystack.value if haystack.constant else None
    if isinstance(literal, list) and all(isinstance(item, str) for item in literal):
        # A literal list of strings (a user or country list): `===` matches only strings, so a set does.
        members = frozenset(literal)
        needle_rule = needle.rule

        def in_strings(data: Any, resolver: FlagResolver | None) -> Any:
            value = needle_rule(data, resolver)
            return isinstance(value, str) and value in members

        return in_strings
    return _binary(_contains)(args)


def _add(values: list[Any]) -> float:
    total = 0.0
    for value in values:
        total += parse_float(value)
    return total


def _multiply(values: list[Any]) -> Any:
    # json-logic-js reduces without a seed: one argument comes back untouched, uncoerced.
    product = values[0]
    for value in values[1:]:
        product = parse_float(product) * parse_float(value)
    return product


def _subtract(values: list[Any]) -> float:
    if len(values) == 1:
        return -to_number(values[0])
    return to_number(values[0]) - to_number(values[1])


def _divide(a: Any, b: Any) -> float:
    dividend, divisor = to_number(a), to_number(b)
    if divisor == 0:
        if dividend == 0 or math.isnan(dividend):
            return NAN
        return math.copysign(math.inf, dividend) * math.copysign(1.0, divisor)
    return dividend / divisor


def _remainder(a: Any, b: Any) -> float:
    dividend, divisor = to_number(a), to_number(b)
    if divisor == 0 or not math.isfinite(dividend) or math.isnan(divisor):
        return NAN
    return math.fmod(dividend, divisor)


def _extreme(pick: Callable[[list[float]], float]) -> Callable[[list[Any]], float]:
    def extreme(values: list[Any]) -> float:
        numbers = [to_number(value) for value in values]
        return NAN if any(math.isnan(n) for n in numbers) else pick(numbers)

    return extreme


def _merge(values: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for value in values:
        if isinstance(value, list):
            merged.extend(value)
        else:
            merged.append(value)
    return merged


def _cat(values: list[Any]) -> str:
    return "".join(to_string(value) for value in values)


def _substr(values: list[Any]) -> str:
    text = to_string(values[0])
    start = _clamp_start(to_integer(values[1]), len(text))
    if len(values) < 3:
        return text[start:]
    length = values[2]
    if less(length, 0):
        # json-logic-js: a negative length drops that many characters from the end; it computes
        # `rest.length + length`, which for a non-number length is string concatenation, hence NaN, hence 0.
        rest = text[start:]
        keep = to_integer(len(rest) + length) if is_number(length) else 0.0
        return rest[: int(max(keep, 0.0))]
    count = min(max(to_integer(length), 0.0), float(len(text)))
    return text[start : start + int(count)]


def _clamp_start(start: float, size: int) -> int:
    if start < 0:
        return int(max(size + start, 0))
    return int(min(start, size))


def _array_operator(
    combine: Callable[[Rule, list[Any], FlagResolver | None], Any], empty: Any
) -> Callable[[Sequence[Compiled]], Rule]:
    """``map``/``filter``/``all``/``none``/``some``: ``logic`` runs with each array item as its data."""

    def build(args: Sequence[Compiled]) -> Rule:
        items_rule, logic = args[0].rule, args[1].rule

        def array_operator(data: Any, resolver: FlagResolver | None) -> Any:
            items = items_rule(data, resolver)
            if not isinstance(items, list):
                return empty
            return combine(logic, items, resolver)

        return array_operator

    return build


def _map(logic: Rule, items: list[Any], resolver: FlagResolver | None) -> list[Any]:
    return [logic(item, resolver) for item in items]


def _filter(logic: Rule, items: list[Any], resolver: FlagResolver | None) -> list[Any]:
    return [item for item in items if truthy(logic(item, resolver))]


def _all(logic: Rule, items: list[Any], resolver: FlagResolver | None) -> bool:
    return bool(items) and all(truthy(logic(item, resolver)) for item in items)


def _none(logic: Rule, items: list[Any], resolver: FlagResolver | None) -> bool:
    return not any(truthy(logic(item, resolver)) for item in items)


def _some(logic: Rule, items: list[Any], resolver: FlagResolver | None) -> bool:
    return any(truthy(logic(item, resolver)) for item in items)


def _reduce(args: Sequence[Compiled]) -> Rule:
    items_rule, logic = args[0].rule, args[1].rule
    initial = args[2].rule if len(args) > 2 else _null

    def reduce_(data: Any, resolver: FlagResolver | None) -> Any:
        items, accumulator = items_rule(data, resolver), initial(data, resolver)
        if not isinstance(items, list):
            return accumulator
        for item in items:
            accumulator = logic({"current": item, "accumulator": accumulator}, resolver)
        return accumulator

    return reduce_


def _greater(a: Any, b: Any) -> bool:
    return less(b, a)


def _greater_or_equal(a: Any, b: Any) -> bool:
    return less_or_equal(b, a)


STANDARD_OPERATORS: Mapping[str, Operator] = {
    "var": Operator(_var, 0, 2, pure=False),
    "missing": Operator(_missing, 0, None, pure=False),
    "missing_some": Operator(_missing_some, 2, 2, pure=False),
    "if": Operator(_if, 1, None),
    "?:": Operator(_if, 1, None),
    "and": Operator(_and, 1, None),
    "or": Operator(_or, 1, None),
    "!": Operator(_unary(lambda value: not truthy(value)), 1, 1),
    "!!": Operator(_unary(truthy), 1, 1),
    "==": Operator(_binary(loose_equals), 2, 2),
    "!=": Operator(_binary(lambda a, b: not loose_equals(a, b)), 2, 2),
    "===": Operator(_binary(strict_equals), 2, 2),
    "!==": Operator(_binary(lambda a, b: not strict_equals(a, b)), 2, 2),
    ">": Operator(_binary(_greater), 2, 2),
    ">=": Operator(_binary(_greater_or_equal), 2, 2),
    "<": Operator(_between(less), 2, 3),
    "<=": Operator(_between(less_or_equal), 2, 3),
    "+": Operator(_variadic(_add), 1, None),
    "*": Operator(_variadic(_multiply), 1, None),
    "-": Operator(_variadic(_subtract), 1, 2),
    "/": Operator(_binary(_divide), 2, 2),
    "%": Operator(_binary(_remainder), 2, 2),
    "min": Operator(_variadic(_extreme(min)), 1, None),
    "max": Operator(_variadic(_extreme(max)), 1, None),
    "merge": Operator(_variadic(_merge), 1, None),
    "in": Operator(_in, 2, 2),
    "cat": Operator(_variadic(_cat), 1, None),
    "substr": Operator(_variadic(_substr), 2, 3),
    "log": Operator(_unary(lambda value: value), 1, 1),
    "map": Operator(_array_operator(_map, []), 2, 2),
    "filter": Operator(_array_operator(_filter, []), 2, 2),
    "all": Operator(_array_operator(_all, False), 2, 2),
    "none": Operator(_array_operator(_none, True), 2, 2),
    "some": Operator(_array_operator(_some, False), 2, 2),
    "reduce": Operator(_reduce, 2, 3),
}
