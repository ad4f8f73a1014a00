"""AdminService through a real server: the token, flag writes, status and the audit log."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from sidecar.config.limits import LIST_ENTRIES, REASON_CHARS
from sidecar.v1 import admin_pb2 as pb
from sidecar.v1 import admin_pb2_grpc
from tests.support.flagfiles import boolean_flag
from tests.unit.server.harness import ENVIRONMENT, NODE_ID, TIMEOUT, Stack, rpc_error


def stub(stack: Stack) -> admin_pb2_grpc.AdminServiceStub:
    return admin_pb2_grpc.AdminServiceStub(stack.channel)


def definition(**fields: object) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(fields or boolean_flag("on"))
    return message


def put(stack: Stack, key: str, reason: str = "test", actor: str = "tester") -> pb.PutFlagResponse:
    return stub(stack).PutFlag(
        pb.PutFlagRequest(flag_key=key, definition=definition(), reason=reason),
        metadata=stack.auth(actor),
        timeout=TIMEOUT,
    )


CALLS = {
    "PutFlag": pb.PutFlagRequest(flag_key="x", definition=definition()),
    "DeleteFlag": pb.DeleteFlagRequest(flag_key="x"),
    "GetFlag": pb.GetFlagRequest(flag_key="banner"),
    "ListFlags": pb.ListFlagsRequest(),
    "GetStatus": pb.GetStatusRequest(),
    "ListAudit": pb.ListAuditRequest(),
    "ExportRecords": pb.ExportRecordsRequest(),
    "ImportRecords": pb.ImportRecordsRequest(),
}


@pytest.mark.parametrize("method", sorted(CALLS))
@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        pytest.param([], "missing 'authorization: Bearer <token>'", id="no-token"),
        pytest.param([("authorization", "Bearer wrong-token-wrong-token")], "token is wrong", id="wrong"),
    ],
)
def test_every_admin_call_needs_the_token(
    stack: Stack, method: str, metadata: list[tuple[str, str]], words: str
) -> None:
    call = getattr(stub(stack), method)
    error = rpc_error(lambda: call(CALLS[method], metadata=metadata, timeout=TIMEOUT))
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert words in error.details()


def test_put_get_list_delete(stack: Stack) -> None:
    written = put(stack, "new-flag")
    assert written.flag.source == "admin"
    assert written.flag.version
    got = stub(stack).GetFlag(pb.GetFlagRequest(flag_key="new-flag"), metadata=stack.auth(), timeout=TIMEOUT)
    assert got.flag.version == written.flag.version
    assert got.flag.definition["defaultVariant"] == "on"
    listed = stub(stack).ListFlags(pb.ListFlagsRequest(), metadata=stack.auth(), timeout=TIMEOUT)
    assert [f.key for f in listed.flags] == ["banner", "button", "greeting", "new-flag", "retired"]
    assert listed.revision == written.revision
    deleted = stub(stack).DeleteFlag(
        pb.DeleteFlagRequest(flag_key="new-flag"), metadata=stack.auth(), timeout=TIMEOUT
    )
    assert deleted.revision > written.revision
    error = rpc_error(
        lambda: stub(stack).GetFlag(
            pb.GetFlagRequest(flag_key="new-flag"), metadata=stack.auth(), timeout=TIMEOUT
        )
    )
    assert error.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        pytest.param(
            pb.PutFlagRequest(flag_key="x"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "definition is required",
            id="no-def",
        ),
        pytest.param(
            pb.PutFlagRequest(flag_key="bad key", definition=definition()),
            grpc.StatusCode.INVALID_ARGUMENT,
            "flag key 'bad key' is invalid",
            id="bad-key",
        ),
        pytest.param(
            pb.PutFlagRequest(flag_key="x", definition=definition(state="SOMETIMES")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "state",
            id="bad-definition",
        ),
        pytest.param(
            pb.PutFlagRequest(flag_key="x", definition=definition(), reason="r" * (REASON_CHARS.value + 1)),
            grpc.StatusCode.INVALID_ARGUMENT,
            f"reason is over the limit reason.chars ({REASON_CHARS.value + 1} > {REASON_CHARS.value}",
            id="long-reason",
        ),
        pytest.param(
            pb.PutFlagRequest(flag_key="banner", definition=definition()),
            grpc.StatusCode.FAILED_PRECONDITION,
            "is defined in",
            id="file-owned",
        ),
    ],
)
def test_bad_writes(stack: Stack, request_: pb.PutFlagRequest, code: grpc.StatusCode, words: str) -> None:
    error = rpc_error(lambda: stub(stack).PutFlag(request_, metadata=stack.auth(), timeout=TIMEOUT))
    assert error.code() is code
    assert words in error.details()


def test_deleting_what_the_database_does_not_hold_is_not_found(stack: Stack) -> None:
    error = rpc_error(
        lambda: stub(stack).DeleteFlag(
            pb.DeleteFlagRequest(flag_key="ghost"), metadata=stack.auth(), timeout=TIMEOUT
        )
    )
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert "no flag 'ghost' is stored" in error.details()


def test_get_of_an_unknown_flag_is_not_found(stack: Stack) -> None:
    error = rpc_error(
        lambda: stub(stack).GetFlag(
            pb.GetFlagRequest(flag_key="ghost"), metadata=stack.auth(), timeout=TIMEOUT
        )
    )
    assert error.code() is grpc.StatusCode.NOT_FOUND


def test_status_names_node_sources_and_counts(stack: Stack) -> None:
    status = stub(stack).GetStatus(pb.GetStatusRequest(), metadata=stack.auth(), timeout=TIMEOUT)
    assert status.node_id == NODE_ID
    assert status.environment == ENVIRONMENT
    assert status.serving
    assert status.flag_count == 4
    assert status.rollout_count == 1
    assert [s.path.rsplit("/", 1)[-1] for s in status.sources] == ["config.yaml", "database"]
    assert all(s.ok for s in status.sources)
    assert dict(status.health_problems) == {}


def test_audit_records_actor_reason_before_and_after_newest_first(stack: Stack) -> None:
    put(stack, "audited", reason="first", actor="alice")
    put(stack, "audited", reason="second", actor="bob")
    audit = stub(stack).ListAudit(
        pb.ListAuditRequest(target="audited"), metadata=stack.auth(), timeout=TIMEOUT
    )
    assert [(e.actor, e.reason, e.action) for e in audit.entries] == [
        ("bob", "second", "flag.put"),
        ("alice", "first", "flag.put"),
    ]
    newest, oldest = audit.entries
    assert newest.HasField("before")
    assert newest.HasField("after")
    assert not oldest.HasField("before")
    limited = stub(stack).ListAudit(pb.ListAuditRequest(limit=1), metadata=stack.auth(), timeout=TIMEOUT)
    assert len(limited.entries) == 1


def test_audit_limit_is_capped(stack: Stack) -> None:
    error = rpc_error(
        lambda: stub(stack).ListAudit(
            pb.ListAuditRequest(limit=LIST_ENTRIES.value + 1), metadata=stack.auth(), timeout=TIMEOUT
        )
    )
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert f"over the limit list.entries ({LIST_ENTRIES.value + 1} > {LIST_ENTRIES.value}" in error.details()
