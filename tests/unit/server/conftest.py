from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.unit.server.harness import ManualClock, Stack, running_stack

# One file with a section of each kind the servicers serve. The experiment started long before the
# harness clock; the alert fires on its first evaluation (every daemon uses more than 1 MB).
CONFIG = {
    "flags": {
        "banner": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
        "greeting": {
            "state": "ENABLED",
            "variants": {"formal": "Good day", "casual": "Hi"},
            "defaultVariant": "formal",
            "targeting": {"if": [{"==": [{"var": "tier"}, "gold"]}, "casual", None]},
        },
        "retired": {"state": "DISABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"},
        "button": {
            "state": "ENABLED",
            "variants": {"control": "blue", "green": "green"},
            "defaultVariant": "control",
            "targeting": {"fractional": [["control", 50], ["green", 50]]},
        },
    },
    "rollouts": {
        "checkout-v2": {
            "description": "new checkout",
            "stickiness": "userId",
            "phases": [
                {"name": "CANARY", "percent": 10, "minDuration": "1m", "minSamples": 10},
                {"name": "HALF", "percent": 50, "minDuration": "1m"},
                {"name": "FULL", "percent": 100, "minDuration": "1m"},
            ],
        }
    },
    "experiments": {
        "button-test": {
            "flag": "button",
            "control": "control",
            "weights": {"control": 50, "green": 50},
            "hypothesis": "green gets more clicks",
            "start": "2026-01-01",
            "metrics": [{"name": "clicked", "kind": "binomial", "role": "primary", "mde": 0.05}],
        }
    },
    "alerts": {
        "memory": {
            "description": "resident memory",
            "metric": "memory_rss_mb",
            "thresholds": {"warning": 1},
            "interval": "10s",
        }
    },
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def stack(config_dir: Path, state_dir: Path, clock: ManualClock) -> Iterator[Stack]:
    (config_dir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    with running_stack(config_dir, state_dir, clock) as running:
        yield running
