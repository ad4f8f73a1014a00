"""JSON Logic operators that are plain functions of their evaluated arguments: arithmetic, ``min``/``max``,
``merge``, ``cat`` and ``substr``, each coercing like json-logic-js."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sidecar.evaluation import budget
from sidecar.evaluation.coercion import NAN, is_number, less, parse_float, to_integer, to_number, to_string


def add(values: list[Any]) -> float:
    total = 0.0
    for value in values:
        total += parse_float(value)
    return total


def multiply(values: list[Any]) -> Any:
    # json-logic-js reduces without a seed: one argument comes back untouched, uncoerced.
    product = values[0]
    for value in values[1:]:
        product = parse_float(product) * parse_float(value)
    return product


def subtract(values: list[Any]) -> float:
    if len(values) == 1:
        return -to_number(values[0])
    return to_number(values[0]) - to_number(values[1])


def divide(a: Any, b: Any) -> float:
    dividend, divisor = to_number(a), to_number(b)
    if divisor == 0:
        if dividend == 0 or math.isnan(dividend):
            return NAN
        return math.copysign(math.inf, dividend) * math.copysign(1.0, divisor)
    return dividend / divisor


def remainder(a: Any, b: Any) -> float:
    dividend, divisor = to_number(a), to_number(b)
    if divisor == 0 or not math.isfinite(dividend) or math.isnan(divisor):
        return NAN
    return math.fmod(dividend, divisor)


def extreme(pick: Callable[[list[float]], float]) -> Callable[[list[Any]], float]:
    def extreme(values: list[Any]) -> float:
        numbers = [to_number(value) for value in values]
        return NAN if any(math.isnan(n) for n in numbers) else pick(numbers)

    return extreme


def merge(values: list[Any]) -> list[Any]:
    budget.check_array(sum(len(value) if isinstance(value, list) else 1 for value in values))
    merged: list[Any] = []
    for value in values:
        if isinstance(value, list):
            merged.extend(value)
        else:
            merged.append(value)
    return merged


def cat(values: list[Any]) -> str:
    parts = [to_string(value) for value in values]
    budget.check_string(sum(map(len, parts)))
    return "".join(parts)


def substr(values: list[Any]) -> str:
    text = to_string(values[0])
    start = clamp_start(to_integer(values[1]), len(text))
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


def clamp_start(start: float, size: int) -> int:
    if start < 0:
        return int(max(size + start, 0))
    return int(min(start, size))
