"""JSON encoding of the domain's dataclasses: round trips, and old rows stay readable as fields are added."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from sidecar.rollout.breaker import BreakerState
from sidecar.rollout.state import RolloutState, RolloutStatus, initial_state
from sidecar.store.codec import decode, encode


class Colour(enum.Enum):
    RED = "red"


class Shape(enum.Enum):
    ROUND = "round"


@dataclass(frozen=True)
class Inner:
    size: float = 0.0


@dataclass(frozen=True)
class Outer:
    name: str
    colour: Colour
    tags: tuple[str, ...] = ()
    pair: tuple[int, str] = (0, "")
    inner: Inner | None = None
    sizes: Mapping[str, Inner] = field(default_factory=dict)
    either: Colour | Shape | None = None
    loose: int | str = 0
    derived: int = field(default=0, init=False)


def test_a_dataclass_round_trips_through_plain_json_data() -> None:
    value = Outer("x", Colour.RED, ("a", "b"), (1, "one"), Inner(1.5), {"s": Inner(2.0)}, Shape.ROUND, "text")
    data = encode(value)
    assert data == {
        "name": "x",
        "colour": "red",
        "tags": ["a", "b"],
        "pair": [1, "one"],
        "inner": {"size": 1.5},
        "sizes": {"s": {"size": 2.0}},
        "either": "round",
        "loose": "text",
    }
    assert decode(Outer, data) == value


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"name": "x", "colour": "red"}, Outer("x", Colour.RED), id="missing-fields-default"),
        pytest.param({"name": "x", "colour": "red", "gone": 1}, Outer("x", Colour.RED), id="unknown-ignored"),
        pytest.param(
            {"name": "x", "colour": "red", "inner": {"size": 3}},
            Outer("x", Colour.RED, inner=Inner(3.0)),
            id="int",
        ),
        pytest.param(
            {"name": "x", "colour": "red", "either": "mauve"},
            Outer("x", Colour.RED, either="mauve"),
            id="no-enum",
        ),  # type: ignore[arg-type]
    ],
)
def test_decoding_tolerates_old_and_new_rows(data: dict[str, object], expected: Outer) -> None:
    assert decode(Outer, data) == expected


def test_rollout_state_round_trips() -> None:
    state = initial_state("r", 1.8e9)
    assert isinstance(state.breaker, BreakerState)
    stored = encode(state)
    assert stored["status"] == RolloutStatus.RUNNING.value
    assert decode(RolloutState, stored) == state
