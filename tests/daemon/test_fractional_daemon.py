"""Percentage rollouts through the real daemon: the split over 100,000 units, and stickiness when it grows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.server.convert import to_struct
from sidecar.v1 import evaluation_pb2 as pb
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags

pytestmark = pytest.mark.slow
UNITS = 100_000
IN_FLIGHT = 1_000


def split_flag(on_weight: int) -> dict[str, object]:
    return {**boolean_flag("off"), "targeting": {"fractional": [["on", on_weight], ["off", 100 - on_weight]]}}


@pytest.fixture
def daemon(config_dir: Path, state_dir: Path) -> Iterator[Daemon]:
    write_flags(config_dir, "split.json", {"split": split_flag(20)})
    with Daemon(config_dir, state_dir) as running:
        yield running


def variants(daemon: Daemon, units: range) -> dict[str, str]:
    """Each unit's variant, evaluated over the unix socket with many calls in flight."""
    evaluate = daemon.evaluation(daemon.unix_target).Evaluate
    result: dict[str, str] = {}
    keys = [f"user-{i}" for i in units]
    for start in range(0, len(keys), IN_FLIGHT):
        chunk = keys[start : start + IN_FLIGHT]
        calls = [
            evaluate.future(
                pb.EvaluateRequest(flag_key="split", context=to_struct({"targetingKey": key})), timeout=60
            )
            for key in chunk
        ]
        result.update((key, call.result().variant) for key, call in zip(chunk, calls, strict=True))
    return result


def test_split_matches_weights_and_growing_it_keeps_every_unit_in(daemon: Daemon) -> None:
    before = variants(daemon, range(UNITS))
    share = sum(v == "on" for v in before.values()) / UNITS
    assert abs(share - 0.20) <= 0.01, share

    write_flags(daemon.config_dir, "split.json", {"split": split_flag(50)})
    sample = range(20_000)
    wait_for(lambda: sum(v == "on" for v in variants(daemon, range(2_000)).values()) > 800, timeout=5)
    after = variants(daemon, sample)
    assert all(after[key] == "on" for key in after if before[key] == "on"), "a unit left the growing variant"
    assert abs(sum(v == "on" for v in after.values()) / len(sample) - 0.50) <= 0.015
