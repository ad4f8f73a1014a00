"""OpenFeature's own flagd provider against a real daemon, in RPC mode and in in-process mode.

RPC mode calls ``flagd.evaluation`` (the provider speaks v2) on the evaluation listener; in-process mode
syncs the flags from ``flagd.sync.v1`` on the flagd sync listener and evaluates them itself. Either way
the application sees the same values, reasons, variants and errors, and hears of every change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import CacheType, ResolverType
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags
from tests.support.openfeature import FLAGS, TOP

MODES = ["rpc", "in-process"]
# The claim is "within a second"; a loaded two-core box gets five (bench/ measures the real figure).
CHANGE_BOUND_SECONDS = 5.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("openfeature")
    config = base / "config"
    config.mkdir()
    write_flags(config, "shop.json", FLAGS, **TOP)
    with Daemon(config, base / "state", flagd_sync=True) as running:
        yield running


class Changes:
    """Configuration-changed events a client heard, with when each arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[tuple[float, list[str]]] = []

    def __call__(self, details: EventDetails) -> None:
        with self._lock:
            self.events.append((time.monotonic(), list(details.flags_changed or [])))

    def arrival(self, key: str, after: float) -> float | None:
        with self._lock:
            return next((at for at, keys in self.events if at >= after and key in keys), None)


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def client(daemon: Daemon, mode: str) -> Iterator[tuple[OpenFeatureClient, Changes]]:
    if mode == "rpc":
        provider = FlagdProvider(
            resolver_type=ResolverType.RPC, host="127.0.0.1", port=daemon.port, cache=CacheType.DISABLED
        )
    else:
        provider = FlagdProvider(
            resolver_type=ResolverType.IN_PROCESS, host="127.0.0.1", port=daemon.flagd_sync_port
        )
    api.set_provider_and_wait(provider, mode)
    client = api.get_client(mode)
    changes = Changes()
    client.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, changes)
    yield client, changes
    client.remove_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, changes)
    provider.shutdown()


def test_every_type_resolves(client: tuple[OpenFeatureClient, Changes]) -> None:
    c, _ = client
    boolean = c.get_boolean_details("new-checkout", True)
    assert (boolean.value, boolean.variant, boolean.reason) == (False, "off", Reason.DEFAULT)
    string = c.get_string_details("greeting", "x")
    assert (string.value, string.variant, string.reason) == ("hello", "hi", Reason.STATIC)
    integer = c.get_integer_details("max-items", 0)
    assert (integer.value, integer.variant) == (3, "few")
    assert isinstance(integer.value, int)
    number = c.get_float_details("ratio", 0.0)
    assert (number.value, number.variant) == (0.75, "high")
    theme = c.get_object_details("theme", {})
    assert (theme.value, theme.variant) == ({"bg": "black", "size": 2}, "dark")


def test_targeting_match_through_a_shared_evaluator(client: tuple[OpenFeatureClient, Changes]) -> None:
    c, _ = client
    context = EvaluationContext("user-1", {"email": "ann@example.com"})
    details = c.get_boolean_details("new-checkout", False, context)
    assert (details.value, details.variant, details.reason) == (True, "on", Reason.TARGETING_MATCH)
    assert details.error_code is None


def test_disabled_flag_serves_the_code_default(client: tuple[OpenFeatureClient, Changes]) -> None:
    c, _ = client
    details = c.get_boolean_details("retired", False)
    assert (details.value, details.reason, details.error_code) == (False, Reason.DISABLED, None)


def test_unknown_flag_is_flag_not_found(client: tuple[OpenFeatureClient, Changes]) -> None:
    c, _ = client
    details = c.get_string_details("no-such-flag", "fallback")
    assert (details.value, details.error_code, details.reason) == (
        "fallback",
        ErrorCode.FLAG_NOT_FOUND,
        "ERROR",
    )


def test_wrong_type_is_type_mismatch(client: tuple[OpenFeatureClient, Changes]) -> None:
    c, _ = client
    details = c.get_string_details("max-items", "fallback")
    assert (details.value, details.error_code) == ("fallback", ErrorCode.TYPE_MISMATCH)
    assert c.get_boolean_details("greeting", True).error_code == ErrorCode.TYPE_MISMATCH


def _latency(changes: Changes, key: str, started: float, what: str, mode: str) -> float:
    arrived = wait_for(lambda: changes.arrival(key, started), timeout=30.0)
    latency = arrived - started
    print(f"{mode}: configuration change after {what} heard in {latency * 1000:.0f} ms")
    assert latency < CHANGE_BOUND_SECONDS, f"{what}: change heard only after {latency:.2f}s"
    return latency


def test_file_edit_raises_configuration_changed(
    daemon: Daemon, client: tuple[OpenFeatureClient, Changes], mode: str
) -> None:
    c, changes = client
    key = f"edited-{mode}"
    started = time.monotonic()
    write_flags(daemon.config_dir, f"{key}.json", {key: boolean_flag("off")})
    _latency(changes, key, started, "a new file", mode)
    started = time.monotonic()
    write_flags(daemon.config_dir, f"{key}.json", {key: boolean_flag("on")})
    _latency(changes, key, started, "a file edit", mode)
    assert wait_for(lambda: c.get_boolean_value(key, False), timeout=10.0) is True


def test_admin_write_raises_configuration_changed(
    daemon: Daemon, client: tuple[OpenFeatureClient, Changes], mode: str
) -> None:
    c, changes = client
    key = f"written-{mode}"
    started = time.monotonic()
    request = admin_pb2.PutFlagRequest(flag_key=key, definition=to_struct(boolean_flag("on")), reason="test")
    daemon.admin().PutFlag(request, metadata=daemon.auth(), timeout=10)
    _latency(changes, key, started, "an admin write", mode)
    assert c.get_boolean_details(key, False).value is True
