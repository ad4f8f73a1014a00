"""The standard JSON Logic operators, with json-logic-js semantics, as closure builders, and their table.

Each builder receives its compiled arguments once, at load time, and returns the closure that runs per
request. Lazy operators (``if``, ``and``, ``or``, the array operators) call argument closures only when
json-logic-js would evaluate them. ``log`` is accepted and returns its argument without printing.
Data access lives in :mod:`~sidecar.evaluation.variables`, functions of plain values in
:mod:`~sidecar.evaluation.value_ops`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sidecar.evaluation import budget, value_ops
from sidecar.evaluation.coercion import (
    less,
    less_or_equal,
    loose_equals,
    strict_equals,
    to_string,
    truthy,
)
from sidecar.evaluation.model import FlagResolver, Rule
from sidecar.evaluation.rules import Compiled, Operator
from sidecar.evaluation.variables import build_missing, build_missing_some, build_var, null_rule


def _if(args: Sequence[Compiled]) -> Rule:
    if len(args) == 3:
        condition, then, otherwise = (arg.rule for arg in args)

        def if_else(data: Any, resolver: FlagResolver | None) -> Any:
            if truthy(condition(data, resolver)):
                return then(data, resolver)
            return otherwise(data, resolver)

        return if_else
    pairs = tuple((args[i].rule, args[i + 1].rule) for i in range(0, len(args) - 1, 2))
    last = args[-1].rule if len(args) % 2 else null_rule

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
            budget.charge(len(items))
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
    initial = args[2].rule if len(args) > 2 else null_rule

    def reduce_(data: Any, resolver: FlagResolver | None) -> Any:
        items, accumulator = items_rule(data, resolver), initial(data, resolver)
        if not isinstance(items, list):
            return accumulator
        budget.charge(len(items))
        for item in items:
            accumulator = logic({"current": item, "accumulator": accumulator}, resolver)
        return accumulator

    return reduce_


def _greater(a: Any, b: Any) -> bool:
    return less(b, a)


def _greater_or_equal(a: Any, b: Any) -> bool:
    return less_or_equal(b, a)


STANDARD_OPERATORS: Mapping[str, Operator] = {
    "var": Operator(build_var, 0, 2, pure=False),
    "missing": Operator(build_missing, 0, None, pure=False),
    "missing_some": Operator(build_missing_some, 2, 2, pure=False),
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
    "+": Operator(_variadic(value_ops.add), 1, None),
    "*": Operator(_variadic(value_ops.multiply), 1, None),
    "-": Operator(_variadic(value_ops.subtract), 1, 2),
    "/": Operator(_binary(value_ops.divide), 2, 2),
    "%": Operator(_binary(value_ops.remainder), 2, 2),
    "min": Operator(_variadic(value_ops.extreme(min)), 1, None),
    "max": Operator(_variadic(value_ops.extreme(max)), 1, None),
    "merge": Operator(_variadic(value_ops.merge), 1, None),
    "in": Operator(_in, 2, 2),
    "cat": Operator(_variadic(value_ops.cat), 1, None),
    "substr": Operator(_variadic(value_ops.substr), 2, 3),
    "log": Operator(_unary(lambda value: value), 1, 1),
    "map": Operator(_array_operator(_map, []), 2, 2),
    "filter": Operator(_array_operator(_filter, []), 2, 2),
    "all": Operator(_array_operator(_all, False), 2, 2),
    "none": Operator(_array_operator(_none, True), 2, 2),
    "some": Operator(_array_operator(_some, False), 2, 2),
    "reduce": Operator(_reduce, 2, 3),
}
