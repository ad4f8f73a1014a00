"""EvaluationService through a real server: answers, reasons, and the status of every bad request."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from sidecar.config.keys import MAX_KEY_LENGTH as MAX_FLAG_KEY
from sidecar.v1 import evaluation_pb2 as pb
from sidecar.v1 import evaluation_pb2_grpc
from tests.support.flagfiles import boolean_flag, write_flags
from tests.unit.server.harness import TIMEOUT, Stack, rpc_error


def stub(stack: Stack) -> evaluation_pb2_grpc.EvaluationServiceStub:
    return evaluation_pb2_grpc.EvaluationServiceStub(stack.channel)


def context(**values: object) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


@pytest.mark.parametrize(
    ("flag", "attributes", "variant", "reason"),
    [
        pytest.param("banner", {}, "off", pb.REASON_STATIC, id="static"),
        pytest.param("greeting", {"tier": "gold"}, "casual", pb.REASON_TARGETING_MATCH, id="match"),
        pytest.param("greeting", {"tier": "tin"}, "formal", pb.REASON_DEFAULT, id="default"),
        pytest.param("button", {"targetingKey": "u1"}, None, pb.REASON_SPLIT, id="split"),
        pytest.param("retired", {}, "", pb.REASON_DISABLED, id="disabled-is-not-an-error"),
    ],
)
def test_evaluate_answers_variant_and_reason(
    stack: Stack, flag: str, attributes: dict[str, object], variant: str | None, reason: int
) -> None:
    response = stub(stack).Evaluate(
        pb.EvaluateRequest(flag_key=flag, context=context(**attributes)), timeout=TIMEOUT
    )
    assert response.reason == reason
    assert response.flag_key == flag
    assert response.revision == stack.store.require_snapshot().revision
    if variant is not None:
        assert response.variant == variant
    assert not response.error_code


def test_the_same_answer_twice_is_the_same_message(stack: Stack) -> None:
    request = pb.EvaluateRequest(flag_key="banner")
    first = stub(stack).Evaluate(request, timeout=TIMEOUT)
    second = stub(stack).Evaluate(request, timeout=TIMEOUT)
    assert first == second
    assert first.value.bool_value is False


@pytest.mark.parametrize(
    ("flag", "code", "words"),
    [
        pytest.param("", grpc.StatusCode.INVALID_ARGUMENT, "flag_key is required", id="empty"),
        pytest.param(
            "k" * (MAX_FLAG_KEY + 1),
            grpc.StatusCode.INVALID_ARGUMENT,
            f"flag_key is over the limit key.chars ({MAX_FLAG_KEY + 1} > {MAX_FLAG_KEY} characters)",
            id="too-long",
        ),
        pytest.param("nope", grpc.StatusCode.NOT_FOUND, "flag 'nope' does not exist", id="unknown"),
    ],
)
def test_bad_evaluate_requests(stack: Stack, flag: str, code: grpc.StatusCode, words: str) -> None:
    error = rpc_error(lambda: stub(stack).Evaluate(pb.EvaluateRequest(flag_key=flag), timeout=TIMEOUT))
    assert error.code() is code
    assert words in error.details()


def test_bytes_that_are_not_a_request_are_invalid_argument(stack: Stack) -> None:
    raw = stack.channel.unary_unary(
        "/sidecar.v1.EvaluationService/Evaluate",
        request_serializer=lambda data: data,
        response_deserializer=lambda data: data,
    )
    error = rpc_error(lambda: raw(b"\xff\xff\xff", timeout=TIMEOUT))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid protobuf message" in error.details()


def test_evaluate_all_answers_every_flag_at_one_revision(stack: Stack) -> None:
    response = stub(stack).EvaluateAll(
        pb.EvaluateAllRequest(context=context(tier="gold", targetingKey="u1")), timeout=TIMEOUT
    )
    assert set(response.flags) == {"banner", "greeting", "retired", "button"}
    assert response.flags["greeting"].variant == "casual"
    assert response.flags["retired"].reason == pb.REASON_DISABLED
    assert {f.revision for f in response.flags.values()} == {response.revision}


def test_watch_sends_the_current_revision_then_each_change(stack: Stack) -> None:
    stream = stub(stack).Watch(pb.WatchRequest(), timeout=TIMEOUT)
    first = next(stream)
    assert first.event.revision == stack.store.require_snapshot().revision
    write_flags(stack.config_dir, "extra.json", {"fresh": boolean_flag()})
    stack.reload()
    change = next(stream)
    assert change.event.revision > first.event.revision
    assert list(change.event.changed_keys) == ["fresh"]
    stream.cancel()
