"""Experiment definitions: validation located by line, the cross-check against the flag, exposure rows."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.config.located import parse_text
from sidecar.errors import ConfigError
from sidecar.evaluation.flags import compile_flags
from sidecar.experiments import AnalysisMode, Correction, MetricKind, MetricRole
from sidecar.experiments.config import ExperimentConfig
from sidecar.experiments.config_parse import parse_experiments
from sidecar.experiments.config_values import parse_mde, parse_time
from sidecar.experiments.flag_check import cross_check
from sidecar.runtime.experiment_exposures import exposure_rows
from sidecar.store.snapshot import DatabaseLoad, build_snapshot
from sidecar.store.sources import SourceStatus

GOOD = """\
experiments:
  button:
    flag: button-color
    control: blue
    weights: {blue: 50, green: 50}
    hypothesis: Green converts better.
    start: "2026-01-01"
    stop: "2026-02-01T12:00:00+01:00"
    targeting: {"==": [{var: country}, NL]}
    mode: sequential
    correction: bh
    metrics:
      - {name: converted, kind: binomial, mde: "5%"}
      - {name: revenue, kind: continuous, role: secondary, mde: 2}
      - {name: tickets, kind: count, role: guardrail, direction: decrease, tau: 0.1}
    satisfaction: {mde: 0.3}
"""

FLAGS = """\
flags:
  button-color:
    variants: {blue: "#00f", green: "#0f0", red: "#f00"}
    defaultVariant: blue
    targeting:
      if:
        - {in: [{var: targetingKey}, [staff]]}
        - red
        - fractional: [[blue, 50], [green, 50]]
  uneven:
    variants: {blue: 1, green: 2}
    defaultVariant: blue
    targeting: {fractional: [[blue, 90], [green, 10]]}
  static:
    variants: {blue: 1, green: 2}
    defaultVariant: blue
"""


def experiments(text: str) -> dict[str, ExperimentConfig]:
    return parse_experiments(parse_text(text, "exp.yaml", "yaml"))


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        experiments(text)
    return [str(p) for p in caught.value.problems]


def test_a_full_definition_compiles() -> None:
    (experiment,) = experiments(GOOD).values()
    assert experiment.arms == ("blue", "green")
    assert experiment.weights == (50.0, 50.0)
    assert experiment.start == 1767225600.0
    assert experiment.stop == 1769943600.0  # 11:00 UTC
    assert experiment.mode is AnalysisMode.SEQUENTIAL
    assert experiment.correction is Correction.BH
    converted, revenue, tickets, satisfaction = experiment.metrics
    assert (converted.kind, converted.mde, converted.mde_relative) == (MetricKind.BINOMIAL, 0.05, True)
    assert (revenue.role, revenue.mde, revenue.mde_relative) == (MetricRole.SECONDARY, 2.0, False)
    assert tickets.tau == 0.1
    assert satisfaction.name == "satisfaction"
    assert satisfaction.fills_zero is False
    assert [m.name for m in experiment.tracked] == ["converted", "revenue", "tickets"]
    assert experiment.eligible({"country": "NL"}, None)
    assert not experiment.eligible({"country": "DE"}, None)
    assert experiment.in_window(1767225600.0)
    assert not experiment.in_window(experiment.stop or 0)
    assert experiment.status(0) == "scheduled"
    assert experiment.definition(Correction.HOLM).correction is Correction.HOLM
    # Recompiling gives an equal value (the compiled rule is not compared), so reloads are no-ops.
    assert experiments(GOOD) == experiments(GOOD)


def test_every_problem_is_reported_with_its_line() -> None:
    found = problems(
        """\
experiments:
  bad:
    flag: f
    control: nope
    weights: {a: 50, b: 50}
    start: "2026-13-01"
    stop: 12
    mode: bayesian
    alpha: 1.5
    metrics:
      - {name: conv, kind: binomail, role: secondary}
      - {name: conv2, kind: count, mde: "0%", extra: 1}
    targeting: {frob: [1]}
  no-primary:
    flag: f
    control: a
    weights: {a: 1, b: 1}
    hypothesis: h
    start: "2026-01-01"
    metrics: [{name: m, kind: count, role: guardrail}]
"""
    )
    expected = [
        "exp.yaml:2: experiments.bad: hypothesis is required",
        "exp.yaml:4: experiments.bad.control: 'nope' is not one of the arms in weights (a, b)",
        "exp.yaml:6: experiments.bad.start: '2026-13-01' is not an ISO 8601 date or time",
        "exp.yaml:7: experiments.bad.stop: must be an ISO 8601 date",
        "exp.yaml:8: experiments.bad.mode: must be one of fixed, sequential, got 'bayesian'",
        "exp.yaml:9: experiments.bad.alpha: must be between 0 and 1",
        "exp.yaml:11: experiments.bad.metrics[0].kind: must be one of binomial, continuous, count",
        "exp.yaml:12: experiments.bad.metrics[1].extra: unknown field 'extra'",
        "exp.yaml:12: experiments.bad.metrics[1].mde: must not be zero",
        "exp.yaml:13: experiments.bad.targeting.frob: unknown operator 'frob'",
        "exp.yaml:20: experiments.no-primary.metrics: at least one metric must have role primary",
    ]
    for needle in expected:
        assert any(problem.startswith(needle) for problem in found), (needle, found)
    assert len(found) == len(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("experiments: [1]", "exp.yaml:1: experiments: must be a mapping"),
        ("experiments:\n  x: 3\n", "exp.yaml:2: experiments.x: must be a mapping"),
        (
            "experiments:\n  x: {flag: f, control: a, weights: {a: 1}, hypothesis: h, start: '2026-01-01',"
            " metrics: [{name: m, kind: count}]}\n",
            "weights: must map at least two arms",
        ),
    ],
)
def test_shape_problems(text: str, message: str) -> None:
    assert any(message in p for p in problems(text))


def test_mde_and_time_parsing() -> None:
    assert parse_mde("5%") == (0.05, True)
    assert parse_mde(-0.01) == (-0.01, False)
    for bad in ("5", True, "x%", 0):
        with pytest.raises(ValueError, match="must"):
            parse_mde(bad)
    assert parse_time("2026-01-01") == parse_time("2026-01-01T01:00:00+01:00") == 1767225600.0
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time(20260101)


def _flags() -> Any:
    return compile_flags(parse_text(FLAGS, "flags.yaml", "yaml"))


def _experiment(flag: str, weights: str = "{blue: 50, green: 50}") -> ExperimentConfig:
    text = (
        f"experiments:\n  e:\n    flag: {flag}\n    control: blue\n    weights: {weights}\n"
        "    hypothesis: h\n    start: '2026-01-01'\n    metrics: [{name: m, kind: binomial}]\n"
    )
    return experiments(text)["e"]


def test_cross_check_against_the_flag() -> None:
    flags = _flags()
    assert cross_check(_experiment("button-color"), flags) == []
    assert cross_check(_experiment("missing"), flags) == [
        "flag 'missing' does not exist, so no unit is exposed"
    ]
    (uneven,) = cross_check(_experiment("uneven"), flags)
    assert "weights blue 50 / green 50 do not match the fractional split" in uneven
    assert "blue 90 / green 10" in uneven
    assert cross_check(_experiment("uneven", "{blue: 9, green: 1}"), flags) == []
    (static,) = cross_check(_experiment("static"), flags)
    assert "has no fractional split" in static
    (unknown, mismatch) = cross_check(_experiment("button-color", "{blue: 1, purple: 1}"), flags)
    assert "arms 'purple' are not variants of flag 'button-color'" in unknown
    assert "do not match" in mismatch


def test_exposure_rows_apply_window_and_eligibility_and_keep_one_row_per_unit() -> None:
    (experiment,) = experiments(GOOD).values()
    snapshot = build_snapshot(
        1, [], [], True, DatabaseLoad({"flag": _flags()}, {}, SourceStatus("database", True, (), 0.0, 0)), {}
    )
    inside = experiment.start + 10
    ok = {"targetingKey": "u1", "country": "NL"}
    rows = exposure_rows(
        [
            ((experiment,), ok, "green", inside, snapshot),
            ((experiment,), ok, "green", inside + 5, snapshot),
            ((experiment,), ok, "blue", inside + 7, snapshot),  # the split changed under the unit
            ((experiment,), {"targetingKey": "u2", "country": "DE"}, "blue", inside, snapshot),
            ((experiment,), {"targetingKey": "u3", "country": "NL"}, "blue", experiment.start - 1, snapshot),
            ((experiment,), {"country": "NL"}, "blue", inside, snapshot),
        ],
        {},
    )
    (row,) = rows
    assert (row.unit, row.variant, row.first_seen, row.last_seen, row.switched) == (
        "u1",
        "green",
        inside,
        inside + 7,
        True,
    )
    # Eligibility rules may read other flags through flag_value, resolved against the same snapshot.
    (reads_flag,) = experiments(
        GOOD.replace('{"==": [{var: country}, NL]}', '{"==": [{flag_value: button-color}, "#f00"]}')
    ).values()
    staff = exposure_rows([((reads_flag,), {"targetingKey": "staff"}, "red", inside, snapshot)], {})
    other = exposure_rows([((reads_flag,), {"targetingKey": "u9"}, "blue", inside, snapshot)], {})
    assert [r.unit for r in staff] == ["staff"]
    assert other == []
