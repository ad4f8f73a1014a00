"""Damaged, lost or shared state stops the daemon with one line; acknowledged writes survive kill -9."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag

EXIT_DAMAGED_STATE = 3


def put(daemon: Daemon, key: str) -> None:
    request = admin_pb2.PutFlagRequest(flag_key=key, definition=to_struct(boolean_flag()), reason="test")
    daemon.admin().PutFlag(request, metadata=daemon.auth(), timeout=10)


def stored_keys(daemon: Daemon) -> set[str]:
    response = daemon.admin().ListFlags(admin_pb2.ListFlagsRequest(), metadata=daemon.auth(), timeout=10)
    return {flag.key for flag in response.flags if flag.source == "admin"}


def serve(config_dir: Path, state_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``sidecar serve`` expecting it to refuse to start."""
    command = [sys.executable, "-m", "sidecar.cli.main", "serve", "--config-dir", str(config_dir)]
    command += [
        "--state-dir",
        str(state_dir),
        "--listen",
        "127.0.0.1:0",
        "--management-listen",
        "127.0.0.1:0",
        "--flagd-sync-listen",
        "off",
        "--ofrep-listen",
        "off",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def refused(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    for word in words:
        assert word in line
    return line


@pytest.fixture
def used_state(config_dir: Path, state_dir: Path) -> Path:
    """A state directory that held an admin-written flag."""
    with Daemon(config_dir, state_dir) as daemon:
        put(daemon, "precious")
    return state_dir


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda db: db.unlink(), ("is missing but", "sidecar restore")),
        (lambda db: db.write_bytes(b""), ("is empty but", "sidecar state reset")),
        (lambda db: db.write_bytes(b"garbage " * 4096), ("is damaged",)),
    ],
    ids=["deleted", "empty", "garbage"],
)
def test_lost_or_damaged_database_stops_the_daemon(
    config_dir: Path, used_state: Path, damage: object, words: tuple[str, ...]
) -> None:
    database = used_state / "sidecar.db"
    for companion in ("-wal", "-shm"):
        (used_state / f"sidecar.db{companion}").unlink(missing_ok=True)
    damage(database)  # type: ignore[operator]
    refused(serve(config_dir, used_state), EXIT_DAMAGED_STATE, str(database), *words)


def test_a_write_ahead_log_cut_short_stops_the_daemon(config_dir: Path, state_dir: Path) -> None:
    daemon = Daemon(config_dir, state_dir).start()
    for i in range(50):
        put(daemon, f"flag-{i}")
    daemon.kill9()  # the log is not checkpointed: the 50 writes live in it
    wal = state_dir / "sidecar.db-wal"
    content = wal.read_bytes()
    wal.write_bytes(content[: len(content) - 1000])
    refused(serve(config_dir, state_dir), EXIT_DAMAGED_STATE, str(wal), "cut short")


def test_start_empty_sets_damaged_state_aside(config_dir: Path, used_state: Path) -> None:
    (used_state / "sidecar.db").write_bytes(b"garbage " * 4096)
    with Daemon(config_dir, used_state, "--start-empty") as daemon:
        assert stored_keys(daemon) == set()
        assert "set aside as" in daemon.log()
    kept = [p for p in used_state.iterdir() if p.name.startswith("sidecar.db.damaged-")]
    assert kept
    assert kept[0].read_bytes().startswith(b"garbage")


def test_state_files_are_private(config_dir: Path, tmp_path: Path) -> None:
    state_dir = tmp_path / "fresh-state"
    with Daemon(config_dir, state_dir) as daemon:
        put(daemon, "x")
        assert state_dir.stat().st_mode & 0o777 == 0o700
        for name in ("sidecar.db", "sidecar.db-wal", "sidecar.db-shm", "admin.token", "state.marker"):
            assert (state_dir / name).stat().st_mode & 0o777 == 0o600, name


def test_a_world_readable_token_is_refused(config_dir: Path, used_state: Path) -> None:
    (used_state / "admin.token").chmod(0o644)
    refused(serve(config_dir, used_state), 1, "readable by everyone", "chmod 600")


def test_one_daemon_per_state_directory(config_dir: Path, state_dir: Path) -> None:
    with Daemon(config_dir, state_dir):
        refused(serve(config_dir, state_dir), 1, "in use by a running sidecar")


def test_kill9_during_admin_writes_loses_no_acknowledged_write(config_dir: Path, state_dir: Path) -> None:
    daemon = Daemon(config_dir, state_dir).start()
    acknowledged: list[str] = []
    stop = threading.Event()

    def write() -> None:
        for i in range(10_000):
            if stop.is_set():
                return
            try:
                put(daemon, f"k-{i}")
            except grpc.RpcError:
                return  # the daemon is gone; this write was never acknowledged
            acknowledged.append(f"k-{i}")

    writer = threading.Thread(target=write)
    writer.start()
    wait_for(lambda: len(acknowledged) >= 30, timeout=30)
    daemon.kill9()
    stop.set()
    writer.join()
    daemon.start()
    try:
        assert set(acknowledged) <= stored_keys(daemon)
    finally:
        daemon.stop()


def test_permissions_are_not_relaxed_by_the_umask_of_the_caller(config_dir: Path, tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        state_dir = tmp_path / "open-umask"
        with Daemon(config_dir, state_dir) as daemon:
            put(daemon, "x")
            assert (state_dir / "sidecar.db-wal").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
