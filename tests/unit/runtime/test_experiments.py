"""The exposure hook on the evaluation path: split resolutions of experiment flags only, bounded, safe."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sidecar.clock import SystemClock
from sidecar.config.located import parse_text
from sidecar.errors import StorageError
from sidecar.hlc import HybridLogicalClock
from sidecar.runtime import experiments as runtime_module
from sidecar.runtime.experiments import ExperimentRuntime
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.experiment_store import ExperimentStore
from sidecar.store.snapshot import DatabaseLoad, Snapshot, build_snapshot
from sidecar.store.sources import SourceStatus, compile_document
from tests.support.refusing import refuse_writes

CONFIG = """\
flags:
  button:
    variants: {a: 1, b: 2}
    defaultVariant: a
    targeting:
      if: [{"==": [{var: targetingKey}, staff]}, b, {fractional: [[a, 50], [b, 50]]}]
  plain:
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
    metrics: [{name: m, kind: binomial}]
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ExperimentRuntime]:
    clock = SystemClock()
    database = StateDatabase(tmp_path / "sidecar.db")
    config = ConfigStore(tmp_path, database, HybridLogicalClock("n", clock), clock, {})
    yield ExperimentRuntime(config, ExperimentStore(database), clock, {})
    database.close()


def snapshot() -> Snapshot:
    content = compile_document(parse_text(CONFIG, "c.yaml", "yaml"))
    empty = DatabaseLoad({}, {}, SourceStatus("database", True, (), 0.0, 0))
    return build_snapshot(1, [content], [], True, empty, {})


def test_only_split_resolutions_of_experiment_flags_are_buffered(runtime: ExperimentRuntime) -> None:
    current = snapshot()
    for key, context in [
        ("button", {"targetingKey": "u1"}),  # SPLIT: buffered
        ("button", {"targetingKey": "staff"}),  # TARGETING_MATCH: not randomised
        ("button", {}),  # no targetingKey: DEFAULT
        ("plain", {"targetingKey": "u1"}),  # no experiment on this flag
    ]:
        runtime.evaluation(current, current.evaluator.evaluate(key, context, 1.8e9), context, 1.8e9, 0.0)
    buffered: list[Any] = runtime._exposures
    assert [(experiments[0].key, context, when) for experiments, context, _, when, _ in buffered] == [
        ("e", {"targetingKey": "u1"}, 1.8e9)
    ]


def test_a_full_buffer_drops_and_counts_and_the_hook_never_raises(
    runtime: ExperimentRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_module, "MAX_BUFFERED_EXPOSURES", 2)
    current = snapshot()
    for i in range(5):
        context = {"targetingKey": f"u{i}"}
        runtime.evaluation(current, current.evaluator.evaluate("button", context, 1.8e9), context, 1.8e9, 0.0)
    assert len(runtime._exposures) == 2
    assert runtime.dropped_exposures == 3
    broken: Any = object()  # not a snapshot: indexing it fails inside the hook
    resolution = current.evaluator.evaluate("button", {"targetingKey": "u9"}, 1.8e9)
    runtime.evaluation(broken, resolution, {"targetingKey": "u9"}, 1.8e9, 0.0)


def test_exposures_a_refused_write_could_not_store_wait_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_module, "MAX_BUFFERED_EXPOSURES", 3)
    clock = SystemClock()
    database = StateDatabase(tmp_path / "sidecar.db")
    config = ConfigStore(tmp_path, database, HybridLogicalClock("n", clock), clock, {})
    runtime = ExperimentRuntime(config, ExperimentStore(database), clock, {})
    current = snapshot()

    def expose(*units: str) -> None:
        for unit in units:
            context = {"targetingKey": unit}
            resolution = current.evaluator.evaluate("button", context, 1.8e9)
            runtime.evaluation(current, resolution, context, 1.8e9, 0.0)

    expose("u1", "u2")
    refuse_writes(database)
    with pytest.raises(StorageError):
        asyncio.run(runtime._flush())
    expose("u3", "u4")  # one more than the buffer holds
    assert [context["targetingKey"] for _, context, *_ in runtime._exposures] == ["u1", "u2", "u3"]
    refuse_writes(database, refuse=False)
    expose("u5")
    assert runtime.dropped_exposures == 2
    database.close()
