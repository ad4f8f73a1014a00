"""The ``sidecar`` command line against a real daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, refused_address
from tests.support.flagfiles import boolean_flag, write_flags


def sidecar(
    *args: str, daemon: Daemon | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if daemon is not None:
        env.update(
            SIDECAR_ADDRESS=daemon.tcp_target, SIDECAR_STATE_DIR=str(daemon.state_dir), SIDECAR_ACTOR="cli"
        )
    return subprocess.run(
        [sys.executable, "-m", "sidecar.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("cli")
    config = base / "config"
    config.mkdir()
    write_flags(config, "flags.json", {"switch": boolean_flag("on")})
    (config / "rollouts.yaml").write_text("rollouts:\n  svc:\n    description: test\n")
    with Daemon(config, base / "state") as running:
        yield running


def test_validate_reports_file_and_line(tmp_path: Path) -> None:
    good = write_flags(tmp_path, "good.json", {"ok": boolean_flag()})
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "flags:\n  broken:\n    state: SOMETIMES\n    variants: {on: true}\n    defaultVariant: on\n"
    )
    result = sidecar("validate", str(good), str(bad))
    assert result.returncode == 1
    assert f"{good}: ok" in result.stdout
    assert result.stderr.startswith(f"{bad}:3:")
    assert sidecar("validate", str(good)).returncode == 0


def test_validate_accepts_the_bundled_examples() -> None:
    result = sidecar("validate", str(Path(__file__).parents[2] / "examples" / "config"))
    assert result.returncode == 0, result.stderr


def test_eval_prints_the_resolution(daemon: Daemon) -> None:
    result = sidecar("eval", "switch", "--context", '{"targetingKey": "u1"}', daemon=daemon)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert (output["variant"], output["value"], output["reason"]) == ("on", True, "REASON_STATIC")


def test_eval_of_unknown_flag_exits_non_zero_with_the_status(daemon: Daemon) -> None:
    result = sidecar("eval", "nope", daemon=daemon)
    assert result.returncode == 2
    assert "NOT_FOUND" in result.stderr


def test_flags_put_list_get_delete_and_audit(daemon: Daemon) -> None:
    definition = json.dumps(boolean_flag("off"))
    assert (
        sidecar(
            "flags", "put", "cli-flag", "-", "--reason", "try", daemon=daemon, stdin=definition
        ).returncode
        == 0
    )
    listed = sidecar("flags", "list", daemon=daemon).stdout
    assert "cli-flag\tENABLED\tadmin" in listed
    got = json.loads(sidecar("flags", "get", "cli-flag", daemon=daemon).stdout)
    assert got["flag"]["definition"]["defaultVariant"] == "off"
    audit = json.loads(sidecar("flags", "audit", "--target", "cli-flag", daemon=daemon).stdout)
    assert audit["entries"][0]["actor"] == "cli"
    assert sidecar("flags", "delete", "cli-flag", "--reason", "done", daemon=daemon).returncode == 0
    assert "cli-flag" not in sidecar("flags", "list", daemon=daemon).stdout


def test_admin_command_without_token_fails_clearly(daemon: Daemon, tmp_path: Path) -> None:
    result = sidecar("status", "--address", daemon.tcp_target, "--token-file", str(tmp_path / "missing"))
    assert result.returncode != 0
    assert "admin token" in str(result.stderr) + str(result.stdout)


def test_status_and_health(daemon: Daemon) -> None:
    status = json.loads(sidecar("status", daemon=daemon).stdout)
    assert status["serving"] is True
    assert sidecar("health", daemon=daemon).returncode == 0
    with refused_address() as address:
        unreachable = sidecar("health", "--address", address, "--timeout", "0.5")
    assert unreachable.returncode == 1


def test_rollout_commands(daemon: Daemon) -> None:
    assert "svc\tRUNNING\tgen 1\tCANARY (1% V2)" in sidecar("rollout", "list", daemon=daemon).stdout
    paused = json.loads(sidecar("rollout", "pause", "svc", "--reason", "look", daemon=daemon).stdout)
    assert paused["rollout"]["state"] == "ROLLOUT_STATE_PAUSED"
    assert sidecar("rollout", "resume", "svc", "--reason", "ok", daemon=daemon).returncode == 0
    promoted = json.loads(
        sidecar("rollout", "promote", "svc", "--reason", "go", "--to-phase", "TESTING", daemon=daemon).stdout
    )
    assert promoted["rollout"]["phase"] == "TESTING"
    again = json.loads(
        sidecar(
            "rollout", "promote", "svc", "--reason", "retry", "--to-phase", "TESTING", daemon=daemon
        ).stdout
    )
    assert again["rollout"]["phase"] == "TESTING"
    status = json.loads(sidecar("rollout", "status", "svc", daemon=daemon).stdout)
    assert status["rollout"]["phases"] == ["CANARY", "TESTING", "VALIDATION", "FULL_ROLLOUT"]
    rolled_back = json.loads(sidecar("rollout", "rollback", "svc", "--reason", "bad", daemon=daemon).stdout)
    assert rolled_back["rollout"]["state"] == "ROLLOUT_STATE_ROLLED_BACK"
    restarted = json.loads(
        sidecar(
            "rollout", "restart", "svc", "--reason", "again", "--from-generation", "1", daemon=daemon
        ).stdout
    )
    assert restarted["rollout"]["generation"] == 2
    report = sidecar("rollout", "report", "svc", daemon=daemon)
    assert report.returncode == 0
    assert "V1" in report.stdout
    assert "V2" in report.stdout
    missing_reason = sidecar("rollout", "pause", "svc", daemon=daemon)
    assert missing_reason.returncode == 2
