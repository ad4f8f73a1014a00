"""ExportRecords and ImportRecords through a real server: what is exported, and batches all or nothing."""

from __future__ import annotations

from typing import Any

import grpc

from sidecar.config.limits import RECORDS_PER_CALL
from sidecar.hlc import HybridLogicalClock
from sidecar.server.convert import struct_to_dict, to_struct
from sidecar.store.database import AuditDraft
from sidecar.v1 import admin_pb2 as pb
from sidecar.v1 import admin_pb2_grpc, evaluation_pb2, evaluation_pb2_grpc, routing_pb2, routing_pb2_grpc
from tests.support.flagfiles import boolean_flag
from tests.unit.server.harness import ENVIRONMENT, NODE_ID, TIMEOUT, Stack, rpc_error

ROLLOUT = {"description": "new api", "phases": [{"name": "ALL", "percent": 100, "minDuration": "1m"}]}


def stub(stack: Stack) -> admin_pb2_grpc.AdminServiceStub:
    return admin_pb2_grpc.AdminServiceStub(stack.channel)


def record(kind: str, key: str, definition: dict[str, Any], origin: str = "") -> pb.AdminRecord:
    return pb.AdminRecord(kind=kind, key=key, definition=to_struct(definition), origin=origin)


def send(stack: Stack, *records: pb.AdminRecord, **options: Any) -> pb.ImportRecordsResponse:
    request = pb.ImportRecordsRequest(records=records, reason=options.pop("reason", "carried"), **options)
    response: pb.ImportRecordsResponse = stub(stack).ImportRecords(
        request, metadata=stack.auth("importer"), timeout=TIMEOUT
    )
    return response


def export(stack: Stack) -> pb.ExportRecordsResponse:
    response: pb.ExportRecordsResponse = stub(stack).ExportRecords(
        pb.ExportRecordsRequest(), metadata=stack.auth(), timeout=TIMEOUT
    )
    return response


def test_import_creates_replaces_and_leaves_alone(stack: Stack) -> None:
    batch = [record("flag", "fresh", boolean_flag("on")), record("rollout", "api-v2", ROLLOUT)]
    first = send(stack, *batch)
    assert (first.created, first.replaced, first.unchanged) == (2, 0, 0)
    assert first.revision == stack.store.require_snapshot().revision
    evaluated = evaluation_pb2_grpc.EvaluationServiceStub(stack.channel).Evaluate(
        evaluation_pb2.EvaluateRequest(flag_key="fresh"), timeout=TIMEOUT
    )
    assert evaluated.value.bool_value is True
    rollouts = routing_pb2_grpc.RolloutServiceStub(stack.channel).ListRollouts(
        routing_pb2.ListRolloutsRequest(), metadata=stack.auth(), timeout=TIMEOUT
    )
    assert "api-v2" in {r.key for r in rollouts.rollouts}

    again = send(stack, *batch)
    assert (again.created, again.replaced, again.unchanged, again.revision) == (0, 0, 2, first.revision)
    changed = send(stack, record("flag", "fresh", boolean_flag("off")), replace=True)
    assert (changed.created, changed.replaced, changed.unchanged) == (0, 1, 0)
    entries = [e for e in stack.database.list_audit(20) if e.action.endswith(".import")]
    assert [(e.action, e.target, e.actor, e.reason) for e in entries] == [
        ("flag.import", "fresh", "importer", "carried"),
        ("rollout.import", "api-v2", "importer", "carried"),
        ("flag.import", "fresh", "importer", "carried"),
    ]


def test_a_dry_run_writes_nothing(stack: Stack) -> None:
    revision = stack.store.require_snapshot().revision
    preview = send(stack, record("flag", "fresh", boolean_flag()), dry_run=True)
    assert (preview.created, preview.revision) == (1, revision)
    assert export(stack).records == []
    assert stack.database.list_audit(10) == []


def test_one_bad_record_refuses_the_whole_batch(stack: Stack) -> None:
    good = record("flag", "fresh", boolean_flag(), "a.yaml:2")
    cases = [
        (
            record("flag", "broken", {"variants": {}}, "b.yaml:5"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "b.yaml:5: ",
        ),
        (record("experiment", "e", {}, "c.yaml:1"), grpc.StatusCode.INVALID_ARGUMENT, "kind 'experiment'"),
        (
            record("flag", "banner", boolean_flag(), "d.yaml:3"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "d.yaml:3",
        ),
        (
            record("flag", "k" * 300, boolean_flag()),
            grpc.StatusCode.INVALID_ARGUMENT,
            "key is over the limit key.chars (300 > 256",
        ),
    ]
    for bad, code, words in cases:
        error = rpc_error(lambda bad=bad: send(stack, good, bad))
        assert error.code() is code, error.details()
        assert words in error.details()
        assert export(stack).records == []


def test_a_batch_has_a_size_limit(stack: Stack) -> None:
    many = [record("flag", f"f{n}", {}) for n in range(RECORDS_PER_CALL.value + 1)]
    error = rpc_error(lambda: send(stack, *many))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "records is over the limit records.per_call (10001 > 10000 records)" in error.details()


def test_export_holds_what_the_database_serves_and_names_the_rest(stack: Stack) -> None:
    send(stack, record("flag", "fresh", boolean_flag("on")), record("rollout", "api-v2", ROLLOUT))
    # Another process wrote a key a file owns, and a definition that does not compile.
    other = HybridLogicalClock("node-other", stack.clock)
    for key, definition in (("banner", boolean_flag()), ("mangled", {"variants": "none"})):
        draft = AuditDraft(0.0, "other", "flag.put", key, "")
        stack.database.put_record("flag", key, definition, other, draft)
    stack.reload()
    response = export(stack)
    assert [(r.kind, r.key) for r in response.records] == [("flag", "fresh"), ("rollout", "api-v2")]
    assert struct_to_dict(response.records[1].definition) == ROLLOUT
    assert all(r.version for r in response.records)
    assert (response.node_id, response.environment) == (NODE_ID, ENVIRONMENT)
    assert response.revision == stack.store.require_snapshot().revision
    assert list(response.skipped) == [
        f"flag 'banner' is shadowed by {stack.config_dir / 'config.yaml'}",
        "flag 'mangled' is not valid (see the database source's errors)",
    ]
