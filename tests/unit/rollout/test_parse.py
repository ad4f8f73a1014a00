from __future__ import annotations

import textwrap
from typing import Any

import pytest

import sidecar.rollout.parse as parse_module
from sidecar.config.located import parse_text
from sidecar.errors import ConfigError
from sidecar.rollout.model import DEFAULT_GATES, BreakerSettings, Gates, RollbackTriggers, default_phases
from sidecar.rollout.parse import parse_duration, parse_rollouts, rollout_from_mapping


def parse_yaml(text: str) -> dict[str, Any]:
    return dict(parse_rollouts(parse_text(textwrap.dedent(text), "rollouts.yaml", "yaml")))


def test_module_docstring_example_parses() -> None:
    example = textwrap.dedent(parse_module.__doc__.split("::\n")[1].split("\n\nRules:")[0])
    definition = parse_rollouts(parse_text(example, "example.yaml", "yaml"))["checkout-v2"]
    assert [(p.name, p.v2_percent) for p in definition.phases] == [
        ("CANARY", 10.0),
        ("QUARTER", 25.0),
        ("HALF", 50.0),
        ("FULL", 100.0),
    ]
    quarter = definition.phases[1]
    assert quarter.gates == Gates(
        max_v2_error_rate=0.02, max_error_rate_increase=0.01, max_latency_increase_ms=25
    )
    # The 100 % phase keeps only absolute gates.
    assert definition.phases[3].gates == Gates(max_v2_error_rate=0.02)
    assert definition.phases[0].min_duration_s == 900.0
    assert definition.phases[0].max_duration_s == 7_200.0
    assert definition.stickiness == "userId"
    assert definition.min_latency_samples == 200
    assert definition.triggers == RollbackTriggers()
    assert definition.breaker == BreakerSettings()
    assert definition.source == "example.yaml"


def test_minimal_definition_gets_the_default_plan_and_gates() -> None:
    definition = parse_yaml(
        """
        flags: {some-flag: {state: ENABLED}}
        rollouts:
          search: {}
        """
    )["search"]
    assert definition.phases == default_phases(DEFAULT_GATES)
    assert [(p.name, p.v2_percent, p.min_duration_s) for p in definition.phases] == [
        ("CANARY", 1.0, 600.0),
        ("TESTING", 10.0, 1_800.0),
        ("VALIDATION", 50.0, 3_600.0),
        ("FULL_ROLLOUT", 100.0, 0.0),
    ]
    assert definition.stickiness == "targetingKey"


def test_document_without_rollouts_has_none() -> None:
    assert parse_yaml("flags: {}\n") == {}


def test_ten_25_50_100_plan_with_half_percent_start_is_expressible() -> None:
    definition = parse_yaml(
        """
        rollouts:
          api:
            phases:
              - {name: TINY, percent: 0.5, minDuration: 90}
              - {percent: 10}
              - {percent: 25}
              - {percent: 50}
              - {percent: 100}
        """
    )["api"]
    assert [p.v2_percent for p in definition.phases] == [0.5, 10, 25, 50, 100]
    assert [p.name for p in definition.phases] == ["TINY", "STEP_2", "STEP_3", "STEP_4", "STEP_5"]
    assert definition.phases[0].threshold == 5_000


def test_phase_gates_override_rollout_gates_field_by_field() -> None:
    definition = parse_yaml(
        """
        rollouts:
          api:
            gates: {maxV2ErrorRate: 0.01, maxLatencyRatio: 1.2}
            phases:
              - {percent: 50, gates: {maxLatencyRatio: null, maxFallbackRate: 0.05}}
              - {percent: 100}
        """
    )["api"]
    assert definition.phases[0].gates == Gates(max_v2_error_rate=0.01, max_fallback_rate=0.05)
    assert definition.phases[1].gates == Gates(max_v2_error_rate=0.01)


def test_sections_override_defaults_and_null_disables() -> None:
    definition = parse_yaml(
        """
        rollouts:
          api:
            rollbackTriggers: {maxErrorRate: 0.2, consecutiveFailures: null, onCriticalAlert: false}
            breaker: {coolDown: 1m, probePercent: 10, enabled: false}
        """
    )["api"]
    assert definition.triggers == RollbackTriggers(
        max_error_rate=0.2, consecutive_failures=None, on_critical_alert=False
    )
    assert definition.breaker == BreakerSettings(cool_down_s=60.0, probe_percent=10.0, enabled=False)


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        pytest.param(30, 30.0, id="int"),
        pytest.param(1.5, 1.5, id="float"),
        pytest.param("30s", 30.0, id="seconds"),
        pytest.param("10m", 600.0, id="minutes"),
        pytest.param("1h", 3_600.0, id="hours"),
        pytest.param("1h30m", 5_400.0, id="compound"),
        pytest.param("250ms", 0.25, id="millis"),
        pytest.param("2d", 172_800.0, id="days"),
        pytest.param("0.5h", 1_800.0, id="fractional"),
    ],
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("10", id="string-without-unit"),
        pytest.param("10 m", id="inner-space"),
        pytest.param("m", id="unit-only"),
        pytest.param("-5s", id="negative-string"),
        pytest.param(-1, id="negative-number"),
        pytest.param(True, id="bool"),
        pytest.param(None, id="null"),
        pytest.param("1w", id="unknown-unit"),
    ],
)
def test_invalid_durations(raw: object) -> None:
    with pytest.raises(ValueError, match=r"duration|number"):
        parse_duration(raw)


PROBLEM_CASES = {
    "unknown field with suggestion": (
        """
        rollouts:
          api:
            phases: [{percent: 10, minDurtion: 5m}, {percent: 100}]
        """,
        [(4, "rollouts.api.phases[0].minDurtion: unknown field 'minDurtion' (did you mean 'minDuration'?)")],
    ),
    "percent order and last phase": (
        """
        rollouts:
          api:
            phases:
              - {percent: 50}
              - {percent: 25}
              - {percent: 90}
        """,
        [
            (6, "rollouts.api.phases[1].percent: must be greater than the previous phase's 50"),
            (7, "rollouts.api.phases[2].percent: the last phase must be at 100"),
        ],
    ),
    "durations, comparative gate at 100%, duplicate name": (
        """
        rollouts:
          api:
            phases:
              - {name: A, percent: 10, minDuration: 2h, maxDuration: 1h}
              - {name: A, percent: 100, gates: {maxLatencyRatio: 2}}
        """,
        [
            (5, "rollouts.api.phases[0].maxDuration: must not be shorter than minDuration (7200s)"),
            (
                6,
                "rollouts.api.phases[1].gates.maxLatencyRatio: a 100% phase has no V1 traffic",
            ),
            (6, "rollouts.api.phases[1].name: duplicate phase name 'A'"),
        ],
    ),
    "section values": (
        """
        rollouts:
          api:
            rollbackTriggers:
              maxErrorRate: 1.5
              minRequests: null
            breaker:
              window: 10x
              probePercent: 0
              consecutiveFailures: 2.5
        """,
        [
            (5, "rollouts.api.rollbackTriggers.maxErrorRate: must be a fraction between 0 and 1 (0.1 = 10%)"),
            (6, "rollouts.api.rollbackTriggers.minRequests: must not be null"),
            (8, "rollouts.api.breaker.window: invalid duration '10x'"),
            (9, "rollouts.api.breaker.probePercent: must be in (0, 100], got 0"),
            (10, "rollouts.api.breaker.consecutiveFailures: must be a whole number, got 2.5"),
        ],
    ),
    "names and resolution": (
        """
        rollouts:
          bad/key:
            stickiness: ""
            phases: [{percent: 0.00001}, {name: "has space", percent: 100}]
        """,
        [
            (3, "rollouts.bad/key: rollout key must be 1–256 letters, digits, '.', '_' or '-'"),
            (4, "rollouts.bad/key.stickiness: must be a non-empty string"),
            (5, "rollouts.bad/key.phases[0].percent: 1e-05 is finer than the 0.0001% assignment resolution"),
            (5, "rollouts.bad/key.phases[1].name: must be 1–256 letters"),
        ],
    ),
    "structure across rollouts": (
        """
        rollouts:
          api:
            phases: []
          web:
            phases: [{minSamples: 10}]
          app:
            gates: [maxV2ErrorRate]
        """,
        [
            (4, "rollouts.api.phases: must be a non-empty list of phases"),
            (6, "rollouts.web.phases[0]: percent is required"),
            (8, "rollouts.app.gates: must be a mapping"),
        ],
    ),
    "rollouts not a mapping": (
        "rollouts: [a, b]\n",
        [(1, "rollouts: must be a mapping of rollout key to definition")],
    ),
}


@pytest.mark.parametrize(("yaml", "expected"), PROBLEM_CASES.values(), ids=PROBLEM_CASES.keys())
def test_every_problem_is_reported_with_its_line(yaml: str, expected: list[tuple[int, str]]) -> None:
    """Each expected message is a prefix of the reported one; order follows the lines."""
    with pytest.raises(ConfigError) as caught:
        parse_yaml(yaml)
    problems = caught.value.problems
    assert [(p.source, p.line) for p in problems] == [("rollouts.yaml", line) for line, _ in expected]
    for problem, (_, message) in zip(problems, expected, strict=True):
        assert problem.message.startswith(message), problem.message


def test_admin_mapping_is_validated_like_a_file() -> None:
    definition = rollout_from_mapping("api", {"phases": [{"percent": 20}, {"percent": 100}]})
    assert definition.source == "admin"
    assert [p.v2_percent for p in definition.phases] == [20, 100]
    with pytest.raises(ConfigError) as caught:
        rollout_from_mapping("api", {"phases": [{"percent": 20}], "colour": "blue"})
    assert [str(p) for p in caught.value.problems] == [
        "admin: rollouts.api.colour: unknown field 'colour'; known fields: description, stickiness, "
        "minLatencySamples, gates, phases, rollbackTriggers, breaker",
        "admin: rollouts.api.phases[0].percent: the last phase must be at 100",
    ]
