"""The experiment store: per-unit aggregates attributed to the arm of the unit's first exposure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.experiments import MetricAggregate, MetricKind
from sidecar.experiments.feedback import FeedbackEntry
from sidecar.store.database import StateDatabase
from sidecar.store.experiment_store import ExperimentStore, ExposureRow, FeedbackRow

METRICS = {"converted": MetricKind.BINOMIAL, "revenue": MetricKind.CONTINUOUS}
WINDOW = (100.0, 200.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExperimentStore]:
    database = StateDatabase(tmp_path / "sidecar.db")
    yield ExperimentStore(database)
    database.close()


def exposure(unit: str, variant: str, at: float = 150.0) -> ExposureRow:
    return ExposureRow("exp", unit, variant, at, at, False)


def test_events_are_summed_per_unit_and_attributed_even_when_the_exposure_comes_later(
    store: ExperimentStore,
) -> None:
    store.save([exposure("a", "control"), exposure("b", "treatment")], {}, [])
    store.save(
        [],
        {
            ("exp", "converted", "a"): [1.0, 1],
            ("exp", "converted", "b"): [0.0, 1],
            ("exp", "revenue", "a"): [10.0, 1],
            ("exp", "revenue", "late"): [4.0, 1],
            ("exp", "revenue", "ghost"): [7.0, 2],
            ("other", "revenue", "a"): [99.0, 1],
        },
        [],
    )
    store.save([], {("exp", "revenue", "a"): [5.0, 2], ("exp", "converted", "b"): [1.0, 1]}, [])
    store.save([exposure("late", "treatment")], {}, [])  # its event was stored before its exposure

    data = store.load("exp", METRICS, WINDOW)
    assert data.exposures == {"control": 1, "treatment": 2}
    assert data.metrics["converted"] == {
        "control": MetricAggregate.binomial(1, 1),
        "treatment": MetricAggregate.binomial(1, 1),  # two events of one unit: one conversion
    }
    assert data.metrics["revenue"] == {
        "control": MetricAggregate(1, 15.0, 225.0),  # the unit's sum, squared
        "treatment": MetricAggregate(1, 4.0, 16.0),
    }
    assert data.unexposed_events == 2  # "ghost" was never exposed


def test_a_unit_keeps_its_first_arm_and_is_flagged_when_served_another(store: ExperimentStore) -> None:
    store.save([ExposureRow("exp", "u", "control", 110.0, 120.0, False)], {}, [])
    store.save([ExposureRow("exp", "u", "treatment", 130.0, 140.0, False)], {}, [])
    store.save([ExposureRow("exp", "v", "control", 110.0, 110.0, False)], {}, [])
    assert store.arms_of("u") == {"exp": "control"}
    data = store.load("exp", {}, WINDOW)
    assert data.exposures == {"control": 2}
    assert data.switched_units == 1
    assert store.exposure_counts() == {"exp": {"control": 2}}


def test_feedback_is_attributed_to_exposed_units_inside_the_window(store: ExperimentStore) -> None:
    store.save([exposure("u", "treatment")], {}, [])
    store.save(
        [],
        {},
        [
            FeedbackRow("u", None, 5, "love it", "ux", 150.0),
            FeedbackRow("u", "exp", 2, "slow", "", 160.0),
            FeedbackRow("u", "another", 1, "not for exp", "", 160.0),
            FeedbackRow("u", None, 4, "too early", "", 50.0),
            FeedbackRow("stranger", "exp", 3, "", "", 150.0),
        ],
    )
    data = store.load("exp", {}, WINDOW)
    assert data.feedback == (
        FeedbackEntry("u", "treatment", 5, "love it", "ux"),
        FeedbackEntry("u", "treatment", 2, "slow", None),
    )
    assert data.unattributed_feedback == 1
