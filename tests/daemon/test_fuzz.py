"""Generated requests at every RPC of every gRPC listener: never UNKNOWN, never INTERNAL, never a crash.

Each method of every service the daemon serves (ours, flagd's evaluation and sync, health, reflection and
peer sync) gets request bytes that hypothesis generates (random, truncated valid messages, huge length
prefixes), with bad, missing and valid credentials, many calls in flight at once. Only statuses a person can
act on may come back, and the daemon serves afterwards. ``SIDECAR_FUZZ_REQUESTS`` sets the count per RPC;
``make soak`` (bench/bench_fuzz_soak.py) sends 20,000 to each.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.support.daemon import Daemon
from tests.support.fuzz import LISTENERS, Listener, Method, fuzz_daemon, storm

REQUESTS = int(os.environ.get("SIDECAR_FUZZ_REQUESTS", "600"))
CASES = [(listener, method) for listener in LISTENERS for method in listener.methods]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with fuzz_daemon(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize(("listener", "method"), CASES, ids=[f"{lst.name}:{m.path}" for lst, m in CASES])
def test_generated_requests_never_answer_unknown(daemon: Daemon, listener: Listener, method: Method) -> None:
    sent = storm(listener.target(daemon), listener.metadata(daemon), method, REQUESTS)
    assert not sent.failures, f"{len(sent.failures)} of {sum(sent.codes.values())}: {sent.failures[:5]}"
    assert sum(sent.codes.values()) >= REQUESTS
    # Some calls got past the credential check, into the service itself.
    assert set(sent.codes) - {grpc.StatusCode.UNAUTHENTICATED}, sent.codes
    assert daemon.health() == health_pb2.HealthCheckResponse.SERVING


def test_every_service_reflection_lists_is_fuzzed(daemon: Daemon) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(daemon.channel())
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (answer,) = stub.ServerReflectionInfo(iter([request]), timeout=5)
    listed = {service.name for service in answer.list_services_response.service}
    fuzzed = {method.path.split("/")[1] for method in LISTENERS[0].methods}
    assert listed
    assert listed <= fuzzed, listed - fuzzed
