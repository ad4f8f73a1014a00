"""``fractional``: flagd's own bucketing vectors, distribution, stickiness, weights and edge cases."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from sidecar.evaluation.model import Reason
from tests.unit.evaluation import NOW, evaluator, flag, problems_of

COLORS = {"red": "#FF0000", "blue": "#0000FF", "green": "#00FF00", "yellow": "#FFFF00"}
QUARTERS = [["red", 25], ["blue", 25], ["green", 25], ["yellow", 25]]


def colors(targeting: Any) -> dict[str, Any]:
    return flag(targeting, variants=COLORS, default="red")


def email_gate(fractional: list[Any]) -> dict[str, Any]:
    return colors({"if": [{"in": ["@faas.com", {"var": ["email"]}]}, {"fractional": fractional}, None]})


# Expected variants come from flagd's core/pkg/evaluator/fractional_test.go at commit 04d23b3f4e19 (the
# version bucketing with `hash * totalWeight >> 32`), TestFractionalEvaluation and
# TestFractionalEvaluationWithNestedJSONLogic; flag keys, rules and contexts are copied from there.
FLAGD_CASES = [
    (
        "rachel",
        "headerColor",
        email_gate([{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, *QUARTERS]),
        {"email": "rachel@faas.com"},
        "blue",
    ),
    (
        "monica",
        "headerColor",
        email_gate([{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, *QUARTERS]),
        {"email": "monica@faas.com"},
        "yellow",
    ),
    (
        "joey",
        "headerColor",
        email_gate([{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, *QUARTERS]),
        {"email": "joey@faas.com"},
        "red",
    ),
    (
        "ross",
        "headerColor",
        email_gate([{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}, *QUARTERS]),
        {"email": "ross@faas.com"},
        "blue",
    ),
    (
        "rachel-custom-seed",
        "customSeededHeaderColor",
        email_gate([{"cat": ["my-seed", {"var": "email"}]}, *QUARTERS]),
        {"email": "rachel@faas.com"},
        "green",
    ),
    (
        "monica-custom-seed",
        "customSeededHeaderColor",
        email_gate([{"cat": ["my-seed", {"var": "email"}]}, *QUARTERS]),
        {"email": "monica@faas.com"},
        "red",
    ),
    (
        "joey-custom-seed",
        "customSeededHeaderColor",
        email_gate([{"cat": ["my-seed", {"var": "email"}]}, *QUARTERS]),
        {"email": "joey@faas.com"},
        "blue",
    ),
    (
        "ross-custom-seed",
        "customSeededHeaderColor",
        email_gate([{"cat": ["my-seed", {"var": "email"}]}, *QUARTERS]),
        {"email": "ross@faas.com"},
        "green",
    ),
    (
        "ross-other-flag-key",
        "footerColor",
        email_gate([{"var": "email"}, *QUARTERS]),
        {"email": "ross@faas.com"},
        "red",
    ),
    (
        "non-even-split-literal-bucket",
        "headerColor",
        email_gate(["email", ["red", 50], ["blue", 25], ["green", 25]]),
        {"email": "test4@faas.com"},
        "green",
    ),
    (
        "non-percentage-weights",
        "headerColor",
        colors({"fractional": [{"var": "email"}, ["red", 25], ["blue", 25]]}),
        {"email": "foo@foo.com"},
        "blue",
    ),
    (
        "omitted-weights",
        "headerColor",
        colors({"fractional": [{"var": "email"}, ["red"], ["blue"]]}),
        {"email": "foo@foo.com"},
        "blue",
    ),
    (
        "default-bucket-targeting-key",
        "headerColor",
        colors({"fractional": [["blue", 50], ["green", 50]]}),
        {"targetingKey": "foo@foo.com"},
        "green",
    ),
    (
        "null-bucket-falls-back-to-targeting-key",
        "headerColor",
        colors({"fractional": [{"var": "email"}, ["red", 50], ["blue", 50]]}),
        {"targetingKey": "foo@foo.com"},
        "blue",
    ),
    (
        "nested-if-variant",
        "nestedIfVariant",
        colors(
            {
                "fractional": [
                    "email",
                    [{"if": [{"in": ["us", {"var": "locale"}]}, "red", "blue"]}, 25],
                    ["green", 75],
                ]
            }
        ),
        {"email": "rachel@faas.com", "locale": "us"},
        "green",
    ),
    (
        "dynamic-weights-blue",
        "dynamicWeights",
        colors(
            {
                "fractional": [
                    "email",
                    ["red", {"var": "redWeight"}],
                    ["blue", {"var": "blueWeight"}],
                    ["green", {"var": "greenWeight"}],
                ]
            }
        ),
        {"email": "test_a@faas.com", "redWeight": 0, "blueWeight": 1, "greenWeight": 0},
        "blue",
    ),
    (
        "dynamic-weights-green",
        "dynamicWeights",
        colors(
            {
                "fractional": [
                    "email",
                    ["red", {"var": "redWeight"}],
                    ["blue", {"var": "blueWeight"}],
                    ["green", {"var": "greenWeight"}],
                ]
            }
        ),
        {"email": "test_a@faas.com", "redWeight": 0, "blueWeight": 0, "greenWeight": 1},
        "green",
    ),
]


@pytest.mark.parametrize(
    ("key", "definition", "context", "variant"), [c[1:] for c in FLAGD_CASES], ids=[c[0] for c in FLAGD_CASES]
)
def test_same_variant_as_flagd(
    key: str, definition: dict[str, Any], context: dict[str, Any], variant: str
) -> None:
    resolution = evaluator({key: definition}).evaluate(key, context, NOW)
    assert (resolution.variant, resolution.value, resolution.reason) == (
        variant,
        COLORS[variant],
        Reason.SPLIT,
    )


@pytest.mark.parametrize(
    ("targeting", "context"),
    [
        pytest.param(
            {"fractional": [{"var": "email"}, *QUARTERS]}, {}, id="no-bucket-value-no-targeting-key"
        ),
        pytest.param({"fractional": QUARTERS}, {"email": "a@b.c"}, id="no-targeting-key"),
        pytest.param({"fractional": QUARTERS}, {"targetingKey": 42}, id="targeting-key-not-a-string"),
        pytest.param(
            {"fractional": [{"var": "n"}, *QUARTERS]}, {"n": 5, "targetingKey": "u"}, id="bucket-not-string"
        ),
        pytest.param(
            {"fractional": ["x", ["red", {"var": "w"}], ["blue", 1]]}, {"w": 1.5}, id="dynamic-weight-bad"
        ),
    ],
)
def test_fractional_without_a_unit_falls_back_to_default(targeting: Any, context: dict[str, Any]) -> None:
    resolution = evaluator({"f": colors(targeting)}).evaluate("f", context, NOW)
    assert (resolution.reason, resolution.variant) == (Reason.DEFAULT, "red")


def test_dynamic_weights_all_zero_name_no_variant() -> None:
    # flagd answers "" for an empty distribution, which names no variant: an error, not a default.
    targeting = {"fractional": ["x", ["red", {"var": "w"}], ["blue", {"var": "w"}]]}
    resolution = evaluator({"f": colors(targeting)}).evaluate("f", {"w": 0}, NOW)
    assert resolution.reason is Reason.ERROR


def test_omitted_dynamic_weight_counts_as_one() -> None:
    targeting = {"fractional": ["x", ["red", 0], ["blue", {"var": "missing"}]]}
    assert evaluator({"f": colors(targeting)}).evaluate("f", {}, NOW).variant == "blue"


def test_boolean_variants_come_back_as_targeting_match() -> None:
    # Only string variants can carry the SPLIT marker; a boolean names the variant "true"/"false".
    definition = flag(
        {"fractional": [[True, 1], [False, 0]]}, variants={"true": 1, "false": 0}, default="false"
    )
    resolution = evaluator({"f": definition}).evaluate("f", {"targetingKey": "u"}, NOW)
    assert (resolution.variant, resolution.reason) == ("true", Reason.TARGETING_MATCH)


def test_distribution_follows_weights_within_one_point() -> None:
    split = evaluator(
        {
            "exp": flag(
                {"fractional": [["a", 50], ["b", 30], ["c", 20]]},
                variants={"a": 1, "b": 2, "c": 3},
                default="a",
            )
        }
    )
    counts = Counter(
        split.evaluate("exp", {"targetingKey": f"user-{i}"}, NOW).variant for i in range(100_000)
    )
    for variant, weight in (("a", 50), ("b", 30), ("c", 20)):
        assert abs(counts[variant] / 1000 - weight) < 1.0, counts


def _variants(targeting: Any, units: range) -> list[str | None]:
    flags = evaluator({"f": flag(targeting, variants={"t": 1, "c": 0, "x": 2}, default="c")})
    return [flags.evaluate("f", {"targetingKey": f"u{i}"}, NOW).variant for i in units]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param([["t", 10], ["c", 90]], [["t", 50], ["c", 50]], id="listed-first-same-total"),
        pytest.param([["t", 10], ["c", 90]], [["t", 50], ["c", 90]], id="listed-first-total-grows"),
        pytest.param([["c", 90], ["t", 10]], [["c", 50], ["t", 50]], id="listed-last-same-total"),
    ],
)
def test_growing_a_variant_keeps_its_units(before: list[Any], after: list[Any]) -> None:
    # The first variant owns the prefix [0, share) of the hash space, so growing its share never moves a
    # unit out; with an unchanged total the last variant owns a suffix, which also only grows.
    units = range(20_000)
    old, new = _variants({"fractional": before}, units), _variants({"fractional": after}, units)
    assert old.count("t") < new.count("t")
    assert all(n == "t" for o, n in zip(old, new, strict=True) if o == "t")


def test_growing_a_middle_variant_can_move_units() -> None:
    # What is not guaranteed: a variant whose range start moves right loses the units below its new start.
    units = range(20_000)
    old = _variants({"fractional": [["x", 10], ["t", 10], ["c", 80]]}, units)
    new = _variants({"fractional": [["x", 40], ["t", 50], ["c", 10]]}, units)
    assert any(n != "t" for o, n in zip(old, new, strict=True) if o == "t")


@pytest.mark.parametrize(
    ("fractional", "message"),
    [
        pytest.param([["on", 1.5], ["off", 1]], "whole number", id="fractional-weight"),
        pytest.param([["on", -1], ["off", 1]], "whole number", id="negative-weight"),
        pytest.param([["on", "10"], ["off", 1]], "whole number", id="string-weight"),
        pytest.param([["on", True], ["off", 1]], "whole number", id="boolean-weight"),
        pytest.param([["on", 0], ["off", 0]], "add up to 0", id="weights-sum-to-zero"),
        pytest.param([["on", 2**31 - 1], ["off", 1]], "add up to more than", id="weights-overflow"),
        pytest.param([["on", 1, 2]], "[variant] or [variant, weight]", id="three-element-bucket"),
        pytest.param([[], ["on", 1]], "[variant] or [variant, weight]", id="empty-bucket"),
        pytest.param(["email"], "at least one", id="no-buckets"),
        pytest.param([7, ["on", 1]], "bucketing rule", id="numeric-bucket-by"),
        pytest.param([[["on"], 1]], "string, boolean, number, null or a rule", id="list-variant"),
        pytest.param([], "at least one", id="no-arguments"),
    ],
)
def test_invalid_fractional_is_a_load_problem(fractional: list[Any], message: str) -> None:
    problems = problems_of({"f": flag({"fractional": fractional})})
    assert any(message in text for _, text in problems), problems
