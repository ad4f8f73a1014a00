"""Generated HTTP requests at the management and OFREP listeners: never a 5xx, and they keep serving.

``SIDECAR_FUZZ_REQUESTS`` sets the count (as for the gRPC fuzz); ``make soak`` sends 20,000.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.daemon import Daemon
from tests.support.fuzz import fuzz_daemon
from tests.support.fuzz_http import OFREP, http_storm

REQUESTS = int(os.environ.get("SIDECAR_FUZZ_REQUESTS", "600"))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with fuzz_daemon(tmp_path_factory.mktemp("fuzz-http")) as running:
        yield running


@pytest.mark.slow
def test_the_management_listener_never_answers_5xx(daemon: Daemon) -> None:
    seen, failures = http_storm(daemon.management_address, REQUESTS)
    assert not failures, failures[:5]
    assert sum(seen.values()) >= REQUESTS
    # Both well-formed requests that the handlers served and refused ones.
    assert seen[200], seen
    assert sum(n for status, n in seen.items() if status and 400 <= status < 500), seen
    with urllib.request.urlopen(f"{daemon.management_url}/readyz", timeout=5) as answer:
        assert answer.status == 200


@pytest.mark.slow
def test_the_ofrep_listener_never_answers_5xx(daemon: Daemon) -> None:
    seen, failures = http_storm(f"127.0.0.1:{daemon.ofrep_port}", REQUESTS, OFREP)
    assert not failures, failures[:5]
    assert sum(seen.values()) >= REQUESTS
    # Evaluations answered, and refusals of every kind.
    assert seen[200], seen
    assert sum(n for status, n in seen.items() if status and 400 <= status < 500), seen
    with urllib.request.urlopen(
        urllib.request.Request(
            f"{daemon.ofrep_url}/ofrep/v1/evaluate/flags",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        ),
        timeout=5,
    ) as answer:
        assert answer.status == 200
