"""Evaluator: every reason and error, context enrichment, ``$ref``, dependent flags, metadata."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.config.located import parse_text
from sidecar.evaluation.evaluator import MAX_FLAG_DEPTH, Evaluator
from sidecar.evaluation.flags import compile_flag_definition, compile_flags
from sidecar.evaluation.model import EvalErrorCode, Reason
from tests.unit.evaluation import BOOLEAN, NOW, compile_document, evaluator, flag, problems_of

NUMBERS = {"one": 1, "two": 2}
TRUTH = {"true": 2, "false": 1}

# (id, definition, context, reason, variant, value, error code)
REASON_CASES: list[tuple[str, dict[str, Any], dict[str, Any], Reason, Any, Any, Any]] = [
    ("static", flag(), {}, Reason.STATIC, "off", False, None),
    ("empty-targeting-is-static", flag({}), {}, Reason.STATIC, "off", False, None),
    (
        "targeting-match",
        flag({"if": [{"==": [{"var": "tier"}, "gold"]}, "on", "off"]}),
        {"tier": "gold"},
        Reason.TARGETING_MATCH,
        "on",
        True,
        None,
    ),
    (
        "targeting-else-branch-is-a-match",
        flag({"if": [{"==": [{"var": "tier"}, "gold"]}, "on", "off"]}),
        {},
        Reason.TARGETING_MATCH,
        "off",
        False,
        None,
    ),
    # flagd-testbed flags/edge-case-flags.json, gherkin/targeting.feature "Errors and edge cases".
    (
        "null-result-is-default",
        flag({"if": [True, None, "one"]}, variants=NUMBERS, default="two"),
        {},
        Reason.DEFAULT,
        "two",
        2,
        None,
    ),
    (
        "unknown-variant-is-error",
        flag({"if": [True, "three", "one"]}, variants=NUMBERS, default="two"),
        {},
        Reason.ERROR,
        None,
        None,
        EvalErrorCode.GENERAL,
    ),
    (
        "boolean-result-names-variant",
        flag({"if": [True, True, False]}, variants=TRUTH, default="false"),
        {},
        Reason.TARGETING_MATCH,
        "true",
        2,
        None,
    ),
    (
        "boolean-shorthand",
        flag({"ends_with": [{"var": "email"}, "@example.com"]}, variants=TRUTH, default="false"),
        {"email": "a@example.com"},
        Reason.TARGETING_MATCH,
        "true",
        2,
        None,
    ),
    (
        "number-result-names-variant",
        flag({"+": [0, 1]}, variants={"1": "first", "2": "second"}, default="2"),
        {},
        Reason.TARGETING_MATCH,
        "1",
        "first",
        None,
    ),
    ("object-result-is-error", flag({"var": ""}), {"x": 1}, Reason.ERROR, None, None, EvalErrorCode.GENERAL),
    ("array-result-is-error", flag({"merge": [["on"]]}), {}, Reason.ERROR, None, None, EvalErrorCode.GENERAL),
    (
        "split",
        flag({"fractional": [["on", 1], ["off", 0]]}),
        {"targetingKey": "u"},
        Reason.SPLIT,
        "on",
        True,
        None,
    ),
    (
        "split-through-if",
        flag({"if": [True, {"fractional": [["on", 1]]}, "off"]}),
        {"targetingKey": "u"},
        Reason.SPLIT,
        "on",
        True,
        None,
    ),
    (
        "split-rewritten-is-a-match",
        flag({"cat": [{"fractional": [["o", 1]]}, "n"]}),
        {"targetingKey": "u"},
        Reason.TARGETING_MATCH,
        "on",
        True,
        None,
    ),
    ("disabled", flag(state="DISABLED"), {}, Reason.DISABLED, None, None, None),
    (
        "disabled-with-targeting",
        flag({"if": [True, "on", "off"]}, state="DISABLED"),
        {},
        Reason.DISABLED,
        None,
        None,
        None,
    ),
    (
        "omitted-state-is-enabled",
        {"variants": BOOLEAN, "defaultVariant": "on"},
        {},
        Reason.STATIC,
        "on",
        True,
        None,
    ),
    ("no-default-static", flag(default=None), {}, Reason.DEFAULT, None, None, None),
    ("no-default-omitted", {"state": "ENABLED", "variants": BOOLEAN}, {}, Reason.DEFAULT, None, None, None),
    (
        "no-default-no-match",
        flag({"if": [{"var": "x"}, "on", None]}, default=None),
        {},
        Reason.DEFAULT,
        None,
        None,
        None,
    ),
    (
        "no-default-match",
        flag({"if": [{"var": "x"}, "on", None]}, default=None),
        {"x": 1},
        Reason.TARGETING_MATCH,
        "on",
        True,
        None,
    ),
]


@pytest.mark.parametrize(
    ("definition", "context", "reason", "variant", "value", "error"),
    [c[1:] for c in REASON_CASES],
    ids=[c[0] for c in REASON_CASES],
)
def test_reasons(
    definition: dict[str, Any], context: dict[str, Any], reason: Reason, variant: Any, value: Any, error: Any
) -> None:
    resolution = evaluator({"f": definition}).evaluate("f", context, NOW)
    assert (resolution.reason, resolution.variant, resolution.value) == (reason, variant, value)
    assert resolution.error_code == error
    assert (resolution.error_message is None) == (error is None)
    assert resolution.flag_key == "f"
    assert type(resolution.variant) in (str, type(None))


def test_unknown_flag_is_not_found() -> None:
    resolution = evaluator({"f": flag()}).evaluate("nope", {}, NOW)
    assert (resolution.reason, resolution.error_code, resolution.value) == (
        Reason.ERROR,
        EvalErrorCode.FLAG_NOT_FOUND,
        None,
    )


def test_context_that_is_not_a_mapping_is_an_error_not_an_exception() -> None:
    resolution = evaluator({"f": flag({"var": "x"})}).evaluate("f", None, NOW)  # type: ignore[arg-type]
    assert (resolution.reason, resolution.error_code) == (Reason.ERROR, EvalErrorCode.GENERAL)


# flagd-testbed flags/custom-ops.json with the expectations of gherkin/targeting.feature.
STARTS_ENDS = {
    "if": [
        {"starts_with": [{"var": "id"}, "abc"]},
        "prefix",
        {
            "if": [
                {"ends_with": [{"var": "id"}, "xyz"]},
                "postfix",
                {"if": [{"ends_with": [{"var": "id"}, 3]}, "fail", "none"]},
            ]
        },
    ]
}
VERSIONS = {
    "if": [
        {"sem_ver": [{"var": "version"}, "=", "2.0.0"]},
        "equal",
        {
            "if": [
                {"sem_ver": [{"var": "version"}, ">", "2.0.0"]},
                "greater",
                {
                    "if": [
                        {"sem_ver": [{"var": "version"}, "<", "2.0.0"]},
                        "lesser",
                        {"if": [{"sem_ver": [{"var": "version"}, "=", "2.0.0.0"]}, "fail", "none"]},
                    ]
                },
            ]
        },
    ]
}
MAJOR_MINOR = {
    "if": [
        {"sem_ver": [{"var": "version"}, "~", "3.0.0"]},
        "minor",
        {"if": [{"sem_ver": [{"var": "version"}, "^", "3.0.0"]}, "major", "none"]},
    ]
}


def _names(*names: str) -> dict[str, str]:
    return {name: name for name in names}


TESTBED = [
    ("starts-abcdef", STARTS_ENDS, {"id": "abcdef"}, "prefix"),
    ("ends-uvwxyz", STARTS_ENDS, {"id": "uvwxyz"}, "postfix"),
    ("both-abcxyz", STARTS_ENDS, {"id": "abcxyz"}, "prefix"),
    ("neither", STARTS_ENDS, {"id": "lmnopq"}, "none"),
    ("number-id", STARTS_ENDS, {"id": 3}, "none"),
    ("semver-equal", VERSIONS, {"version": "2.0.0"}, "equal"),
    ("semver-greater", VERSIONS, {"version": "2.1.0"}, "greater"),
    ("semver-lesser", VERSIONS, {"version": "1.9.0"}, "lesser"),
    ("semver-prerelease-lesser", VERSIONS, {"version": "2.0.0-alpha"}, "lesser"),
    ("semver-invalid", VERSIONS, {"version": "2.0.0.0"}, "none"),
    ("semver-tilde", MAJOR_MINOR, {"version": "3.0.1"}, "minor"),
    ("semver-caret", MAJOR_MINOR, {"version": "3.1.0"}, "major"),
    ("semver-other-major", MAJOR_MINOR, {"version": "4.0.0"}, "none"),
]


@pytest.mark.parametrize(
    ("targeting", "context", "variant"), [c[1:] for c in TESTBED], ids=[c[0] for c in TESTBED]
)
def test_flagd_testbed_custom_operators(targeting: Any, context: dict[str, Any], variant: str) -> None:
    variants = _names("prefix", "postfix", "none", "equal", "greater", "lesser", "minor", "major", "fail")
    resolution = evaluator({"f": flag(targeting, variants=variants, default="none")}).evaluate(
        "f", context, NOW
    )
    assert (resolution.variant, resolution.reason) == (variant, Reason.TARGETING_MATCH)


@pytest.mark.parametrize(
    ("operator", "reason", "variant"),
    [
        pytest.param("starts_with", Reason.DEFAULT, "false", id="starts-with-yields-null"),
        pytest.param("ends_with", Reason.TARGETING_MATCH, "false", id="ends-with-yields-false"),
    ],
)
def test_string_operators_on_non_strings_follow_flagd(operator: str, reason: Reason, variant: str) -> None:
    definition = flag({operator: [{"var": "n"}, "1"]}, variants=TRUTH, default="false")
    resolution = evaluator({"f": definition}).evaluate("f", {"n": 1}, NOW)
    assert (resolution.reason, resolution.variant) == (reason, variant)


def test_targeting_key_rule() -> None:
    # flagd-testbed "Targeting by targeting key".
    definition = flag(
        {"if": [{"==": [{"var": "targetingKey"}, "5c3d8535-f81a-4478-a6d3-afaa4d51199e"]}, "hit", None]},
        variants=_names("hit", "miss"),
        default="miss",
    )
    flags = evaluator({"f": definition})
    hit = flags.evaluate("f", {"targetingKey": "5c3d8535-f81a-4478-a6d3-afaa4d51199e"}, NOW)
    miss = flags.evaluate("f", {"targetingKey": "f20bd32d-703b-48b6-bc8e-79d53c85134a"}, NOW)
    assert (hit.variant, hit.reason, miss.variant, miss.reason) == (
        "hit",
        Reason.TARGETING_MATCH,
        "miss",
        Reason.DEFAULT,
    )


def test_flagd_properties_are_injected_and_cannot_be_spoofed() -> None:
    definition = flag(
        {
            "if": [
                {
                    "and": [
                        {"==": [{"var": "$flagd.flagKey"}, "my-flag"]},
                        {"===": [{"var": "$flagd.timestamp"}, 1_760_000_000]},
                    ]
                },
                "on",
                "off",
            ]
        }
    )
    flags = evaluator({"my-flag": definition})
    spoofed = {"$flagd": {"flagKey": "other", "timestamp": 1}}
    assert flags.evaluate("my-flag", spoofed, NOW).variant == "on"


@pytest.mark.parametrize(
    ("now", "variant"),
    [
        pytest.param(1_795_737_599.9, "inactive", id="before-window"),
        pytest.param(1_795_737_600.0, "active", id="window-opens"),
        pytest.param(1_796_083_199.5, "active", id="last-second"),
        pytest.param(1_796_083_200.0, "inactive", id="window-closed"),
    ],
)
def test_time_window_uses_injected_now(now: float, variant: str) -> None:
    window = {
        "if": [{"<=": [1_795_737_600, {"var": "$flagd.timestamp"}, 1_796_083_199]}, "active", "inactive"]
    }
    sale = evaluator({"sale": flag(window, variants={"active": True, "inactive": False}, default="inactive")})
    assert sale.evaluate("sale", {}, now).variant == variant


def test_static_context_wins_over_request_context() -> None:
    verbose = flag({"if": [{"!=": [{"var": "environment"}, "production"]}, "on", "off"]})
    production = evaluator({"verbose": verbose}, {"environment": "production"})
    assert production.evaluate("verbose", {"environment": "staging"}, NOW).variant == "off"
    assert (
        evaluator({"verbose": verbose}).evaluate("verbose", {"environment": "staging"}, NOW).variant == "on"
    )


def test_evaluator_refs_are_inlined() -> None:
    # Shaped like flagd-testbed flags/evaluator-refs.json: two flags sharing one rule through $ref.
    evaluators = {
        "emailWithFaas": {"in": ["@faas.com", {"var": ["email"]}]},
        "nested": {"and": [{"$ref": "emailWithFaas"}, True]},
    }
    flags = evaluator(
        {
            "direct": flag({"if": [{"$ref": "emailWithFaas"}, "on", None]}),
            "nested": flag({"if": [{"$ref": "nested"}, "on", None]}),
        },
        **{"$evaluators": evaluators},
    )
    for key in ("direct", "nested"):
        assert flags.evaluate(key, {"email": "ballmer@faas.com"}, NOW).variant == "on"
        assert flags.evaluate(key, {"email": "ballmer@macrosoft.com"}, NOW).reason is Reason.DEFAULT


def test_yaml_on_off_variant_names_stay_strings() -> None:
    text = """
flags:
  toggle:
    state: ENABLED
    variants:
      on: true
      off: false
    defaultVariant: off
    targeting:
      if: [{ in: [{ var: country }, [NO, SE]] }, on, off]
"""
    flags = Evaluator(compile_flags(parse_text(text, "flags.yaml", "yaml")))
    on, off = (
        flags.evaluate("toggle", {"country": "NO"}, NOW),
        flags.evaluate("toggle", {"country": "DK"}, NOW),
    )
    assert (on.variant, on.value, off.variant, off.value) == ("on", True, "off", False)


def test_dependent_flag_sees_the_same_context() -> None:
    flags = evaluator(
        {
            "new-checkout": flag({"if": [{"sem_ver": [{"var": "appVersion"}, ">=", "2.4.0"]}, "on", "off"]}),
            "express": flag({"if": [{"==": [{"flag_value": "new-checkout"}, True]}, "on", "off"]}),
            "of-disabled": flag({"if": [{"==": [{"flag_value": "gone"}, None]}, "on", "off"]}),
            "of-unknown": flag({"if": [{"==": [{"flag_value": "nope"}, None]}, "on", "off"]}),
            "dynamic": flag({"flag_value": {"var": "which"}}, variants={"x": "X", "y": "Y"}, default="y"),
            "static-x": flag(variants={"x": "x", "y": "y"}, default="x"),
            "gone": flag(state="DISABLED"),
        }
    )
    assert flags.evaluate("express", {"appVersion": "2.4.0"}, NOW).variant == "on"
    assert flags.evaluate("express", {"appVersion": "2.3.9"}, NOW).variant == "off"
    assert flags.evaluate("of-disabled", {}, NOW).variant == "on"
    assert flags.evaluate("of-unknown", {}, NOW).variant == "on"
    assert flags.evaluate("dynamic", {"which": "static-x"}, NOW).variant == "x"
    assert flags.evaluate("dynamic", {"which": 5}, NOW).reason is Reason.DEFAULT


def test_dependency_cycle_in_one_document_is_a_load_problem() -> None:
    problems = problems_of(
        {
            "a": flag({"flag_value": "b"}),
            "b": flag({"if": [{"flag_value": "c"}, "on", "off"]}),
            "c": flag({"flag_value": "a"}),
            "self": flag({"flag_value": "self"}),
        }
    )
    assert [message for _, message in problems] == [
        "flag_value references form a cycle: a -> b -> c -> a",
        "flag_value references form a cycle: self -> self",
    ]


def test_dependency_cycle_across_sources_is_an_error_resolution() -> None:
    first = compile_document({"a": flag({"if": [{"flag_value": "b"}, "on", "off"]})})
    second = {"b": compile_flag_definition("b", flag({"if": [{"flag_value": "a"}, "on", "off"]}))}
    resolution = Evaluator({**first, **second}).evaluate("a", {}, NOW)
    assert (resolution.reason, resolution.error_code) == (Reason.ERROR, EvalErrorCode.GENERAL)
    assert "deeper than" in (resolution.error_message or "")


@pytest.mark.parametrize(
    ("chain", "reason"), [(MAX_FLAG_DEPTH, Reason.TARGETING_MATCH), (MAX_FLAG_DEPTH + 1, Reason.ERROR)]
)
def test_dependency_depth_is_bounded(chain: int, reason: Reason) -> None:
    flags = {f"f{i}": flag({"if": [{"flag_value": f"f{i + 1}"}, "on", "off"]}) for i in range(chain)}
    flags[f"f{chain}"] = flag(default="on")
    assert evaluator(flags).evaluate("f0", {}, NOW).reason is reason


def test_metadata_overlays_flag_set_metadata() -> None:
    flags = evaluator(
        {"plain": flag(), "own": flag(metadata={"owner": "team-b", "flagSetId": "special", "version": 3})},
        metadata={"owner": "team-a", "flagSetId": "shop", "tier": True},
    )
    plain, own = flags.evaluate("plain", {}, NOW), flags.evaluate("own", {}, NOW)
    assert dict(plain.metadata) == {"owner": "team-a", "flagSetId": "shop", "tier": True}
    assert dict(own.metadata) == {"owner": "team-b", "flagSetId": "special", "tier": True, "version": 3}
    assert (flags.flags["plain"].flag_set_id, flags.flags["own"].flag_set_id) == ("shop", "special")


def test_compiled_flag_keeps_definition_as_written() -> None:
    definition = flag({"if": [{"$ref": "gold"}, "on", None]}, metadata={"owner": "x"})
    compiled = compile_document({"f": definition}, **{"$evaluators": {"gold": {"var": "gold"}}})["f"]
    assert dict(compiled.definition) == definition
    assert (compiled.key, compiled.enabled, compiled.default_variant, compiled.source) == (
        "f",
        True,
        "off",
        "flags.json",
    )


def test_admin_definition_compiles_with_admin_source() -> None:
    compiled = compile_flag_definition("f", flag({"if": [True, "on", "off"]}))
    assert (compiled.source, compiled.flag_set_id) == ("admin", None)


def test_evaluate_all_covers_every_flag_sorted() -> None:
    flags = evaluator({"b": flag({"var": "v"}), "a": flag(state="DISABLED"), "c": flag()})
    resolutions = flags.evaluate_all({"v": "on"}, NOW)
    assert [(r.flag_key, r.reason, r.variant) for r in resolutions] == [
        ("a", Reason.DISABLED, None),
        ("b", Reason.TARGETING_MATCH, "on"),
        ("c", Reason.STATIC, "off"),
    ]
