"""Carrying state between hosts, as an operator does it: export from one daemon, import into another, init.

Every step runs the real ``sidecar`` command against real daemons over their sockets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from sidecar.server.convert import struct_to_dict, to_struct
from sidecar.store.starter import TEMPLATES
from sidecar.v1 import (
    admin_pb2,
    evaluation_pb2,
    experiment_pb2,
    experiment_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags

TIMEOUT = 30.0

ADMIN_FLAGS: dict[str, dict[str, Any]] = {
    "kill-switch": boolean_flag("on"),
    "split": boolean_flag(targeting={"fractional": [["on", 30], ["off", 70]]}),
    "by-plan": {
        "state": "ENABLED",
        "variants": {"free": "basic", "paid": "premium", "yes": "2026-01-01"},
        "defaultVariant": "free",
        "targeting": {
            "if": [
                {"in": [{"var": "plan"}, ["pro", "enterprise"]]},
                "paid",
                {"==": [{"var": "country"}, "NO"]},
                "yes",
                None,
            ]
        },
        "metadata": {"owner": "billing", "riskLevel": "low"},
    },
    "limits": {
        "state": "ENABLED",
        "variants": {"small": {"rps": 10, "burst": 2.5}, "large": {"rps": 1000, "burst": 0.25}},
        "defaultVariant": "small",
        "targeting": {"if": [{"sem_ver": [{"var": "appVersion"}, ">=", "2.0.0"]}, "large", "small"]},
    },
    "depends": boolean_flag(targeting={"if": [{"==": [{"flag_value": "split"}, True]}, "on", "off"]}),
    "retired": {"state": "DISABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"},
}
ADMIN_ROLLOUTS: dict[str, dict[str, Any]] = {
    "api-v2": {"description": "default plan"},
    "pay-v2": {
        "description": "custom plan",
        "stickiness": "userId",
        "gates": {"maxV2ErrorRate": 0.02, "maxLatencyRatio": 1.5},
        "phases": [
            {"name": "CANARY", "percent": 5, "minDuration": "15m", "minSamples": 500},
            {"name": "FULL", "percent": 100, "minDuration": "10m"},
        ],
        "rollbackTriggers": {"maxErrorRate": 0.1},
    },
}
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"targetingKey": "user-1", "plan": "pro", "appVersion": "2.1.0"},
    {"targetingKey": "user-2", "plan": "free", "country": "NO", "appVersion": "1.9.9"},
    *({"targetingKey": f"user-{n}", "plan": "enterprise"} for n in range(3, 23)),
]


def sidecar(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sidecar.cli.main", *args]
    environ = {**os.environ, **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=environ)


def client(daemon: Daemon, *args: str, actor: str | None = "ops-alice") -> subprocess.CompletedProcess[str]:
    env = {
        "SIDECAR_ADDRESS": daemon.tcp_target,
        "SIDECAR_ADMIN_TOKEN_FILE": str(daemon.state_dir / "admin.token"),
    }
    if actor is not None:
        env["SIDECAR_ACTOR"] = actor
    else:  # no actor configured at all: the import names itself
        env["SIDECAR_ACTOR"] = ""
        env["USER"] = ""
    return sidecar(*args, env=env)


def write_admin_state(daemon: Daemon) -> None:
    admin = daemon.admin()
    for key, definition in ADMIN_FLAGS.items():
        request = admin_pb2.PutFlagRequest(flag_key=key, definition=to_struct(definition), reason="setup")
        admin.PutFlag(request, metadata=daemon.auth(), timeout=TIMEOUT)
    rollouts = routing_pb2_grpc.RolloutServiceStub(daemon.channel())
    for key, definition in ADMIN_ROLLOUTS.items():
        rollouts.PutRollout(
            routing_pb2.PutRolloutRequest(rollout_key=key, definition=to_struct(definition), reason="setup"),
            metadata=daemon.auth(),
            timeout=TIMEOUT,
        )


def evaluations(daemon: Daemon) -> dict[tuple[str, int], dict[str, Any]]:
    stub = daemon.evaluation()
    answers = {}
    for key in ADMIN_FLAGS:
        for index, context in enumerate(CONTEXTS):
            response = stub.Evaluate(
                evaluation_pb2.EvaluateRequest(flag_key=key, context=to_struct(context)), timeout=TIMEOUT
            )
            answer = json_format.MessageToDict(response)
            answer.pop("revision", None)
            answers[(key, index)] = answer
    return answers


def exported(daemon: Daemon) -> dict[tuple[str, str], dict[str, Any]]:
    response = daemon.admin().ExportRecords(
        admin_pb2.ExportRecordsRequest(), metadata=daemon.auth(), timeout=TIMEOUT
    )
    return {(r.kind, r.key): struct_to_dict(r.definition) for r in response.records}


def flag_sources(daemon: Daemon) -> dict[str, str]:
    response = daemon.admin().ListFlags(admin_pb2.ListFlagsRequest(), metadata=daemon.auth(), timeout=TIMEOUT)
    return {flag.key: flag.source for flag in response.flags}


def audit(daemon: Daemon) -> list[admin_pb2.AuditEntry]:
    request = admin_pb2.ListAuditRequest(limit=1000)
    response = daemon.admin().ListAudit(request, metadata=daemon.auth(), timeout=TIMEOUT)
    return list(response.entries)


@pytest.fixture
def source(tmp_path: Path) -> Daemon:
    """A daemon holding the admin state above, beside a file flag that is not admin state."""
    config = tmp_path / "source-config"
    config.mkdir()
    write_flags(config, "files.json", {"from-a-file": boolean_flag()})
    return Daemon(config, tmp_path / "source-state")


def test_round_trip_gives_the_same_evaluations_and_rollouts(source: Daemon, tmp_path: Path) -> None:
    carried = tmp_path / "carried"
    with source:
        write_admin_state(source)
        # An admin flag a file took over later is not what the daemon serves: named, not exported.
        source.admin().PutFlag(
            admin_pb2.PutFlagRequest(flag_key="moved", definition=to_struct(boolean_flag())),
            metadata=source.auth(),
            timeout=TIMEOUT,
        )
        write_flags(source.config_dir, "files.json", {"from-a-file": boolean_flag(), "moved": boolean_flag()})
        wait_for(lambda: flag_sources(source).get("moved", "admin") != "admin", timeout=TIMEOUT)
        wrong = sidecar(
            "export",
            str(carried),
            env={"SIDECAR_ADDRESS": source.tcp_target, "SIDECAR_ADMIN_TOKEN": "x" * 32},
        )
        assert (wrong.returncode, wrong.stderr) == (2, "error: UNAUTHENTICATED: admin token is wrong\n")
        assert not carried.exists()
        done = client(source, "export", str(carried))
        assert done.returncode == 0, done.stderr
        shadowed = f"flag 'moved' is shadowed by {source.config_dir / 'files.json'}"
        assert done.stderr == f"sidecar: not exported: {shadowed}\n"
        assert "6 flags, 2 rollouts" in done.stdout
        before, definitions = evaluations(source), exported(source)
        refused = client(source, "export", str(carried))
        assert refused.returncode == 1
        assert "add --force" in refused.stderr
        assert client(source, "export", str(carried), "--force").returncode == 0
    assert sorted(p.name for p in carried.iterdir()) == ["flags.yaml", "rollouts.yaml"]
    assert "from-a-file" not in (carried / "flags.yaml").read_text()
    assert sidecar("validate", str(carried)).returncode == 0

    empty_config = tmp_path / "target-config"
    empty_config.mkdir()
    with Daemon(empty_config, tmp_path / "target-state") as target:
        done = client(target, "import", str(carried), "--reason", "move to host b")
        assert done.returncode == 0, done.stderr
        assert "8 created, 0 replaced, 0 unchanged" in done.stdout
        assert evaluations(target) == before
        assert exported(target) == definitions
        listed = routing_pb2_grpc.RolloutServiceStub(target.channel()).ListRollouts(
            routing_pb2.ListRolloutsRequest(), metadata=target.auth(), timeout=TIMEOUT
        )
        assert {r.key: list(r.phases) for r in listed.rollouts} == {
            "api-v2": ["CANARY", "TESTING", "VALIDATION", "FULL_ROLLOUT"],
            "pay-v2": ["CANARY", "FULL"],
        }
        again = client(target, "import", str(carried))  # idempotent: nothing to write, nothing audited
        assert "0 created, 0 replaced, 8 unchanged" in again.stdout
        entries = [e for e in audit(target) if e.actor != "policy"]  # "rollout.started" is the policy's
        assert sorted(e.target for e in entries) == sorted([*ADMIN_FLAGS, *ADMIN_ROLLOUTS])
        assert {(e.actor, e.reason) for e in entries} == {("ops-alice", "move to host b")}
        assert {e.action for e in entries} == {"flag.import", "rollout.import"}

    # The exported directory is a config directory as it stands.
    with Daemon(carried, tmp_path / "served-state") as served:
        assert evaluations(served) == before


def test_import_is_all_or_nothing(tmp_path: Path, config_dir: Path, state_dir: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    write_flags(batch, "a-good.json", {"fine": boolean_flag()})
    bad = batch / "b-bad.yaml"
    bad.write_text(
        "flags:\n  broken:\n    state: ENABLED\n    variants: {on: true}\n    defaultVariant: nope\n"
    )
    with Daemon(config_dir, state_dir) as daemon:
        done = client(daemon, "import", str(batch))
        assert done.returncode == 1
        assert done.stderr.strip() == f"{bad}:5: defaultVariant 'nope' is not one of the variants"
        assert exported(daemon) == {}

        bad.unlink()
        write_flags(config_dir, "owned.json", {"taken": boolean_flag()})
        wait_for(lambda: "taken" in flag_sources(daemon), timeout=TIMEOUT)
        conflict = batch / "c-conflict.yaml"
        conflict.write_text("flags:\n  taken:\n    variants: {a: 1}\n    defaultVariant: a\n")
        done = client(daemon, "import", str(batch))
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1
        assert f"{conflict}:2: flag 'taken' is defined in {config_dir / 'owned.json'}" in lines[0]
        assert exported(daemon) == {}
        assert audit(daemon) == []


def test_stored_records_are_replaced_only_when_asked(
    tmp_path: Path, config_dir: Path, state_dir: Path
) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    write_flags(batch, "flags.json", {"shared": boolean_flag("on"), "other": boolean_flag()})
    with Daemon(config_dir, state_dir) as daemon:
        daemon.admin().PutFlag(
            admin_pb2.PutFlagRequest(flag_key="shared", definition=to_struct(boolean_flag("off"))),
            metadata=daemon.auth(),
            timeout=TIMEOUT,
        )
        done = client(daemon, "import", str(batch), actor=None)
        assert done.returncode != 0
        assert f"{batch / 'flags.json'}:3: flag 'shared' is stored on the daemon with another definition" in (
            done.stderr
        )
        assert set(exported(daemon)) == {("flag", "shared")}
        preview = client(daemon, "import", str(batch), "--replace", "--dry-run", actor=None)
        assert "1 created, 1 replaced, 0 unchanged" in preview.stdout
        assert set(exported(daemon)) == {("flag", "shared")}
        done = client(daemon, "import", str(batch), "--replace", actor=None)
        assert done.returncode == 0, done.stderr
        assert exported(daemon)[("flag", "shared")]["defaultVariant"] == "on"
        imports = [e for e in audit(daemon) if e.action == "flag.import"]
        assert {(e.target, e.actor, e.reason) for e in imports} == {
            ("shared", "import", f"import from {batch}"),
            ("other", "import", f"import from {batch}"),
        }
        replaced = next(e for e in imports if e.target == "shared")
        assert struct_to_dict(replaced.before)["defaultVariant"] == "off"


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_init_templates_validate_and_serve(template: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    done = sidecar("init", str(config), "--template", template)
    assert done.returncode == 0, done.stderr
    assert sidecar("validate", str(config)).returncode == 0
    refused = sidecar("init", str(config), "--template", template)
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert sidecar("init", str(config), "--template", template, "--force").returncode == 0
    with Daemon(config, tmp_path / "state") as daemon:
        request = admin_pb2.GetStatusRequest()
        status = daemon.admin().GetStatus(request, metadata=daemon.auth(), timeout=TIMEOUT)
        assert status.serving
        assert all(source.ok for source in status.sources), status.sources
        assert status.flag_count == 4
        assert status.rollout_count == (0 if template == "flags" else 2)
        if template == "full":
            experiments = experiment_pb2_grpc.ExperimentServiceStub(daemon.channel()).ListExperiments(
                experiment_pb2.ListExperimentsRequest(), metadata=daemon.auth(), timeout=TIMEOUT
            )
            assert [e.key for e in experiments.experiments] == ["signup-copy"]
        assert "health_problems" not in json_format.MessageToDict(status)


def test_init_names_the_templates_it_knows(tmp_path: Path) -> None:
    done = sidecar("init", str(tmp_path / "config"), "--template", "everything")
    assert done.returncode == 2
    assert done.stderr == "sidecar: unknown template 'everything'; accepted: flags, rollout, full\n"
    assert not (tmp_path / "config").exists()
