"""AdminService: credentials, durable writes, file ownership, audit, and edits from other processes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2
from sidecar.v1 import evaluation_pb2 as pb
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags


@pytest.fixture
def daemon(config_dir: Path, state_dir: Path) -> Iterator[Daemon]:
    write_flags(config_dir, "files.json", {"file-owned": boolean_flag()})
    with Daemon(config_dir, state_dir) as running:
        yield running


def put(daemon: Daemon, key: str, definition: dict[str, object], **kw: object) -> admin_pb2.PutFlagResponse:
    return daemon.admin().PutFlag(
        admin_pb2.PutFlagRequest(flag_key=key, definition=to_struct(definition), reason="test"),
        metadata=kw.get("metadata", daemon.auth()),
        timeout=5,
    )


def evaluate(daemon: Daemon, key: str) -> pb.EvaluateResponse:
    return daemon.evaluation().Evaluate(
        pb.EvaluateRequest(flag_key=key, context=to_struct({"targetingKey": "u"})), timeout=5
    )


@pytest.mark.parametrize(
    "metadata",
    [[], [("authorization", "Bearer wrong-token-wrong-token")], [("authorization", "Basic abc")]],
    ids=["missing", "wrong", "not-bearer"],
)
def test_admin_calls_without_the_token_are_unauthenticated(
    daemon: Daemon, metadata: list[tuple[str, str]]
) -> None:
    admin = daemon.admin()
    calls = [
        lambda: admin.PutFlag(
            admin_pb2.PutFlagRequest(flag_key="x", definition=to_struct(boolean_flag())),
            metadata=metadata,
            timeout=5,
        ),
        lambda: admin.DeleteFlag(admin_pb2.DeleteFlagRequest(flag_key="x"), metadata=metadata, timeout=5),
        lambda: admin.GetFlag(admin_pb2.GetFlagRequest(flag_key="x"), metadata=metadata, timeout=5),
        lambda: admin.ListFlags(admin_pb2.ListFlagsRequest(), metadata=metadata, timeout=5),
        lambda: admin.GetStatus(admin_pb2.GetStatusRequest(), metadata=metadata, timeout=5),
        lambda: admin.ListAudit(admin_pb2.ListAuditRequest(), metadata=metadata, timeout=5),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as error:
            call()
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError):
        evaluate(daemon, "x")  # nothing was written


def test_token_file_is_private(daemon: Daemon) -> None:
    assert (daemon.state_dir / "admin.token").stat().st_mode & 0o777 == 0o600


def test_put_get_list_delete(daemon: Daemon) -> None:
    response = put(daemon, "db-flag", boolean_flag("on"))
    assert response.flag.source == "admin"
    assert response.flag.version
    assert evaluate(daemon, "db-flag").variant == "on"
    assert evaluate(daemon, "db-flag").revision == response.revision

    got = daemon.admin().GetFlag(
        admin_pb2.GetFlagRequest(flag_key="db-flag"), metadata=daemon.auth(), timeout=5
    )
    assert json_format.MessageToDict(got.flag.definition)["defaultVariant"] == "on"
    listed = daemon.admin().ListFlags(admin_pb2.ListFlagsRequest(), metadata=daemon.auth(), timeout=5)
    assert {(f.key, f.source) for f in listed.flags} == {
        ("db-flag", "admin"),
        ("file-owned", str(daemon.config_dir / "files.json")),
    }

    daemon.admin().DeleteFlag(
        admin_pb2.DeleteFlagRequest(flag_key="db-flag", reason="done"), metadata=daemon.auth(), timeout=5
    )
    with pytest.raises(grpc.RpcError) as error:
        evaluate(daemon, "db-flag")
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_writing_a_file_owned_key_is_refused_naming_the_file(daemon: Daemon) -> None:
    with pytest.raises(grpc.RpcError) as error:
        put(daemon, "file-owned", boolean_flag("on"))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert str(daemon.config_dir / "files.json") in error.value.details()


@pytest.mark.parametrize(
    ("key", "definition"),
    [
        ("bad-state", {**boolean_flag(), "state": "MAYBE"}),
        ("bad-default", {**boolean_flag(), "defaultVariant": "nope"}),
        ("bad-rule", {**boolean_flag(), "targeting": {"no_such_operator": [1]}}),
        ("bad key!", boolean_flag()),
    ],
    ids=["state", "default-variant", "unknown-operator", "key"],
)
def test_invalid_writes_are_invalid_argument(daemon: Daemon, key: str, definition: dict[str, object]) -> None:
    with pytest.raises(grpc.RpcError) as error:
        put(daemon, key, definition)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details()


def test_delete_of_unknown_flag_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(grpc.RpcError) as error:
        daemon.admin().DeleteFlag(
            admin_pb2.DeleteFlagRequest(flag_key="ghost"), metadata=daemon.auth(), timeout=5
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_audit_records_who_what_before_and_after(daemon: Daemon) -> None:
    put(daemon, "audited", boolean_flag("off"))
    put(daemon, "audited", boolean_flag("on"))
    entries = (
        daemon.admin()
        .ListAudit(admin_pb2.ListAuditRequest(target="audited"), metadata=daemon.auth("ann"), timeout=5)
        .entries
    )
    latest = entries[0]
    assert (latest.actor, latest.action, latest.target, latest.reason) == (
        "tester",
        "flag.put",
        "audited",
        "test",
    )
    assert json_format.MessageToDict(latest.before)["defaultVariant"] == "off"
    assert json_format.MessageToDict(latest.after)["defaultVariant"] == "on"
    assert not entries[1].HasField("before")
    assert entries[0].version > entries[1].version


def test_acknowledged_writes_survive_kill_9(daemon: Daemon) -> None:
    for index in range(20):
        put(daemon, f"durable-{index}", boolean_flag("on"))
    daemon.kill9()
    daemon.start()
    for index in range(20):
        assert evaluate(daemon, f"durable-{index}").variant == "on"
    audit = daemon.admin().ListAudit(
        admin_pb2.ListAuditRequest(limit=1000), metadata=daemon.auth(), timeout=5
    )
    assert len([e for e in audit.entries if e.action == "flag.put"]) == 20
    assert sqlite3.connect(daemon.state_dir / "sidecar.db").execute("PRAGMA integrity_check").fetchone() == (
        "ok",
    )


def test_edit_by_another_process_is_picked_up(daemon: Daemon) -> None:
    put(daemon, "external", boolean_flag("off"))
    with sqlite3.connect(daemon.state_dir / "sidecar.db") as conn:
        conn.execute(
            "UPDATE records SET definition = ? WHERE kind = 'flag' AND key = 'external'",
            (json.dumps(boolean_flag("on")),),
        )
    wait_for(lambda: evaluate(daemon, "external").variant == "on", timeout=2)


def test_status_reports_node_sources_and_counts(daemon: Daemon) -> None:
    put(daemon, "counted", boolean_flag())
    response = daemon.admin().GetStatus(admin_pb2.GetStatusRequest(), metadata=daemon.auth(), timeout=5)
    assert response.serving
    assert response.flag_count == 2
    assert response.node_id.startswith("node-")
    assert {s.path for s in response.sources} == {str(daemon.config_dir / "files.json"), "database"}
    assert all(s.ok for s in response.sources)
