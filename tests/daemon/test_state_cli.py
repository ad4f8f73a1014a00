"""The way back from damaged state, as an operator walks it: backup while serving, restore, reset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.daemon.test_state_faults import EXIT_DAMAGED_STATE, put, refused, serve, stored_keys
from tests.support.daemon import Daemon


def sidecar(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sidecar.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_backup_restore_and_reset(config_dir: Path, state_dir: Path, tmp_path: Path) -> None:
    backup_file = tmp_path / "sidecar-backup.db"
    with Daemon(config_dir, state_dir) as daemon:
        put(daemon, "precious")
        done = sidecar("backup", str(backup_file), "--state-dir", str(state_dir))  # while serving
        assert done.returncode == 0, done.stderr
        assert "checked" in done.stdout
        refused(sidecar("restore", str(backup_file), "--state-dir", str(state_dir)), 1, "in use")
    (state_dir / "sidecar.db").write_bytes(b"")  # lost
    refused(serve(config_dir, state_dir), EXIT_DAMAGED_STATE, "sidecar restore")
    done = sidecar("restore", str(backup_file), "--state-dir", str(state_dir))
    assert done.returncode == 0, done.stderr
    assert "kept as" in done.stdout
    with Daemon(config_dir, state_dir) as daemon:
        assert stored_keys(daemon) == {"precious"}
    refused(sidecar("state", "reset", "--state-dir", str(state_dir)), 1, "--yes")
    assert sidecar("state", "reset", "--yes", "--state-dir", str(state_dir)).returncode == 0
    with Daemon(config_dir, state_dir) as daemon:
        assert stored_keys(daemon) == set()


def test_restore_refuses_a_damaged_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite " * 500)
    refused(sidecar("restore", str(junk), "--state-dir", str(tmp_path / "state")), 1, "damaged")
