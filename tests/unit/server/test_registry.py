"""The two edge rules every method gets from add_service: bad bytes are INVALID_ARGUMENT, and an error is
answered with its own status, or INTERNAL (never UNKNOWN) when it is not one of ours."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest

from sidecar.errors import FailedPreconditionError, NotFoundError
from sidecar.server.registry import add_service
from sidecar.v1 import evaluation_pb2, evaluation_pb2_grpc, routing_pb2, routing_pb2_grpc, sync_pb2
from tests.unit.server.harness import EVALUATION, ROUTING, TIMEOUT, rpc_error


class Failing:
    """Each method fails in its own way."""

    async def Evaluate(self, request: Any, context: Any) -> Any:
        raise RuntimeError("secret internals")

    async def EvaluateAll(self, request: Any, context: Any) -> Any:
        raise NotFoundError("nothing here")

    async def Watch(self, request: Any, context: Any) -> AsyncIterator[Any]:
        yield evaluation_pb2.WatchResponse()
        raise FailedPreconditionError("watch ended")

    async def Route(self, request: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    async def ReportOutcomes(self, request: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    async def StreamOutcomes(self, requests: AsyncIterator[Any], context: Any) -> Any:
        count = 0
        async for _ in requests:
            count += 1
        if count > 1:
            raise RuntimeError("too many")
        return routing_pb2.StreamOutcomesResponse(accepted=count)


@pytest.fixture
def channel() -> Iterator[grpc.Channel]:
    loop = asyncio.new_event_loop()

    async def serve() -> tuple[grpc.aio.Server, int]:
        server = grpc.aio.server()
        add_service(server, Failing(), EVALUATION)
        add_service(server, Failing(), ROUTING)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return server, port

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server, port = asyncio.run_coroutine_threadsafe(serve(), loop).result(TIMEOUT)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as chan:
            yield chan
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
        loop.close()


def test_an_unexpected_error_is_internal_without_its_details(channel: grpc.Channel) -> None:
    stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)
    error = rpc_error(lambda: stub.Evaluate(evaluation_pb2.EvaluateRequest(), timeout=TIMEOUT))
    assert error.code() is grpc.StatusCode.INTERNAL
    assert error.details() == "internal error; see the sidecar log"


def test_a_domain_error_keeps_its_status_and_message(channel: grpc.Channel) -> None:
    stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)
    error = rpc_error(lambda: stub.EvaluateAll(evaluation_pb2.EvaluateAllRequest(), timeout=TIMEOUT))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert error.details() == "nothing here"


def test_a_stream_that_fails_midway_ends_with_the_errors_status(channel: grpc.Channel) -> None:
    stream = evaluation_pb2_grpc.EvaluationServiceStub(channel).Watch(
        evaluation_pb2.WatchRequest(), timeout=TIMEOUT
    )
    assert next(stream) == evaluation_pb2.WatchResponse()
    error = rpc_error(lambda: next(stream))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("/sidecar.v1.EvaluationService/Evaluate", "unary"),
        ("/sidecar.v1.EvaluationService/Watch", "server-stream"),
        ("/sidecar.v1.RoutingService/StreamOutcomes", "client-stream"),
    ],
)
def test_bytes_that_do_not_parse_are_invalid_argument(channel: grpc.Channel, method: str, kind: str) -> None:
    options: dict[str, Any] = {"request_serializer": lambda b: b, "response_deserializer": lambda b: b}
    garbage = b"\xff\xff\xff"
    if kind == "unary":
        error = rpc_error(lambda: channel.unary_unary(method, **options)(garbage, timeout=TIMEOUT))
    elif kind == "server-stream":
        error = rpc_error(lambda: next(channel.unary_stream(method, **options)(garbage, timeout=TIMEOUT)))
    else:
        error = rpc_error(lambda: channel.stream_unary(method, **options)(iter([garbage]), timeout=TIMEOUT))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid protobuf message" in error.details()


def test_client_streams_reach_the_servicer_and_its_errors_are_internal(channel: grpc.Channel) -> None:
    stub = routing_pb2_grpc.RoutingServiceStub(channel)
    one = stub.StreamOutcomes(iter([routing_pb2.StreamOutcomesRequest()]), timeout=TIMEOUT)
    assert one.accepted == 1
    error = rpc_error(
        lambda: stub.StreamOutcomes(iter([routing_pb2.StreamOutcomesRequest()] * 2), timeout=TIMEOUT)
    )
    assert error.code() is grpc.StatusCode.INTERNAL


class Exchanging:
    async def Exchange(self, requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        yield sync_pb2.ExchangeResponse()


def test_bidirectional_methods_are_refused_at_registration() -> None:
    async def register() -> None:
        server = grpc.aio.server()
        add_service(server, Exchanging(), sync_pb2.DESCRIPTOR.services_by_name["PeerSyncService"])

    with pytest.raises(NotImplementedError, match="bidirectional"):
        asyncio.run(register())
