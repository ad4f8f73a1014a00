"""One key grammar and one length limit, at every entry point: files, admin writes and requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sidecar.alerts.rules import parse_alerts
from sidecar.clock import SystemClock
from sidecar.config.keys import MAX_KEY_LENGTH
from sidecar.config.limits import check_request_key
from sidecar.config.located import parse_text
from sidecar.errors import ConfigError, InvalidArgumentError
from sidecar.hlc import HybridLogicalClock
from sidecar.rollout.parse import parse_rollouts
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.sections import FLAG, ROLLOUT

# key -> (in the grammar: files and admin writes accept it; a request may name it)
KEYS = {
    "one-character": ("a", True, True),
    "longest": ("k" * MAX_KEY_LENGTH, True, True),
    "one-too-long": ("k" * (MAX_KEY_LENGTH + 1), False, False),
    "empty": ("", False, False),
    "punctuation": ("checkout-v2.eu_west", True, True),
    "leading-dot": (".hidden", False, True),
    "slash": ("bad/key", False, True),
    "trailing-newline": ("checkout\n", False, True),
}
ALERT_RULE = {"metric": "error_rate", "thresholds": {"warning": 0.1}}
FLAG_DEFINITION = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}
CASES = pytest.mark.parametrize(("key", "in_grammar", "requestable"), KEYS.values(), ids=KEYS.keys())


def _accepted(action: Callable[[], object]) -> bool:
    try:
        action()
    except (ConfigError, InvalidArgumentError):
        return False
    return True


@CASES
def test_files_accept_exactly_the_grammar(key: str, in_grammar: bool, requestable: bool) -> None:
    rollouts = parse_text(json.dumps({"rollouts": {key: {}}}), "r.json", "json")
    alerts = parse_text(json.dumps({"alerts": {key: ALERT_RULE}}), "a.json", "json")
    assert _accepted(lambda: parse_rollouts(rollouts)) is in_grammar
    assert _accepted(lambda: parse_alerts(alerts)) is in_grammar


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ConfigStore]:
    clock = SystemClock()
    database = StateDatabase(tmp_path / "sidecar.db")
    (tmp_path / "config").mkdir()
    yield ConfigStore(tmp_path / "config", database, HybridLogicalClock("n", clock), clock, {})
    database.close()


@CASES
@pytest.mark.parametrize(
    ("kind", "definition"), [(FLAG, FLAG_DEFINITION), (ROLLOUT, {})], ids=[FLAG, ROLLOUT]
)
def test_admin_writes_accept_exactly_the_grammar(
    store: ConfigStore,
    kind: str,
    definition: dict[str, object],
    key: str,
    in_grammar: bool,
    requestable: bool,
) -> None:
    async def put() -> None:
        await store.reload()
        await store.put_record(kind, key, definition, "tester", "boundary")

    assert _accepted(lambda: asyncio.run(put())) is in_grammar


@CASES
@pytest.mark.parametrize("field", ["flag_key", "rollout_key", "experiment_key"])
def test_requests_are_bounded_by_the_same_limit(
    field: str, key: str, in_grammar: bool, requestable: bool
) -> None:
    # Not matched against the pattern: flag files may use flagd's looser keys, and unknown keys are NOT_FOUND.
    assert _accepted(lambda: check_request_key(field, key)) is requestable


def test_an_optional_request_key_may_be_empty_but_not_too_long() -> None:
    check_request_key("rollout", "", required=False)
    with pytest.raises(
        InvalidArgumentError,
        match=f"rollout is over the limit key.chars \\({MAX_KEY_LENGTH + 1} > {MAX_KEY_LENGTH} characters\\)",
    ):
        check_request_key("rollout", "k" * (MAX_KEY_LENGTH + 1), required=False)
