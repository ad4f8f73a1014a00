"""Rules that would multiply work or memory stop at their budget and answer ERROR; inputs parse linearly."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sidecar.evaluation.budget import MAX_ARRAY_ITEMS, MAX_STEPS, MAX_STRING_CHARS
from sidecar.evaluation.model import EvalErrorCode, Reason
from tests.unit.evaluation import NOW, evaluator, flag

DOUBLING = {
    "cat": {"reduce": [{"var": "items"}, {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "ab"]},
    "merge": {
        "reduce": [{"var": "items"}, {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1, 2]]
    },
}


def resolve(targeting: Any, context: dict[str, Any]) -> Any:
    started = time.monotonic()
    resolution = evaluator({"f": flag(targeting)}).evaluate("f", context, NOW)
    assert time.monotonic() - started < 2  # seconds and gigabytes before there was a budget
    return resolution


@pytest.mark.parametrize("name", sorted(DOUBLING))
def test_a_value_that_doubles_every_step_stops_at_its_size(name: str) -> None:
    rule = {"if": [{"==": [DOUBLING[name], "never"]}, "on", "off"]}
    resolution = resolve(rule, {"items": list(range(64))})
    assert resolution.reason is Reason.ERROR
    assert resolution.error_code is EvalErrorCode.GENERAL
    limit = MAX_STRING_CHARS if name == "cat" else MAX_ARRAY_ITEMS
    assert str(limit) in (resolution.error_message or "")


def test_nested_iteration_stops_at_the_step_budget() -> None:
    inner = {"map": [{"var": ""}, {"var": ""}]}  # each item is itself a list of 1,000
    rule = {"if": [{"some": [{"var": "items"}, {"in": ["x", inner]}]}, "on", "off"]}
    row = list(range(1000))
    resolution = resolve(rule, {"items": [row] * 1000})  # 1,000 + 1,000 x 1,000 steps
    assert resolution.reason is Reason.ERROR
    assert resolution.error_message == f"rule exceeded its budget of {MAX_STEPS} steps"


def test_work_within_the_budget_is_untouched() -> None:
    rule = {"if": [{"in": [7, {"map": [{"var": "items"}, {"+": [{"var": ""}, 1]}]}]}, "on", "off"]}
    resolution = resolve(rule, {"items": list(range(50))})
    assert (resolution.reason, resolution.variant) == (Reason.TARGETING_MATCH, "on")


def test_the_budget_is_per_evaluation() -> None:
    rule = {"if": [{"some": [{"var": "items"}, {"==": [{"var": ""}, -1]}]}, "on", "off"]}
    flags = evaluator({"f": flag(rule)})
    context = {"items": list(range(MAX_STEPS // 2))}
    for _ in range(5):  # each spends half the budget; none inherits what the last one spent
        assert flags.evaluate("f", context, NOW).variant == "off"


def test_a_long_digit_string_compares_in_linear_time() -> None:
    rule = {"if": [{">": [{"var": "n"}, 5]}, "on", "off"]}
    resolution = resolve(rule, {"n": "1" * 60_000 + "x"})
    assert resolution.variant == "off"  # not a number: NaN > 5 is false


def test_an_overlong_version_is_not_a_version() -> None:
    rule = {"if": [{"sem_ver": [{"var": "v"}, ">=", "1.0.0"]}, "on", "off"]}
    assert resolve(rule, {"v": "2.0.0"}).variant == "on"
    resolution = resolve(rule, {"v": "2." + "1" * 1000 + ".0"})
    assert resolution.variant == "off"
