"""EvaluationService against a real daemon on examples/config, over the unix socket and TCP."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from sidecar.server.convert import to_struct
from sidecar.v1 import evaluation_pb2 as pb
from tests.support.daemon import Daemon

TRANSPORTS = ["unix", "tcp"]


def evaluate(daemon: Daemon, transport: str, flag: str, **context: Any) -> pb.EvaluateResponse:
    target = daemon.unix_target if transport == "unix" else daemon.tcp_target
    stub = daemon.evaluation(target)
    return stub.Evaluate(pb.EvaluateRequest(flag_key=flag, context=to_struct(context)), timeout=5)


def value_of(response: pb.EvaluateResponse) -> Any:
    return json_format.MessageToDict(response.value) if response.HasField("value") else None


CASES = [
    # (id, flag, context, reason, variant, value)
    ("static", "maintenance-banner", {"targetingKey": "u"}, pb.REASON_STATIC, "off", False),
    ("user-list-match", "beta-dashboard", {"targetingKey": "user-42"}, pb.REASON_TARGETING_MATCH, "on", True),
    (
        "user-group-ends-with",
        "beta-dashboard",
        {"targetingKey": "x", "email": "ann@example.com"},
        pb.REASON_TARGETING_MATCH,
        "on",
        True,
    ),
    (
        "evaluator-ref",
        "beta-dashboard",
        {"targetingKey": "x", "plan": "enterprise"},
        pb.REASON_TARGETING_MATCH,
        "on",
        True,
    ),
    ("null-falls-to-default", "beta-dashboard", {"targetingKey": "nobody"}, pb.REASON_DEFAULT, "off", False),
    (
        "starts-with",
        "price-display",
        {"targetingKey": "x", "country": "US-CA"},
        pb.REASON_TARGETING_MATCH,
        "net",
        {"showTax": False, "decimals": 2},
    ),
    (
        "sem-ver-newer",
        "new-checkout",
        {"targetingKey": "x", "appVersion": "2.10.1"},
        pb.REASON_TARGETING_MATCH,
        "on",
        True,
    ),
    (
        "sem-ver-older",
        "new-checkout",
        {"targetingKey": "x", "appVersion": "2.3.9"},
        pb.REASON_TARGETING_MATCH,
        "off",
        False,
    ),
    (
        "dependent-flag-on",
        "express-checkout",
        {"targetingKey": "x", "appVersion": "v2.4.0"},
        pb.REASON_TARGETING_MATCH,
        "on",
        True,
    ),
    (
        "dependent-flag-off",
        "express-checkout",
        {"targetingKey": "x", "appVersion": "1.0.0"},
        pb.REASON_TARGETING_MATCH,
        "off",
        False,
    ),
    # The daemon runs with --environment production; a request cannot claim another environment.
    (
        "environment",
        "verbose-logging",
        {"targetingKey": "x", "environment": "staging"},
        pb.REASON_TARGETING_MATCH,
        "off",
        False,
    ),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("flag", "context", "reason", "variant", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_resolution(
    example_daemon: Daemon,
    transport: str,
    flag: str,
    context: dict[str, Any],
    reason: int,
    variant: str,
    value: Any,
) -> None:
    response = evaluate(example_daemon, transport, flag, **context)
    assert (response.reason, response.variant, value_of(response)) == (reason, variant, value)
    assert response.flag_key == flag
    assert response.revision >= 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_split_is_sticky_and_reports_split(example_daemon: Daemon, transport: str) -> None:
    first = evaluate(example_daemon, transport, "new-search", targetingKey="user-7")
    again = evaluate(example_daemon, transport, "new-search", targetingKey="user-7")
    assert first.reason == pb.REASON_SPLIT
    assert first.variant == again.variant


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_disabled_flag_serves_no_value(example_daemon: Daemon, transport: str) -> None:
    response = evaluate(example_daemon, transport, "legacy-recommendations", targetingKey="u")
    assert response.reason == pb.REASON_DISABLED
    assert not response.HasField("value")
    assert response.variant == ""


def test_metadata_carries_owner_risk_and_category(example_daemon: Daemon) -> None:
    response = evaluate(example_daemon, "tcp", "express-checkout", targetingKey="u")
    metadata = json_format.MessageToDict(response.metadata)
    assert metadata["owner"] == "checkout-team"
    assert metadata["riskLevel"] == "high"
    assert metadata["category"] == "release"
    assert metadata["flagSetId"] == "storefront"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_flag_is_not_found(example_daemon: Daemon, transport: str) -> None:
    with pytest.raises(grpc.RpcError) as error:
        evaluate(example_daemon, transport, "no-such-flag", targetingKey="u")
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no-such-flag" in error.value.details()


BAD_REQUESTS = [
    ("empty-key", pb.EvaluateRequest(flag_key="")),
    ("long-key", pb.EvaluateRequest(flag_key="k" * 300)),
    (
        "targeting-key-not-string",
        pb.EvaluateRequest(flag_key="new-search", context=to_struct({"targetingKey": 5})),
    ),
    (
        "too-deep",
        pb.EvaluateRequest(
            flag_key="new-search",
            context=to_struct({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}),
        ),
    ),
    ("too-large", pb.EvaluateRequest(flag_key="new-search", context=to_struct({"blob": "x" * 70_000}))),
]


@pytest.mark.parametrize("request_message", [r[1] for r in BAD_REQUESTS], ids=[r[0] for r in BAD_REQUESTS])
def test_bad_requests_are_invalid_argument(
    example_daemon: Daemon, request_message: pb.EvaluateRequest
) -> None:
    with pytest.raises(grpc.RpcError) as error:
        example_daemon.evaluation().Evaluate(request_message, timeout=5)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details()


def test_undecodable_request_is_invalid_argument(example_daemon: Daemon) -> None:
    call = example_daemon.channel().unary_unary(
        "/sidecar.v1.EvaluationService/Evaluate",
        request_serializer=lambda raw: raw,
        response_deserializer=pb.EvaluateResponse.FromString,
    )
    with pytest.raises(grpc.RpcError) as error:
        call(b"\xff\xff\xff\xff\x0f", timeout=5)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_evaluate_all_resolves_every_flag_from_one_revision(example_daemon: Daemon, transport: str) -> None:
    target = example_daemon.unix_target if transport == "unix" else example_daemon.tcp_target
    response = example_daemon.evaluation(target).EvaluateAll(
        pb.EvaluateAllRequest(context=to_struct({"targetingKey": "user-1"})), timeout=5
    )
    assert {
        "maintenance-banner",
        "new-search",
        "beta-dashboard",
        "price-display",
        "legacy-recommendations",
    } <= set(response.flags)
    assert response.flags["beta-dashboard"].reason == pb.REASON_TARGETING_MATCH
    assert response.flags["legacy-recommendations"].reason == pb.REASON_DISABLED
    assert {f.revision for f in response.flags.values()} == {response.revision}


def test_watch_sends_current_revision_immediately(example_daemon: Daemon) -> None:
    stream = example_daemon.evaluation().Watch(pb.WatchRequest(), timeout=5)
    first = next(stream)
    stream.cancel()
    revision = evaluate(example_daemon, "tcp", "maintenance-banner").revision
    assert first.event.revision == revision
    assert list(first.event.changed_keys) == []


def test_health_and_reflection(example_daemon: Daemon) -> None:
    health = health_pb2_grpc.HealthStub(example_daemon.channel())
    for service in ("", "sidecar.v1.EvaluationService", "sidecar.v1.AdminService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING, service
    reflection = reflection_pb2_grpc.ServerReflectionStub(example_daemon.channel())
    responses = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for s in next(responses).list_services_response.service}
    assert {"sidecar.v1.EvaluationService", "sidecar.v1.AdminService", "grpc.health.v1.Health"} <= names
