"""The Python client's context conversion and its circuit, without a sidecar."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from rollout_sidecar_client import SidecarClient, to_json_context
from rollout_sidecar_client.circuit import Circuit

from tests.support.daemon import refused_address


def test_common_python_values_become_json() -> None:
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    context = {
        "targetingKey": key,
        "price": Decimal("12.50"),
        "seen": datetime(2026, 12, 4, 10, 30, tzinfo=UTC),
        "local": datetime(2026, 12, 4, 10, 30, tzinfo=timezone(timedelta(hours=2))),
        "naive": datetime(2026, 12, 4, 10, 30),
        "day": date(2026, 12, 4),
        "blob": b"\x00\xff",
        "none": None,
        "nested": {"ids": (1, key), "ok": True},
    }
    assert to_json_context(context) == {
        "targetingKey": "12345678-1234-5678-1234-567812345678",
        "price": "12.50",
        "seen": "2026-12-04T10:30:00Z",
        "local": "2026-12-04T10:30:00+02:00",
        "naive": "2026-12-04T10:30:00Z",
        "day": "2026-12-04",
        "blob": "AP8=",
        "none": None,
        "nested": {"ids": [1, "12345678-1234-5678-1234-567812345678"], "ok": True},
    }


@pytest.mark.parametrize(
    ("context", "named"),
    [({"a": {"b": object()}}, "'a.b'"), ({"a": [1, {1, 2}]}, "'a[1]'"), ({"a": {3: "x"}}, "key 3 under a")],
)
def test_a_value_it_cannot_send_is_a_type_error_naming_the_key(context: dict, named: str) -> None:
    with pytest.raises(TypeError, match=named.replace("[", r"\[").replace("]", r"\]")):
        to_json_context(context)


def test_the_type_error_comes_before_any_io() -> None:
    with refused_address() as address, SidecarClient(address, timeout=5.0) as client:
        with pytest.raises(TypeError, match="'when'"):
            client.route("svc", {"when": object()})
        with pytest.raises(TypeError, match="'when'"):
            client.bool_value("flag", False, {"when": object()})
        assert not client.circuit.is_open  # nothing was sent, so nothing failed


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_circuit_opens_after_consecutive_failures_and_probes_after_the_cooldown() -> None:
    clock = Clock()
    circuit = Circuit(failures=3, cooldown=1.0, clock=clock)
    circuit.failed()
    circuit.succeeded()  # a success in between resets the count
    circuit.failed()
    circuit.failed()
    assert circuit.allow()
    circuit.failed()
    assert circuit.is_open
    assert not circuit.allow()
    clock.now = 1.0
    assert circuit.allow()  # one probe
    assert not circuit.allow()  # and only one at a time
    circuit.failed()  # the probe failed: another cool-down
    clock.now = 1.5
    assert not circuit.allow()
    clock.now = 2.0
    assert circuit.allow()
    circuit.succeeded()
    assert not circuit.is_open
    assert circuit.allow()
