"""Peer-sync flags and SIDECAR_* variables become SyncSettings, or None for a sidecar on its own."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

import pytest

from sidecar.daemon.options import Reader, add_options
from sidecar.daemon.parsers import BadValue, SettingsError
from sidecar.daemon.sync_options import SYNC_OPTIONS, sync_settings
from sidecar.sync.settings import SyncSettings

SECRET = b"0123456789abcdef-secret"


def settings(*argv: str, environ: Mapping[str, str] | None = None) -> SyncSettings | None:
    parser = argparse.ArgumentParser()
    add_options(parser, SYNC_OPTIONS)
    return sync_settings(Reader(parser.parse_args(argv), environ or {}))


@pytest.fixture
def secret(tmp_path: Path) -> str:
    path = tmp_path / "secret"
    path.write_bytes(SECRET)
    return str(path)


def test_sync_is_off_without_options_and_needs_the_secret(secret: str) -> None:
    assert settings() is None
    with pytest.raises(SettingsError, match="group-secret-file"):
        settings("--peer", "10.0.0.1:8017")
    on = settings("--peer", "10.0.0.1:8017", "--group-secret-file", secret)
    assert on is not None
    assert on.listen == "127.0.0.1:8017"
    assert on.peers == ("10.0.0.1:8017",)
    assert on.tombstone_min_age_seconds == 3600.0


def test_variables_are_comma_separated_and_flags_win(secret: str) -> None:
    from_env = settings("--group-secret-file", secret, environ={"SIDECAR_PEERS": "a:1, b:2"})
    assert from_env is not None
    assert from_env.peers == ("a:1", "b:2")
    flagged = settings("--group-secret-file", secret, "--peer", "c:3", environ={"SIDECAR_PEERS": "a:1"})
    assert flagged is not None
    assert flagged.peers == ("c:3",)


def test_sync_listen_takes_port_zero(secret: str) -> None:
    on = settings("--group-secret-file", secret, "--sync-listen", "127.0.0.1:0")
    assert on is not None
    assert on.listen == "127.0.0.1:0"


def test_bad_sync_settings(secret: str, tmp_path: Path) -> None:
    with pytest.raises(BadValue, match="HOST:PORT"):
        settings("--peer", "nonsense", "--group-secret-file", secret)
    with pytest.raises(SettingsError, match="go together"):
        settings("--group-secret-file", secret, "--sync-tls-cert", "c.pem")
    aged = settings("--group-secret-file", secret, "--sync-tombstone-min-age", "5")
    assert aged is not None
    assert aged.tombstone_min_age_seconds == 5.0
    with pytest.raises(BadValue, match="0 or more"):
        settings("--group-secret-file", secret, "--sync-tombstone-min-age", "-1")
    short = tmp_path / "short"
    short.write_text("tiny")
    with pytest.raises(BadValue, match="shorter than"):
        settings("--group-secret-file", str(short))
    with pytest.raises(BadValue, match="SIDECAR_SYNC_FANOUT"):
        settings("--group-secret-file", secret, environ={"SIDECAR_SYNC_FANOUT": "0"})
