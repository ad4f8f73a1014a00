"""`sidecar health` encodes its one-field request and decodes the answer by hand: exactly as protobuf does."""

from __future__ import annotations

import pytest
from grpc_health.v1 import health_pb2

from sidecar.cli.health import STATUSES, decode_status, encode_request

Response = health_pb2.HealthCheckResponse


@pytest.mark.parametrize("service", ["", "sidecar.v1.EvaluationService", "x" * 200, "é"])
def test_the_request_is_what_protobuf_writes(service: str) -> None:
    assert encode_request(service) == health_pb2.HealthCheckRequest(service=service).SerializeToString()


@pytest.mark.parametrize("status", sorted(Response.ServingStatus.values()))
def test_every_status_reads_as_protobuf_reads_it(status: int) -> None:
    raw = Response(status=status).SerializeToString()  # type: ignore[arg-type]
    assert decode_status(raw) == status
    assert STATUSES[status] == Response.ServingStatus.Name(status)  # type: ignore[arg-type]


def test_a_large_status_number_reads_whole() -> None:
    assert decode_status(b"\x08\xac\x02") == 300


@pytest.mark.parametrize("raw", [b"\x08", b"\x08\x80", b"\x12\x00", b"\xff"])
def test_an_answer_that_is_not_a_health_answer_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="health answer"):
        decode_status(raw)
