"""Generated garbage at every RPC of the main listener: never UNKNOWN, never a crash.

Each method of every service the daemon serves (ours, health and reflection) gets request bytes that
hypothesis generates (random, truncated valid messages, huge length prefixes), with bad or missing
credentials. Only statuses a person can act on may come back. ``SIDECAR_FUZZ_EXAMPLES`` raises the count
per RPC (the fault soak in bench/ runs 20,000).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.v1 import admin_pb2, alerts_pb2, evaluation_pb2, experiment_pb2, routing_pb2
from tests.support.daemon import Daemon

EXAMPLES = int(os.environ.get("SIDECAR_FUZZ_EXAMPLES", "150"))
DESCRIPTORS = (admin_pb2, alerts_pb2, evaluation_pb2, experiment_pb2, routing_pb2, health_pb2)
METHODS = [
    *sorted(
        (f"/{service.full_name}/{method.name}", method.client_streaming, method.server_streaming)
        for module in DESCRIPTORS
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ),
    ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", True, True),
]
ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.DEADLINE_EXCEEDED,  # streams that stay open (Watch) until the client's deadline
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNIMPLEMENTED,  # grpc.health.v1 List, which the library's servicer does not offer
}
# Bytes that parse as something, bytes that cannot, and prefixes claiming more than follows.
PAYLOADS = st.one_of(
    st.binary(max_size=256),
    st.builds(
        lambda n, tail: bytes([0x0A]) + n.to_bytes(4, "little") + tail,
        st.integers(0, 2**32 - 1),
        st.binary(max_size=16),
    ),
    st.sampled_from([b"\x0a\xff\xff\xff\xff\x0f", b"\x12", b"\xff" * 64, b"\x0a\x03\xe2\x82", b"\x80" * 12]),
)
METADATA = st.sampled_from(
    [
        (),
        (("authorization", "Bearer wrong"),),
        (("authorization", "Basic x"),),
        (("authorization", "Bearer " + "a" * 8000),),
        (("x-actor", "a" * 5000),),
        (("traceparent", "00-zz-yy-01"),),
        (("grpc-trace-bin", b"\xff\xfe\x00"),),
    ]
)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("fuzz")
    (base / "config").mkdir()
    with Daemon(base / "config", base / "state") as running:
        yield running


def call(
    channel: grpc.Channel, path: str, streams: tuple[bool, bool], payload: bytes, metadata: tuple
) -> grpc.StatusCode:
    identity = {"request_serializer": None, "response_deserializer": None}
    try:
        if streams == (False, False):
            channel.unary_unary(path, **identity)(payload, metadata=metadata, timeout=5)
        elif streams == (False, True):
            for _ in channel.unary_stream(path, **identity)(payload, metadata=metadata, timeout=0.5):
                pass
        elif streams == (True, False):
            channel.stream_unary(path, **identity)(iter([payload]), metadata=metadata, timeout=5)
        else:
            for _ in channel.stream_stream(path, **identity)(iter([payload]), metadata=metadata, timeout=0.5):
                pass
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "client_streaming", "server_streaming"), METHODS, ids=[m[0] for m in METHODS]
)
def test_garbage_never_answers_unknown(
    daemon: Daemon, path: str, client_streaming: bool, server_streaming: bool
) -> None:
    channel = daemon.channel()
    seen: Counter[grpc.StatusCode] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(payload=PAYLOADS, metadata=METADATA)
    def fuzz(payload: bytes, metadata: tuple) -> None:
        code = call(channel, path, (client_streaming, server_streaming), payload, metadata)
        seen[code] += 1
        assert code in ALLOWED, f"{path} answered {code.name} to {payload!r} with {metadata!r}"

    fuzz()
    assert sum(seen.values()) >= EXAMPLES
    assert daemon.health() == health_pb2.HealthCheckResponse.SERVING
