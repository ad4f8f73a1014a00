"""Flag document validation: every problem is reported at once, each at its line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sidecar.config.located import parse_text
from sidecar.errors import ConfigError
from sidecar.evaluation.flags import compile_flag_definition, compile_flags
from tests.unit.evaluation import flag, problems_of

BROKEN = """\
metadata:
  flagSetId: 7
flags:
  good:
    state: ENABLED
    variants: { "on": true, "off": false }
    defaultVariant: "off"
  bad-state:
    state: enabled
    variants: { "on": true }
    defaultVariant: "on"
  bad-default:
    state: ENABLED
    variants: { a: 1, b: "two" }
    defaultVariant: c
  bad-rule:
    state: ENABLED
    variants: { "on": true, "off": false }
    defaultVariant: "off"
    targetting: {}
    targeting:
      if:
        - { is_even: [{ var: n }] }
        - "on"
        - $ref: nowhere
  bad-weights:
    state: ENABLED
    variants: { a: 1, b: 2 }
    defaultVariant: a
    metadata: { owner: { team: x } }
    targeting:
      fractional:
        - [a, 0.5]
        - [b, -1]
$evaluators:
  broken:
    "==": [1]
"""

EXPECTED = [
    (2, "flagSetId must be a string"),
    (37, "'==' takes 2 arguments, got 1"),
    (9, "state must be ENABLED or DISABLED, not 'enabled'"),
    (14, "all variants must have one type, found number, string"),
    (15, "defaultVariant 'c' is not one of the variants"),
    (20, "unknown flag property 'targetting'"),
    (23, "unknown operator 'is_even'"),
    (25, "$ref names no evaluator under $evaluators: 'nowhere'"),
    (30, "metadata 'owner' must be a string, number or boolean"),
    (33, "a fractional weight is a whole number"),
    (34, "a fractional weight is a whole number"),
]


def test_every_problem_is_reported_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_flags(parse_text(BROKEN, "flags.yaml", "yaml"))
    found = [(problem.line, problem.message) for problem in caught.value.problems]
    assert all(problem.source == "flags.yaml" for problem in caught.value.problems)
    assert len(found) == len(EXPECTED), found
    for (line, message), (want_line, want_message) in zip(found, EXPECTED, strict=True):
        assert line == want_line, (line, message)
        assert message.startswith(want_message), (line, message)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        pytest.param("on", "must be a mapping", id="not-a-mapping"),
        pytest.param({"state": "ENABLED"}, "variants must be a non-empty mapping", id="no-variants"),
        pytest.param(flag(variants={}), "variants must be a non-empty mapping", id="empty-variants"),
        pytest.param(
            flag(variants={"a": [1]}, default="a"), "variant 'a' must be a boolean", id="array-variant"
        ),
        pytest.param(
            flag(variants={"a": None}, default="a"), "variant 'a' must be a boolean", id="null-variant"
        ),
        pytest.param(flag(variants={"a": 2**53}, default="a"), "within ±2^53-1", id="unsafe-integer"),
        pytest.param(
            flag(variants={"": 1}, default=None), "variant name '' must be", id="empty-variant-name"
        ),
        pytest.param(flag(default=True), "defaultVariant True is not one", id="non-string-default"),
        pytest.param(flag(state=["ENABLED"]), "state must be ENABLED or DISABLED", id="state-not-string"),
        pytest.param(flag("on"), "targeting must be a rule object", id="targeting-not-object"),
        pytest.param(flag(metadata=[1]), "metadata is a mapping", id="metadata-not-mapping"),
        pytest.param(flag(metadata={"x": None}), "metadata 'x' must be", id="metadata-null"),
    ],
)
def test_invalid_flag_definition(definition: Any, message: str) -> None:
    problems = problems_of({"f": definition})
    assert any(message in text for _, text in problems), problems


@pytest.mark.parametrize(("key", "message"), [("", "flag key '' must be"), ("two\nlines", "single-line")])
def test_flag_key_rules(key: str, message: str) -> None:
    assert any(message in text for _, text in problems_of({key: flag()}))


def test_admin_definition_is_validated_like_a_file() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_flag_definition("f", flag({"nope": []}, variants={"on": 1}, default="off"))
    assert [(p.source, p.line) for p in caught.value.problems] == [("admin", None), ("admin", None)]


@pytest.mark.parametrize(
    ("document", "flags"),
    [
        pytest.param({"rollouts": {"x": 1}, "$schema": "s"}, {}, id="no-flags-key"),
        pytest.param({"flags": {}, "experiments": [1], "alerts": None}, {}, id="other-sections-ignored"),
    ],
)
def test_documents_without_flags(document: dict[str, Any], flags: dict[str, Any]) -> None:
    assert compile_flags(parse_text(json.dumps(document), "d.json", "json")) == flags


@pytest.mark.parametrize(
    ("top_level", "message"),
    [
        pytest.param({"flags": []}, "'flags' is a mapping", id="flags-array"),
        pytest.param({"flags": {}, "$evaluators": []}, "'$evaluators' is a mapping", id="evaluators-array"),
        pytest.param(
            {"flags": {}, "$evaluators": {"e": "x"}}, "evaluator 'e' must be a rule object", id="bad-eval"
        ),
    ],
)
def test_invalid_document_sections(top_level: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        compile_flags(parse_text(json.dumps(top_level), "d.json", "json"))
    assert any(message in problem.message for problem in caught.value.problems)


def test_shared_evaluator_problem_is_reported_once() -> None:
    problems = problems_of(
        {"a": flag({"$ref": "bad"}), "b": flag({"$ref": "bad"})}, **{"$evaluators": {"bad": {"nope": 1}}}
    )
    assert [message for _, message in problems] == ["unknown operator 'nope'"]


@pytest.mark.parametrize("operator", [[None, [], None], {"a": 1}, 3], ids=["list", "object", "number"])
def test_sem_ver_with_a_non_string_operator_is_a_config_problem(operator: object) -> None:
    # Found by hypothesis: an unhashable literal used to crash the compiler with TypeError.
    with pytest.raises(ConfigError, match="sem_ver operator"):
        compile_flag_definition(
            "f",
            {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "off",
                "targeting": {"if": [{"sem_ver": [{"var": "v"}, operator, "1.0.0"]}, "on", "off"]},
            },
        )
