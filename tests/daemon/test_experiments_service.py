"""Experiments through a real daemon: configuration, exposure, events, feedback, analysis and the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from sidecar.server.convert import struct_to_dict, to_struct
from sidecar.v1 import admin_pb2, experiment_pb2_grpc
from sidecar.v1 import evaluation_pb2 as ev
from sidecar.v1 import experiment_pb2 as pb
from tests.support.daemon import Daemon

FLAGS = """\
flags:
  button:
    variants: {control: "#00f", treatment: "#0a4"}
    defaultVariant: control
    targeting:
      if:
        - {in: [{var: targetingKey}, [staff-1, staff-2]]}   # forced, not randomised: never exposed
        - treatment
        - fractional: [[control, 50], [treatment, 50]]
  other:
    variants: {a: 1, b: 2}
    defaultVariant: a
    targeting: {fractional: [[a, 50], [b, 50]]}
"""

EXPERIMENTS = """\
experiments:
  button-test:
    flag: button
    control: control
    weights: {control: 50, treatment: 50}
    hypothesis: The green button converts better.
    start: "2020-01-01"
    targeting: {"!=": [{var: country}, FR]}
    metrics:
      - {name: converted, kind: binomial, mde: 0.05}
      - {name: revenue, kind: continuous, role: secondary}
    satisfaction: {}
  future-test:
    flag: button
    control: control
    weights: {control: 50, treatment: 50}
    hypothesis: Not started.
    start: "2999-01-01"
    metrics: [{name: converted, kind: binomial}]
  past-test:
    flag: button
    control: control
    weights: {control: 50, treatment: 50}
    hypothesis: Already over.
    start: "2020-01-01"
    stop: "2021-01-01"
    metrics: [{name: converted, kind: binomial}]
  orphan:
    flag: no-such-flag
    control: a
    weights: {a: 50, b: 50}
    hypothesis: Its flag is missing.
    start: "2020-01-01"
    metrics: [{name: converted, kind: binomial}]
  uneven:
    flag: other
    control: a
    weights: {a: 90, b: 10}
    hypothesis: Its weights differ from the split.
    start: "2020-01-01"
    metrics: [{name: clicks, kind: count}]
"""


@pytest.fixture
def daemon(config_dir: Path, state_dir: Path) -> Iterator[Daemon]:
    (config_dir / "flags.yaml").write_text(FLAGS)
    (config_dir / "experiments.yaml").write_text(EXPERIMENTS)
    with Daemon(config_dir, state_dir) as running:
        yield running


def stub(daemon: Daemon) -> experiment_pb2_grpc.ExperimentServiceStub:
    return experiment_pb2_grpc.ExperimentServiceStub(daemon.channel())


def evaluate(daemon: Daemon, unit: str, **context: Any) -> str:
    response = daemon.evaluation().Evaluate(
        ev.EvaluateRequest(flag_key="button", context=to_struct({"targetingKey": unit, **context})), timeout=5
    )
    return str(response.variant)


def analyze(daemon: Daemon, key: str = "button-test", **options: Any) -> pb.AnalyzeResponse:
    request = pb.AnalyzeRequest(experiment_key=key, **options)
    return stub(daemon).Analyze(request, metadata=daemon.auth(), timeout=10)


def report(daemon: Daemon, key: str = "button-test") -> dict[str, Any]:
    return struct_to_dict(analyze(daemon, key, format=pb.REPORT_FORMAT_JSON).report)


def exposures(daemon: Daemon) -> list[tuple[str, str, str, float, float, int]]:
    analyze(daemon, format=pb.REPORT_FORMAT_JSON)  # flushes pending exposures
    with sqlite3.connect(daemon.state_dir / "sidecar.db") as conn:
        rows = conn.execute(
            "SELECT experiment, unit, variant, first_seen, last_seen, switched FROM experiment_exposures"
            " ORDER BY experiment, unit"
        ).fetchall()
    return [tuple(row) for row in rows]


def events(*items: tuple[str, str, float | None]) -> list[pb.MetricEvent]:
    return [
        pb.MetricEvent(unit_key=unit, metric=metric, **({} if value is None else {"value": value}))
        for unit, metric, value in items
    ]


def test_invalid_experiments_are_reported_with_file_and_line(config_dir: Path, state_dir: Path) -> None:
    (config_dir / "flags.yaml").write_text(FLAGS)
    broken = config_dir / "experiments.yaml"
    broken.write_text(
        "experiments:\n"
        "  bad:\n"
        "    flag: button\n"
        "    control: control\n"
        "    weights: {control: 50, treatment: 50}\n"
        "    start: someday\n"
        "    metrics:\n"
        "      - {name: converted, kind: binary}\n"
    )
    daemon = Daemon(config_dir, state_dir).start(wait_serving=False)
    try:
        status = daemon.admin().GetStatus(admin_pb2.GetStatusRequest(), metadata=daemon.auth(), timeout=5)
    finally:
        daemon.stop()
    (source,) = [s for s in status.sources if s.path == str(broken)]
    assert not source.ok
    assert list(source.errors) == [
        f"{broken}:2: experiments.bad: hypothesis is required",
        f"{broken}:6: experiments.bad.start: 'someday' is not an ISO 8601 date or time",
        f"{broken}:8: experiments.bad.metrics[0].kind: must be one of binomial, continuous, count, "
        "got 'binary'",
    ]
    validate = subprocess.run(
        [sys.executable, "-m", "sidecar.cli.main", "validate", str(broken)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert validate.returncode == 1
    assert f"{broken}:8: experiments.bad.metrics[0].kind" in validate.stderr


def test_list_shows_status_and_problems_with_the_flag(daemon: Daemon) -> None:
    listed = stub(daemon).ListExperiments(pb.ListExperimentsRequest(), metadata=daemon.auth(), timeout=5)
    by_key = {e.key: e for e in listed.experiments}
    assert list(by_key) == ["button-test", "future-test", "orphan", "past-test", "uneven"]
    assert by_key["button-test"].status == pb.EXPERIMENT_STATUS_RUNNING
    assert by_key["future-test"].status == pb.EXPERIMENT_STATUS_SCHEDULED
    assert by_key["past-test"].status == pb.EXPERIMENT_STATUS_ENDED
    assert not by_key["button-test"].problems
    assert [m.name for m in by_key["button-test"].metrics] == ["converted", "revenue", "satisfaction"]
    assert list(by_key["orphan"].problems) == ["flag 'no-such-flag' does not exist, so no unit is exposed"]
    (mismatch,) = by_key["uneven"].problems
    assert "weights a 90 / b 10 do not match the fractional split of flag 'other' (a 50 / b 50)" in mismatch
    assert "Configuration: flag 'no-such-flag' does not exist" in report(daemon, "orphan")["warnings"][0]
    with pytest.raises(grpc.RpcError) as denied:
        stub(daemon).ListExperiments(pb.ListExperimentsRequest(), timeout=5)
    assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_exposure_is_recorded_once_per_unit_inside_the_window_for_eligible_randomised_units(
    daemon: Daemon,
) -> None:
    variant = evaluate(daemon, "u1")
    time.sleep(0.05)  # lets the wall clock move on: the unit's last_seen must differ from its first_seen
    assert evaluate(daemon, "u1") == variant
    time.sleep(0.05)
    daemon.evaluation().EvaluateAll(
        ev.EvaluateAllRequest(context=to_struct({"targetingKey": "u2"})), timeout=5
    )
    evaluate(daemon, "u3", country="FR")  # ineligible
    evaluate(daemon, "staff-1")  # put in an arm by a rule, not by the split
    daemon.evaluation().Evaluate(ev.EvaluateRequest(flag_key="button"), timeout=5)  # no unit
    first = exposures(daemon)
    other = daemon.evaluation().Evaluate(
        ev.EvaluateRequest(flag_key="other", context=to_struct({"targetingKey": "u2"})), timeout=5
    )
    assert [(e, u, v) for e, u, v, *_ in first] == [
        ("button-test", "u1", variant),
        ("button-test", "u2", evaluate(daemon, "u2")),
        ("uneven", "u2", other.variant),  # EvaluateAll resolved every experiment's flag
    ]
    _, _, _, first_seen, last_seen, switched = first[0]
    assert time.time() - 30 < first_seen < last_seen <= time.time()
    assert not switched
    evaluate(daemon, "u1")
    again = exposures(daemon)[0]
    assert len(exposures(daemon)) == 3
    assert again[3] == first_seen
    assert again[4] > last_seen
    arms = {
        arm.variant: arm.exposed_units
        for e in stub(daemon).ListExperiments(pb.ListExperimentsRequest(), metadata=daemon.auth()).experiments
        if e.key == "button-test"
        for arm in e.arms
    }
    assert sum(arms.values()) == 2


def test_events_are_attributed_to_the_exposed_arm_and_unexposed_ones_counted(daemon: Daemon) -> None:
    units = [f"user-{i}" for i in range(200)]
    arms = {unit: evaluate(daemon, unit) for unit in units}
    converted = units[::3]
    batch = events(
        *((u, "converted", None) for u in converted),
        *((u, "converted", 1.0) for u in converted[:10]),  # a second conversion does not count twice
        *((u, "revenue", 10.0) for u in units[:50]),
        *((u, "revenue", 5.0) for u in units[:20]),
        ("ghost-1", "converted", None),
        ("ghost-2", "revenue", 3.0),
        ("user-1", "not-a-metric", 1.0),
    )
    response = stub(daemon).TrackEvents(pb.TrackEventsRequest(events=batch), timeout=5)
    assert (response.accepted, response.unmatched) == (len(batch) - 1, 1)
    streamed = stub(daemon).StreamTrackEvents(
        iter([pb.StreamTrackEventsRequest(events=events(("ghost-3", "converted", 0.0)))] * 2), timeout=5
    )
    assert (streamed.accepted, streamed.unmatched) == (2, 0)

    data = report(daemon)
    assert data["unexposed_events"] == 4
    assert {a["variant"]: a["units"] for a in data["arms"]} == {
        arm: sum(1 for v in arms.values() if v == arm) for arm in ("control", "treatment")
    }
    conversion = next(r for r in data["results"] if r["metric"] == "converted")
    for side in ("control", "treatment"):
        arm = conversion[side]["variant"]
        exposed = [u for u in units if arms[u] == arm]
        assert conversion[side]["units"] == len(exposed)  # non-converters count as 0
        assert conversion[side]["mean"] == pytest.approx(sum(u in converted for u in exposed) / len(exposed))
    revenue = next(r for r in data["results"] if r["metric"] == "revenue")
    per_unit = {u: 10.0 + (5.0 if i < 20 else 0.0) for i, u in enumerate(units[:50])}
    control = [value for u, value in per_unit.items() if arms[u] == "control"]
    assert revenue["control"]["units"] == len(control)  # units without revenue are missing, not 0
    assert revenue["control"]["mean"] == pytest.approx(sum(control) / len(control))

    with pytest.raises(grpc.RpcError) as invalid:
        stub(daemon).TrackEvents(pb.TrackEventsRequest(events=events(("u", "converted", 2.0))), timeout=5)
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "events[0]: metric 'converted' is binomial" in str(invalid.value.details())


def test_feedback_is_classified_and_attributed_to_the_units_arm(daemon: Daemon) -> None:
    variant = evaluate(daemon, "fan")
    other = evaluate(daemon, "critic")
    praise = stub(daemon).SubmitFeedback(
        pb.SubmitFeedbackRequest(unit_key="fan", rating=5, text="Love it, checkout is fast", category="UX"),
        timeout=5,
    )
    assert praise.sentiment == pb.SENTIMENT_POSITIVE
    assert praise.priority == pb.PRIORITY_LOW
    assert list(praise.positive_terms) == ["fast", "love"]
    assert [(a.experiment_key, a.variant) for a in praise.attributions] == [("button-test", variant)]
    complaint = stub(daemon).SubmitFeedback(
        pb.SubmitFeedbackRequest(unit_key="critic", rating=1, text="I was charged twice and it crashed"),
        timeout=5,
    )
    assert complaint.sentiment == pb.SENTIMENT_NEGATIVE
    assert complaint.priority == pb.PRIORITY_CRITICAL
    assert "charged twice" in complaint.priority_terms
    stranger = stub(daemon).SubmitFeedback(pb.SubmitFeedbackRequest(unit_key="nobody", rating=3), timeout=5)
    assert not stranger.attributions
    with pytest.raises(grpc.RpcError) as invalid:
        stub(daemon).SubmitFeedback(pb.SubmitFeedbackRequest(unit_key="fan", rating=6), timeout=5)
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as unknown:
        stub(daemon).SubmitFeedback(
            pb.SubmitFeedbackRequest(unit_key="fan", rating=4, experiment_key="nope"), timeout=5
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    data = report(daemon)
    feedback = {f["variant"]: f for f in data["feedback"]}
    assert feedback[variant]["responses"] + feedback[other]["responses"] == 2
    assert feedback[variant]["sentiment"]["positive"] == 1
    assert feedback[other]["priority"]["critical"] == 1
    assert {"term": "charged twice", "count": 1} in feedback[other]["top_issues"]
    satisfaction = [r for r in data["results"] if r["metric"] == "satisfaction"]
    assert satisfaction[0]["control"]["units"] + satisfaction[0]["treatment"]["units"] == 2
    assert "Feedback" in analyze(daemon).text


def test_analyze_renders_json_text_and_html_and_needs_the_token(daemon: Daemon) -> None:
    for i in range(40):
        evaluate(daemon, f"v{i}")
    full = analyze(daemon)
    assert full.verdict == "KEEP_RUNNING"  # fewer than 100 units per arm
    data = struct_to_dict(full.report)
    assert data["experiment"]["hypothesis"] == "The green button converts better."
    assert data["experiment"]["status"] == "running"
    assert data["correction"] == "holm"
    assert data["srm"]["mismatch"] is False
    json.dumps(data, allow_nan=False)
    assert full.text.startswith("Hypothesis: The green button converts better.")
    assert "Verdict: KEEP_RUNNING" in full.text
    assert full.html.startswith("<!DOCTYPE html>")
    assert "<svg" in full.html
    assert "The green button converts better." in full.html
    only_json = analyze(daemon, format=pb.REPORT_FORMAT_JSON, correction=pb.CORRECTION_BH)
    assert (only_json.text, only_json.html) == ("", "")
    assert struct_to_dict(only_json.report)["correction"] == "bh"
    for request, code in [
        (pb.AnalyzeRequest(experiment_key="nope"), grpc.StatusCode.NOT_FOUND),
        (pb.AnalyzeRequest(), grpc.StatusCode.INVALID_ARGUMENT),
    ]:
        with pytest.raises(grpc.RpcError) as failed:
            stub(daemon).Analyze(request, metadata=daemon.auth(), timeout=5)
        assert failed.value.code() == code
    with pytest.raises(grpc.RpcError) as denied:
        stub(daemon).Analyze(pb.AnalyzeRequest(experiment_key="button-test"), timeout=5)
    assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_acknowledged_events_survive_kill_9(config_dir: Path, state_dir: Path) -> None:
    (config_dir / "flags.yaml").write_text(FLAGS)
    (config_dir / "experiments.yaml").write_text(EXPERIMENTS)
    daemon = Daemon(config_dir, state_dir).start()
    try:
        variant = evaluate(daemon, "durable")
        stub(daemon).TrackEvents(
            pb.TrackEventsRequest(events=events(("durable", "revenue", 42.0))), timeout=5
        )
        stub(daemon).SubmitFeedback(pb.SubmitFeedbackRequest(unit_key="durable", rating=4), timeout=5)
        daemon.kill9()
        daemon.start()
        revenue = next(r for r in report(daemon)["results"] if r["metric"] == "revenue")
        side = "control" if variant == "control" else "treatment"
        assert (revenue[side]["units"], revenue[side]["mean"]) == (1, 42.0)
    finally:
        daemon.stop()


def test_cli_lists_reports_and_plans(daemon: Daemon, tmp_path: Path) -> None:
    for i in range(10):
        evaluate(daemon, f"c{i}")
    env = {**os.environ, "SIDECAR_STATE_DIR": str(daemon.state_dir), "SIDECAR_ADDRESS": daemon.tcp_target}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sidecar.cli.main", "experiment", *args],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "button-test\tRUNNING\tflag button\tunits: control" in listed.stdout
    assert "orphan\tRUNNING\tflag no-such-flag" in listed.stdout
    assert "PROBLEMS: flag 'no-such-flag' does not exist" in listed.stdout
    text = cli("report", "button-test")
    assert text.returncode == 0, text.stderr
    assert "Verdict: KEEP_RUNNING" in text.stdout
    as_json = cli("report", "button-test", "--json", "--correction", "bh")
    payload = json.loads(as_json.stdout)
    assert payload["correction"] == "bh"
    assert sum(a["units"] for a in payload["arms"]) == 10
    page = tmp_path / "report.html"
    html = cli("report", "button-test", "--html", str(page))
    assert html.returncode == 0, html.stderr
    assert page.read_text().startswith("<!DOCTYPE html>")
    missing = cli("report", "nope")
    assert missing.returncode == 2
    assert "NOT_FOUND" in missing.stderr
    plan = cli("sample-size", "--baseline", "0.1", "--mde", "5%", "--json")
    assert plan.returncode == 0, plan.stderr
    # R: power.prop.test(p1 = 0.1, p2 = 0.105, power = 0.8)$n = 57762.65
    assert json.loads(plan.stdout)["per_arm_equal"] == 57_763
