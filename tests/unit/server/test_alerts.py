"""AlertService through a real server: list, acknowledge and watch, all behind the token."""

from __future__ import annotations

import grpc
import pytest

from sidecar.config.keys import MAX_KEY_LENGTH as MAX_KEY
from sidecar.config.limits import ALERT_ID_CHARS, LIST_ENTRIES
from sidecar.v1 import alerts_pb2 as pb
from sidecar.v1 import alerts_pb2_grpc
from tests.support.daemon import wait_for
from tests.support.refusing import refuse_writes
from tests.unit.server.harness import TIMEOUT, Stack, rpc_error


def stub(stack: Stack) -> alerts_pb2_grpc.AlertServiceStub:
    return alerts_pb2_grpc.AlertServiceStub(stack.channel)


def firing(stack: Stack) -> pb.Alert:
    """The memory alert, which fires on the rule's first evaluation after start."""

    def listed() -> list[pb.Alert]:
        return list(
            stub(stack).ListAlerts(pb.ListAlertsRequest(), metadata=stack.auth(), timeout=TIMEOUT).alerts
        )

    (alert,) = wait_for(listed, timeout=TIMEOUT)
    return alert


def test_a_firing_alert_is_listed_with_its_rule_and_severity(stack: Stack) -> None:
    alert = firing(stack)
    assert (alert.rule, alert.metric, alert.severity, alert.status) == (
        "memory",
        "memory_rss_mb",
        pb.ALERT_SEVERITY_WARNING,
        pb.ALERT_STATUS_FIRING,
    )
    everything = stub(stack).ListAlerts(
        pb.ListAlertsRequest(filter=pb.ALERT_FILTER_ALL, limit=5), metadata=stack.auth(), timeout=TIMEOUT
    )
    assert [a.id for a in everything.alerts] == [alert.id]
    assert (
        not stub(stack)
        .ListAlerts(pb.ListAlertsRequest(rollout="checkout-v2"), metadata=stack.auth(), timeout=TIMEOUT)
        .alerts
    )


def test_acknowledging_is_recorded_once(stack: Stack) -> None:
    alert = firing(stack)
    request = pb.AcknowledgeAlertRequest(id=alert.id, note="on it")
    first = stub(stack).AcknowledgeAlert(request, metadata=stack.auth("alice"), timeout=TIMEOUT).alert
    again = stub(stack).AcknowledgeAlert(request, metadata=stack.auth("bob"), timeout=TIMEOUT).alert
    assert (first.ack_by, first.ack_note) == ("alice", "on it")
    assert again.ack_by == "alice"


def test_a_refused_acknowledgement_is_not_applied(stack: Stack) -> None:
    alert = firing(stack)
    request = pb.AcknowledgeAlertRequest(id=alert.id, note="on it")
    refuse_writes(stack.database)
    try:
        with pytest.raises(grpc.RpcError) as refused:
            stub(stack).AcknowledgeAlert(request, metadata=stack.auth("alice"), timeout=TIMEOUT)
    finally:
        refuse_writes(stack.database, refuse=False)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "is read-only" in (refused.value.details() or "")
    assert firing(stack).ack_by == ""
    taken = stub(stack).AcknowledgeAlert(request, metadata=stack.auth("bob"), timeout=TIMEOUT).alert
    assert taken.ack_by == "bob"


def test_watch_sends_the_firing_alerts_then_each_event(stack: Stack) -> None:
    alert = firing(stack)
    stream = stub(stack).WatchAlerts(pb.WatchAlertsRequest(), metadata=stack.auth(), timeout=TIMEOUT)
    first = next(stream)
    assert [a.id for a in first.firing.alerts] == [alert.id]
    stub(stack).AcknowledgeAlert(pb.AcknowledgeAlertRequest(id=alert.id, note="mine"), metadata=stack.auth())
    event = next(stream)
    assert event.event.kind == pb.ALERT_EVENT_KIND_ACKNOWLEDGED
    assert event.event.alert.ack_note == "mine"
    stream.cancel()


def test_watch_of_one_rollout_leaves_out_the_others(stack: Stack) -> None:
    firing(stack)
    stream = stub(stack).WatchAlerts(
        pb.WatchAlertsRequest(rollout="checkout-v2"), metadata=stack.auth(), timeout=TIMEOUT
    )
    assert not next(stream).firing.alerts
    stream.cancel()


@pytest.mark.parametrize(
    ("method", "request_", "code", "words"),
    [
        pytest.param(
            "ListAlerts",
            pb.ListAlertsRequest(limit=LIST_ENTRIES.value + 1),
            grpc.StatusCode.INVALID_ARGUMENT,
            f"limit is over the limit list.entries ({LIST_ENTRIES.value + 1} > {LIST_ENTRIES.value}",
            id="limit",
        ),
        pytest.param(
            "ListAlerts",
            pb.ListAlertsRequest(rollout="r" * (MAX_KEY + 1)),
            grpc.StatusCode.INVALID_ARGUMENT,
            f"rollout is over the limit key.chars ({MAX_KEY + 1} > {MAX_KEY}",
            id="rollout",
        ),
        pytest.param(
            "AcknowledgeAlert",
            pb.AcknowledgeAlertRequest(id="i" * (ALERT_ID_CHARS.value + 1)),
            grpc.StatusCode.INVALID_ARGUMENT,
            f"over the limit alert_id.chars ({ALERT_ID_CHARS.value + 1} > {ALERT_ID_CHARS.value} characters)",
            id="long-id",
        ),
        pytest.param(
            "AcknowledgeAlert",
            pb.AcknowledgeAlertRequest(id="ghost"),
            grpc.StatusCode.NOT_FOUND,
            "alert 'ghost' does not exist",
            id="unknown",
        ),
    ],
)
def test_bad_alert_requests(
    stack: Stack, method: str, request_: object, code: grpc.StatusCode, words: str
) -> None:
    call = getattr(stub(stack), method)
    error = rpc_error(lambda: call(request_, metadata=stack.auth(), timeout=TIMEOUT))
    assert error.code() is code
    assert words in error.details()


def test_a_watch_of_a_too_long_rollout_is_refused(stack: Stack) -> None:
    stream = stub(stack).WatchAlerts(
        pb.WatchAlertsRequest(rollout="r" * (MAX_KEY + 1)), metadata=stack.auth(), timeout=TIMEOUT
    )
    error = rpc_error(lambda: next(stream))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("ListAlerts", pb.ListAlertsRequest()),
        ("AcknowledgeAlert", pb.AcknowledgeAlertRequest(id="x")),
    ],
)
def test_alert_calls_need_the_token(stack: Stack, method: str, request_: object) -> None:
    call = getattr(stub(stack), method)
    assert rpc_error(lambda: call(request_, timeout=TIMEOUT)).code() is grpc.StatusCode.UNAUTHENTICATED
    wrong = stack.auth(token="w" * 20)
    assert (
        rpc_error(lambda: call(request_, metadata=wrong, timeout=TIMEOUT)).code()
        is grpc.StatusCode.UNAUTHENTICATED
    )


def test_a_watch_needs_the_token(stack: Stack) -> None:
    stream = stub(stack).WatchAlerts(pb.WatchAlertsRequest(), timeout=TIMEOUT)
    assert rpc_error(lambda: next(stream)).code() is grpc.StatusCode.UNAUTHENTICATED
