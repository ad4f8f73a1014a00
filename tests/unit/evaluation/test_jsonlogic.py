"""Standard JSON Logic operators, with json-logic-js results, and the compiler's load-time checks."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sidecar.evaluation.jsonlogic import MAX_RULE_DEPTH, MAX_RULE_NODES, RuleCompiler
from tests.unit.evaluation import apply

DATA = {
    "a": 1,
    "b": {"c": [10, 20, {"d": "deep"}]},
    "name": "Ada",
    "empty": "",
    "nothing": None,
    "list": [1, 2, 3, 4],
    "users": [{"age": 17}, {"age": 30}],
}

# (id, rule, data, expected); expectations are what json-logic-js returns for the same rule and data.
CASES: list[tuple[str, Any, Any, Any]] = [
    # var
    ("var-key", {"var": "a"}, DATA, 1),
    ("var-list-form", {"var": ["a"]}, DATA, 1),
    ("var-dot-path", {"var": "b.c.2.d"}, DATA, "deep"),
    ("var-array-index", {"var": "b.c.1"}, DATA, 20),
    ("var-numeric-path", {"var": 1}, ["x", "y"], "y"),
    ("var-missing-default", {"var": ["zzz", "fallback"]}, DATA, "fallback"),
    ("var-missing-null", {"var": "zzz"}, DATA, None),
    ("var-present-null-keeps-null", {"var": ["nothing", "fallback"]}, DATA, None),
    ("var-through-null", {"var": ["nothing.x", "fallback"]}, DATA, "fallback"),
    ("var-empty-path-whole-data", {"var": ""}, DATA, DATA),
    ("var-no-args-whole-data", {"var": []}, 5, 5),
    ("var-null-path-whole-data", {"var": None}, "s", "s"),
    ("var-array-length", {"var": "list.length"}, DATA, 4),
    ("var-string-index", {"var": "name.0"}, DATA, "A"),
    ("var-index-out-of-range", {"var": ["list.9", "x"]}, DATA, "x"),
    ("var-leading-zero-not-index", {"var": ["list.01", "x"]}, DATA, "x"),
    ("var-dynamic-path", {"var": {"cat": ["na", "me"]}}, DATA, "Ada"),
    ("var-on-number-data", {"var": "a"}, 5, None),
    # missing / missing_some
    ("missing-some-absent", {"missing": ["a", "zzz", "empty", "nothing"]}, DATA, ["zzz", "empty", "nothing"]),
    ("missing-merged-list", {"missing": {"merge": [["a"], ["zzz"]]}}, DATA, ["zzz"]),
    ("missing-none", {"missing": ["a", "b.c"]}, DATA, []),
    ("missing-some-met", {"missing_some": [1, ["a", "zzz"]]}, DATA, []),
    ("missing-some-unmet", {"missing_some": [2, ["a", "zzz", "yyy"]]}, DATA, ["zzz", "yyy"]),
    # if / ?:
    ("if-then", {"if": [True, "yes", "no"]}, None, "yes"),
    ("if-else", {"if": [False, "yes", "no"]}, None, "no"),
    ("if-else-if", {"if": [False, "a", True, "b", "c"]}, None, "b"),
    ("if-final-else", {"if": [False, "a", False, "b", "c"]}, None, "c"),
    ("if-no-else", {"if": [False, "a"]}, None, None),
    ("if-single", {"if": ["only"]}, None, "only"),
    ("if-empty-array-falsy", {"if": [[], "yes", "no"]}, None, "no"),
    ("if-string-zero-truthy", {"if": ["0", "yes", "no"]}, None, "yes"),
    ("if-object-truthy", {"if": [{"var": "b"}, "yes", "no"]}, DATA, "yes"),
    ("ternary", {"?:": [{"<": [1, 2]}, "lt", "ge"]}, None, "lt"),
    # ==, ===, !=, !==
    ("eq-number-string", {"==": [1, "1"]}, None, True),
    ("eq-zero-false", {"==": [0, False]}, None, True),
    ("eq-empty-string-zero", {"==": ["", 0]}, None, True),
    ("eq-null-zero", {"==": [None, 0]}, None, False),
    ("eq-null-null", {"==": [None, None]}, None, True),
    ("eq-array-string", {"==": [[1, 2], "1,2"]}, None, True),
    ("eq-string-true", {"==": ["1", True]}, None, True),
    ("eq-two-arrays", {"==": [[1], [1]]}, None, False),
    ("strict-number-string", {"===": [1, "1"]}, None, False),
    ("strict-int-float", {"===": [1, 1.0]}, None, True),
    ("strict-bool-int", {"===": [True, 1]}, None, False),
    ("ne-coerced", {"!=": [1, "1"]}, None, False),
    ("strict-ne", {"!==": [1, "1"]}, None, True),
    # !, !!
    ("not-empty-array", {"!": [[]]}, None, True),
    ("not-unwrapped", {"!": True}, None, False),
    ("double-not-zero-string", {"!!": ["0"]}, None, True),
    ("double-not-empty-string", {"!!": [""]}, None, False),
    # or / and
    ("or-first-truthy", {"or": [0, "", "x", "y"]}, None, "x"),
    ("or-last-falsy", {"or": [0, ""]}, None, ""),
    ("and-first-falsy", {"and": [1, 0, 2]}, None, 0),
    ("and-last-truthy", {"and": [1, "a"]}, None, "a"),
    # comparisons
    ("gt", {">": [2, 1]}, None, True),
    ("gt-string-number", {">": ["11", 2]}, None, True),
    ("gt-strings-lexical", {">": ["11", "2"]}, None, False),
    ("ge", {">=": [1, 1]}, None, True),
    ("lt-null-as-zero", {"<": [None, 1]}, None, True),
    ("lt-nan", {"<": ["abc", 1]}, None, False),
    ("le", {"<=": [1, 1]}, None, True),
    ("between-exclusive", {"<": [1, 5, 10]}, None, True),
    ("between-exclusive-edge", {"<": [1, 1, 10]}, None, False),
    ("between-inclusive", {"<=": [1, 1, 10]}, None, True),
    ("between-inclusive-out", {"<=": [1, 11, 10]}, None, False),
    # arithmetic
    ("max", {"max": [1, 3, 2]}, None, 3.0),
    ("min", {"min": [1, "-1", 2]}, None, -1.0),
    ("add-strings", {"+": ["1", 2.5]}, None, 3.5),
    ("add-unary-cast", {"+": ["3.14abc"]}, None, 3.14),
    ("multiply", {"*": [2, "3", 4]}, None, 24.0),
    ("multiply-single-untouched", {"*": ["3"]}, None, "3"),
    ("subtract", {"-": [5, 2]}, None, 3.0),
    ("negate", {"-": ["2"]}, None, -2.0),
    ("divide", {"/": [4, 2]}, None, 2.0),
    ("divide-by-zero", {"/": [1, 0]}, None, math.inf),
    ("modulo", {"%": [7, 3]}, None, 1.0),
    ("modulo-negative-dividend", {"%": [-7, 3]}, None, -1.0),
    # arrays
    ("map", {"map": [{"var": "list"}, {"*": [{"var": ""}, 2]}]}, DATA, [2.0, 4.0, 6.0, 8.0]),
    ("map-not-array", {"map": [{"var": "a"}, {"var": ""}]}, DATA, []),
    ("filter", {"filter": [{"var": "list"}, {">": [{"var": ""}, 2]}]}, DATA, [3, 4]),
    (
        "reduce",
        {"reduce": [{"var": "list"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]},
        DATA,
        10.0,
    ),
    ("reduce-not-array", {"reduce": [{"var": "a"}, {"var": "current"}, "init"]}, DATA, "init"),
    ("all", {"all": [{"var": "users"}, {">=": [{"var": "age"}, 17]}]}, DATA, True),
    ("all-empty-false", {"all": [[], True]}, None, False),
    ("none", {"none": [{"var": "users"}, {">": [{"var": "age"}, 40]}]}, DATA, True),
    ("some", {"some": [{"var": "users"}, {"<": [{"var": "age"}, 18]}]}, DATA, True),
    ("merge", {"merge": [[1, 2], 3, [[4]]]}, None, [1, 2, 3, [4]]),
    # strings
    ("in-substring", {"in": ["Spring", "Springfield"]}, None, True),
    ("in-substring-miss", {"in": ["Illinois", "Springfield"]}, None, False),
    ("in-array", {"in": ["Mike", ["Bob", "Mike"]]}, None, True),
    ("in-array-strict", {"in": [1, ["1", 2]]}, None, False),
    ("in-array-number", {"in": [2, ["1", 2]]}, None, True),
    ("in-string-coerces-needle", {"in": [1, "a1b"]}, None, True),
    ("in-empty-string", {"in": ["", ""]}, None, False),
    ("in-not-container", {"in": ["a", 5]}, None, False),
    ("in-user-list-dynamic", {"in": [{"var": "name"}, ["Bob", "Ada"]]}, DATA, True),
    ("in-user-list-non-string", {"in": [{"var": "a"}, ["1", "2"]]}, DATA, False),
    ("cat", {"cat": ["I love", " pie", 1, True, None, [1, 2], 2.5]}, None, "I love pie1truenull1,22.5"),
    ("cat-float-integral", {"cat": [{"+": [1, 1]}]}, None, "2"),
    ("substr-start", {"substr": ["jsonlogic", 4]}, None, "logic"),
    ("substr-negative-start", {"substr": ["jsonlogic", -5]}, None, "logic"),
    ("substr-length", {"substr": ["jsonlogic", 1, 3]}, None, "son"),
    ("substr-negative-length", {"substr": ["jsonlogic", 4, -2]}, None, "log"),
    ("log-returns-value", {"log": "apple"}, None, "apple"),
    # literals and nesting
    ("array-literal-evaluated", [{"var": "a"}, 2], DATA, [1, 2]),
    ("literal", "plain", None, "plain"),
]


@pytest.mark.parametrize(("rule", "data", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_operator_matches_json_logic_js(rule: Any, data: Any, expected: Any) -> None:
    result = apply(rule, data)
    assert result == expected
    assert type(result) is type(expected) or {type(result), type(expected)} <= {int, float}


def test_nan_results_stay_nan() -> None:
    assert math.isnan(apply({"+": [True, 1]}))
    assert math.isnan(apply({"%": [1, 0]}))
    assert math.isnan(apply({"max": [1, "x"]}))


def test_constant_subexpressions_fold_at_load_time() -> None:
    compiled = RuleCompiler("f", {}, lambda *_: None).compile({"in": [{"cat": ["a", "b"]}, ["ab", "cd"]]}, ())
    assert (compiled.constant, compiled.value) == (True, True)
    dynamic = RuleCompiler("f", {}, lambda *_: None).compile({"in": [{"var": "x"}, ["ab"]]}, ())
    assert not dynamic.constant


def _problems(rule: Any) -> list[str]:
    problems: list[str] = []
    RuleCompiler("f", {}, lambda _path, message: problems.append(message)).compile(rule, ())
    return problems


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param({"nope": [1]}, "unknown operator 'nope'", id="unknown-operator"),
        pytest.param({"method": ["x", "toUpperCase"]}, "unknown operator 'method'", id="no-method-calls"),
        pytest.param({"==": [1]}, "'==' takes 2 arguments, got 1", id="too-few"),
        pytest.param({"!": [1, 2]}, "'!' takes 1 argument, got 2", id="too-many"),
        pytest.param({"substr": ["a"]}, "'substr' takes 2 to 3 arguments, got 1", id="range"),
        pytest.param({"a": 1, "b": 2}, "exactly one operator", id="two-keys"),
        pytest.param({"if": [{}, 1, 2]}, "exactly one operator (found none)", id="empty-object"),
        pytest.param(
            {"sem_ver": ["1.0.0", "=>", "1.0.0"]}, "sem_ver operator must be one of", id="sem-ver-op"
        ),
        pytest.param({"flag_value": 3}, "flag_value takes the key", id="flag-value-key"),
        pytest.param({"$ref": "missing"}, "$ref names no evaluator", id="unknown-ref"),
    ],
)
def test_malformed_rules_are_reported(rule: Any, message: str) -> None:
    assert any(message in problem for problem in _problems(rule)), _problems(rule)


def test_nesting_deeper_than_the_bound_is_reported_once() -> None:
    rule: Any = True
    for _ in range(MAX_RULE_DEPTH + 5):
        rule = {"!": [rule]}
    problems = _problems(rule)
    assert len(problems) == 1
    assert "too large" in problems[0]


def test_rule_larger_than_the_bound_is_reported() -> None:
    assert _problems({"in": [{"var": "x"}, list(range(MAX_RULE_NODES))]})


def test_evaluator_reference_cycle_is_reported() -> None:
    problems: list[str] = []
    evaluators = {"a": {"$ref": "b"}, "b": {"!": {"$ref": "a"}}}
    RuleCompiler("f", evaluators, lambda _path, message: problems.append(message)).compile({"$ref": "a"}, ())
    assert any("cycle: a -> b -> a" in problem for problem in problems), problems
