"""Property tests: no JSON context, and no well-formed rule, makes evaluation raise."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sidecar.evaluation.jsonlogic import OPERATORS, RuleCompiler
from sidecar.evaluation.model import Reason
from tests.unit.evaluation import NOW, evaluator, flag

KEYS = st.sampled_from(["targetingKey", "email", "version", "n", "tags", "user", "$flagd", "environment", ""])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(KEYS | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)
CONTEXTS = st.dictionaries(KEYS | st.text(max_size=8), JSON, max_size=8)

# Every branch of these rules names a variant or null, so no context may turn them into an ERROR.
REPRESENTATIVE = {
    "static": flag(),
    "split": flag({"fractional": [{"var": "email"}, ["on", 50], ["off", 50]]}),
    "split-by-key": flag({"fractional": [["on", 1], ["off", 3]]}),
    "dynamic-weights": flag({"fractional": ["x", ["on", {"var": "n"}], ["off", 1]]}),
    "user-list": flag({"if": [{"in": [{"var": "email"}, ["a@x.io", "b@x.io"]]}, "on", None]}),
    "compare": flag(
        {"if": [{"and": [{">": [{"var": "n"}, 3]}, {"<=": [0, {"var": "user.age"}, 99]}]}, "on", "off"]}
    ),
    "version": flag({"if": [{"sem_ver": [{"var": "version"}, "^", "2.0.0"]}, "on", "off"]}),
    "strings": flag(
        {
            "if": [
                {"or": [{"starts_with": [{"var": "email"}, "a"]}, {"ends_with": [{"var": "n"}, "z"]}]},
                "on",
                "off",
            ]
        }
    ),
    "arrays": flag({"if": [{"some": [{"var": "tags"}, {"==": [{"var": ""}, "beta"]}]}, "on", "off"]}),
    "arithmetic": flag({"if": [{"==": [{"%": [{"+": [{"var": "n"}, 1]}, 2]}, 0]}, "on", "off"]}),
    "text": flag(
        {
            "if": [
                {"in": ["@", {"cat": [{"var": "email"}, {"substr": [{"var": "user"}, 1, -1]}]}]},
                "on",
                "off",
            ]
        }
    ),
    "time": flag({"if": [{">": [{"var": "$flagd.timestamp"}, {"var": "n"}]}, "on", "off"]}),
    "missing": flag({"if": [{"missing_some": [1, ["email", "user.name"]]}, "off", "on"]}),
    "dependent": flag({"if": [{"flag_value": "split"}, "on", "off"]}),
    "no-default": flag({"if": [{"var": "n"}, "on", None]}, default=None),
}
FLAGS = evaluator(REPRESENTATIVE, {"environment": "production"})


@settings(max_examples=300, deadline=None)
@given(context=CONTEXTS, now=st.floats(min_value=0, max_value=4e9))
def test_representative_flags_never_error(context: dict[str, Any], now: float) -> None:
    for resolution in FLAGS.evaluate_all(context, now):
        assert resolution.reason is not Reason.ERROR, (resolution, context)


@settings(max_examples=200, deadline=None)
@given(context=JSON)
def test_any_json_value_as_context_never_raises(context: Any) -> None:
    for key in REPRESENTATIVE:
        FLAGS.evaluate(key, context, NOW)


def _operation(name: str, child: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    operator = OPERATORS[name]
    arguments = st.lists(
        child, min_size=operator.min_args, max_size=operator.max_args or operator.min_args + 3
    )
    return arguments.map(lambda args: {name: args})


def _rules(depth: int) -> st.SearchStrategy[Any]:
    leaves = SCALARS | st.builds(lambda key: {"var": key}, KEYS | st.text(max_size=6))
    if depth == 0:
        return leaves
    child = _rules(depth - 1)
    operations = st.sampled_from(sorted(OPERATORS)).flatmap(lambda name: _operation(name, child))
    fractional = st.lists(st.tuples(st.text(max_size=3), st.integers(0, 9)), min_size=1, max_size=3).map(
        lambda buckets: {"fractional": [{"var": "email"}, *[list(bucket) for bucket in buckets]]}
    )
    return leaves | operations | fractional | st.lists(child, max_size=3)


@settings(max_examples=500, deadline=None)
@given(rule=_rules(3), data=JSON)
def test_random_rules_never_raise(rule: Any, data: Any) -> None:
    problems: list[str] = []
    compiled = RuleCompiler("f", {}, lambda _path, message: problems.append(message)).compile(rule, ())
    assume(not problems)
    compiled.rule(data, lambda _key: None)
