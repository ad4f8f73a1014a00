"""Port 0 and the ready report: the daemon says where it listens, and a restart never assumes its port."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.daemon import Daemon, read_ready_file
from tests.support.sync_cluster import SECRET


def test_ready_file_names_every_bound_address(config_dir: Path, state_dir: Path) -> None:
    secret = state_dir.parent / "secret"
    secret.write_text(SECRET)
    daemon = Daemon(
        config_dir, state_dir, "--group-secret-file", str(secret), sync_listen=True, flagd_sync=True
    )
    with daemon:
        report = read_ready_file(daemon.ready_path)
        assert report is not None
        assert daemon.process is not None
        assert report["pid"] == daemon.process.pid
        assert report["grpc"] == [daemon.unix_target, daemon.tcp_target]
        assert report["sync"] == daemon.sync_address
        assert report["flagd_sync"] == daemon.flagd_sync_target
        assert daemon.port != 0
        assert daemon.sync_port != 0
        assert len({daemon.port, daemon.sync_port, daemon.flagd_sync_port}) == 3
        assert f"listening on {daemon.unix_target}, {daemon.tcp_target}" in daemon.log()
        assert f"flagd sync on {daemon.flagd_sync_target}" in daemon.log()
    assert read_ready_file(daemon.ready_path) is None  # removed once the daemon stopped


def test_flagd_sync_can_be_turned_off(config_dir: Path, state_dir: Path) -> None:
    with Daemon(config_dir, state_dir) as daemon:  # the harness passes --flagd-sync-listen off
        report = read_ready_file(daemon.ready_path)
        assert report is not None
        assert report["flagd_sync"] is None
        assert "flagd sync on" not in daemon.log()


def test_a_taken_flagd_sync_port_stops_the_start_with_one_line(config_dir: Path, state_dir: Path) -> None:
    daemon = Daemon(config_dir, state_dir, flagd_sync=True).start()
    try:
        daemon.stop()
        old = daemon.flagd_sync_port
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", old))
            squatter.listen()
            daemon.start()
            assert daemon.flagd_sync_port != old
        assert f"sidecar: cannot start: flagd sync: cannot listen on 127.0.0.1:{old}" in daemon.log()
        assert "Traceback" not in daemon.log()
    finally:
        daemon.stop()


def test_a_restart_whose_port_was_taken_listens_elsewhere(config_dir: Path, state_dir: Path) -> None:
    daemon = Daemon(config_dir, state_dir).start()
    try:
        daemon.stop()
        old_port = daemon.port
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", old_port))
            squatter.listen()
            daemon.start()
            assert daemon.port != old_port
        assert f"sidecar: cannot start: cannot listen on 127.0.0.1:{old_port}" in daemon.log()
        assert "Traceback" not in daemon.log()
        assert daemon.health() is not None
    finally:
        daemon.stop()


def test_a_restart_whose_sync_port_was_taken_listens_elsewhere(config_dir: Path, state_dir: Path) -> None:
    secret = state_dir.parent / "secret"
    secret.write_text(SECRET)
    daemon = Daemon(config_dir, state_dir, "--group-secret-file", str(secret), sync_listen=True).start()
    try:
        daemon.stop()
        old_sync_port = daemon.sync_port
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", old_sync_port))
            squatter.listen()
            daemon.start()
            assert daemon.sync_port != old_sync_port
        assert "sidecar: cannot start: peer sync: " in daemon.log()
        assert "Traceback" not in daemon.log()
    finally:
        daemon.stop()
