"""RoutingService (no credential) and RolloutService (operator control) through a real server."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from sidecar.config.keys import MAX_KEY_LENGTH as MAX_KEY
from sidecar.config.limits import ERROR_TYPE_CHARS, LATENCY_MS, OUTCOMES_PER_CALL
from sidecar.v1 import routing_pb2 as pb
from sidecar.v1 import routing_pb2_grpc
from tests.unit.server.harness import TIMEOUT, Stack, rpc_error

KEY = "checkout-v2"


def routing(stack: Stack) -> routing_pb2_grpc.RoutingServiceStub:
    return routing_pb2_grpc.RoutingServiceStub(stack.channel)


def rollouts(stack: Stack) -> routing_pb2_grpc.RolloutServiceStub:
    return routing_pb2_grpc.RolloutServiceStub(stack.channel)


def outcome(**fields: Any) -> pb.Outcome:
    values: dict[str, Any] = {
        "rollout_key": KEY,
        "version": pb.VERSION_V2,
        "success": True,
        "latency_ms": 5.0,
    }
    return pb.Outcome(**{**values, **fields})


def user(user_id: str) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update({"userId": user_id})
    return message


def test_route_is_sticky_per_user_and_names_the_phase(stack: Stack) -> None:
    answers = [
        routing(stack).Route(pb.RouteRequest(rollout_key=KEY, context=user("u-7")), timeout=TIMEOUT)
        for _ in range(3)
    ]
    assert len({a.version for a in answers}) == 1
    first = answers[0]
    assert first.phase == "CANARY"
    assert first.generation == 1
    assert first.reason in (pb.ROUTE_REASON_IN_SPLIT, pb.ROUTE_REASON_OUT_OF_SPLIT)
    assert first.revision == stack.store.require_snapshot().revision


@pytest.mark.parametrize(
    ("key", "code", "words"),
    [
        pytest.param("", grpc.StatusCode.INVALID_ARGUMENT, "rollout_key is required", id="empty"),
        pytest.param(
            "r" * (MAX_KEY + 1),
            grpc.StatusCode.INVALID_ARGUMENT,
            f"over the limit key.chars ({MAX_KEY + 1} > {MAX_KEY}",
            id="too-long",
        ),
        pytest.param("ghost", grpc.StatusCode.NOT_FOUND, "rollout 'ghost' does not exist", id="unknown"),
    ],
)
def test_bad_routes(stack: Stack, key: str, code: grpc.StatusCode, words: str) -> None:
    error = rpc_error(lambda: routing(stack).Route(pb.RouteRequest(rollout_key=key), timeout=TIMEOUT))
    assert error.code() is code
    assert words in error.details()


def test_reported_outcomes_count_and_stale_generations_are_skipped(stack: Stack) -> None:
    response = routing(stack).ReportOutcomes(
        pb.ReportOutcomesRequest(
            outcomes=[outcome(), outcome(version=pb.VERSION_V1, success=False), outcome(generation=9)]
        ),
        timeout=TIMEOUT,
    )
    assert (response.accepted, response.stale) == (2, 1)
    status = rollouts(stack).GetRollout(pb.GetRolloutRequest(rollout_key=KEY), metadata=stack.auth()).rollout
    assert (status.v1.requests, status.v1.errors, status.v2.requests) == (1, 1, 1)


def test_streamed_outcomes_add_up_over_messages(stack: Stack) -> None:
    requests = iter([pb.StreamOutcomesRequest(outcomes=[outcome(), outcome()]) for _ in range(3)])
    response = routing(stack).StreamOutcomes(requests, timeout=TIMEOUT)
    assert (response.accepted, response.stale) == (6, 0)


def test_a_bad_outcome_in_a_stream_fails_the_stream(stack: Stack) -> None:
    requests = iter([pb.StreamOutcomesRequest(outcomes=[outcome(version=pb.VERSION_UNSPECIFIED)])])
    error = rpc_error(lambda: routing(stack).StreamOutcomes(requests, timeout=TIMEOUT))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("outcomes", "words"),
    [
        pytest.param([outcome(version=pb.VERSION_UNSPECIFIED)], "outcomes[0]: version must be", id="version"),
        pytest.param(
            [outcome(), outcome(rollout_key="")], "outcomes[1].rollout_key is required", id="no-key"
        ),
        pytest.param(
            [outcome(error_type="e" * 65)],
            f"outcomes[0].error_type is over the limit error_type.chars (65 > {ERROR_TYPE_CHARS.value}",
            id="error-type",
        ),
        pytest.param([outcome(latency_ms=float("nan"))], "latency_ms must be a finite number", id="nan"),
        pytest.param(
            [outcome(latency_ms=LATENCY_MS.value + 1)], f"between 0 and {LATENCY_MS.value} ms", id="latency"
        ),
        pytest.param([outcome(rollout_key="ghost")], "rollout 'ghost' does not exist", id="unknown"),
        pytest.param(
            [outcome()] * (OUTCOMES_PER_CALL.value + 1),
            f"over the limit outcomes.per_call ({OUTCOMES_PER_CALL.value + 1} > {OUTCOMES_PER_CALL.value}",
            id="batch",
        ),
    ],
)
def test_bad_outcomes_are_invalid_argument_and_name_the_limit(
    stack: Stack, outcomes: list[pb.Outcome], words: str
) -> None:
    request = pb.ReportOutcomesRequest(outcomes=outcomes)
    error = rpc_error(lambda: routing(stack).ReportOutcomes(request, timeout=TIMEOUT))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert words in error.details()


OPERATOR_CALLS: dict[str, object] = {
    "ListRollouts": pb.ListRolloutsRequest(),
    "GetRollout": pb.GetRolloutRequest(rollout_key=KEY),
    "PutRollout": pb.PutRolloutRequest(rollout_key="x"),
    "DeleteRollout": pb.DeleteRolloutRequest(rollout_key="x"),
    "PauseRollout": pb.PauseRolloutRequest(rollout_key=KEY, reason="r"),
    "ResumeRollout": pb.ResumeRolloutRequest(rollout_key=KEY, reason="r"),
    "PromoteRollout": pb.PromoteRolloutRequest(rollout_key=KEY, reason="r"),
    "RollbackRollout": pb.RollbackRolloutRequest(rollout_key=KEY, reason="r"),
    "RestartRollout": pb.RestartRolloutRequest(rollout_key=KEY, reason="r"),
    "GetRolloutReport": pb.GetRolloutReportRequest(rollout_key=KEY),
}


@pytest.mark.parametrize("method", sorted(OPERATOR_CALLS))
def test_every_operator_call_needs_the_token(stack: Stack, method: str) -> None:
    call = getattr(rollouts(stack), method)
    missing = rpc_error(lambda: call(OPERATOR_CALLS[method], timeout=TIMEOUT))
    wrong = rpc_error(
        lambda: call(OPERATOR_CALLS[method], metadata=stack.auth(token="x" * 20), timeout=TIMEOUT)
    )
    assert missing.code() is grpc.StatusCode.UNAUTHENTICATED
    assert wrong.code() is grpc.StatusCode.UNAUTHENTICATED


def test_pause_resume_promote_rollback_restart(stack: Stack) -> None:
    stub, auth = rollouts(stack), stack.auth("alice")
    paused = stub.PauseRollout(pb.PauseRolloutRequest(rollout_key=KEY, reason="look"), metadata=auth).rollout
    assert (paused.state, paused.state_reason) == (pb.ROLLOUT_STATE_PAUSED, "look")
    resumed = stub.ResumeRollout(pb.ResumeRolloutRequest(rollout_key=KEY, reason="ok"), metadata=auth).rollout
    assert resumed.state == pb.ROLLOUT_STATE_RUNNING
    half = stub.PromoteRollout(pb.PromoteRolloutRequest(rollout_key=KEY, reason="go"), metadata=auth).rollout
    assert (half.phase, half.v2_percent) == ("HALF", 50.0)
    full = stub.PromoteRollout(
        pb.PromoteRolloutRequest(rollout_key=KEY, reason="go", to_phase="FULL"), metadata=auth
    ).rollout
    assert full.phase == "FULL"
    back = stub.RollbackRollout(
        pb.RollbackRolloutRequest(rollout_key=KEY, reason="bad"), metadata=auth
    ).rollout
    assert (back.state, back.v2_percent, back.state_reason) == (pb.ROLLOUT_STATE_ROLLED_BACK, 0.0, "bad")
    again = stub.RestartRollout(
        pb.RestartRolloutRequest(rollout_key=KEY, reason="fixed"), metadata=auth
    ).rollout
    assert (again.generation, again.phase, again.state) == (2, "CANARY", pb.ROLLOUT_STATE_RUNNING)
    done = stub.PromoteRollout(
        pb.PromoteRolloutRequest(rollout_key=KEY, reason="ship", to_full=True), metadata=auth
    ).rollout
    assert done.phase == "FULL"


@pytest.mark.parametrize(
    ("method", "request_", "code", "words"),
    [
        pytest.param(
            "PauseRollout",
            pb.PauseRolloutRequest(rollout_key=KEY),
            grpc.StatusCode.INVALID_ARGUMENT,
            "needs a reason",
            id="no-reason",
        ),
        pytest.param(
            "PromoteRollout",
            pb.PromoteRolloutRequest(rollout_key=KEY, reason="r", to_phase="LATER"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "has no phase 'LATER' (phases: CANARY, HALF, FULL)",
            id="unknown-phase",
        ),
        pytest.param(
            "RestartRollout",
            pb.RestartRolloutRequest(rollout_key=KEY, reason="r", from_generation=5),
            grpc.StatusCode.INVALID_ARGUMENT,
            "is at generation 1, not 5",
            id="future-generation",
        ),
        pytest.param(
            "GetRollout",
            pb.GetRolloutRequest(rollout_key="ghost"),
            grpc.StatusCode.NOT_FOUND,
            "rollout 'ghost' does not exist",
            id="unknown",
        ),
        pytest.param(
            "GetRollout",
            pb.GetRolloutRequest(),
            grpc.StatusCode.INVALID_ARGUMENT,
            "rollout_key is required",
            id="empty",
        ),
        pytest.param(
            "DeleteRollout",
            pb.DeleteRolloutRequest(rollout_key=KEY),
            grpc.StatusCode.FAILED_PRECONDITION,
            "edit that file instead",
            id="file-owned",
        ),
    ],
)
def test_bad_operator_requests(
    stack: Stack, method: str, request_: Any, code: grpc.StatusCode, words: str
) -> None:
    call = getattr(rollouts(stack), method)
    error = rpc_error(lambda: call(request_, metadata=stack.auth(), timeout=TIMEOUT))
    assert error.code() is code
    assert words in error.details()


def test_a_rolled_back_rollout_cannot_be_paused(stack: Stack) -> None:
    stub = rollouts(stack)
    stub.RollbackRollout(pb.RollbackRolloutRequest(rollout_key=KEY, reason="bad"), metadata=stack.auth())
    error = rpc_error(
        lambda: stub.PauseRollout(pb.PauseRolloutRequest(rollout_key=KEY, reason="r"), metadata=stack.auth())
    )
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "restart it first" in error.details()


def test_admin_written_rollout_lists_decides_reports_and_deletes(stack: Stack) -> None:
    stub, auth = rollouts(stack), stack.auth()
    definition = struct_pb2.Struct()
    definition.update({"description": "db rollout"})
    put = stub.PutRollout(
        pb.PutRolloutRequest(rollout_key="search-v2", definition=definition, reason="new"), metadata=auth
    )
    assert (put.rollout.key, put.rollout.source) == ("search-v2", "admin")
    listed = stub.ListRollouts(pb.ListRolloutsRequest(), metadata=auth)
    assert [r.key for r in listed.rollouts] == [KEY, "search-v2"]
    routing(stack).ReportOutcomes(pb.ReportOutcomesRequest(outcomes=[outcome(rollout_key="search-v2")]))
    stack.clock.advance(30.0)
    stack.run(stack.rollouts.tick)
    decided = stub.GetRollout(pb.GetRolloutRequest(rollout_key="search-v2"), metadata=auth).rollout
    assert decided.last_decision.kind
    assert decided.last_decision.actor
    report = stub.GetRolloutReport(pb.GetRolloutReportRequest(rollout_key="search-v2"), metadata=auth)
    assert report.text
    assert report.report.fields
    stub.DeleteRollout(pb.DeleteRolloutRequest(rollout_key="search-v2", reason="done"), metadata=auth)
    error = rpc_error(lambda: stub.GetRollout(pb.GetRolloutRequest(rollout_key="search-v2"), metadata=auth))
    assert error.code() is grpc.StatusCode.NOT_FOUND
