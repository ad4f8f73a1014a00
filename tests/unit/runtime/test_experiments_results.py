"""Results from what the store holds: the store's own findings become notes ahead of the analysis'."""

from __future__ import annotations

from sidecar.config.located import parse_text
from sidecar.experiments import Correction
from sidecar.experiments.config import SATISFACTION
from sidecar.experiments.config_parse import parse_experiments
from sidecar.experiments.feedback import FeedbackEntry
from sidecar.runtime.experiment_results import results_of
from sidecar.store.experiment_store import StoredExperiment
from tests.unit.experiments.builders import binomial

CONFIG = """\
experiments:
  e:
    flag: f
    control: a
    weights: {a: 1, b: 1}
    hypothesis: h
    start: "2020-01-01"
    metrics: [{name: m, kind: binomial}]
    satisfaction: {}
"""


def test_switched_units_and_unattributed_feedback_are_noted_first() -> None:
    config = parse_experiments(parse_text(CONFIG, "e.yaml", "yaml"))["e"]
    stored = StoredExperiment(
        exposures={"a": 500, "b": 500},
        switched_units=7,
        metrics={"m": {"a": binomial(50, 500), "b": binomial(60, 500)}},
        unexposed_events=0,
        feedback=(FeedbackEntry("u1", "a", 4), FeedbackEntry("u2", "b", 5)),
        unattributed_feedback=2,
    )
    results = results_of(config, stored, correction=Correction.BH, notes=["first"], status="ended")
    assert results.status == "ended"
    assert results.report.correction is Correction.BH
    warnings = results.report.warnings
    assert warnings[0] == "first"
    assert warnings[1].startswith("7 units were served more than one arm")
    assert warnings[2].startswith("2 feedback entries named this experiment")
    assert results.report.result(SATISFACTION, "b").treatment.units == 1
    assert set(results.feedback) == {"a", "b"}


def test_without_findings_only_the_given_notes_lead() -> None:
    config = parse_experiments(parse_text(CONFIG, "e.yaml", "yaml"))["e"]
    stored = StoredExperiment({"a": 500, "b": 500}, 0, {}, 0, (), 0)
    notes: list[str] = []
    results = results_of(config, stored, correction=None, notes=notes, status="running")
    assert not any("served more than one arm" in w for w in results.report.warnings)
    assert notes == []  # the caller's list is not changed
