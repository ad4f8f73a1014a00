"""The experiment runtime end to end on a real SQLite file and a fake clock: events, feedback, the overview
and the analysis, and the one-line refusals of bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sidecar.config.limits import CATEGORY_CHARS, FEEDBACK_TEXT_CHARS
from sidecar.errors import InvalidArgumentError, NotFoundError
from sidecar.experiments import Verdict
from sidecar.experiments.feedback_text import Priority, Sentiment
from sidecar.hlc import HybridLogicalClock
from sidecar.runtime.experiment_intake import (
    FeedbackSubmission,
    TrackedEvent,
)
from sidecar.runtime.experiment_results import collection_notes
from sidecar.runtime.experiments import ExperimentRuntime
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.experiment_store import ExperimentStore

NOW = 1.8e9
CONFIG = """\
flags:
  button:
    variants: {a: 1, b: 2}
    defaultVariant: a
    targeting: {fractional: [[a, 50], [b, 50]]}
experiments:
  e:
    flag: button
    control: a
    weights: {a: 1, b: 1}
    hypothesis: h
    start: "2020-01-01"
    metrics:
      - {name: bought, kind: binomial}
      - {name: items, kind: count, role: secondary}
    satisfaction: {}
  later:
    flag: button
    control: a
    weights: {a: 1, b: 3}
    hypothesis: h
    start: "2100-01-01"
    metrics: [{name: bought, kind: binomial}]
"""

T = TypeVar("T")


class FakeClock:
    def __init__(self, now: float) -> None:
        self.wall = now

    def now(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.wall


Scenario = Callable[[ExperimentRuntime], Awaitable[T]]


def run(tmp_path: Path, scenario: Scenario[T], units: int = 0) -> T:
    """Load CONFIG, expose ``units`` units through the evaluation hook, then run ``scenario``."""
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "flags.yaml").write_text(CONFIG)
    clock = FakeClock(NOW)
    database = StateDatabase(tmp_path / "sidecar.db")

    async def main() -> T:
        config = ConfigStore(config_dir, database, HybridLogicalClock("n", clock), clock, {})
        await config.reload(force=True)
        runtime = ExperimentRuntime(config, ExperimentStore(database), clock, {})
        await runtime.start()
        try:
            snapshot = config.require_snapshot()
            for i in range(units):
                context: dict[str, Any] = {"targetingKey": f"u{i}"}
                resolution = snapshot.evaluator.evaluate("button", context, NOW)
                runtime.evaluation(snapshot, resolution, context, NOW, 0.0)
            return await scenario(runtime)
        finally:
            await runtime.stop()

    try:
        return asyncio.run(main())
    finally:
        database.close()


def test_events_count_once_per_event_and_only_for_running_experiments(tmp_path: Path) -> None:
    async def scenario(runtime: ExperimentRuntime) -> tuple[int, int]:
        return await runtime.track(
            [
                TrackedEvent("u1", "bought", 1.0, NOW),
                TrackedEvent("u2", "items", 3.0, NOW),
                TrackedEvent("u3", "unknown", 1.0, NOW),  # no experiment tracks it
                TrackedEvent("u4", "bought", 1.0, 1e9),  # before every window
            ]
        )

    assert run(tmp_path, scenario) == (2, 2)


def test_overview_lists_experiments_with_status_and_exposed_units(tmp_path: Path) -> None:
    async def scenario(runtime: ExperimentRuntime) -> list[tuple[str, str, int]]:
        return [(o.config.key, o.status, sum(o.exposures.values())) for o in await runtime.overview()]

    assert run(tmp_path, scenario, units=30) == [("e", "running", 30), ("later", "scheduled", 0)]


def test_analysis_reads_exposures_events_and_feedback(tmp_path: Path) -> None:
    async def scenario(runtime: ExperimentRuntime) -> Any:
        await runtime.track([TrackedEvent(f"u{i}", "bought", 1.0, NOW) for i in range(0, 40, 2)])
        await runtime.submit_feedback(FeedbackSubmission("u0", 5, "love it", "ui", "e"))
        return await runtime.analyze("e")

    results = run(tmp_path, scenario, units=40)
    report = results.report
    assert results.status == "running"
    assert sum(arm.units for arm in report.arms) == 40
    bought = report.result("bought", "b")
    assert bought.control.units + bought.treatment.units == 40
    assert report.verdict is Verdict.KEEP_RUNNING  # 40 units are below the minimum per arm
    assert sum(s.responses for s in results.feedback.values()) == 1


def test_feedback_is_classified_and_attributed_to_the_units_arm(tmp_path: Path) -> None:
    async def scenario(runtime: ExperimentRuntime) -> Any:
        return await runtime.submit_feedback(FeedbackSubmission("u1", 1, "it crashed", "", None))

    receipt = run(tmp_path, scenario, units=2)
    assert receipt.classification.sentiment is Sentiment.NEGATIVE
    assert receipt.classification.priority is Priority.CRITICAL
    assert set(receipt.arms) == {"e"}  # "later" is not running yet
    assert receipt.arms["e"] in ("a", "b")


@pytest.mark.parametrize(
    ("events", "message"),
    [
        pytest.param(
            [TrackedEvent("", "bought", 1.0, NOW)], "events[0].unit_key is required", id="empty-unit"
        ),
        pytest.param([TrackedEvent("u", "", 1.0, NOW)], "events[0].metric is required", id="empty-metric"),
        pytest.param(
            [TrackedEvent("u", "bought", float("nan"), NOW)], "must be finite numbers", id="nan-value"
        ),
        pytest.param([TrackedEvent("u", "bought", 2.0, NOW)], "'bought' is binomial", id="binomial-2"),
        pytest.param([TrackedEvent("u", "items", -1.0, NOW)], "'items' counts", id="negative-count"),
    ],
)
def test_bad_events_refuse_the_whole_batch(tmp_path: Path, events: list[TrackedEvent], message: str) -> None:
    async def scenario(runtime: ExperimentRuntime) -> None:
        await runtime.track(events)

    with pytest.raises(InvalidArgumentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("feedback", "error", "message"),
    [
        pytest.param(FeedbackSubmission("", 3, "", "", None), InvalidArgumentError, "unit_key", id="no-unit"),
        pytest.param(FeedbackSubmission("u", 0, "", "", None), InvalidArgumentError, "rating", id="rating-0"),
        pytest.param(
            FeedbackSubmission("u", 3, "x" * (FEEDBACK_TEXT_CHARS.value + 1), "", None),
            InvalidArgumentError,
            "text is over the limit feedback_text.chars",
            id="long-text",
        ),
        pytest.param(
            FeedbackSubmission("u", 3, "", "c" * (CATEGORY_CHARS.value + 1), None),
            InvalidArgumentError,
            "category is over the limit category.chars",
            id="long-category",
        ),
        pytest.param(FeedbackSubmission("u", 3, "", "", "nope"), NotFoundError, "'nope'", id="no-experiment"),
    ],
)
def test_bad_feedback_is_refused(
    tmp_path: Path, feedback: FeedbackSubmission, error: type[Exception], message: str
) -> None:
    async def scenario(runtime: ExperimentRuntime) -> None:
        await runtime.submit_feedback(feedback)

    with pytest.raises(error, match=message):
        run(tmp_path, scenario)


def test_analyzing_an_unknown_experiment_is_not_found(tmp_path: Path) -> None:
    async def scenario(runtime: ExperimentRuntime) -> None:
        await runtime.analyze("nope")

    with pytest.raises(NotFoundError, match="'nope' does not exist"):
        run(tmp_path, scenario)


def test_collection_notes_name_configuration_problems_and_dropped_exposures() -> None:
    assert collection_notes((), 0) == []
    notes = collection_notes(("flag 'x' is DISABLED",), 3)
    assert notes[0] == "Configuration: flag 'x' is DISABLED."
    assert notes[1].startswith("3 exposures were dropped")
